package job_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"reassign/job"
)

// fakeClock is the limiter's `now`: it moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// successes records n successes spread evenly over d, starting now; the clock ends d later.
func successes(lim *job.Limiter, c *fakeClock, n int, d time.Duration) {
	step := d / time.Duration(n)
	for range n {
		lim.Success()
		c.add(step)
	}
}

func TestLimiterThrottledCutsToAcceptedRate(t *testing.T) {
	c := newFakeClock()
	lim := job.NewLimiter(50, 1, c.now)
	if got := lim.Limit(); got != 50 {
		t.Fatalf("Limit() = %v at start, want the ceiling 50", got)
	}
	// Successes older than a second must not count.
	successes(lim, c, 200, 500*time.Millisecond)
	c.add(2500 * time.Millisecond)
	// 30 successes over the last second, then a 429.
	successes(lim, c, 30, 950*time.Millisecond)
	lim.Throttled()
	got := lim.Limit()
	if got < 27 || got > 30.01 {
		t.Fatalf("after 30 successes in the last second and a 429, Limit() = %v, want about 30 (27..30)", got)
	}
}

// Few successes while rows wait out Retry-After measure that idleness, not the API: a
// 429 never cuts by more than half.
func TestLimiterThrottledCutsAtMostByHalf(t *testing.T) {
	c := newFakeClock()
	lim := job.NewLimiter(100, 1, c.now)
	successes(lim, c, 8, time.Second)
	lim.Throttled()
	if got := lim.Limit(); got != 50 {
		t.Fatalf("Limit() = %v after a 429 with 8 successes in the last second at 100/s, want 50 (half)", got)
	}
}

func TestLimiterThrottledNeverRaises(t *testing.T) {
	c := newFakeClock()
	lim := job.NewLimiter(40, 1, c.now)
	successes(lim, c, 20, time.Second)
	lim.Throttled()
	low := lim.Limit()
	if low > 20 {
		t.Fatalf("Limit() = %v after a 429 with 20 successes in the last second, want <= 20", low)
	}
	// A burst of successes far above the current limit (banked tokens, a second worker
	// finishing...), then another 429 more than a second later: the cut must still lower
	// the limit, never raise it to what was accepted.
	c.add(1100 * time.Millisecond)
	successes(lim, c, 90, 900*time.Millisecond)
	before := lim.Limit()
	lim.Throttled()
	if after := lim.Limit(); after >= before {
		t.Fatalf("a 429 with 90 successes in the last second moved Limit() from %v to %v; a 429 must never raise it", before, after)
	}
	// 429s with no success at all in the last second halve the rate, down to the floor
	// of 1/s, never 0 (rate.Limiter with a zero limit strands every waiter).
	for cuts := 0; lim.Limit() > 1; cuts++ {
		if cuts > 10 {
			t.Fatalf("Limit() = %v after %d cuts with no success, want the floor 1", lim.Limit(), cuts)
		}
		before := lim.Limit()
		c.add(2 * time.Second)
		lim.Throttled()
		if got := lim.Limit(); got != max(before/2, 1) {
			t.Fatalf("Limit() = %v after a 429 with no recent success at %v, want %v", got, before, max(before/2, 1))
		}
	}
	c.add(2 * time.Second)
	lim.Throttled()
	if got := lim.Limit(); got != 1 {
		t.Fatalf("Limit() = %v after a 429 at the floor, want it to stay 1", got)
	}
}

// A ceiling under 1/s is the user's: a 429 must not lift the rate to the 1/s floor.
func TestLimiterThrottledBelowOnePerSecond(t *testing.T) {
	c := newFakeClock()
	lim := job.NewLimiter(0.5, 1, c.now)
	successes(lim, c, 1, time.Second)
	lim.Throttled()
	if got := lim.Limit(); got > 0.5 {
		t.Fatalf("NewLimiter(0.5): Limit() = %v after a 429, above the 0.5/s ceiling", got)
	}
	for range 100 {
		c.add(500 * time.Millisecond)
		lim.Success()
		if got := lim.Limit(); got > 0.5 {
			t.Fatalf("NewLimiter(0.5): Limit() = %v while recovering, above the ceiling", got)
		}
	}
}

func TestLimiterTwoThrottlesWithinOneSecondCutOnce(t *testing.T) {
	c := newFakeClock()
	lim := job.NewLimiter(200, 1, c.now)
	successes(lim, c, 80, time.Second)
	lim.Throttled()
	first := lim.Limit()
	if first >= 200 {
		t.Fatalf("Limit() = %v after a 429, want it cut below 200", first)
	}
	for _, d := range []time.Duration{0, 300 * time.Millisecond, 400 * time.Millisecond, 299 * time.Millisecond} {
		c.add(d)
		lim.Success()
		lim.Throttled()
		if got := lim.Limit(); got != first {
			t.Fatalf("a second 429 less than 1 s after the first changed Limit() from %v to %v", first, got)
		}
	}
	c.add(time.Millisecond) // now exactly 1 s after the first cut
	lim.Throttled()
	if got := lim.Limit(); got >= first {
		t.Fatalf("a 429 1 s after the first cut left Limit() at %v (was %v), want a second cut", got, first)
	}
}

func TestLimiterSuccessRecoversTenPercentPerSecond(t *testing.T) {
	c := newFakeClock()
	const ceiling = 50
	lim := job.NewLimiter(ceiling, 1, c.now)
	successes(lim, c, 30, time.Second)
	lim.Throttled()
	cut := lim.Limit()
	if cut < 27 || cut > 30.01 {
		t.Fatalf("Limit() = %v after the cut, want about 30", cut)
	}
	cutAt := c.now()
	prev, prevRise := cut, cutAt
	rises := 0
	// One success every 100 ms for a minute.
	for range 600 {
		c.add(100 * time.Millisecond)
		lim.Success()
		got := lim.Limit()
		switch {
		case got > ceiling:
			t.Fatalf("Limit() = %v at +%v, above the ceiling %v", got, c.now().Sub(cutAt), ceiling)
		case got < prev:
			t.Fatalf("Limit() fell from %v to %v on a success", prev, got)
		case got == prev:
			continue
		}
		now := c.now()
		if gap := now.Sub(prevRise); gap < time.Second || gap > 1100*time.Millisecond {
			t.Fatalf("Limit() rose from %v to %v %v after the previous change; want once a second while successes come", prev, got, gap)
		}
		// About 10%: exactly a tenth, unless the ceiling clamps it.
		if want := min(prev*1.10, ceiling); got < want*0.999 || got > want*1.001 {
			t.Fatalf("Limit() rose from %v to %v at +%v, want %v (+10%%)", prev, got, now.Sub(cutAt), want)
		}
		rises++
		prev, prevRise = got, now
	}
	if prev != ceiling {
		t.Fatalf("Limit() = %v after a minute of successes, want it back at the ceiling %v", prev, ceiling)
	}
	// From the cut to the ceiling at +10% a rise takes ln(ceiling/cut)/ln(1.10) rises.
	if want := int(math.Ceil(math.Log(ceiling/float64(cut)) / math.Log(1.10))); rises < want-1 || rises > want+1 {
		t.Errorf("the limit recovered from %v in %d rises, want about %d at +10%% each", cut, rises, want)
	}
	// At the ceiling, more successes change nothing.
	for range 50 {
		c.add(time.Second)
		lim.Success()
	}
	if got := lim.Limit(); got != ceiling {
		t.Fatalf("Limit() = %v at the ceiling after more successes, want %v", got, ceiling)
	}
}

func TestLimiterNoCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := job.NewLimiter(0, 1, time.Now)
		if got := lim.Limit(); got != rate.Inf {
			t.Fatalf("NewLimiter(0): Limit() = %v, want rate.Inf", got)
		}
		// 40 successes over a second; successes leave an unlimited limiter alone.
		for range 40 {
			lim.Success()
			time.Sleep(25 * time.Millisecond)
		}
		if got := lim.Limit(); got != rate.Inf {
			t.Fatalf("Limit() = %v after successes only, want rate.Inf", got)
		}
		lim.Throttled()
		got := lim.Limit()
		if got == rate.Inf || got < 36 || got > 40 {
			t.Fatalf("NewLimiter(0): Limit() = %v after a 429, want finite, about the 40/s accepted", got)
		}
		// Wait still works on the now finite limit (burst >= 1) and paces: 40 more waits
		// at ~40/s take about a second of fake time.
		ctx := context.Background()
		start := time.Now()
		for i := range 40 {
			if err := lim.Wait(ctx); err != nil {
				t.Fatalf("Wait %d after the 429: %v", i, err)
			}
		}
		if el := time.Since(start); el < 900*time.Millisecond || el > 1200*time.Millisecond {
			t.Fatalf("40 Waits at %v/s took %v of fake time, want about 1 s", got, el)
		}
	})
}

// The rate is held: 100 Waits at 50/s, burst 1, from 10 goroutines, take about 2 s and no
// 1-second window holds more than rate + burst of them.
func TestLimiterHoldsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perSecond, burst, n, workers = 50, 1, 100, 10
		lim := job.NewLimiter(perSecond, burst, time.Now)
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range n / workers {
					if err := lim.Wait(context.Background()); err != nil {
						t.Errorf("Wait: %v", err)
						return
					}
					mu.Lock()
					at = append(at, time.Since(start))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		el := time.Since(start)
		// The bucket starts with one token: the 100th wait is released at 99/50 s.
		if el < 1900*time.Millisecond || el > 2100*time.Millisecond {
			t.Fatalf("%d Waits at %d/s took %v of fake time, want about 2 s", n, perSecond, el)
		}
		if len(at) != n {
			t.Fatalf("%d waits returned, want %d", len(at), n)
		}
		for _, from := range at {
			in := 0
			for _, x := range at {
				if x >= from && x < from+time.Second {
					in++
				}
			}
			if in > perSecond+burst {
				t.Fatalf("%d Waits returned in the second from %v, more than rate+burst = %d", in, from, perSecond+burst)
			}
		}
	})
}

// After a 429 the Waits of every worker slow down to the cut rate.
func TestLimiterThrottledSlowsWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := job.NewLimiter(40, 1, time.Now)
		ctx := context.Background()
		for range 40 { // a second at the ceiling, each wait a success
			if err := lim.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			lim.Success()
		}
		// Only 20 accepted in the last second before the 429.
		time.Sleep(time.Second)
		for range 20 {
			lim.Success()
			time.Sleep(40 * time.Millisecond)
		}
		lim.Throttled()
		cut := lim.Limit()
		if cut < 18 || cut > 20 {
			t.Fatalf("Limit() = %v after a 429 with 20 accepted in the last second, want about 20", cut)
		}
		start := time.Now()
		for range 21 {
			if err := lim.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// 21 waits at ~20/s (one token banked) take about 1 s, not the 0.5 s of 40/s.
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Fatalf("21 Waits after the cut to %v/s took %v, want about 1 s", cut, el)
		}
	})
}
