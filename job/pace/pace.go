// Package pace decides when each request of a run may go (docs/rate-and-retries.md).
// One Gate, which every request waits at and reports its answer to, is
// the mechanism: it lets no request go faster than --rate and --burst (a rate.Limiter
// whose reservations queue the callers in time), none faster than the pace a policy
// sets, and none while it awaits the answer to a request sent alone or a spent window's
// end. Two policies set the pace from the answers. When the API states its budget, what
// is left is spread evenly until the reset and never overspent, less what others sharing
// the key spend steadily: a rate read from how the stated Remaining fell beyond this
// pod's own requests over the last second, in which a single fall does not count, and
// every answer is taken as stated. When it states nothing, a 429 cuts the pace to what
// the API accepted over the last second, and quiet seconds raise it again. Either way a
// 429 sends the next request alone: answered, the pool goes on; refused too, the window
// is spent and the pool pauses for its Retry-After. The Retrier sends one request
// through the Gate until it is answered for good.
package pace

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"reassign/job/dialnexa"
)

// The tuned constants of the package (docs/rate-and-retries.md).
const (
	// memory is how far back rates are measured: what the API accepted, what others spend;
	// the learnt pace rises at most once in it. A request sent alone whose answer has not
	// come within it lets another go.
	memory = time.Second
	// earlyProbe is how long before a pause's end (by a Retry-After in whole seconds,
	// rounded up) one request goes alone to find the window's end sooner.
	earlyProbe = 500 * time.Millisecond
	// logEvery is how often at most the budget the API states is logged again.
	logEvery = 5 * time.Second
)

// Gate is the run's one gate for requests. Wait lets one through; Done takes its answer.
type Gate struct {
	// Log gets the budget the API states (when it changes) and the pauses.
	Log zerolog.Logger
	// Shards is how many pods are expected to share the API's budget (--shards): a pod
	// never paces below that share of a stated budget (half when alone).
	Shards int
	// Sleep waits out a pause of the pool; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	now         func() time.Time
	ceiling     *rate.Limiter   // --rate and --burst, never changed
	turn        chan struct{}   // held by the first in line, the one waiter that reserves
	mu          sync.Mutex      // guards what follows
	changed     chan struct{}   // closed, and replaced, when the gate may have opened
	waiting     bool            // the first in line waits on changed
	pace        *rate.Limiter   // the policy's pace, burst 1; nil while the ceiling is the pace
	seq         uint64          // requests sent
	flying      []uint64        // the requests in flight
	budget      *budget         // nil while the answers state none
	learnt      learnt          // the pace 429s teach, when no budget is stated
	logged      dialnexa.Budget // the budget last logged, at loggedAt
	loggedAt    time.Time
	toldIgnored bool // that an answer named more limits than are read

	// After a 429, requests go one at a time, each alone until it is answered.
	heldAt   uint64 // a 429 to a request sent up to heldAt says nothing new
	asking   bool   // the next request goes alone
	alone    uint64 // the request in flight alone, sent at aloneAt; 0 when none
	aloneAt  time.Time
	paused   bool // the window is spent: nothing goes until pauseEnd (or an early probe)
	pauseEnd time.Time
	pauses   int // pauses begun: a timer ends only its own
}

// Ticket is a request Wait let through; Done takes it back with the answer.
type Ticket struct{ seq uint64 }

// Reply is what the Gate needs of an answer.
type Reply struct {
	Status     int           // the HTTP status; 0 when no answer came
	RetryAfter time.Duration // a 429's Retry-After
	Budget     dialnexa.Budget
}

// NewGate returns a gate of perSecond requests a second (0 = no ceiling) and the given
// burst (at least 1). now is the clock.
func NewGate(perSecond float64, burst int, now func() time.Time) *Gate {
	ceiling := rate.Limit(perSecond)
	if perSecond <= 0 {
		ceiling = rate.Inf
	}
	return &Gate{
		now: now, ceiling: rate.NewLimiter(ceiling, max(burst, 1)), turn: make(chan struct{}, 1),
		changed: make(chan struct{}), learnt: learnt{ceiling: ceiling, rate: ceiling},
	}
}

// Limit is the rate now in force.
func (g *Gate) Limit() rate.Limit {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pace != nil {
		return min(g.pace.Limit(), g.ceiling.Limit())
	}
	return g.ceiling.Limit()
}

// Wait blocks until a request may be sent, or ctx is done. The Ticket it returns must be
// given back to Done once the request is answered or has failed.
func (g *Gate) Wait(ctx context.Context) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		return Ticket{}, err // ended already: nothing is sent, however open the gate
	}
	// One waiter at a time reserves, so that a change cancels one reservation, the last.
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return Ticket{}, ctx.Err()
	}
	defer func() { <-g.turn }()
	for {
		g.mu.Lock()
		now := g.now()
		hold := g.held(now)
		var reserved [2]*rate.Reservation
		wait := hold
		if hold == 0 {
			if reserved, wait = g.reserve(now); wait == 0 {
				tk := g.send(now)
				g.mu.Unlock()
				return tk, nil
			}
		}
		changed := g.changed
		g.waiting = true
		g.mu.Unlock()
		timedOut, err := waitFor(ctx, changed, wait)
		g.mu.Lock()
		g.waiting = false
		now = g.now()
		if hold == 0 && timedOut && g.held(now) == 0 { // its time came
			tk := g.send(now)
			g.mu.Unlock()
			return tk, nil
		}
		for _, r := range reserved {
			if r != nil {
				r.CancelAt(now) // the gate changed before the time came: ask again
			}
		}
		g.mu.Unlock()
		if err != nil {
			return Ticket{}, err
		}
	}
}

// reserve takes a place for one request on the ceiling and the pace, and reports how
// long until it comes. g.mu is held.
func (g *Gate) reserve(now time.Time) (reserved [2]*rate.Reservation, wait time.Duration) {
	for i, lim := range [2]*rate.Limiter{g.ceiling, g.pace} {
		if lim != nil && lim.Limit() != rate.Inf {
			reserved[i] = lim.ReserveN(now, 1)
			wait = max(wait, reserved[i].DelayFrom(now))
		}
	}
	return reserved, wait
}

// waitFor waits until d has passed (true; d < 0: no limit), changed is closed or ctx is
// done.
func waitFor(ctx context.Context, changed <-chan struct{}, d time.Duration) (bool, error) {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return true, nil
	case <-changed:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// held is how long no request may go, whatever the rates: 0 none; -1 until something
// changes (an answer, the end of a pause). g.mu is held.
func (g *Gate) held(now time.Time) time.Duration {
	if g.paused {
		return -1
	}
	if g.alone != 0 {
		if d := memory - now.Sub(g.aloneAt); d > 0 {
			return d // its answer is awaited, for a while: one that hangs lets another go
		}
	}
	if b := g.budget; b != nil && !b.ended(now) && b.left(g.seq) < 1 {
		return b.end().Sub(now)
	}
	return 0
}

// send lets one request through. g.mu is held.
func (g *Gate) send(now time.Time) Ticket {
	g.seq++
	if g.seq == 1 {
		g.learnt.accepted.add(now, 0) // the rates are measured from the first request
	}
	g.flying = append(g.flying, g.seq)
	if g.asking || g.budget != nil && g.budget.ended(now) {
		g.alone, g.aloneAt = g.seq, now // it goes alone: a probe, or one to learn the new window
	}
	return Ticket{seq: g.seq}
}

// Done takes back the ticket of a request with what its answer said.
func (g *Gate) Done(tk Ticket, r Reply) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for i, s := range g.flying {
		if s == tk.seq {
			g.flying[i] = g.flying[len(g.flying)-1]
			g.flying = g.flying[:len(g.flying)-1]
			break
		}
	}
	alone := tk.seq == g.alone
	if alone {
		g.alone = 0
	}
	if r.Budget.Stated {
		g.stated(tk.seq, r.Budget, now)
	} else if alone && g.budget != nil && g.budget.ended(now) && r.Status != 0 && r.Status != http.StatusTooManyRequests {
		// The window ended and the first answer after it states nothing: the API no
		// longer says, and the pace falls back on what 429s teach.
		g.budget = nil
		g.Log.Info().Str("event", "rate_budget").Msg("the API no longer states its rate budget; pacing by its 429s")
	}
	probing := false
	switch {
	case r.Status == http.StatusTooManyRequests:
		probing = g.throttled(tk.seq, alone, r.RetryAfter, now)
	case r.Status != 0:
		g.learnt.success(now)
		if alone && g.asking {
			g.asking = false // the API answers again: the pool goes on
			g.Log.Debug().Str("event", "rate_probe").Msg("a request after the 429 was answered: going on")
		}
	}
	g.setPace(now)
	if probing && g.pace != nil {
		g.pace.ReserveN(now, 1) // the probe goes a token later, once the API may have one again
	}
	g.signal()
}

// throttled takes a 429 to request seq (alone: the request sent alone). It reports
// whether the pool now waits for a probe. A 429 to a request sent before the last one
// was seen says nothing new. Otherwise the first holds the pool back for one probe; a 429
// to the probe means the window is spent, and the pool pauses until it ends.
func (g *Gate) throttled(seq uint64, alone bool, retryAfter time.Duration, now time.Time) bool {
	if b := g.budget; b != nil && seq > b.basis {
		b.spent(seq, now) // nothing is left, whatever was stated: the window's end stands
	}
	switch {
	case alone && g.asking:
		g.pause(retryAfter, now)
	case seq <= g.heldAt:
	default:
		g.heldAt, g.asking = g.seq, true
		if g.budget == nil {
			g.learnt.throttled(now)
		}
		return true
	}
	return false
}

// pause holds every request until the window's end, by the probe's Retry-After. That
// counts whole seconds, rounded up: the window may end up to a second sooner, so one
// probe goes half a second before. If that one is refused too, its own Retry-After
// cannot move the end later.
func (g *Gate) pause(retryAfter time.Duration, now time.Time) {
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	end := now.Add(min(retryAfter, RetryAfterCap))
	wake := end.Add(-earlyProbe)
	if now.Before(g.pauseEnd) { // the probe before the end
		end = minTime(end, g.pauseEnd)
		wake = end
	} else {
		g.Log.Info().Str("event", "rate_pause").Dur("pause", end.Sub(now)).Msg("the API's window is spent (a probe was refused too): pausing every request until it ends")
	}
	g.pauseEnd, g.paused, g.heldAt = end, true, g.seq
	g.pauses++
	gen, d := g.pauses, max(wake.Sub(now), 0)
	resume := func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if gen == g.pauses { // the next request is a probe: g.asking still holds
			g.paused = false
			g.signal()
		}
	}
	if g.Sleep == nil {
		time.AfterFunc(d, resume)
		return
	}
	go func() {
		g.Sleep(context.Background(), d)
		resume()
	}()
}

// signal wakes the first in line to look at the gate again. g.mu is held.
func (g *Gate) signal() {
	if g.waiting {
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// stated takes what the answer to request seq stated of the budget. g.mu is held.
func (g *Gate) stated(seq uint64, st dialnexa.Budget, now time.Time) {
	before := 0 // requests sent ahead of seq and still unanswered: it may not count them
	for _, s := range g.flying {
		if s < seq {
			before++
		}
	}
	if g.budget == nil || !g.budget.observe(st, seq, before, now) {
		g.budget = newBudget(st, seq, before, now)
	}
	if st.Ignored > 0 && !g.toldIgnored {
		g.toldIgnored = true
		g.Log.Debug().Str("event", "rate_budget").Int("limits_ignored", st.Ignored).
			Msgf("the answer names more rate limits than the %d read; the rest are ignored", dialnexa.MaxLimits)
	}
	changed := !g.logged.Stated || st.Name != g.logged.Name || st.Limit != g.logged.Limit || st.Window != g.logged.Window
	if changed && (g.loggedAt.IsZero() || now.Sub(g.loggedAt) >= logEvery) {
		g.logged, g.loggedAt = st, now
		ev := g.Log.Info().Str("event", "rate_budget").Int("remaining", st.Remaining).Dur("reset_in", st.Reset)
		if st.Limit > 0 {
			ev = ev.Int("limit", st.Limit)
		}
		if st.Window > 0 {
			ev = ev.Dur("window", st.Window)
		}
		if st.Name != "" {
			ev = ev.Str("throttler", st.Name)
		}
		ev.Msg("the API states its rate budget: pacing to spend it, never past it")
	}
}

// setPace sets the pace: the stated budget's, or the rate learnt from 429s; none when
// the ceiling is slower. g.mu is held.
func (g *Gate) setPace(now time.Time) {
	r := g.learnt.rate
	if g.budget != nil {
		r = g.budget.pace(now, g.seq, 1/float64(max(g.Shards, 2)))
	}
	switch {
	case r >= g.ceiling.Limit():
		g.pace = nil
	case g.pace == nil:
		g.pace = rate.NewLimiter(r, 1)
	default:
		g.pace.SetLimitAt(now, r)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
