package job

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"reassign/job/dialnexa"
)

// probeWait is how long the pool waits for the answer to a probe (the one request sent
// after a 429, or after a stated window ended) before another may go: a probe that
// hangs must not hold the whole pool for its timeout.
const probeWait = time.Second

// earlyProbe is how long before a pause's end (by the Retry-After, in whole seconds
// rounded up) one probe goes, to find the window's end sooner.
const earlyProbe = 500 * time.Millisecond

// A probe goes when a bucket refilling at the rate the API was seen to accept has a
// token again, with half as much to spare: within these bounds.
const (
	probeDelayMin = 10 * time.Millisecond
	probeDelayMax = 250 * time.Millisecond
)

// Limiter is the run's one gate for requests, shared by every worker, every retry and
// the reads before the writes (README, "Requests, retries and the rate"). Each request
// waits in Wait, and its answer is reported to Done.
//
//   - --rate and --burst are a token bucket never passed.
//   - When answers state the API's budget (dialnexa.Budget), no request is sent beyond
//     the stated remaining, counting the requests in flight, and the rest is paced to
//     last until the window resets. When the remaining falls faster than this pod's own
//     requests explain, others share it: the pod paces at its share.
//   - A 429 holds the pool back but for one probe: if the probe is answered, the API's
//     limiter had only been briefly empty and the pool goes on; if it is refused too,
//     the window is spent and the pool pauses until it ends, by the Retry-After (with
//     one probe half a second before, as Retry-After is rounded up to whole seconds).
//   - With no stated budget, a 429 also lowers the rate to what the API accepted over
//     the last second, which then recovers each second without one, back up to --rate.
type Limiter struct {
	// Log gets the budget the API states (once, and when it changes) and the pauses.
	Log zerolog.Logger
	// Shards is how many pods are expected to share the API's budget (--shards): a pod
	// paces at no less than that share of a stated budget, and starts there until the
	// answers show its own.
	Shards int
	// Sleep waits out a pause of the pool; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	// Two token buckets, taken from without waiting (under mu), so that a request
	// waiting for them can be held back by a 429 that comes meanwhile: --rate and
	// --burst, never changed; and the pace (the stated budget's, or the rate learnt from
	// 429s), burst 1, rate.Inf while it is the ceiling's.
	ceil, pace bucket
	now        func() time.Time

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, when the gate may have opened
	waiting int           // goroutines waiting on changed
	seq     uint64        // requests sent
	flying  []uint64      // the requests in flight
	adapt   adaptive
	bud     *budget // nil while the answers state none
	logged  dialnexa.Budget

	// The 429s: a 429 to a request sent up to heldAt says nothing the last one did not.
	heldAt    uint64
	probing   bool      // only a probe may go, then the pool waits for its answer
	probeFrom time.Time // when the probe may go
	probe     uint64    // the probe in flight; 0 when none
	probeAt   time.Time // when it went
	paused    bool      // the window is spent: nothing goes until the pause ends
	pauseEnd  time.Time // when the window ends, by the Retry-After
	pauses    int       // pauses begun: a timer ends only its own
}

// Ticket is a request Wait let through; Done takes it back with the answer.
type Ticket struct{ seq uint64 }

// Reply is what the Limiter needs of an answer.
type Reply struct {
	Status     int           // the HTTP status; 0 when no answer came
	RetryAfter time.Duration // a 429's Retry-After, as parsed
	Budget     dialnexa.Budget
}

// NewLimiter returns a limiter of perSecond requests a second (0 = no ceiling) and the
// given burst (at least 1). now is the clock.
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	ceiling := rate.Limit(perSecond)
	if perSecond <= 0 {
		ceiling = rate.Inf
	}
	// Burst at least 1: a finite limit with burst 0 refuses every Wait.
	burst = max(burst, 1)
	return &Limiter{
		ceil: newBucket(ceiling, burst), pace: newBucket(rate.Inf, 1), now: now,
		changed: make(chan struct{}), adapt: adaptive{ceiling: ceiling, current: ceiling},
	}
}

// Limit is the rate now in force.
func (l *Limiter) Limit() rate.Limit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return min(l.ceil.r, l.pace.r)
}

// Wait blocks until a request may be sent, or ctx is done. The Ticket it returns must be
// given back to Done once the request is answered or has failed.
func (l *Limiter) Wait(ctx context.Context) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		return Ticket{}, err // ended already: nothing is sent, however open the gate
	}
	for {
		l.mu.Lock()
		d := l.gate(l.now())
		if d == 0 {
			tk := l.take()
			l.mu.Unlock()
			return tk, nil
		}
		changed := l.changed
		l.waiting++
		l.mu.Unlock()
		err := waitFor(ctx, changed, d)
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
		if err != nil {
			return Ticket{}, err
		}
	}
}

// waitFor waits until changed is closed, d has passed (d < 0: no limit) or ctx is done.
func waitFor(ctx context.Context, changed <-chan struct{}, d time.Duration) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-changed:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// gate reports 0 when a request may go now; else how long until it may if nothing else
// happens, or -1 when only an answer (or the end of a pause) can open it.
func (l *Limiter) gate(now time.Time) time.Duration {
	if l.paused {
		return -1
	}
	if l.probing {
		if d := probeLeft(now, l.probe, l.probeAt); d > 0 {
			return d
		}
		if now.Before(l.probeFrom) {
			return l.probeFrom.Sub(now)
		}
	}
	if b := l.bud; b != nil {
		switch {
		case b.ended(now):
			// One request learns the new window before any other goes.
			if d := probeLeft(now, b.learner, b.learnerAt); d > 0 {
				return d
			}
		case b.left(now, l.seq) < 1:
			return b.end().Sub(now)
		}
	}
	return max(l.ceil.wait(now), l.pace.wait(now))
}

// probeLeft is how long the pool still waits for the answer to probe, sent at since
// (none when probe is 0).
func probeLeft(now time.Time, probe uint64, since time.Time) time.Duration {
	if probe == 0 {
		return 0
	}
	return max(0, probeWait-now.Sub(since))
}

// take lets one request through; l.mu is held, and gate said it may go.
func (l *Limiter) take() Ticket {
	now := l.now()
	l.ceil.take(now)
	l.pace.take(now)
	l.seq++
	l.flying = append(l.flying, l.seq)
	if l.probing && (l.probe == 0 || now.Sub(l.probeAt) >= probeWait) {
		l.probe, l.probeAt = l.seq, now
	}
	if b := l.bud; b != nil && b.ended(now) && (b.learner == 0 || now.Sub(b.learnerAt) >= probeWait) {
		b.learner, b.learnerAt = l.seq, now
	}
	return Ticket{seq: l.seq}
}

// Done takes back the ticket of a request with what its answer said.
func (l *Limiter) Done(tk Ticket, r Reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if i := slices.Index(l.flying, tk.seq); i >= 0 {
		l.flying[i] = l.flying[len(l.flying)-1]
		l.flying = l.flying[:len(l.flying)-1]
	}
	if r.Budget.Stated {
		l.stated(tk.seq, r.Budget, now)
	} else if l.bud != nil && l.bud.learner == tk.seq && r.Status != 0 && r.Status != http.StatusTooManyRequests {
		// The window ended and the first answer after it states nothing: the API no
		// longer says, and the pace falls back on what 429s teach.
		l.bud = nil
		l.Log.Info().Str("event", "rate_budget").Msg("the API no longer states its rate budget; pacing by its 429s")
		l.setPace()
	}
	switch {
	case r.Status == http.StatusTooManyRequests:
		l.throttled(tk.seq, r.RetryAfter, now)
	case r.Status != 0:
		l.adapt.success(now)
		if l.bud == nil {
			l.setPace()
		}
		if l.probing && tk.seq == l.probe {
			l.probing, l.probe = false, 0 // the API answers again: the pool goes on
			l.Log.Debug().Str("event", "rate_probe").Msg("a request after the 429 was answered: going on")
		}
	case l.probing && tk.seq == l.probe:
		l.probe = 0 // no answer says nothing: another probe may go
	}
	if l.bud != nil && l.bud.learner == tk.seq {
		l.bud.learner = 0
	}
	l.signal()
}

// stated takes what an answer stated of the budget.
func (l *Limiter) stated(seq uint64, b dialnexa.Budget, now time.Time) {
	before := 0
	for _, s := range l.flying {
		if s < seq {
			before++
		}
	}
	if l.bud == nil {
		l.bud = newBudget(b, seq, before, now, l.Shards)
	} else {
		l.bud.observe(b, seq, before, now)
	}
	if b.Limit != l.logged.Limit || b.Window != l.logged.Window || b.Name != l.logged.Name || !l.logged.Stated {
		l.logged = b
		ev := l.Log.Info().Str("event", "rate_budget").Int("remaining", b.Remaining).Dur("reset_in", b.Reset)
		if b.Limit > 0 {
			ev = ev.Int("limit", b.Limit)
		}
		if b.Window > 0 {
			ev = ev.Dur("window", b.Window)
		}
		if b.Name != "" {
			ev = ev.Str("throttler", b.Name)
		}
		ev.Msg("the API states its rate budget: pacing to spend it, never past it")
	}
	l.setPace()
}

// throttled takes a 429 to request seq. A 429 to a request sent before the last one was
// seen says nothing new. Otherwise: the first holds the pool back for one probe; a 429
// to the probe means the window is spent, and the pool pauses until it ends.
func (l *Limiter) throttled(seq uint64, retryAfter time.Duration, now time.Time) {
	if l.bud != nil && seq > l.bud.basis {
		// Nothing is left, whatever was stated: the window's end still stands.
		l.bud.basis, l.bud.stated, l.bud.remaining, l.bud.at = seq, 0, 0, now
	}
	switch {
	case l.probing && seq == l.probe:
		// The probe is refused too: the window is spent, and the pool pauses until it
		// ends, as the Retry-After says. That counts whole seconds, rounded up: the window
		// may end up to a second sooner. One probe goes half a second before the end; if
		// it is refused, its own Retry-After cannot move the end later.
		if retryAfter <= 0 {
			retryAfter = time.Second
		}
		end := now.Add(min(retryAfter, RetryAfterCap))
		wake := end.Add(-earlyProbe)
		if now.Before(l.pauseEnd) { // the probe before the end
			end = minTime(end, l.pauseEnd)
			wake = end
		} else {
			l.Log.Info().Str("event", "rate_pause").Dur("pause", end.Sub(now)).Msg("the API's window is spent (a probe was refused too): pausing every request until it ends")
		}
		l.pauseEnd = end
		l.paused, l.probing, l.probe = true, false, 0
		l.heldAt = l.seq
		l.pause(max(wake.Sub(now), 0))
	case seq <= l.heldAt:
	default:
		l.heldAt = l.seq
		l.probing, l.probe = true, 0
		l.probeFrom = now.Add(l.probeDelay(now))
		if l.bud == nil {
			l.adapt.throttled(now)
			l.setPace()
		}
	}
}

// probeDelay is how long after a 429 the probe goes: long enough for a bucket refilling
// at the rate the API accepted over the last second to have a token again.
func (l *Limiter) probeDelay(now time.Time) time.Duration {
	accepted := float64(l.adapt.accepted(now))
	if accepted <= 0 {
		return probeDelayMax
	}
	return min(max(time.Duration(1.5/accepted*float64(time.Second)), probeDelayMin), probeDelayMax)
}

// pause ends the pause after d; the first request after it is a probe.
func (l *Limiter) pause(d time.Duration) {
	l.pauses++
	gen := l.pauses
	end := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if gen == l.pauses {
			l.paused, l.probing, l.probe = false, true, 0
			l.signal()
		}
	}
	if l.Sleep == nil {
		time.AfterFunc(d, end)
		return
	}
	go func() {
		l.Sleep(context.Background(), d)
		end()
	}()
}

// setPace sets the pace: the stated budget's, or the rate learnt from 429s; rate.Inf
// when that is the ceiling. l.mu is held.
func (l *Limiter) setPace() {
	now := l.now()
	r := l.adapt.current
	if b := l.bud; b != nil && !b.ended(now) {
		// With nothing left the gate holds every request until the window ends, and the
		// first one after it sets the next pace: until then, none.
		if r = rate.Limit(b.pace(now, l.seq)); r <= 0 {
			r = rate.Inf
		}
	}
	if r >= l.ceil.r {
		r = rate.Inf
	}
	l.pace.setLimit(now, r)
}

// signal wakes every waiter to look at the gate again. l.mu is held.
func (l *Limiter) signal() {
	if l.waiting > 0 {
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// bucket is a token bucket taken from without waiting: the caller waits what wait says,
// then takes.
type bucket struct {
	lim *rate.Limiter
	r   rate.Limit
	// The last take (or change of rate), and the tokens left after it.
	last  time.Time
	after float64
}

func newBucket(r rate.Limit, burst int) bucket {
	return bucket{lim: rate.NewLimiter(r, burst), r: r}
}

// wait is how long until the bucket has a token.
func (b *bucket) wait(now time.Time) time.Duration {
	if b.r == rate.Inf {
		return 0
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	// A microsecond more, so that the waiter does not wake a hair too early and spin.
	return time.Duration((1-tokens)/float64(b.r)*float64(time.Second)) + time.Microsecond
}

// take takes a token that wait found there. A waiter wakes a little after its token
// came: the token is taken as of when it came (by up to half a token's interval), so
// that the next one counts from there, not from the wake, or every wake's delay would
// slow the pace (a timer late by half a millisecond costs 2.5 % at 50/s).
func (b *bucket) take(now time.Time) {
	if b.r == rate.Inf {
		return
	}
	at := now
	if b.after < 1 && !b.last.IsZero() {
		came := b.last.Add(b.interval(1 - b.after))
		if late := now.Sub(came); late > 0 {
			at = now.Add(-min(late, b.interval(0.5)))
		}
	}
	b.lim.AllowN(at, 1)
	b.last, b.after = at, b.lim.TokensAt(at)
}

// interval is how long the bucket takes to gain n tokens.
func (b *bucket) interval(n float64) time.Duration {
	return time.Duration(n / float64(b.r) * float64(time.Second))
}

// setLimit changes the bucket's rate from now on. rate.Inf leaves the rate.Limiter as it
// is (it would count the tokens of no time at all at an infinite rate as NaN); from
// rate.Inf, a new one starts, full.
func (b *bucket) setLimit(now time.Time, r rate.Limit) {
	switch {
	case r == b.r:
		return
	case r == rate.Inf:
	case b.r == rate.Inf:
		b.lim = rate.NewLimiter(r, b.lim.Burst())
		b.last, b.after = time.Time{}, 0
	default:
		b.lim.SetLimitAt(now, r)
		b.last, b.after = now, b.lim.TokensAt(now)
	}
	b.r = r
}
