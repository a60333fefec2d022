package pace

import (
	"time"

	"golang.org/x/time/rate"
)

// learnt is the pace 429s teach when no budget is stated: cut to what the API accepted
// over the last second, raised again by quiet seconds, never above the ceiling.
type learnt struct {
	ceiling, rate rate.Limit
	accepted      recent // the successes
	cut, rise     time.Time
}

// success records an accepted request and lets the rate recover, once a second and not
// within a second of a cut, the faster the longer no 429 has come (by the square of the
// quiet seconds, in tenths: +10 %, +40 %, +90 %, ...), so that a pod whose neighbours
// have finished soon takes up what they leave.
func (a *learnt) success(now time.Time) {
	a.accepted.add(now, 1)
	quiet := now.Sub(a.cut)
	if a.rate >= a.ceiling || now.Sub(a.rise) < memory || quiet < memory {
		return
	}
	a.rise = now
	a.rate = min(a.ceiling, a.rate*rate.Limit(1+quiet.Seconds()*quiet.Seconds()/10))
}

// throttled records a 429 that says something new (the Gate leaves out the 429s to
// requests already in flight when the last one came): the rate drops to what the API
// accepted over the last second, but never below half the rate in force (when rows were
// waiting out Retry-After, few were sent: that measures their idleness, not the API),
// and always at least a tenth below it.
func (a *learnt) throttled(now time.Time) {
	next := rate.Limit(a.accepted.rate(now))
	if a.rate != rate.Inf {
		next = min(max(next, a.rate/2), a.rate*0.9)
	}
	a.cut, a.rise = now, now
	// A floor of 1/s (a zero rate would strand every waiter), but never above the rate
	// already in force: a ceiling under 1/s is the user's.
	a.rate = max(next, min(1, a.rate))
}
