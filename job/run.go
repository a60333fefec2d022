package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// Outcome is what happened to one plan row.
type Outcome string

// The outcomes a report records (README, "The report").
const (
	Updated      Outcome = "updated"
	WouldUpdate  Outcome = "would_update"
	Unchanged    Outcome = "unchanged"
	NotFound     Outcome = "not_found"
	Rejected     Outcome = "rejected"
	Forbidden    Outcome = "forbidden"
	Unauthorized Outcome = "unauthorized"
	Failed       Outcome = "failed"
	Invalid      Outcome = "invalid"
	Skipped      Outcome = "skipped"
	NotAttempted Outcome = "not_attempted"
	// Conflict: the number moved since the plan was reviewed (Row.Reviewed); not sent.
	Conflict Outcome = "conflict"
	// Matches and Differs are what Verify finds: the number holds every planned value,
	// or not.
	Matches Outcome = "matches"
	Differs Outcome = "differs"
)

// Outcomes lists every outcome of a run, in the order summaries show them.
var Outcomes = []Outcome{Updated, WouldUpdate, Unchanged, Skipped, Conflict, NotFound, Rejected, Forbidden, Invalid, Unauthorized, Failed, NotAttempted}

// VerifyOutcomes lists every outcome of Verify, in the order summaries show them.
var VerifyOutcomes = []Outcome{Matches, Differs, NotFound, Invalid, NotAttempted}

// Result is one row's record: the row as planned and what the API did with it.
type Result struct {
	Row       Row
	Outcome   Outcome
	Status    int // the last answer's HTTP status; 0 when none came
	Attempts  int // requests sent for the row
	Error     string
	Number    dialnexa.PhoneNumber // from the answer to a successful PATCH
	RequestID string
	Duration  time.Duration
	Finished  time.Time
	Body      []byte // the JSON body sent, or that would be sent
	// Before is the number's state before the run, from the snapshot; nil when the run
	// took none or the number was not in it.
	Before *Current
}

// Why a run stopped sending before the end of the plan.
var (
	ErrKeyRefused = errors.New("the API refused the key")
	ErrMaxErrors  = errors.New("stopped after --max-errors rows not found, rejected or forbidden")
)

// Patcher sends one PATCH; *dialnexa.Client is the real one.
type Patcher interface {
	Patch(ctx context.Context, id string, body []byte) (*dialnexa.Answer, error)
}

var _ Patcher = (*dialnexa.Client)(nil)

// Runner applies a plan. The zero value is not usable: Client (unless DryRun), Workers,
// Now and the Retrier's Gate, MaxAttempts, Sleep and Rand must be set.
type Runner struct {
	// Retrier sends each row; Run gives it Workers slots.
	pace.Retrier
	Now       func() time.Time
	Client    Patcher
	Workers   int // requests in flight at most
	MaxErrors int // stop after this many not_found/rejected/forbidden rows; 0 = never
	DryRun    bool
	// Shards and ShardIndex pick the rows this run handles (InShard); the others are
	// not its to record.
	Shards, ShardIndex int
	// Done reports rows an earlier run already applied (--resume): they are skipped.
	Done func(Row) bool
	// Snapshot, if set, is the workspace before the run: rows that would change nothing
	// are unchanged without a request, rows that moved since they were reviewed
	// (Row.Reviewed) are conflict, and results carry the values before. In a dry run a
	// number missing from a complete snapshot is reported not_found. A reviewed row is
	// checked only against the Snapshot: without one it is sent as planned.
	Snapshot *Snapshot
	// Limit, if > 0, is how many rows that need a write are sent (in a dry run,
	// reported): every later one is not_attempted (--limit).
	Limit int
	// Declined sends nothing: every row that needs a write is not_attempted (a person
	// answered no to the question before the first write).
	Declined bool
	// Drain bounds how long requests in flight may run on once the run is stopping;
	// 0 leaves them to their own timeout.
	Drain time.Duration
	// WriteAhead, if set, records the rows about to be sent, durably, before any of them
	// is (the undo plan): it is called from one goroutine with up to WriteAheadBatch rows
	// at a time. When it fails the run stops: those rows and the rest are not sent.
	WriteAhead      func([]Result) error
	WriteAheadBatch int // rows per WriteAhead call; 4 × Workers when 0
	// Flush, if set, pushes what record wrote to its file: it is called when no other
	// result is waiting, but at most once per FlushEvery, the rest held until then. A
	// killed run loses at most the rows of its last FlushEvery.
	Flush      func() error
	FlushEvery time.Duration
	// ProgressEvery is how often Progress is called; 0 = never.
	ProgressEvery time.Duration
	Progress      func(Summary)
}

// Summary counts a run's outcomes and says why it stopped early, if it did.
type Summary struct {
	Counts map[Outcome]int
	// Outcomes lists the outcomes this kind of run records (Outcomes, VerifyOutcomes),
	// in the order summaries show them; nil means Outcomes.
	Outcomes    []Outcome
	Rows        int
	Elapsed     time.Duration
	Interrupted bool  // the caller's context ended the run (a signal)
	Stopped     error // ErrKeyRefused, ErrMaxErrors or a record error, if any
	// Withheld counts the not_attempted rows that were held back on purpose (Limit,
	// Declined): they are no reason to run again.
	Withheld int
}

// Kinds is the outcomes this kind of run records, in the order summaries show them.
func (s Summary) Kinds() []Outcome {
	if s.Outcomes == nil {
		return Outcomes
	}
	return s.Outcomes
}

// Each streams the rows of a plan with their problems, stopping at the first error fn
// returns (planfile's Plan.Each is one).
type Each func(fn func(Row, []Problem) error) error

// Run sends every row that each yields, calling record once per row, from one goroutine,
// as rows finish. Row failures are results; Run returns an error only when the plan
// could not be read. Cancelling ctx stops new requests: rows in flight get Drain to
// finish, the rest are recorded as not_attempted.
func (r *Runner) Run(ctx context.Context, each Each, record func(Result) error) (Summary, error) {
	start := r.Now()
	sum := Summary{Counts: map[Outcome]int{}, Outcomes: Outcomes}

	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	g, gctx := errgroup.WithContext(stopCtx)

	// Requests in flight are not cut by a stop: they get Drain to finish.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	go func() {
		select {
		case <-gctx.Done():
		case <-reqCtx.Done():
			return
		}
		if r.Drain <= 0 {
			return
		}
		t := time.NewTimer(r.Drain)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReqs()
		case <-reqCtx.Done():
		}
	}()

	results := make(chan Result, r.Workers)
	collected := make(chan struct{})
	var mu sync.Mutex // guards sum while the collector runs
	go func() {
		defer close(collected)
		var tick <-chan time.Time
		if r.ProgressEvery > 0 && r.Progress != nil {
			t := time.NewTicker(r.ProgressEvery)
			defer t.Stop()
			tick = t.C
		}
		failed := false
		fail := func(err error) {
			if err != nil && !failed {
				failed = true
				stop(fmt.Errorf("write report: %w", err))
			}
		}
		// Rows that finish together are flushed together, and at full speed at most once
		// per FlushEvery: a write per row would cost more than the row.
		var lastFlush time.Time
		var held <-chan time.Time // fires when rows held back are due
		flush := func() {
			held = nil
			if r.Flush != nil && !failed {
				lastFlush = r.Now()
				fail(r.Flush())
			}
		}
		for {
			select {
			case res, ok := <-results:
				if !ok {
					flush()
					return
				}
				mu.Lock()
				sum.Counts[res.Outcome]++
				sum.Rows++
				mu.Unlock()
				logRow(r.Log, res)
				if failed {
					continue
				}
				fail(record(res))
				if len(results) > 0 || held != nil {
					continue
				}
				if wait := r.FlushEvery - r.Now().Sub(lastFlush); wait > 0 {
					held = time.After(wait)
				} else {
					flush()
				}
			case <-held:
				flush()
			case <-tick:
				mu.Lock()
				s := sum.clone()
				mu.Unlock()
				s.Elapsed = r.Now().Sub(start)
				r.Progress(s)
			}
		}
	}()

	st := &runState{r: r, reqCtx: reqCtx, stop: stop}
	st.rt = r.Retrier
	st.rt.Slots = make(chan struct{}, r.Workers)
	// A pool of goroutines takes the rows to send. Rows waiting out a backoff hold no
	// request slot, so the pool is larger than the workers; slots bound the requests
	// actually in flight. A row's stop reason is already the run's (st.stop): workers
	// keep taking rows, which then end not_attempted, until the plan is read.
	todo := make(chan Result)
	for range 4 * r.Workers {
		g.Go(func() error {
			var first error
			for res := range todo {
				out, err := st.process(gctx, res.Row)
				out.Before = res.Before
				results <- out
				if first == nil {
					first = err
				}
			}
			return first
		})
	}
	interrupted := false
	writes, withheld := 0, 0 // rows that need a write: let through, held back
	// Rows to send wait in batch until WriteAhead has recorded them; without WriteAhead
	// each goes to the workers at once.
	batchSize := r.WriteAheadBatch
	if batchSize <= 0 {
		batchSize = 4 * r.Workers
	}
	var batch []Result
	send := func() {
		if len(batch) > 0 && gctx.Err() == nil {
			if err := r.WriteAhead(batch); err != nil {
				stop(fmt.Errorf("write undo plan: %w", err))
			}
		}
		for _, res := range batch {
			if gctx.Err() != nil {
				res.Outcome, res.Error, res.Finished = NotAttempted, "not sent: "+stopReason(ctx, gctx), r.Now()
				interrupted = interrupted || ctx.Err() != nil
				results <- res
				continue
			}
			todo <- res
		}
		batch = batch[:0]
	}
	readErr := each(func(row Row, problems []Problem) error {
		if !InShard(row.ID, r.Shards, r.ShardIndex) {
			return nil
		}
		res := Result{Row: row}
		before, known := r.Snapshot.Get(row.ID)
		if known {
			res.Before = &before
		}
		res.Outcome, res.Error = r.settle(row, problems, before, known)
		switch {
		case res.Outcome != "":
		case gctx.Err() != nil:
			res.Outcome = NotAttempted
			res.Error = "not sent: " + stopReason(ctx, gctx)
			interrupted = interrupted || ctx.Err() != nil
		case r.Declined || r.Limit > 0 && writes >= r.Limit:
			res.Outcome, res.Error = NotAttempted, r.holdReason()
			withheld++
		case r.DryRun && r.Snapshot != nil && !known:
			writes++
			res.Outcome = NotFound
			res.Error = "not in the workspace (dry run against the workspace)"
		case r.DryRun:
			writes++
			res.Outcome = WouldUpdate
			res.Body = Body(row)
		case r.WriteAhead == nil:
			writes++
			todo <- res
			return nil
		default:
			writes++
			if batch = append(batch, res); len(batch) >= batchSize {
				send()
			}
			return nil
		}
		res.Finished = r.Now()
		results <- res
		return nil
	})
	send()
	close(todo)
	stopErr := g.Wait()
	close(results)
	<-collected

	sum.Elapsed = r.Now().Sub(start)
	sum.Withheld = withheld
	// A signal after the last row was sent interrupts nothing.
	sum.Interrupted = ctx.Err() != nil && (interrupted || st.cut.Load() > 0)
	if cause := context.Cause(stopCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		sum.Stopped = cause
	} else if stopErr != nil {
		sum.Stopped = stopErr
	}
	return sum, readErr
}

// RowsPerSecond is the pace of the run so far, to one decimal.
func (s Summary) RowsPerSecond() float64 {
	if secs := s.Elapsed.Seconds(); secs > 0 {
		return math.Round(float64(s.Rows)/secs*10) / 10
	}
	return 0
}

func (s Summary) clone() Summary {
	c := s
	c.Counts = maps.Clone(s.Counts)
	return c
}

// settle decides a row that needs no request: Invalid, Skipped (an earlier run applied
// it), Unchanged (nothing to send, or the number already holds it) or Conflict (the
// number moved since the row was reviewed). It returns "" for a row that needs a write.
func (r *Runner) settle(row Row, problems []Problem, before Current, known bool) (Outcome, string) {
	switch {
	case len(problems) > 0:
		return Invalid, reasons(problems)
	case r.Done != nil && r.Done(row):
		return Skipped, ""
	case !row.HasChanges():
		return Unchanged, ""
	case known && NoOp(row, before):
		return Unchanged, "already as planned"
	case known:
		if moved := Moved(row, before); moved != "" {
			return Conflict, moved
		}
	}
	return "", ""
}

// holdReason is the error of a row that needs a write and is held back on purpose.
func (r *Runner) holdReason() string {
	if r.Declined {
		return "not sent: the run was not confirmed (Apply? [y/N])"
	}
	return "--limit reached"
}

func reasons(problems []Problem) string {
	rs := make([]string, len(problems))
	for i, p := range problems {
		rs[i] = p.Reason
	}
	return strings.Join(rs, "; ")
}

func stopReason(ctx, gctx context.Context) string {
	if ctx.Err() != nil {
		return "the run was interrupted"
	}
	if cause := context.Cause(gctx); cause != nil {
		return "the run stopped: " + cause.Error()
	}
	return "the run stopped"
}

// runState is what the workers of one run share.
type runState struct {
	r      *Runner
	rt     pace.Retrier // the Runner's, with the run's slots
	reqCtx context.Context
	// stop ends the sending at once, with the reason as Summary.Stopped.
	stop context.CancelCauseFunc

	errRows atomic.Int64 // rows not_found, rejected or forbidden
	cut     atomic.Int64 // rows a stop left unfinished (not sent, or not retried)

	mu        sync.Mutex
	answers   int // the first answers of the run, up to five
	forbidden int // how many of those were 403
}

// process sends one row until it succeeds, fails for good, runs out of attempts or the
// run stops. Its error, if any, is a reason to stop the whole run.
func (st *runState) process(ctx context.Context, row Row) (Result, error) {
	r := st.r
	var start time.Time // the first request: queueing for a slot is not the row's time
	res := Result{Row: row, Body: Body(row)}
	var stopRun error
	about := func(e *zerolog.Event) *zerolog.Event {
		return e.Int("line", row.Line).Str("id", row.ID).Int("status", res.Status)
	}
	t := st.rt.Do(ctx, st.reqCtx, about, func(reqCtx context.Context) (dialnexa.Budget, error) {
		if start.IsZero() {
			start = r.Now()
		}
		up, err := r.Client.Patch(reqCtx, row.ID, res.Body)
		var apiErr *dialnexa.APIError
		var stated dialnexa.Budget
		status := 0 // this attempt's answer; none for a transport failure
		switch {
		case err == nil:
			status, res.RequestID, stated = up.StatusCode, up.RequestID, up.Budget
			res.Outcome, res.Number, res.Error = Updated, up.Number, up.Note
		case errors.As(err, &apiErr):
			status, res.RequestID = apiErr.StatusCode, apiErr.RequestID
		}
		if status != 0 {
			res.Status = status // the report keeps the last answer's
			if e := st.answered(status); e != nil {
				stopRun = e
			}
		}
		// An answer that stops the run stops it now, while this row still holds its slot:
		// no other worker may send with a refused key or past --max-errors in the meantime.
		if err != nil && !pace.Retryable(err) {
			switch o, _ := classify(err); o {
			case Unauthorized:
				stopRun = ErrKeyRefused
			case NotFound, Rejected, Forbidden:
				if n := st.errRows.Add(1); r.MaxErrors > 0 && n >= int64(r.MaxErrors) && stopRun == nil {
					stopRun = ErrMaxErrors
				}
			}
		}
		if stopRun != nil {
			st.stop(stopRun)
		}
		return stated, err
	})
	res.Attempts = t.Attempts
	res.Finished = r.Now()
	if !start.IsZero() {
		res.Duration = res.Finished.Sub(start)
	}
	switch {
	case res.Outcome == Updated:
		return res, stopRun
	case res.Attempts == 0:
		res.Outcome, res.Error = NotAttempted, "not sent: the run stopped"
		st.cut.Add(1)
		return res, stopRun
	}
	res.Outcome, res.Error = classify(t.Err)
	switch {
	case res.Outcome != Failed:
	case t.Stopped:
		res.Error += " (the run stopped before another attempt)"
		st.cut.Add(1)
	case st.reqCtx.Err() != nil:
		res.Error += " (cut off: the run was stopping and the drain time ran out)"
		st.cut.Add(1)
	}
	return res, stopRun
}

// answered counts the run's first five answers: if all five are 403, the key lacks the
// permission altogether.
func (st *runState) answered(status int) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.answers >= 5 {
		return nil
	}
	st.answers++
	if status == http.StatusForbidden {
		st.forbidden++
	}
	if st.answers == 5 && st.forbidden == 5 {
		return fmt.Errorf("%w: the first 5 answers were all 403 Forbidden", ErrKeyRefused)
	}
	return nil
}

// classify turns the last attempt's error into an outcome and a reason.
func classify(err error) (Outcome, string) {
	var apiErr *dialnexa.APIError
	if !errors.As(err, &apiErr) {
		return Failed, err.Error()
	}
	s := apiErr.StatusCode
	switch {
	case s == http.StatusNotFound:
		return NotFound, apiErr.Error()
	case s == http.StatusUnauthorized:
		return Unauthorized, apiErr.Error()
	case s == http.StatusForbidden:
		return Forbidden, apiErr.Error()
	case pace.RetryableStatus(s), s >= 300 && s < 400, s >= 500:
		return Failed, apiErr.Error()
	default:
		return Rejected, apiErr.Error()
	}
}

// logRow logs one row's event: info for success, warn for a row that needs a fix,
// error for a failure.
func logRow(log zerolog.Logger, res Result) {
	var ev *zerolog.Event
	switch res.Outcome {
	case Failed, Unauthorized:
		ev = log.Error()
	case NotFound, Rejected, Forbidden, Invalid, Conflict, Differs:
		ev = log.Warn()
	default:
		ev = log.Info()
	}
	ev = ev.Str("event", "row").Int("line", res.Row.Line).Str("id", res.Row.ID).
		Str("outcome", string(res.Outcome)).Int("status", res.Status).Int("attempts", res.Attempts).
		Int64("duration_ms", res.Duration.Milliseconds())
	if res.Error != "" {
		ev = ev.Str("error", res.Error)
	}
	if res.Outcome == WouldUpdate {
		ev = ev.RawJSON("body", res.Body)
	}
	ev.Msg(string(res.Outcome))
}
