// Package suggest finds what a person probably meant by a name the program does not
// know: the flag a misspelt flag was meant to be, the id of the workspace a mistyped id
// was meant to be. It suggests only what is clearly near: a few edits away, and nearer
// than anything else.
package suggest

import (
	"math/bits"
	"slices"
	"sync"
)

// Distance is the number of edits between a and b, in runes: a rune inserted, deleted
// or replaced, or two neighbours swapped (the optimal string alignment distance, as
// typing slips go).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the table: the one before the previous is needed for swaps.
	prev2, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Closest returns the candidates nearest to s, at most within edits of it: the one
// nearest, or several when they are equally near (in the candidates' order); none when
// no candidate is that near. s itself is never returned.
func Closest(s string, candidates []string, within int) []string {
	best, bestD := []string(nil), within+1
	for _, c := range candidates {
		if c == s || slices.Contains(best, c) {
			continue
		}
		switch d := Distance(s, c); {
		case d < bestD:
			best, bestD = append(best[:0], c), d
		case d == bestD:
			best = append(best, c)
		}
	}
	return best
}

// Within is how many edits a name of n runes may be from what it was meant to be and
// still be clearly that: none below 4 runes (too many short names are that near each
// other), one below 10, two from 10.
func Within(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 10:
		return 1
	}
	return 2
}

// MaxIDs is how many ids an IDs keeps at most. Past it the IDs suggests nothing: a
// suggestion from part of a workspace might name an id while a nearer one went
// unseen. 200,000 ids of 16 bytes hold about 6 MiB.
const MaxIDs = 200_000

// MaxAsked is how many unknown ids an IDs looks up at most. A plan whose ids are mostly
// unknown is probably for another workspace; near ids would not help there, and each
// look-up reads every id kept.
const MaxAsked = 100

// MaxCompared bounds the work of all look-ups together: how many kept ids they compare
// edit by edit (those the cheap checks do not rule out). Ids of a few characters in one
// order (hexadecimal, numbered) pass the cheap checks often, and their look-ups stop
// here, after a fraction of a second; random ids stop at MaxAsked first.
const MaxCompared = 1_000_000

// IDs keeps the ids of a workspace's listing (as much of it as a plan does not name), to
// say which of them an unknown id was probably meant to be. Add and Near may be called
// from several goroutines.
type IDs struct {
	mu       sync.Mutex
	slab     []byte   // the ids, one after the other
	ends     []uint32 // where each id ends in slab
	sigs     []uint64 // which characters each id holds (sig)
	full     bool     // more than MaxIDs were added: Near says nothing
	asked    int      // look-ups made
	compared int      // ids compared edit by edit, in all look-ups
	rows     [3][129]int
}

// Add keeps id as one that a suggestion may name. An id no plan could hold (empty,
// longer than 128 bytes, a character other than letters, digits, '_' and '-') is
// left out.
func (x *IDs) Add(id string) {
	if !plausibleID(id) {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.full || len(x.ends) >= MaxIDs {
		x.full, x.slab, x.ends, x.sigs = true, nil, nil, nil
		return
	}
	x.slab = append(x.slab, id...)
	x.ends = append(x.ends, uint32(len(x.slab)))
	x.sigs = append(x.sigs, sig(id))
}

// Near returns the kept id that id was clearly meant to be: within Within(len(id))
// edits, and no other kept id within one edit more. It returns "" when none is, when id
// is itself kept, when more than MaxIDs were added, or once MaxAsked ids were looked up
// or MaxCompared ids compared.
func (x *IDs) Near(id string) string {
	if x == nil || !plausibleID(id) {
		return ""
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.full || x.asked >= MaxAsked || x.compared >= MaxCompared {
		return ""
	}
	x.asked++
	within := Within(len(id))
	if within == 0 {
		return ""
	}
	// The nearest id and the next nearest, looked at up to one edit past within: the
	// nearest is named only when the next is further still.
	look, want := within+1, sig(id)
	best, d1, d2 := "", look+1, look+1
	start := uint32(0)
	for i, end := range x.ends {
		cand := x.slab[start:end]
		start = end
		// Each edit adds or removes at most one character of those an id holds (two for
		// a replaced one), so most ids are ruled out here, without the table of Distance.
		if abs(len(cand)-len(id)) > look || bits.OnesCount64(x.sigs[i]^want) > 2*look {
			continue
		}
		x.compared++
		switch d := bounded(id, cand, look, &x.rows); {
		case d == 0:
			return ""
		case d < d1:
			best, d1, d2 = string(cand), d, d1
		case d < d2:
			d2 = d
		}
	}
	if d1 > within || d2 <= d1+1 {
		return ""
	}
	return best
}

// bounded is Distance for ids (bytes, at most 128 of them), computed only as far as
// it can stay within k: it returns k+1 as soon as the distance is sure to pass k, and
// allocates nothing. Each row of the table is computed only within k of its diagonal.
// rows is the table's memory, reused: only the cells a row reads are written first.
func bounded(a string, b []byte, k int, rows *[3][129]int) int {
	la, lb, big := len(a), len(b), k+1
	if abs(la-lb) > k || lb > 128 || la > 128 {
		return big
	}
	prev2, prev, cur := rows[0][:], rows[1][:], rows[2][:]
	for j := 0; j <= lb; j++ {
		prev[j] = min(j, big)
	}
	for i := 1; i <= la; i++ {
		lo, hi := max(1, i-k), min(lb, i+k)
		cur[lo-1] = big
		if lo == 1 {
			cur[0] = min(i, big)
		}
		least := cur[lo-1]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = min(v, big)
			least = min(least, cur[j])
		}
		if hi < lb {
			cur[hi+1] = big // the next row reads it
		}
		if least >= big {
			return big
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}

// sig is the set of characters s holds, as 64 bits: each of the 64 characters of an id
// has its own.
func sig(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		m |= 1 << idChar(s[i])
	}
	return m
}

// idChar numbers the characters of an id 0 to 63.
func idChar(c byte) uint {
	switch {
	case 'a' <= c && c <= 'z':
		return uint(c - 'a')
	case 'A' <= c && c <= 'Z':
		return uint(c-'A') + 26
	case '0' <= c && c <= '9':
		return uint(c-'0') + 52
	case c == '_':
		return 62
	}
	return 63
}

func plausibleID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
