package job

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// field is one of a row's three fields beside a number's value of it.
type field struct {
	name     string
	planned  Field
	now      string // the number's value; "" for none
	reviewed string // the value the row was reviewed against, if it was
}

// fieldsOf pairs each field of row with its value in c.
func fieldsOf(row Row, c NumberState) [3]field {
	var was NumberState
	if row.Reviewed != nil {
		was = *row.Reviewed
	}
	return [3]field{
		{"agent_id", row.AgentID, c.AgentID, was.AgentID},
		{"nickname", row.Nickname, c.Nickname, was.Nickname},
		{"label", row.Label, c.Label, was.Label},
	}
}

// holds reports whether the number already holds what the plan puts in the field (a
// field not sent always holds).
func (f field) holds() bool {
	switch {
	case !f.planned.Set():
		return true
	case f.planned.Null:
		return f.now == ""
	default:
		return f.planned.Raw == f.now
	}
}

// value is what the plan puts in the field: "" for null.
func (f field) value() string {
	if f.planned.Null {
		return ""
	}
	return f.planned.Raw
}

// NoOp reports whether row would leave a number in state c unchanged.
func NoOp(row Row, c NumberState) bool {
	for _, f := range fieldsOf(row, c) {
		if !f.holds() {
			return false
		}
	}
	return true
}

// Moved says what changed since row was reviewed, for a number now in state c: each
// field the row would change (c does not hold the planned value yet) whose value is no
// longer the one the row was reviewed against ("agent_id changed since the plan was
// reviewed: was agt_a, now agt_b"). It is "" when the row may be written: nothing
// moved, or the row carries no reviewed values. A field the row does not send may have
// moved: it is not the row's to guard.
func Moved(row Row, c NumberState) string { return movedSince(row, c, "the plan was reviewed") }

// movedSince is Moved, saying since when ("the run wrote it").
func movedSince(row Row, c NumberState, since string) string {
	if row.Reviewed == nil {
		return ""
	}
	var moved []string
	for _, f := range fieldsOf(row, c) {
		if !f.holds() && f.now != f.reviewed {
			moved = append(moved, fmt.Sprintf("%s changed since %s: was %s, now %s", f.name, since, showValue(f.reviewed), showValue(f.now)))
		}
	}
	return strings.Join(moved, "; ")
}

// Undo is the plan row that puts back what row changes on a number that held before:
// each field row sends, set to its value before (null for an agent or nickname that was
// empty), reviewed against the values the number holds once row is applied (Written),
// so that it is written only where nobody changed the number since (Moved). The API
// takes no null label, so a label that was empty before cannot be put back: the row
// leaves the label alone, and keptLabel says so. A null is written as nullToken
// ("null" when it is empty).
func Undo(row Row, before NumberState, nullToken string) (undo Row, keptLabel bool) {
	if nullToken == "" {
		nullToken = "null"
	}
	restore := func(f Field, old string) Field {
		switch {
		case !f.Set():
			return Field{}
		case old == "":
			return Field{Raw: nullToken, Null: true}
		}
		return Field{Raw: old}
	}
	wrote := Written(row, before)
	undo = Row{Line: row.Line, ID: row.ID, PhoneNumber: row.PhoneNumber, Reviewed: &wrote,
		AgentID: restore(row.AgentID, before.AgentID), Nickname: restore(row.Nickname, before.Nickname)}
	if row.Label.Set() {
		undo.Label = Field{Raw: before.Label} // empty when it was: not sent
		keptLabel = before.Label == ""
	}
	return undo, keptLabel
}

// Written is what a number that held before holds once row is applied: each field row
// sends as it sends it ("" for null), the others as they were.
func Written(row Row, before NumberState) NumberState {
	w := before
	for _, f := range []struct {
		to      *string
		planned Field
	}{{&w.AgentID, row.AgentID}, {&w.Nickname, row.Nickname}, {&w.Label, row.Label}} {
		if f.planned.Set() {
			*f.to = field{planned: f.planned}.value()
		}
	}
	return w
}

// Differences names each planned value a number in state c does not hold ("agent_id is
// agt_x, planned agt_y"); "" when it holds them all.
func Differences(row Row, c NumberState) string {
	var diffs []string
	for _, f := range fieldsOf(row, c) {
		if !f.holds() {
			diffs = append(diffs, fmt.Sprintf("%s is %s, planned %s", f.name, showValue(f.now), showValue(f.value())))
		}
	}
	return strings.Join(diffs, "; ")
}

// showValue shows a value in a message: an id as it is, anything else quoted, and an
// empty value as (none).
func showValue(s string) string {
	if s == "" {
		return "(none)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(s)
		}
	}
	return s
}

// Verify checks what the workspace holds against the plan, without a write
// (`reassign verify`): each row that each yields is recorded once, in plan order, as
// Matches (the number holds every planned value), Differs (Error names each field),
// NotFound (not in r.Snapshot) or Invalid. Result.Before and the result columns hold the
// number's values. Once ctx ends, the rows left are NotAttempted. It uses r.Snapshot,
// r.Now and r.Log (and the shard, if set); it returns an error only when the plan could
// not be read.
//
// It is a run's shape without the senders: each row is checked where it is read, and
// the collector counts, logs and records it on the same goroutine.
func (r *Runner) Verify(ctx context.Context, each Each, record func(Result) error) (Summary, error) {
	start := r.Now()
	col := r.newCollector(record, VerifyOutcomes, nil)
	col.fail = col.sum.StopWith // nothing to stop: the reason is only kept
	err := each(func(row Row, problems []Problem) error {
		if InShard(row.ID, r.Shards, r.ShardIndex) {
			res := r.check(ctx, row, problems)
			col.sum.Interrupted = col.sum.Interrupted || res.Outcome == NotAttempted && ctx.Err() != nil
			col.add(res)
		}
		return nil
	})
	sum := col.sum
	sum.Elapsed = r.Now().Sub(start)
	return sum, err
}

// check is what Verify finds for one row.
func (r *Runner) check(ctx context.Context, row Row, problems []Problem) Result {
	res := Result{Row: row}
	now, known := r.Snapshot.Get(row.ID)
	switch {
	case len(problems) > 0:
		res.Outcome, res.Error = Invalid, reasons(problems)
	case ctx.Err() != nil || r.Snapshot == nil:
		res.Outcome, res.Error = NotAttempted, "not checked: the workspace was not read (interrupted)"
	case !known:
		res.Outcome, res.Error = NotFound, "not in the workspace"
	default:
		res.Before = &now
		res.Number.AgentID, res.Number.Nickname = now.AgentID, now.Nickname
		res.Outcome, res.Error = Matches, Differences(row, now)
		if res.Error != "" {
			res.Outcome = Differs
		}
	}
	res.Finished = r.Now()
	return res
}
