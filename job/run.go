package job

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"reassign/job/dialnexa"
	"reassign/job/pace"
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
	Now     func() time.Time
	Client  Patcher
	Workers int // requests in flight at most
	// MaxErrors bounds the rows not_found, rejected or forbidden. Without gates the run
	// stops sending once it is reached (its zero value: never); with them it is what a
	// gate allows (its zero value: any number, or none in an atomic run).
	MaxErrors Allowance
	DryRun    bool
	// Waves, if set, sends the rows that need a write in cumulative waves, each checked
	// by its gate (gates) before the next: Reader re-reads the numbers a wave wrote.
	Waves Waves
	// Atomic puts back every number the run changed, from the before values, when a gate
	// fails (without Waves: a row fails, or the row errors pass MaxErrors): see rollback.
	// It needs Reader and the Snapshot; a signal stops an atomic run as any other.
	Atomic bool
	// Reader reads the workspace's numbers for the gates and the rollback.
	Reader Lister
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
	// Ignored names the plan's columns the job does not read, as their titles are
	// written (the Preview says them).
	Ignored []string
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

// Each streams the rows of a plan with their problems, stopping at the first error fn
// returns (planfile's Plan.Each is one).
type Each func(fn func(Row, []Problem) error) error

// Run sends every row that each yields, calling record once per row, from one goroutine,
// as rows finish. Row failures are results; Run returns an error only when the plan
// could not be read. Cancelling ctx stops new requests: rows in flight get Drain to
// finish, the rest are recorded as not_attempted.
//
// A run is phases over one runStop: the feeder reads the plan and hands the rows that
// need a write, in batches, to the senders, checking each wave at its gate (with Waves
// or Atomic, whose rows are counted first); the collector takes every result; drain
// bounds the requests in flight once the run stops; when an atomic run's gate failed,
// the rollback puts back what it changed, its lines going to the same collector.
func (r *Runner) Run(ctx context.Context, each Each, record func(Result) error) (Summary, error) {
	start := r.Now()
	stop := newRunStop(ctx)
	defer stop.end()
	go stop.drain(r.Drain)
	g, err := r.newGates(each)
	if err != nil {
		return Summary{}, err
	}

	results := make(chan Result, r.Workers)
	col := r.newCollector(record, RunOutcomes, stop.stopWith)
	col.gates, col.stop, col.asks = g, stop, make(chan gateAsk)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		col.collect(results, start)
	}()
	senders := r.startSenders(stop, results, g != nil)
	feed := r.newFeeder(stop, senders.todo, results, g, col.asks)
	readErr := each(feed.row)
	feed.finish()
	senders.close()
	close(results)
	<-collected

	var rb rollbackEnd
	if kind, _ := stop.cause(); readErr == nil && r.Atomic && kind == StopGate && !stop.interrupted() {
		rb = r.rollback(ctx, col, feed.differs, start)
	}
	sum := col.sum
	sum.Elapsed = r.Now().Sub(start)
	sum.Withheld = feed.withheld
	// A signal after the last row was sent interrupts nothing.
	sum.Interrupted = stop.interrupted() && (feed.interrupted || senders.cut.Load() > 0) || rb.interrupted
	sum.Stop, sum.Stopped = stop.cause()
	sum.Rollback, sum.NotBack = rb.state(), rb.notBack
	return sum, readErr
}

// settle decides a row that needs no request: Invalid, Skipped (an earlier run applied
// it), Unchanged (nothing to send, or the number already holds it) or Conflict (the
// number moved since the row was reviewed). It returns "" for a row that needs a write.
func (r *Runner) settle(row Row, problems []Problem, before NumberState, known bool) (Outcome, string) {
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

// withholds reports whether a row that needs a write is held back on purpose, when
// writes rows needing one were let through before it: a person said no (Declined), or
// Limit is reached.
func (r *Runner) withholds(writes int) bool {
	return r.Declined || r.Limit > 0 && writes >= r.Limit
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

// runStop is how one run stops sending: the caller's context ends (a signal), or the
// run stops itself for a reason (stopWith). sending ends with either; requests already
// in flight run on requests instead, which drain cuts Drain later.
type runStop struct {
	caller      context.Context
	sending     context.Context
	stop        context.CancelFunc
	requests    context.Context
	cutRequests context.CancelFunc
	// reason is the run's own first reason to stop, kept even when a signal came first:
	// a 401 on a request let finish after Ctrl-C still says the key was refused.
	reason atomic.Pointer[stopCause]
}

func newRunStop(ctx context.Context) *runStop {
	s := &runStop{caller: ctx}
	s.sending, s.stop = context.WithCancel(ctx)
	s.requests, s.cutRequests = context.WithCancel(context.WithoutCancel(ctx))
	return s
}

// stopWith stops the run for a reason of its own; the first reason stays.
func (s *runStop) stopWith(kind Stop, err error) {
	s.reason.CompareAndSwap(nil, &stopCause{kind, err})
	s.stop()
}

// stopped reports whether the run has stopped sending, for whatever reason.
func (s *runStop) stopped() bool { return s.sending.Err() != nil }

// interrupted reports whether the caller's context ended (a signal).
func (s *runStop) interrupted() bool { return s.caller.Err() != nil }

// cause is the run's own reason to stop, if it had one.
func (s *runStop) cause() (Stop, error) {
	if c := s.reason.Load(); c != nil {
		return c.kind, c.err
	}
	return NotStopped, nil
}

// unsentReason is the error of a row the stop left unsent: a failed gate's own words
// ("wave 2 gate: 1 row does not hold what was written"), else otherwise.
func (s *runStop) unsentReason(otherwise string) string {
	if kind, err := s.cause(); kind == StopGate && !s.interrupted() {
		return err.Error()
	}
	return otherwise
}

// why is the error of a row the stop left unsent, after "not sent: ".
func (s *runStop) why() string {
	if s.interrupted() {
		return "the run was interrupted"
	}
	if _, err := s.cause(); err != nil {
		return "the run stopped: " + err.Error()
	}
	return "the run stopped"
}

// drain lets the requests in flight run on for d once the run stops sending, then cuts
// them; d <= 0 leaves them to their own timeout. It returns when the run ends.
func (s *runStop) drain(d time.Duration) {
	select {
	case <-s.sending.Done():
	case <-s.requests.Done():
		return
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		s.cutRequests()
	case <-s.requests.Done():
	}
}

// end releases the run's contexts, and with them drain.
func (s *runStop) end() {
	s.stop()
	s.cutRequests()
}
