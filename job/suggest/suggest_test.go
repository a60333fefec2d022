package suggest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"dry-run", "dry-run", 0},
		{"dryrun", "dry-run", 1},  // a rune left out
		{"dry_run", "dry-run", 1}, // one replaced
		{"dyr-run", "dry-run", 1}, // two swapped
		{"rate", "", 4},
		{"workers", "worker", 1},
		{"sheet", "shete", 1},
		{"columns", "colunms", 1},
		{"max-attempts", "max-attempt", 1},
		{"phn_k3p8vd2nq7ra", "phn_k3p8dv2nq7rb", 2},
		{"東京 受付", "東京受付", 1}, // runes, not bytes
		{"abc", "cab", 2},
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	flags := []string{"plan", "report", "dry-run", "rate", "burst", "workers", "resume", "summary", "sandbox", "sandbox-state"}
	cases := []struct {
		s    string
		want []string
	}{
		{"dryrun", []string{"dry-run"}},
		{"raet", []string{"rate"}},
		{"sandbox-stat", []string{"sandbox-state"}},
		{"report", nil}, // itself: nothing to suggest
		{"colour", nil},
		{"plam", []string{"plan"}},
		{"sumary", []string{"summary"}},
	}
	for _, c := range cases {
		if got := Closest(c.s, flags, Within(len(c.s))); !slices.Equal(got, c.want) {
			t.Errorf("Closest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
	if got := Closest("burt", []string{"burst", "hurt"}, 1); !slices.Equal(got, []string{"burst", "hurt"}) {
		t.Errorf("two equally near: %q, want both in order", got)
	}
}

// TestIDsNear: an id is suggested only when it is clearly the one meant.
func TestIDsNear(t *testing.T) {
	t.Parallel()
	var x IDs
	for _, id := range []string{"phn_k3p8vd2nq7ra", "phn_f7w2kx5mb9qz", "phn_m9x4tb6wz2ce", "phn_q2w8ej5rt1yb",
		"phn_0001", "phn_0002", "phn_0003", "phn_aaaa", "x y", ""} {
		x.Add(id)
	}
	cases := []struct{ id, want string }{
		{"phn_k3p8vd2nq7rb", "phn_k3p8vd2nq7ra"}, // one replaced
		{"phn_k3p8dv2nq7ra", "phn_k3p8vd2nq7ra"}, // two swapped
		{"phn_k3p8vd2nq7", "phn_k3p8vd2nq7ra"},   // two left out
		{"phn_k3p8vd2nq", ""},                    // three: not clearly it
		{"phn_k3p8vd2nq7ra", ""},                 // known: nothing to suggest
		{"phn_zzzzzzzzzzzz", ""},
		{"phn_0004", ""},         // one edit from three ids: none is clearly it
		{"phn_aaab", "phn_aaaa"}, // one edit from one id, the next three away
		{"phn_0001x", ""},        // one from phn_0001, two from phn_0002: too close to call
		{"agt", ""},              // too short to guess
		{"phn k3p8vd2nq7ra", ""}, // not an id a plan could hold
	}
	for _, c := range cases {
		if got := x.Near(c.id); got != c.want {
			t.Errorf("Near(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}

// TestIDsBounds: past MaxIDs nothing is suggested (part of a workspace could name the
// wrong id), and at most MaxAsked look-ups are made.
func TestIDsBounds(t *testing.T) {
	t.Parallel()
	var full IDs
	for i := range MaxIDs + 1 {
		full.Add(fmt.Sprintf("phn_%012d", i))
	}
	if got := full.Near("phn_00000000000x"); got != "" {
		t.Errorf("past MaxIDs: Near = %q, want none", got)
	}
	if full.ends != nil || full.slab != nil {
		t.Error("past MaxIDs the ids are still held")
	}
	var x IDs
	x.Add("phn_k3p8vd2nq7ra")
	for range MaxAsked {
		if x.Near("phn_k3p8vd2nq7rb") == "" {
			t.Fatal("no suggestion within MaxAsked look-ups")
		}
	}
	if got := x.Near("phn_k3p8vd2nq7rb"); got != "" {
		t.Errorf("look-up %d: %q, want none", MaxAsked+1, got)
	}
	// Ids alike in their characters are compared edit by edit: past MaxCompared of
	// those comparisons, look-ups stop.
	var alike IDs
	rng := rand.New(rand.NewPCG(1, 2))
	hexIDs := make([]string, 50_000)
	for i := range hexIDs {
		hexIDs[i] = fmt.Sprintf("phn_%08x", rng.Uint32())
		alike.Add(hexIDs[i])
	}
	typo := hexIDs[7][:6] + hexIDs[7][7:] // one left out
	if got, want := alike.Near(typo), hexIDs[7]; got != want {
		t.Fatalf("Near(%q) = %q, want %q", typo, got, want)
	}
	for alike.compared < MaxCompared && alike.asked < MaxAsked {
		alike.Near("phn_fedcba98")
	}
	if alike.compared < MaxCompared {
		t.Fatalf("%d look-ups compared %d ids: the cheap checks rule out ids alike", alike.asked, alike.compared)
	}
	if got := alike.Near(typo); got != "" {
		t.Errorf("past MaxCompared: Near = %q, want none", got)
	}
	var none *IDs
	if none.Near("phn_k3p8vd2nq7rb") != "" {
		t.Error("a nil IDs suggested something")
	}
}

// TestIDsConcurrent: Add and Near from several goroutines (run with -race).
func TestIDsConcurrent(t *testing.T) {
	t.Parallel()
	var x IDs
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				x.Add(fmt.Sprintf("phn_%d_%04d", g, i))
				x.Near("phn_0_00x1")
			}
		})
	}
	wg.Wait()
	if len(x.ends) != 400 {
		t.Errorf("%d ids kept, want 400", len(x.ends))
	}
}

// TestBounded: the bounded distance of ids is Distance where that is within k, and k+1
// past it.
func TestBounded(t *testing.T) {
	t.Parallel()
	ids := []string{"", "a", "ab", "ba", "abc", "acb", "phn_k3p8vd2nq7ra", "phn_k3p8dv2nq7ra", "phn_k3p8vd2nq7", "phn_k3p8vd2nq7rab",
		"hpn_k3p8vd2nq7ar", "phn_0001", "phn_0010", "phn_1000", "xphn_0001", "phn_000", "agt_billing", "agt_bililng", "agt_b"}
	var rows [3][129]int
	for _, a := range ids {
		for _, b := range ids {
			d := Distance(a, b)
			for k := range 4 {
				want := min(d, k+1)
				if got := bounded(a, []byte(b), k, &rows); got != want {
					t.Errorf("bounded(%q, %q, %d) = %d, want %d (distance %d)", a, b, k, got, want, d)
				}
			}
		}
	}
}
