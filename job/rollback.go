package job

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"reassign/job/dialnexa"
)

// rollbackEnd is what a rollback did.
type rollbackEnd struct {
	ran         bool
	notBack     int  // numbers it could not put back
	interrupted bool // a signal stopped it before every number was decided
}

func (e rollbackEnd) state() Rollback {
	switch {
	case !e.ran:
		return NoRollback
	case e.notBack > 0 || e.interrupted:
		return RollbackPartial
	}
	return RollbackComplete
}

// rollback is the phase of an atomic run after the collector, once a gate failed: it
// puts back every number the run may have changed (the rows the collector kept: updated,
// or failed after a request went out), as running the write-ahead undo plan would. The
// numbers are read first; one that holds what the run wrote is written back to its
// values before the run (rolled_back), one already as before is unchanged, one that
// holds a third value (someone changed it since) is left alone (conflict). Each row gets
// its later line as it is decided, through the same collector, flushed at once. Then
// the numbers put back are read again: one that does not hold its values before gets one
// more line, differs. A signal stops the rollback as it stops a run: a row not yet
// decided keeps its line, and the undo plan finishes the job. differs names the rows
// whose last line is a gate's differs.
func (r *Runner) rollback(ctx context.Context, col *collector, differs map[string]bool, start time.Time) rollbackEnd {
	rows := col.changed
	for i := range rows {
		if differs[rows[i].row.ID] {
			rows[i].last = Differs
		}
	}
	r.Log.Warn().Str("event", "rollback").Int("numbers", len(rows)).
		Msgf("atomic run: putting back the %s it wrote", count(len(rows), "number", "numbers"))
	results := make(chan Result, r.Workers)
	col.every = 0 // each line is handed to the OS as soon as it is decided
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		col.collect(results, start)
	}()
	p := &putBack{r: r, rows: rows, out: results, outcomes: make([]Outcome, len(rows))}
	p.run(ctx)
	close(results)
	<-collected
	end := p.end(ctx)
	ev := r.Log.Info()
	if end.state() != RollbackComplete {
		ev = r.Log.Warn()
	}
	ev.Str("event", "rollback_done").Int("numbers", len(rows)).Int("not_back", end.notBack).Bool("interrupted", end.interrupted).
		Msgf("atomic run: %d of %s back as before the run", len(rows)-end.notBack, count(len(rows), "number", "numbers"))
	return end
}

// putBack is one rollback: the rows to put back, and where their lines go.
type putBack struct {
	r        *Runner
	rows     []written
	out      chan<- Result // to the collector
	outcomes []Outcome     // each row's last line, set by its own goroutine; "" for a row a signal left undecided
}

// run reads the numbers, puts each back (up to Workers at once), then verifies.
func (p *putBack) run(ctx context.Context) {
	ids := make(map[string]bool, len(p.rows))
	for _, w := range p.rows {
		ids[w.row.ID] = true
	}
	now, _, err := p.r.readNumbers(ctx, ids)
	switch {
	case err != nil && ctx.Err() != nil:
		return // interrupted before anything was decided
	case err != nil:
		for i, w := range p.rows {
			p.line(i, Result{Row: w.row, Before: w.before, earlier: w.last, Outcome: Failed,
				Error: "not put back: the numbers could not be read first: " + err.Error()})
		}
		return
	}
	var g errgroup.Group
	g.SetLimit(max(1, p.r.Workers))
	for i, w := range p.rows {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if res := p.one(ctx, w, now); res.Outcome != "" {
				p.line(i, res)
			}
			return nil
		})
	}
	g.Wait()
	if ctx.Err() == nil {
		p.verify(ctx)
	}
}

// line hands row i's later line to the collector.
func (p *putBack) line(i int, res Result) {
	res.Finished = p.r.Now()
	p.outcomes[i] = res.Outcome
	p.out <- res
}

// one decides what becomes of one number, now in the state now holds: nothing to put
// back, already as before, moved since the run wrote it, or written back. A row a signal
// left unsent has no outcome.
func (p *putBack) one(ctx context.Context, w written, now map[string]NumberState) Result {
	res := Result{Row: w.row, Before: w.before, earlier: w.last}
	if w.before == nil {
		res.Outcome, res.Error = Failed, "not put back: its values before the run are not known (it was not in the workspace's list then)"
		return res
	}
	undo, keptLabel := Undo(w.row, *w.before, "")
	state, ok := now[w.row.ID]
	res.Number.AgentID, res.Number.Nickname = state.AgentID, state.Nickname
	switch {
	case !ok:
		res.Outcome, res.Error = NotFound, "not put back: the number is no longer in the workspace's list"
	case !undo.HasChanges():
		res.Outcome, res.Error = Unchanged, "nothing to put back"
	case NoOp(undo, state):
		res.Outcome, res.Error = Unchanged, "already as before the run"
	case movedSince(undo, state, "the run wrote it") != "":
		res.Outcome, res.Error = Conflict, "not put back: "+movedSince(undo, state, "the run wrote it")
	default:
		res = p.send(ctx, res, undo)
	}
	if keptLabel && (res.Outcome == RolledBack || res.Outcome == Unchanged) {
		res.Error = strings.TrimPrefix(res.Error+"; the label stays as written: it was empty before, and the API takes no null label", "; ")
	}
	return res
}

// send writes undo's values back, on the Runner's Retrier: rolled_back, or what the
// answer makes of it. Its requests run on after a signal (bounded by the client's
// timeout); its waits do not.
func (p *putBack) send(ctx context.Context, res Result, undo Row) Result {
	r, body, start := p.r, Body(undo), p.r.Now()
	about := func(e *zerolog.Event) *zerolog.Event {
		return e.Int("line", undo.Line).Str("id", undo.ID).Str("phase", "rollback")
	}
	var up *dialnexa.Answer
	t := r.Retrier.Do(ctx, context.WithoutCancel(ctx), about, func(ctx context.Context) (dialnexa.Budget, error) {
		var err error
		if up, err = r.Client.Patch(ctx, undo.ID, body); err != nil {
			return dialnexa.Budget{}, err
		}
		return up.Budget, nil
	})
	res.Attempts, res.Duration = t.Attempts, r.Now().Sub(start)
	switch {
	case t.Attempts == 0:
		return Result{} // a signal came first: the row keeps its line
	case t.Err == nil:
		res.Outcome, res.Error, res.Status, res.Number, res.RequestID = RolledBack, up.Note, up.StatusCode, up.Number, up.RequestID
		return res
	}
	if apiErr, ok := errors.AsType[*dialnexa.APIError](t.Err); ok {
		res.Status, res.RequestID = apiErr.StatusCode, apiErr.RequestID
	}
	outcome, why := classify(t.Err)
	res.Outcome, res.Error = outcome, "not put back: "+why
	return res
}

// verify reads the numbers put back once more: one that does not hold its values
// before the run (an API that answered 200 and applied nothing) gets a line, differs.
// A read that fails is logged: the answers stand.
func (p *putBack) verify(ctx context.Context) {
	ids := map[string]bool{}
	for i, o := range p.outcomes {
		if o == RolledBack {
			ids[p.rows[i].row.ID] = true
		}
	}
	now, requests, err := p.r.readNumbers(ctx, ids)
	if err != nil {
		p.r.Log.Warn().Str("event", "rollback_verify").Str("error", err.Error()).
			Msg("could not read the numbers put back to check them; reassign verify with the undo plan checks them")
		return
	}
	for i, w := range p.rows {
		if p.outcomes[i] != RolledBack {
			continue
		}
		undo, _ := Undo(w.row, *w.before, "")
		state, ok := now[w.row.ID]
		diff := "the number is no longer in the workspace's list"
		if ok {
			diff = Differences(undo, state)
		}
		if diff != "" {
			res := Result{Row: w.row, Before: w.before, earlier: RolledBack, Outcome: Differs,
				Error: "put back, but the number does not hold its values before the run: " + diff}
			res.Number.AgentID, res.Number.Nickname = state.AgentID, state.Nickname
			p.line(i, res)
		}
	}
	p.r.Log.Debug().Str("event", "rollback_verify").Int("numbers", len(ids)).Int("requests", requests).Msg("numbers put back read again")
}

// end tallies the rollback: a number is back when its last line is rolled_back or
// unchanged; one a signal left undecided is not.
func (p *putBack) end(ctx context.Context) rollbackEnd {
	e := rollbackEnd{ran: true}
	for _, o := range p.outcomes {
		switch o {
		case RolledBack, Unchanged:
		case "":
			e.notBack++
			e.interrupted = e.interrupted || ctx.Err() != nil
		default:
			e.notBack++
		}
	}
	return e
}
