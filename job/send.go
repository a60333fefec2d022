package job

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// senders is the phase of a run that sends the rows needing a write: a pool of
// goroutines taking rows from todo and handing each result to the collector. Rows
// waiting out a backoff hold no request slot, so the pool is larger than Workers; the
// Retrier's slots bound the requests actually in flight. Once the run stops, the rows
// still coming end not_attempted, until the feeder has read the plan.
type senders struct {
	r    *Runner
	rt   pace.Retrier // the Runner's, with the run's slots
	stop *runStop
	todo chan Result   // from the feeder
	done chan<- Result // to the collector
	wg   sync.WaitGroup

	errRows atomic.Int64 // rows not_found, rejected or forbidden
	sent    atomic.Int64 // rows with a request sent
	cut     atomic.Int64 // rows a stop left unfinished (not sent, or not retried)
	gated   bool         // the run has gates, which judge the row errors

	mu        sync.Mutex
	answers   int // the first answers of the run, up to five
	forbidden int // how many of those were 403
}

// startSenders starts the pool; close ends it. gated says the run has gates.
func (r *Runner) startSenders(stop *runStop, done chan<- Result, gated bool) *senders {
	s := &senders{r: r, rt: r.Retrier, stop: stop, todo: make(chan Result), done: done, gated: gated}
	s.rt.Slots = make(chan struct{}, r.Workers)
	for range 4 * r.Workers {
		s.wg.Go(func() {
			for res := range s.todo {
				s.done <- s.send(res)
			}
		})
	}
	return s
}

// close says there are no more rows, and returns once every row taken is done.
func (s *senders) close() {
	close(s.todo)
	s.wg.Wait()
}

// send sends one row until it succeeds, fails for good, runs out of attempts or the run
// stops.
func (s *senders) send(res Result) Result {
	a := rowSend{s: s, res: res}
	a.res.Body = Body(res.Row)
	t := s.rt.Do(s.stop.sending, s.stop.requests, a.about, a.try)
	return a.end(t)
}

// rowSend is one row on its way, across its attempts.
type rowSend struct {
	s     *senders
	res   Result
	start time.Time // the first request: queueing for a slot is not the row's time
}

// about adds the row to the event logged before a retry.
func (a *rowSend) about(e *zerolog.Event) *zerolog.Event {
	return e.Int("line", a.res.Row.Line).Str("id", a.res.Row.ID).Int("status", a.res.Status)
}

// try sends one request for the row. An answer that is a reason to stop the whole run
// stops it now, while the row still holds its slot: no other sender may send with a
// refused key or past --max-errors in the meantime.
func (a *rowSend) try(ctx context.Context) (dialnexa.Budget, error) {
	r := a.s.r
	if a.start.IsZero() {
		a.start = r.Now()
		a.s.sent.Add(1)
	}
	up, err := r.Client.Patch(ctx, a.res.Row.ID, a.res.Body)
	var stated dialnexa.Budget
	status := 0 // this attempt's answer; none for a transport failure
	if err == nil {
		status, a.res.RequestID, stated = up.StatusCode, up.RequestID, up.Budget
		a.res.Outcome, a.res.Number, a.res.Error = Updated, up.Number, up.Note
	} else if apiErr, ok := errors.AsType[*dialnexa.APIError](err); ok {
		status, a.res.RequestID = apiErr.StatusCode, apiErr.RequestID
	}
	if status == 0 {
		return stated, err
	}
	a.res.Status = status // the report keeps the last answer's
	a.s.answered(status)
	if err != nil && !pace.Retryable(err) {
		a.s.refused(statusOutcome(status))
	}
	return stated, err
}

// end is the row's result once Do is done with it.
func (a *rowSend) end(t pace.Tries) Result {
	res := a.res
	res.Attempts = t.Attempts
	res.Finished = a.s.r.Now()
	if !a.start.IsZero() {
		res.Duration = res.Finished.Sub(a.start)
	}
	switch {
	case res.Outcome == Updated:
		return res
	case res.Attempts == 0:
		res.Outcome, res.Error = NotAttempted, a.s.stop.unsentReason("not sent: the run stopped")
		a.s.cut.Add(1)
		return res
	}
	res.Outcome, res.Error = classify(t.Err)
	switch {
	case res.Outcome != Failed:
	case t.Stopped:
		res.Error += " (the run stopped before another attempt)"
		a.s.cut.Add(1)
	case a.s.stop.requests.Err() != nil:
		res.Error += " (cut off: the run was stopping and the drain time ran out)"
		a.s.cut.Add(1)
	}
	return res
}

// refused takes a row's final answer other than a success: a 401 stops the run, and so
// does the row error that reaches --max-errors, in a run without gates (with them, the
// gates judge the row errors).
func (s *senders) refused(o Outcome) {
	switch {
	case o == Unauthorized:
		s.stop.stopWith(StopKeyRefused, ErrKeyRefused)
	case o.RowError():
		n := s.errRows.Add(1)
		if s.gated || !s.r.MaxErrors.Reached(int(n), int(s.sent.Load())) {
			return
		}
		s.stop.stopWith(StopMaxErrors, ErrMaxErrors)
	}
}

// answered counts the run's first five answers: if all five are 403, the key lacks the
// permission altogether, and the run stops.
func (s *senders) answered(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers >= 5 {
		return
	}
	s.answers++
	if status == http.StatusForbidden {
		s.forbidden++
	}
	if s.answers == 5 && s.forbidden == 5 {
		s.stop.stopWith(StopKeyRefused, fmt.Errorf("%w: the first 5 answers were all 403 Forbidden", ErrKeyRefused))
	}
}

// classify turns the last attempt's error into an outcome and a reason.
func classify(err error) (Outcome, string) {
	apiErr, ok := errors.AsType[*dialnexa.APIError](err)
	if !ok {
		return Failed, err.Error()
	}
	return statusOutcome(apiErr.StatusCode), apiErr.Error()
}

// statusOutcome is the outcome of a row whose last answer had this status, not a 2xx.
func statusOutcome(s int) Outcome {
	switch {
	case s == http.StatusNotFound:
		return NotFound
	case s == http.StatusUnauthorized:
		return Unauthorized
	case s == http.StatusForbidden:
		return Forbidden
	case pace.RetryableStatus(s), s >= 300 && s < 400, s >= 500:
		return Failed
	default:
		return Rejected
	}
}
