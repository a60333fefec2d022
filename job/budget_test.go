package job

import (
	"math"
	"testing"
	"time"

	"reassign/job/dialnexa"
)

var budgetT0 = time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)

func stated(remaining int, reset time.Duration) dialnexa.Budget {
	return dialnexa.Budget{Stated: true, Limit: 400, Remaining: remaining, Reset: reset}
}

// What is left counts the requests sent since the statement and those still in flight
// from before it.
func TestBudgetLeft(t *testing.T) {
	b := newBudget(stated(100, 10*time.Second), 5, 2, budgetT0, 1)
	if got := b.left(budgetT0, 5); got != 98 {
		t.Errorf("left = %v with 100 stated and 2 in flight from before; want 98", got)
	}
	if got := b.left(budgetT0, 12); got != 91 {
		t.Errorf("left = %v after 7 more sent; want 91", got)
	}
}

// Each answer of a window states a reset rounded up: the earliest is kept. A reset
// further off than the slack, or more remaining than before, is a new window.
func TestBudgetWindow(t *testing.T) {
	b := newBudget(stated(399, 10*time.Second), 1, 0, budgetT0, 1) // the window ends by +10 s
	b.observe(stated(398, 10*time.Second), 2, 0, budgetT0.Add(300*time.Millisecond))
	if want := budgetT0.Add(10 * time.Second); !b.reset.Equal(want) {
		t.Errorf("reset %v, want the earlier %v", b.reset, want)
	}
	b.observe(stated(397, 9*time.Second), 3, 0, budgetT0.Add(400*time.Millisecond))
	if want := budgetT0.Add(9400 * time.Millisecond); !b.reset.Equal(want) {
		t.Errorf("reset %v, want %v (tighter)", b.reset, want)
	}
	b.observe(stated(399, 10*time.Second), 4, 0, budgetT0.Add(9500*time.Millisecond))
	if want := budgetT0.Add(19500 * time.Millisecond); !b.reset.Equal(want) || b.stated != 399 {
		t.Errorf("reset %v, stated %d; want a new window: %v, 399", b.reset, b.stated, want)
	}
	// An answer to an older request is stale.
	b.observe(stated(0, time.Second), 3, 0, budgetT0.Add(9600*time.Millisecond))
	if b.stated != 399 {
		t.Errorf("a stale answer moved the statement to %d", b.stated)
	}
}

// The budget falls faster than this pod's requests explain: others share it, and this
// pod's share follows what it is seen to use.
func TestBudgetShare(t *testing.T) {
	if got := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0, 4).share(); got != 0.25 {
		t.Errorf("share with --shards 4 before any evidence = %v, want 0.25", got)
	}
	b := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0, 4)
	// 9 s of statements every 100 ms: 1 of ours sent, the budget down by 4 each time.
	r, seq := 400, uint64(1)
	now := budgetT0
	for range 90 {
		now, seq, r = now.Add(100*time.Millisecond), seq+1, r-4
		b.observe(stated(r, resetIn(10*time.Second, now)), seq, 0, now)
	}
	if got := b.share(); math.Abs(got-0.25) > 0.02 {
		t.Errorf("share = %v using 1 of every 4 requests; want 0.25", got)
	}
	if got := b.othersRate(); math.Abs(got-30) > 3 {
		t.Errorf("others' rate = %v/s, want 30", got)
	}
	// The others stop (their shards are done): the share grows back to the whole.
	alone := newBudget(stated(400, time.Minute), 1, 0, budgetT0, 4)
	r, seq, now = 400, 1, budgetT0
	for range 80 {
		now, seq, r = now.Add(100*time.Millisecond), seq+1, r-1
		alone.observe(stated(r, resetIn(time.Minute, now)), seq, 0, now)
	}
	if got := alone.share(); got < 0.95 {
		t.Errorf("share = %v with no other use for 8 s; want about 1", got)
	}
}

// resetIn is the Reset an answer at now states of a window of length from budgetT0: the
// seconds left, rounded up.
func resetIn(length time.Duration, now time.Time) time.Duration {
	return time.Duration(math.Ceil((length - now.Sub(budgetT0)).Seconds())) * time.Second
}

// The pace spends this pod's share of what is left by the reset, or over a minute at
// most when the reset is further off.
func TestBudgetPace(t *testing.T) {
	b := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0, 1)
	if got := b.pace(budgetT0, 1); math.Abs(got-40) > 0.01 {
		t.Errorf("pace = %v with 400 left over 10 s, alone; want 40", got)
	}
	quarter := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0, 4)
	if got := quarter.pace(budgetT0, 1); math.Abs(got-10) > 0.01 {
		t.Errorf("pace = %v with 400 left over 10 s, a quarter of it ours; want 10", got)
	}
	// Others take 9 of every 10 requests: with --shards 4, this pod still paces at a
	// quarter (pods started together finish together).
	starved := newBudget(stated(400, 10*time.Second), 1, 0, budgetT0, 4)
	r, seq, now := 400, uint64(1), budgetT0
	for range 50 {
		now, seq, r = now.Add(100*time.Millisecond), seq+1, r-5
		starved.observe(stated(r, resetIn(10*time.Second, now)), seq, 0, now)
	}
	if share := starved.share(); share > 0.25 {
		t.Fatalf("share = %v using 1 of every 5 requests; want about 0.2", share)
	}
	want := 0.25 * starved.left(now, seq) / starved.reset.Sub(now).Seconds()
	if got := starved.pace(now, seq); math.Abs(got-want) > 0.01 {
		t.Errorf("pace = %v with --shards 4 and a measured share under a quarter; want %v (a quarter)", got, want)
	}
	hourly := newBudget(dialnexa.Budget{Stated: true, Limit: 5000, Remaining: 4800, Reset: time.Hour}, 1, 0, budgetT0, 1)
	if got := hourly.pace(budgetT0, 1); math.Abs(got-80) > 0.01 {
		t.Errorf("pace = %v with 4,800 left over an hour; want 80 (spread over a minute, not the hour)", got)
	}
	if got := b.pace(budgetT0, 401); got != 0 {
		t.Errorf("pace = %v with nothing left; want 0", got)
	}
}
