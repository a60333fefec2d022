package job

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/dustin/go-humanize"
)

// Preview is what a run is about to do, counted before its first write.
type Preview struct {
	Writes int // rows that need a write and will be sent
	// Agents, Nicknames and Labels count the rows among Writes that change each field
	// (the number does not hold the planned value yet, or is not in the snapshot).
	Agents, Nicknames, Labels int
	AsPlanned                 int // rows unchanged: the number holds them, or nothing to send
	Conflicts                 int // rows that moved since they were reviewed
	Held                      int // rows that need a write, beyond Limit
	Skipped                   int // rows an earlier run applied (--resume)
	Invalid                   int
	// Waves is how many of Writes are sent by the end of each wave (Waves.Cuts); nil
	// without waves. Atomic says every number written is put back if a check fails.
	Waves  []int
	Atomic bool
	// Ignored names the plan's columns the job does not read (Runner.Ignored): a
	// person about to say yes sees what the run leaves out.
	Ignored []string
}

// Preview counts what Run would do with the rows each yields, from the Snapshot,
// without sending anything. It reads the plan once.
func (r *Runner) Preview(each Each) (Preview, error) {
	p := Preview{Ignored: r.Ignored}
	err := each(func(row Row, problems []Problem) error {
		if !InShard(row.ID, r.Shards, r.ShardIndex) {
			return nil
		}
		before, known := r.Snapshot.Get(row.ID)
		switch o, _ := r.settle(row, problems, before, known); {
		case o == Invalid:
			p.Invalid++
		case o == Skipped:
			p.Skipped++
		case o == Unchanged:
			p.AsPlanned++
		case o == Conflict:
			p.Conflicts++
		case r.Limit > 0 && p.Writes >= r.Limit:
			p.Held++
		default:
			p.Writes++
			f := fieldsOf(row, before)
			for i, n := range []*int{&p.Agents, &p.Nicknames, &p.Labels} {
				if f[i].planned.Set() && (!known || !f[i].holds()) {
					*n++
				}
			}
		}
		return nil
	})
	p.Waves, p.Atomic = r.Waves.Cuts(p.Writes), r.Atomic && !r.DryRun
	return p, err
}

// Confirm asks before the first write when ask is set and there is anything to write:
// ask gets the Preview's String and says whether to go on; a no sets Declined. It reads
// the plan once more; its error is the plan's.
func (r *Runner) Confirm(each Each, ask func(about string) bool) error {
	if ask == nil {
		return nil
	}
	p, err := r.Preview(each)
	if err == nil && p.Writes > 0 {
		r.Declined = !ask(p.String())
	}
	return err
}

// String says it as the question before the first write does: "write 1,204 numbers:
// 1,180 agent changes, 96 nickname changes, 12 label changes; 37 rows already as
// planned", the rows not sent, if any, how the writes go: "in 3 waves (1, 121, 1,204
// numbers by the end of each), each re-read and checked before the next; atomic: if a
// check fails, every number written is put back", and the columns not read ("not
// read: columns Notes, Owner").
func (p Preview) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "write %s: %s, %s, %s; %s already as planned", count(p.Writes, "number", "numbers"),
		count(p.Agents, "agent change", "agent changes"), count(p.Nicknames, "nickname change", "nickname changes"),
		count(p.Labels, "label change", "label changes"), count(p.AsPlanned, "row", "rows"))
	for _, n := range []struct {
		n         int
		one, many string
	}{
		{p.Conflicts, "conflict", "conflicts"},
		{p.Held, "row held back by --limit", "rows held back by --limit"},
		{p.Skipped, "row skipped (--resume)", "rows skipped (--resume)"},
		{p.Invalid, "invalid row", "invalid rows"},
	} {
		if n.n > 0 {
			b.WriteString("; " + count(n.n, n.one, n.many))
		}
	}
	if len(p.Waves) > 0 {
		cuts := make([]string, len(p.Waves))
		for i, c := range p.Waves {
			cuts[i] = humanize.Comma(int64(c))
		}
		fmt.Fprintf(&b, "; in %s (%s numbers by the end of each), each re-read and checked before the next",
			count(len(p.Waves), "wave", "waves"), strings.Join(cuts, ", "))
	}
	if p.Atomic {
		b.WriteString("; atomic: if a check fails, every number written is put back")
	}
	switch len(p.Ignored) {
	case 0:
	case 1:
		b.WriteString("; not read: column " + ColumnList(p.Ignored))
	default:
		b.WriteString("; not read: columns " + ColumnList(p.Ignored))
	}
	return b.String()
}

// count is n, its thousands separated, and one or many.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return humanize.Comma(int64(n)) + " " + many
}

// ColumnList names columns by their titles in a message: each as it is, or quoted
// (escapes shown) where it holds a comma, a quote, surrounding space or a character
// that does not print.
func ColumnList(titles []string) string {
	shown := make([]string, len(titles))
	for i, t := range titles {
		shown[i] = t
		if t == "" || t != strings.TrimSpace(t) || strings.ContainsAny(t, ",\"'") || strings.IndexFunc(t, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
			shown[i] = QuoteCell(t)
		}
	}
	return strings.Join(shown, ", ")
}

// Refuse records every row that each yields (this shard's) for a plan refused for its
// rows, sending nothing, so that the report lists each row where a person fixes the
// sheet: an invalid row Invalid with its reasons; a row that needs no request as a run
// would record it (unchanged, skipped, conflict); every other row NotAttempted. Results
// carry the number's values before, where the Snapshot holds them. It reads the plan
// once; its error is the plan's, or the first record returns.
func (r *Runner) Refuse(each Each, record func(Result) error) error {
	return each(func(row Row, problems []Problem) error {
		if !InShard(row.ID, r.Shards, r.ShardIndex) {
			return nil
		}
		res := Result{Row: row}
		before, known := r.Snapshot.Get(row.ID)
		if known {
			res.Before = &before
		}
		if res.Outcome, res.Error = r.settle(row, problems, before, known); res.Outcome == "" {
			res.Outcome, res.Error = NotAttempted, "not sent: other rows of the plan are invalid"
		}
		res.Finished = r.Now()
		return record(res)
	})
}
