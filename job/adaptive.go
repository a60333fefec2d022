package job

import (
	"time"

	"golang.org/x/time/rate"
)

// cutEvery is how often a 429 may cut the rate at most: 429s to requests sent after the
// last one (those in flight when it came are left out already) may still come from the
// same overshoot, or from an API that refuses a few requests for reasons of its own.
const cutEvery = 250 * time.Millisecond

// adaptive is the rate learnt from 429s when no budget is stated.
type adaptive struct {
	ceiling  rate.Limit
	current  rate.Limit
	first    time.Time // the first success: before a second has passed the window is short
	lastCut  time.Time
	lastRise time.Time
	window   [10]int   // successes per 100 ms slot, over the last second
	slotAt   time.Time // start of the newest slot
	slot     int
}

// success records an accepted request and lets the rate recover, once a second and
// not within a second of a cut: by a tenth (at least 1/s) at first, then faster the
// longer no 429 has come (a quarter more for each further quiet second), so that a pod
// whose neighbours have finished soon takes up what they leave.
func (a *adaptive) success(now time.Time) {
	a.advance(now)
	a.window[a.slot]++
	if a.first.IsZero() {
		a.first = now
	}
	quiet := now.Sub(a.lastCut)
	if a.current == a.ceiling || now.Sub(a.lastRise) < time.Second || quiet < time.Second {
		return
	}
	a.lastRise = now
	more := a.current * rate.Limit(quiet.Seconds()-1) / 4
	a.current = min(a.ceiling, a.current+max(1, a.current/10, more))
}

// throttled records a 429 that says something new (the Limiter leaves out the 429s to
// requests already in flight when the last one came): the rate drops to what the API
// accepted in the last second.
func (a *adaptive) throttled(now time.Time) {
	if now.Sub(a.lastCut) < cutEvery {
		return
	}
	next := a.accepted(now)
	if a.current != rate.Inf {
		// Never below half the rate in force: when rows were waiting out Retry-After,
		// few were sent, and what was accepted measures that idleness, not the API.
		// Always at least a tenth below it.
		next = min(max(next, a.current/2), a.current*0.9)
	}
	a.lastCut, a.lastRise = now, now
	// A floor of 1/s (a zero limit would strand every waiter), but never above the rate
	// already in force: a ceiling under 1/s is the user's.
	a.current = max(next, min(1, a.current))
}

// accepted is the rate of successes over the last second. Early in a run fewer than a
// second of successes are on record: they are scaled to a rate over the time actually
// seen (at least 100 ms), or one early 429 would cut a 200/s run to a handful a second.
func (a *adaptive) accepted(now time.Time) rate.Limit {
	a.advance(now)
	n := 0
	for _, k := range a.window {
		n += k
	}
	seen := time.Second
	if !a.first.IsZero() {
		seen = min(seen, max(100*time.Millisecond, now.Sub(a.first)))
	}
	return rate.Limit(float64(n) / seen.Seconds())
}

// advance moves the success window to now, clearing the slots that have passed.
func (a *adaptive) advance(now time.Time) {
	const slotLen = 100 * time.Millisecond
	if a.slotAt.IsZero() {
		a.slotAt = now
		return
	}
	for steps := 0; now.Sub(a.slotAt) >= slotLen && steps < len(a.window); steps++ {
		a.slotAt = a.slotAt.Add(slotLen)
		a.slot = (a.slot + 1) % len(a.window)
		a.window[a.slot] = 0
	}
	if now.Sub(a.slotAt) >= slotLen {
		a.slotAt = now
	}
}
