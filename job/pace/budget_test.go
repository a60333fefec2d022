package pace

import (
	"math"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"reassign/job/dialnexa"
)

var budgetT0 = time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)

func stated(remaining int, reset time.Duration) dialnexa.Budget {
	return dialnexa.Budget{Stated: true, Limit: 400, Remaining: remaining, Reset: reset}
}

// What is left counts the requests sent since the statement and those still in flight
// from before it.
func TestBudgetLeft(t *testing.T) {
	b := newBudget(stated(100, 10*time.Second), 5, 2, budgetT0)
	if got := b.left(5); got != 98 {
		t.Errorf("left = %v with 100 stated and 2 in flight from before; want 98", got)
	}
	if got := b.left(12); got != 91 {
		t.Errorf("left = %v after 7 more sent; want 91", got)
	}
}

// Each answer of a window states a reset rounded up: the earliest is kept. A Remaining
// that rises, another limit or an answer after the window's end starts afresh; an
// answer to an older request is stale.
func TestBudgetWindow(t *testing.T) {
	b := newBudget(stated(399, 10*time.Second), 1, 0, budgetT0) // the window ends by +10 s
	if !b.observe(stated(398, 10*time.Second), 2, 0, budgetT0.Add(300*time.Millisecond)) {
		t.Fatal("the next answer of the window started it afresh")
	}
	if want := budgetT0.Add(10 * time.Second); !b.reset.Equal(want) {
		t.Errorf("reset %v, want the earlier %v", b.reset, want)
	}
	b.observe(stated(397, 9*time.Second), 3, 0, budgetT0.Add(400*time.Millisecond))
	if want := budgetT0.Add(9400 * time.Millisecond); !b.reset.Equal(want) {
		t.Errorf("reset %v, want %v (tighter)", b.reset, want)
	}
	if !b.observe(stated(0, time.Second), 2, 0, budgetT0.Add(500*time.Millisecond)) || b.stated != 397 {
		t.Errorf("a stale answer moved the statement to %d", b.stated)
	}
	for name, st := range map[string]dialnexa.Budget{
		"a Remaining that rises": stated(398, 9*time.Second),
		"another limit":          {Stated: true, Limit: 1000, Remaining: 10, Reset: 9 * time.Second},
		"another throttler":      {Stated: true, Limit: 400, Remaining: 10, Reset: 9 * time.Second, Name: "long"},
	} {
		if b.observe(st, 4, 0, budgetT0.Add(time.Second)) {
			t.Errorf("%s: taken as part of the window", name)
		}
	}
	if b.observe(stated(390, 10*time.Second), 4, 0, budgetT0.Add(9400*time.Millisecond)) {
		t.Error("an answer at the window's end: taken as part of it")
	}
}

// observeEvery feeds b a statement every 100 ms for d from at: this pod sends one
// request in between, others fall of them; it returns the time and request reached.
func observeEvery(b *budget, at time.Time, seq uint64, d time.Duration, others func(i int) int) (time.Time, uint64) {
	r := b.stated
	for i := range int(d / (100 * time.Millisecond)) {
		at, seq, r = at.Add(100*time.Millisecond), seq+1, r-1-others(i)
		b.observe(stated(r, b.reset.Sub(at)), seq, 0, at)
	}
	return at, seq
}

// Others' use is a rate read from how Remaining falls beyond this pod's requests: a
// steady one counts, a one-off fall (a burst, a budget restated lower) does not, and
// what others no longer spend fades within seconds.
func TestBudgetOthers(t *testing.T) {
	b := newBudget(stated(10_000, time.Minute), 1, 0, budgetT0)
	now, _ := observeEvery(b, budgetT0, 1, 3*time.Second, func(int) int { return 3 })
	if got := b.others.steady(now); math.Abs(got-30) > 3 {
		t.Errorf("others spend %v/s, want 30 (3 of every 4 requests, 40/s in all)", got)
	}
	// They stop: within a few seconds it is as if they had never been.
	if got := b.others.steady(now.Add(5 * time.Second)); got > 1 {
		t.Errorf("others spend %v/s 5 s after they stopped; want next to nothing", got)
	}
	burst := newBudget(stated(10_000, time.Minute), 1, 0, budgetT0)
	now, _ = observeEvery(burst, budgetT0, 1, 3*time.Second, func(i int) int { return 3000 * b2i(i == 5) })
	if got := burst.others.steady(now); got > 0.01 {
		t.Errorf("others spend %v/s after one burst of 3,000; want none: a one-off is not a rate", got)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The pace spends what is left evenly by the reset (over a minute at most), less what
// others spend, but never below the pod's fair share of it.
func TestBudgetPace(t *testing.T) {
	alone := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0)
	if got := alone.pace(budgetT0, 1, 0.5); math.Abs(float64(got)-40) > 0.01 {
		t.Errorf("pace = %v with 400 left over 10 s, alone; want 40", got)
	}
	shared := newBudget(stated(2000, 50*time.Second), 1, 0, budgetT0)
	now, seq := observeEvery(shared, budgetT0, 1, 2*time.Second, func(int) int { return 1 })
	whole := shared.left(seq) / shared.reset.Sub(now).Seconds()
	if got := float64(shared.pace(now, seq, 0.25)); math.Abs(got-(whole-10)) > 1 {
		t.Errorf("pace = %v with others at 10/s of %v/s; want what they leave, %v", got, whole, whole-10)
	}
	if got := float64(shared.pace(now, seq, 0.9)); math.Abs(got-0.9*whole) > 0.01 {
		t.Errorf("pace = %v with a fair share of 0.9 of %v/s; want the share", got, whole)
	}
	hourly := newBudget(dialnexa.Budget{Stated: true, Limit: 5000, Remaining: 4800, Reset: time.Hour}, 1, 0, budgetT0)
	if got := hourly.pace(budgetT0, 1, 0.5); math.Abs(float64(got)-80) > 0.01 {
		t.Errorf("pace = %v with 4,800 left over an hour; want 80 (spread over a minute, not the hour)", got)
	}
	if got := alone.pace(budgetT0, 401, 0.5); got != rate.Inf {
		t.Errorf("pace = %v with nothing left; want none (the gate holds until the reset)", got)
	}
}

// A rate over the last second, or over the time seen when that is shorter.
func TestRecentRate(t *testing.T) {
	for _, tc := range []struct {
		n    int
		over time.Duration
		want float64
	}{{40, time.Second, 40}, {100, 100 * time.Millisecond, 1000}, {400, 10 * time.Second, 40}} {
		var r recent
		r.add(budgetT0, 0)
		step := tc.over / time.Duration(tc.n)
		now := budgetT0
		for range tc.n {
			now = now.Add(step)
			r.add(now, 1)
		}
		if got := r.rate(now); math.Abs(got-tc.want) > tc.want/20 {
			t.Errorf("%d events over %v: rate %v, want %v", tc.n, tc.over, got, tc.want)
		}
	}
	var none recent
	if got := none.rate(budgetT0); got != 0 {
		t.Errorf("rate %v with no event; want 0", got)
	}
}
