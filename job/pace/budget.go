package pace

import (
	"math"
	"time"

	"golang.org/x/time/rate"

	"reassign/job/dialnexa"
)

// budget is what the API's answers stated of its rate limit in the current window.
// Every figure is conservative: the reset is the earliest any answer of the window gave
// (each is at or after the real one), and a request counts against the budget from when
// it is sent.
type budget struct {
	name  string // the limit it is, by the answers' name and count for it
	limit int

	// The newest statement: the answer to request basis (requests are numbered as they
	// are sent), stating stated; remaining is that less the requests sent before basis
	// and unanswered when it came (they may have been counted after it).
	basis             uint64
	stated, remaining int
	at, reset         time.Time

	// What others (pods sharing the key) spent of it: how much faster Remaining fell
	// than this pod's requests explain.
	others recent
}

func newBudget(st dialnexa.Budget, seq uint64, before int, now time.Time) *budget {
	b := &budget{name: st.Name, limit: st.Limit, reset: now.Add(st.Reset)}
	b.take(st, seq, before, now)
	b.others.add(now, 0)
	return b
}

func (b *budget) take(st dialnexa.Budget, seq uint64, before int, now time.Time) {
	b.basis, b.stated, b.remaining, b.at = seq, st.Remaining, st.Remaining-before, now
}

// observe takes the statement of the answer to request seq, received at now, when
// before of the requests sent ahead of it were unanswered. An answer to a request older
// than the newest statement's says nothing new. It reports false when the statement
// belongs to no window of this budget (another limit, a window that has ended, a
// Remaining that rose): it is then to be taken as stated, afresh.
func (b *budget) observe(st dialnexa.Budget, seq uint64, before int, now time.Time) bool {
	if seq <= b.basis {
		return true
	}
	if st.Name != b.name || st.Limit != b.limit || st.Remaining > b.stated || !now.Before(b.reset) {
		return false
	}
	// The budget fell by stated - Remaining, of which this pod's requests sent in
	// between explain seq - basis: the rest is others'.
	b.others.add(now, max(0, float64(b.stated-st.Remaining)-float64(seq-b.basis)))
	b.take(st, seq, before, now)
	b.reset = minTime(b.reset, now.Add(st.Reset))
	return true
}

// spent takes a 429 to request seq: nothing is left until the window's end.
func (b *budget) spent(seq uint64, now time.Time) {
	b.take(dialnexa.Budget{}, seq, 0, now)
}

// left is what is left once seq requests have been sent.
func (b *budget) left(seq uint64) float64 { return float64(b.remaining) - float64(seq-b.basis) }

// ended reports whether the window has reset (a request then learns the new one), or a
// minute has passed since the last statement: however far off a reset is, the job asks
// again after that long, as it never waits longer for a Retry-After.
func (b *budget) ended(now time.Time) bool { return !now.Before(b.end()) }

func (b *budget) end() time.Time { return minTime(b.reset, b.at.Add(RetryAfterCap)) }

// pace is the rate that spends what is left evenly by the reset (over a minute at most:
// a budget an hour long is not dragged out over the hour), less the rate others spend
// it at, but never less than the pod's fair share of it. rate.Inf when nothing paces.
func (b *budget) pace(now time.Time, seq uint64, fair float64) rate.Limit {
	left, until := b.left(seq), min(b.reset.Sub(now), RetryAfterCap).Seconds()
	if left < 1 || until <= 0 {
		return rate.Inf // the gate holds until the reset, or one request learns the new window
	}
	whole := left / until
	return rate.Limit(max(whole-b.others.steady(now), whole*fair))
}

// recent counts events over the last memory: a sum that decays by e every memory, with
// the largest single event of it apart.
type recent struct {
	sum, top  float64
	at, since time.Time // the last decay; the first event
}

func (r *recent) add(now time.Time, n float64) {
	r.decay(now)
	if r.since.IsZero() {
		r.since = now
	}
	r.sum += n
	r.top = max(r.top, n)
}

func (r *recent) decay(now time.Time) {
	if dt := now.Sub(r.at); dt > 0 {
		f := math.Exp(-dt.Seconds() / memory.Seconds())
		r.sum, r.top, r.at = r.sum*f, r.top*f, now
	}
}

// rate is the events a second over the last memory, or over the time since the first
// when that is shorter.
func (r *recent) rate(now time.Time) float64 {
	r.decay(now)
	span := now.Sub(r.since).Seconds() / memory.Seconds()
	if r.since.IsZero() || span <= 0 {
		return 0
	}
	return r.sum / (memory.Seconds() * -math.Expm1(-span)) // the weight of that time
}

// steady is rate without the largest single event: a one-off is not a rate.
func (r *recent) steady(now time.Time) float64 {
	if r.sum <= 0 {
		return 0
	}
	return r.rate(now) * (r.sum - r.top) / r.sum
}
