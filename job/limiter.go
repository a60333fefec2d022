package job

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is the run's one request rate, shared by every worker and every retry. A 429
// lowers it to the rate the API was seen to accept over the last second (at least 10 %
// below the rate in force, at most by half); each second
// without a 429 then raises it by a tenth, back up to the configured ceiling.
type Limiter struct {
	lim     *rate.Limiter
	ceiling rate.Limit // rate.Inf when the user set no ceiling
	now     func() time.Time

	mu       sync.Mutex
	first    time.Time // the first success: before a second has passed the window is short
	current  rate.Limit
	lastCut  time.Time
	lastRise time.Time
	window   [10]int   // successes per 100 ms slot, over the last second
	slotAt   time.Time // start of the newest slot
	slot     int
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
	return &Limiter{lim: rate.NewLimiter(ceiling, burst), ceiling: ceiling, current: ceiling, now: now}
}

// Wait blocks until a request may be sent, or ctx is done.
func (l *Limiter) Wait(ctx context.Context) error { return l.lim.Wait(ctx) }

// Limit is the rate now in force.
func (l *Limiter) Limit() rate.Limit { return l.lim.Limit() }

// Success records an accepted request and lets the rate recover.
func (l *Limiter) Success() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.advance(now)
	l.window[l.slot]++
	if l.first.IsZero() {
		l.first = now
	}
	if l.current == l.ceiling || now.Sub(l.lastRise) < time.Second || now.Sub(l.lastCut) < time.Second {
		return
	}
	l.lastRise = now
	l.set(min(l.ceiling, l.current+max(1, l.current/10)))
}

// Throttled records a 429: the rate drops to what the API accepted in the last second,
// at most once a second so that one burst of 429s counts once.
func (l *Limiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.advance(now)
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	accepted := 0
	for _, n := range l.window {
		accepted += n
	}
	// Early in a run fewer than a second of successes are on record: scale them to a
	// rate over the time actually seen (at least 100 ms), or one early 429 would cut a
	// 200/s run to a handful a second.
	seen := time.Second
	if !l.first.IsZero() {
		seen = min(seen, max(100*time.Millisecond, now.Sub(l.first)))
	}
	next := rate.Limit(float64(accepted) / seen.Seconds())
	if l.current != rate.Inf {
		// Never below half the rate in force: when rows were waiting out Retry-After,
		// few were sent, and what was accepted measures that idleness, not the API.
		// Always at least a tenth below it.
		next = min(max(next, l.current/2), l.current*0.9)
	}
	l.lastCut, l.lastRise = now, now
	// A floor of 1/s (a zero limit would strand every waiter), but never above the rate
	// already in force: a ceiling under 1/s is the user's.
	l.set(max(next, min(1, l.current)))
}

func (l *Limiter) set(r rate.Limit) {
	l.current = r
	l.lim.SetLimitAt(l.now(), r)
}

// advance moves the success window to now, clearing the slots that have passed.
func (l *Limiter) advance(now time.Time) {
	const slotLen = 100 * time.Millisecond
	if l.slotAt.IsZero() {
		l.slotAt = now
		return
	}
	for steps := 0; now.Sub(l.slotAt) >= slotLen && steps < len(l.window); steps++ {
		l.slotAt = l.slotAt.Add(slotLen)
		l.slot = (l.slot + 1) % len(l.window)
		l.window[l.slot] = 0
	}
	if now.Sub(l.slotAt) >= slotLen {
		l.slotAt = now
	}
}
