package job

import (
	"math"
	"time"

	"reassign/job/dialnexa"
)

// Pacing from a stated budget (README, "Requests, retries and the rate").
const (
	// shareMemory is how long what was seen of others' use of the budget counts: their
	// requests are a sum that decays by e every shareMemory.
	shareMemory = 2 * time.Second
	// paceHorizon bounds the time a remaining budget is spread over: one that resets in
	// an hour is spent at the pace that would spend it in a minute (the job may need far
	// less than an hour's worth; --rate still caps it).
	paceHorizon = time.Minute
	// resetSlack is how much later than the earliest reset stated in a window another
	// answer of the same window may put it: resets come in whole seconds, rounded up.
	resetSlack = 1100 * time.Millisecond
)

// budget is what the API's answers stated of its rate limit, carried from one answer
// to the next. Every figure is conservative: the reset is the earliest any answer of the
// window allowed (each is at or after the real one), and a request counts against the
// budget from when it is sent.
type budget struct {
	name   string
	limit  int
	window time.Duration

	// The newest statement: the answer to request basis (the requests are numbered as
	// they are sent), stating stated; remaining is that less the requests sent before
	// basis and unanswered when it came (they may have been counted after it).
	basis     uint64
	stated    int
	remaining int
	at        time.Time
	reset     time.Time // the window's end
	// The one request sent after the window ended, until it is answered, and when.
	learner   uint64
	learnerAt time.Time

	// Requests that used the budget over the last few seconds: ours and others' (pods
	// sharing the key), as sums decaying over shareMemory, and when they were decayed.
	own, others float64
	sumsAt      time.Time
	// fair is 1/--shards: a pod of several started together takes at least that share.
	fair float64
}

// newBudget starts from an answer's statement. shards is how many pods are expected to
// share the budget: until the answers show otherwise, this pod takes that share of it.
func newBudget(b dialnexa.Budget, seq uint64, before int, now time.Time, shards int) *budget {
	s := &budget{}
	s.restart(b, seq, before, now)
	// A prior worth a few requests: the first answers soon outweigh it.
	const prior = 4.0
	share := 1 / float64(max(shards, 1))
	s.own, s.others, s.sumsAt = prior*share, prior*(1-share), now
	if shards > 1 {
		s.fair = share
	}
	return s
}

// restart takes a statement as the start of a window.
func (s *budget) restart(b dialnexa.Budget, seq uint64, before int, now time.Time) {
	s.name, s.limit, s.window = b.Name, b.Limit, b.Window
	s.basis, s.stated, s.remaining, s.at = seq, b.Remaining, b.Remaining-before, now
	s.reset = now.Add(b.Reset)
	s.learner = 0
}

// observe takes the statement of the answer to request seq, received at now, when
// before of the requests sent ahead of it were still unanswered. An answer to a request
// older than the newest statement's is stale and says nothing new.
func (s *budget) observe(b dialnexa.Budget, seq uint64, before int, now time.Time) {
	if seq <= s.basis {
		return
	}
	resetAt := now.Add(b.Reset)
	sameWindow := now.Before(s.reset) && b.Remaining <= s.stated && !resetAt.After(s.reset.Add(resetSlack)) &&
		b.Name == s.name && b.Limit == s.limit
	if !sameWindow {
		s.restart(b, seq, before, now)
		return
	}
	// Between the two statements the budget fell by stated - b.Remaining, of which our
	// own requests sent in between explain seq - basis: the rest is others'.
	own := float64(seq - s.basis)
	others := float64(s.stated-b.Remaining) - own
	s.decay(now)
	s.own += own
	s.others = max(0, s.others+others)
	s.basis, s.stated, s.remaining, s.at = seq, b.Remaining, b.Remaining-before, now
	s.reset = minTime(s.reset, resetAt)
	s.learner = 0
}

func (s *budget) decay(now time.Time) {
	if dt := now.Sub(s.sumsAt); dt > 0 {
		f := math.Exp(-dt.Seconds() / shareMemory.Seconds())
		s.own, s.others = s.own*f, s.others*f
		s.sumsAt = now
	}
}

// share is the part of the budget this pod uses: 1 alone.
func (s *budget) share() float64 {
	if s.own+s.others <= 0 {
		return 1
	}
	return s.own / (s.own + s.others)
}

// othersRate is how many requests a second others spend of the budget.
func (s *budget) othersRate() float64 { return s.others / shareMemory.Seconds() }

// left is the budget estimated left at now when seq requests have been sent: what the
// newest statement said, less our requests sent since, less what others are likely to
// have sent since.
func (s *budget) left(now time.Time, seq uint64) float64 {
	return float64(s.remaining) - float64(seq-s.basis) - s.othersRate()*max(0, now.Sub(s.at).Seconds())
}

// ended reports whether the window has reset (a request then learns the new one), or
// RetryAfterCap has passed since the last statement: however far off a reset is, the
// job asks again after that long, as it never waits longer for a Retry-After.
func (s *budget) ended(now time.Time) bool { return !now.Before(s.end()) }

func (s *budget) end() time.Time { return minTime(s.reset, s.at.Add(RetryAfterCap)) }

// pace is the rate that spends this pod's share of what is left by the reset (or over
// paceHorizon, when the reset is further off).
func (s *budget) pace(now time.Time, seq uint64) float64 {
	until := min(s.reset.Sub(now), paceHorizon)
	left := s.left(now, seq)
	if left <= 0 {
		return 0
	}
	if until <= 0 {
		return math.Inf(1)
	}
	return max(s.share(), s.fair) * left / until.Seconds()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
