package job

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"reassign/job/dialnexa"
)

// gates is how a run with waves, or an atomic one, checks itself. The rows needing a
// write go out in waves (for an atomic run without waves, one wave of all of them);
// after each, the feeder waits until the wave is back from the senders and checks its
// gate before it sends on: no row of the wave failed, the row errors so far are within
// MaxErrors of the rows sent, and, with waves, every number the wave wrote is re-read
// and holds what was written. The collector applies the same check to each row as it
// comes back, so that a wave whose gate cannot pass any more stops the run at once.
//
// A gate that fails stops the run (StopGate); an atomic run then rolls back.
type gates struct {
	cuts   []int     // rows needing a write sent by the end of each wave (Waves.Cuts)
	reread bool      // waves: each gate re-reads the numbers its wave wrote
	allow  Allowance // MaxErrors
	strict bool      // atomic: a zero allowance allows no row error
}

// waveTally is what came back of a wave's rows, as the collector hands it to the gate.
type waveTally struct {
	updated int
	written []written // rows updated, with waves: the gate re-reads their numbers
	failed  int
	errors  int // row errors of the run so far, this wave's included
}

// written is a row whose number the run may have changed: updated, or failed after a
// request went out (it may have been applied).
type written struct {
	row    Row
	before *NumberState
	last   Outcome // the outcome of the row's line
}

// gateAsk is the feeder's gate asking the collector for the wave's tally, once back
// rows handed to the senders have come back.
type gateAsk struct {
	back  int
	reply chan waveTally // buffered: the collector never waits for the gate
}

// newGates counts the rows that need a write (the plan is read once more, as Preview
// does) and cuts them into waves. It returns nil for a run without gates: no waves and
// not atomic, a dry run, or a run a person declined.
func (r *Runner) newGates(each Each) (*gates, error) {
	if r.DryRun || r.Declined || (r.Waves.IsZero() && !r.Atomic) {
		return nil, nil
	}
	p, err := r.Preview(each)
	if err != nil {
		return nil, err
	}
	g := &gates{reread: !r.Waves.IsZero(), allow: r.MaxErrors, strict: r.Atomic, cuts: []int{p.Writes}}
	if g.reread {
		g.cuts = r.Waves.Cuts(p.Writes)
	}
	ev := r.Log.Info().Str("event", "waves").Int("rows", p.Writes).Ints("cuts", g.cuts).Bool("atomic", r.Atomic).
		Str("max_errors", r.MaxErrors.String())
	switch {
	case g.reread:
		ev.Msgf("%s need a write: %d waves, sent by the end of each %s, each re-read and checked before the next",
			count(p.Writes, "row", "rows"), len(g.cuts), joinInts(g.cuts))
	default:
		ev.Msgf("%s need a write; if one fails, or more row errors come than --max-errors allows, every number written is put back",
			count(p.Writes, "row", "rows"))
	}
	return g, nil
}

// name names the check of wave in messages: "wave 2 gate", or "atomic run" without waves.
func (g *gates) name(wave int) string {
	if g.reread {
		return fmt.Sprintf("wave %d gate", wave)
	}
	return "atomic run"
}

// verdict is why a wave's gate fails on what came back, nothing when it passes: a row
// failed, or more row errors (of the run so far) than MaxErrors allows of sent rows.
func (g *gates) verdict(failed, errs, sent int) []string {
	var why []string
	if failed > 0 {
		why = append(why, count(failed, "row failed", "rows failed"))
	}
	if !g.allow.Allows(errs, sent, g.strict) {
		limit := "more than --max-errors " + g.allow.String()
		switch {
		case g.allow.IsZero():
			limit = "an atomic run allows none (--max-errors 0)"
		case g.allow.Percent > 0:
			limit += fmt.Sprintf(" of %s", count(sent, "row", "rows"))
		}
		why = append(why, count(errs, "row", "rows")+" not found, rejected or forbidden: "+limit)
	}
	return why
}

// failure is the error of a failed gate, the not_attempted rows' reason after it.
func (g *gates) failure(wave int, why []string) error {
	return fmt.Errorf("%s: %s", g.name(wave), strings.Join(why, "; "))
}

// track counts a row the senders handed back toward its wave, keeps the rows that may
// have changed their number, stops the run as soon as the wave's gate cannot pass, and
// answers the gate waiting for the wave.
func (c *collector) track(res Result) {
	c.back++
	w := written{row: res.Row, before: res.Before, last: res.Outcome}
	switch {
	case res.Outcome == Updated:
		c.wave.updated++
		if c.gates.reread {
			c.wave.written = append(c.wave.written, w)
		}
		c.keep(w)
	case res.Outcome == Failed:
		c.wave.failed++
		if res.Attempts > 0 {
			c.keep(w)
		}
	case res.Outcome.RowError():
		c.errors++
	}
	if res.wave <= len(c.gates.cuts) && !c.stop.stopped() {
		if why := c.gates.verdict(c.wave.failed, c.errors, c.gates.cuts[res.wave-1]); len(why) > 0 {
			c.stop.stopWith(StopGate, c.gates.failure(res.wave, why))
		}
	}
	c.answer()
}

// keep keeps a row an atomic run may have to put back.
func (c *collector) keep(w written) {
	if c.gates.strict {
		c.changed = append(c.changed, w)
	}
}

// answer hands the gate waiting its wave's tally, once the whole wave is back.
func (c *collector) answer() {
	if c.pending == nil || c.back < c.pending.back {
		return
	}
	c.wave.errors = c.errors
	c.pending.reply <- c.wave
	c.pending, c.wave = nil, waveTally{}
}

// await waits until every row handed to the senders is back at the collector, and
// returns the wave's tally.
func (f *feeder) await() waveTally {
	reply := make(chan waveTally, 1)
	f.asks <- gateAsk{back: f.handed, reply: reply}
	return <-reply
}

// gate checks the wave just sent (see gates) before the next one goes. A number that
// does not hold what was written gets a second line, differs. A gate that fails stops
// the run: the rows after it are not_attempted with the gate's reason.
func (f *feeder) gate() {
	wave, g := f.wave, f.gates
	t := f.await()
	f.wave, f.gated = f.wave+1, f.handed
	if f.stop.stopped() {
		return // a signal, a refused key, or this wave's check failed early: decided
	}
	why := g.verdict(t.failed, t.errors, f.handed)
	differ, reads, err := f.reread(t.written, wave)
	switch {
	case err != nil && f.stop.stopped():
		return // a signal during the re-read
	case err != nil:
		why = append(why, "the numbers it wrote could not be re-read: "+err.Error())
	case differ > 0:
		why = append([]string{count(differ, "row does not hold what was written", "rows do not hold what was written")}, why...)
	}
	ev := f.r.Log.Info()
	if len(why) > 0 {
		ev = f.r.Log.Warn()
	}
	ev = ev.Str("event", "wave").Int("wave", wave).Int("waves", len(g.cuts)).Int("written", t.updated).
		Int("verified", len(t.written)-differ).Int("requests", reads).Bool("passed", len(why) == 0)
	switch {
	case len(why) > 0:
		err := g.failure(wave, why)
		f.stop.stopWith(StopGate, err)
		ev.Msg(err.Error())
	case g.reread:
		ev.Msgf("wave %d of %d: %s written, %d verified", wave, len(g.cuts), count(t.updated, "row", "rows"), len(t.written)-differ)
	default:
		ev.Msgf("atomic run: %s written, none failed", count(t.updated, "row", "rows"))
	}
}

// reread reads the numbers the wave wrote (none without waves) and records a differs
// line for each that does not hold what was written. It returns how many differ and the
// requests it took.
func (f *feeder) reread(ws []written, wave int) (differ, requests int, err error) {
	ids := make(map[string]bool, len(ws))
	for _, w := range ws {
		ids[w.row.ID] = true
	}
	now, requests, err := f.r.readNumbers(f.stop.sending, ids)
	if err != nil {
		return 0, requests, err
	}
	for _, w := range ws {
		state, ok := now[w.row.ID]
		diff := "the number is no longer in the workspace's list"
		if ok {
			diff = Differences(w.row, state)
		}
		if diff == "" {
			continue
		}
		differ++
		f.differs[w.row.ID] = true
		res := Result{Row: w.row, Outcome: Differs, Error: f.gates.name(wave) + ": " + diff, Before: w.before, earlier: Updated, Finished: f.r.Now()}
		res.Number.AgentID, res.Number.Nickname = state.AgentID, state.Nickname
		f.done <- res
	}
	return differ, requests, nil
}

// errAllRead ends a listing early: every number asked for was found.
var errAllRead = errors.New("every number asked for was read")

// readNumbers reads the numbers ids names, on the Runner's Retrier and Lister: the
// API's list, page by page in order, until it has them all or the list ends (a number
// not found is missing from the result). It returns the requests it took.
func (r *Runner) readNumbers(ctx context.Context, ids map[string]bool) (map[string]NumberState, int, error) {
	found := make(map[string]NumberState, len(ids))
	if len(ids) == 0 {
		return found, 0, nil
	}
	n, err := EachNumber(ctx, r.Reader, &r.Retrier, dialnexa.ListFilter{}, func(ns []dialnexa.PhoneNumber) error {
		for _, p := range ns {
			if ids[p.ID] {
				found[p.ID] = NumberState{AgentID: p.AgentID, Nickname: p.Nickname, Label: p.Label}
			}
		}
		if len(found) == len(ids) {
			return errAllRead
		}
		return nil
	})
	if errors.Is(err, errAllRead) {
		err = nil
	}
	return found, n, err
}

// joinInts writes 1, 50, 500.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
