package job

import (
	"math"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// fakeClock moves only when the test says so.
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

// newAdaptive is the adaptation of a limiter of perSecond (0: no ceiling); the burst is
// the Limiter's business.
func newAdaptive(perSecond float64, _ int, _ func() time.Time) *adaptive {
	ceiling := rate.Limit(perSecond)
	if perSecond <= 0 {
		ceiling = rate.Inf
	}
	return &adaptive{ceiling: ceiling, current: ceiling}
}

// successes records n successes spread evenly over d, starting now; the clock ends d later.
func successes(lim *adaptive, c *fakeClock, n int, d time.Duration) {
	step := d / time.Duration(n)
	for range n {
		lim.success(c.now())
		c.add(step)
	}
}

func TestAdaptiveThrottledCutsToAcceptedRate(t *testing.T) {
	c := newFakeClock()
	lim := newAdaptive(50, 1, c.now)
	if got := lim.current; got != 50 {
		t.Fatalf("Limit() = %v at start, want the ceiling 50", got)
	}
	// Successes older than a second must not count.
	successes(lim, c, 200, 500*time.Millisecond)
	c.add(2500 * time.Millisecond)
	// 30 successes over the last second, then a 429.
	successes(lim, c, 30, 950*time.Millisecond)
	lim.throttled(c.now())
	got := lim.current
	if got < 27 || got > 30.01 {
		t.Fatalf("after 30 successes in the last second and a 429, Limit() = %v, want about 30 (27..30)", got)
	}
}

// Few successes while rows wait out Retry-After measure that idleness, not the API: a
// 429 never cuts by more than half.
func TestAdaptiveThrottledCutsAtMostByHalf(t *testing.T) {
	c := newFakeClock()
	lim := newAdaptive(100, 1, c.now)
	successes(lim, c, 8, time.Second)
	lim.throttled(c.now())
	if got := lim.current; got != 50 {
		t.Fatalf("Limit() = %v after a 429 with 8 successes in the last second at 100/s, want 50 (half)", got)
	}
}

func TestAdaptiveThrottledNeverRaises(t *testing.T) {
	c := newFakeClock()
	lim := newAdaptive(40, 1, c.now)
	successes(lim, c, 20, time.Second)
	lim.throttled(c.now())
	low := lim.current
	if low > 20 {
		t.Fatalf("Limit() = %v after a 429 with 20 successes in the last second, want <= 20", low)
	}
	// A burst of successes far above the current limit (banked tokens, a second worker
	// finishing...), then another 429 more than a second later: the cut must still lower
	// the limit, never raise it to what was accepted.
	c.add(1100 * time.Millisecond)
	successes(lim, c, 90, 900*time.Millisecond)
	before := lim.current
	lim.throttled(c.now())
	if after := lim.current; after >= before {
		t.Fatalf("a 429 with 90 successes in the last second moved Limit() from %v to %v; a 429 must never raise it", before, after)
	}
	// 429s with no success at all in the last second halve the rate, down to the floor
	// of 1/s, never 0 (rate.Limiter with a zero limit strands every waiter).
	for cuts := 0; lim.current > 1; cuts++ {
		if cuts > 10 {
			t.Fatalf("Limit() = %v after %d cuts with no success, want the floor 1", lim.current, cuts)
		}
		before := lim.current
		c.add(2 * time.Second)
		lim.throttled(c.now())
		if got := lim.current; got != max(before/2, 1) {
			t.Fatalf("Limit() = %v after a 429 with no recent success at %v, want %v", got, before, max(before/2, 1))
		}
	}
	c.add(2 * time.Second)
	lim.throttled(c.now())
	if got := lim.current; got != 1 {
		t.Fatalf("Limit() = %v after a 429 at the floor, want it to stay 1", got)
	}
}

// A ceiling under 1/s is the user's: a 429 must not lift the rate to the 1/s floor.
func TestAdaptiveThrottledBelowOnePerSecond(t *testing.T) {
	c := newFakeClock()
	lim := newAdaptive(0.5, 1, c.now)
	successes(lim, c, 1, time.Second)
	lim.throttled(c.now())
	if got := lim.current; got > 0.5 {
		t.Fatalf("NewLimiter(0.5): Limit() = %v after a 429, above the 0.5/s ceiling", got)
	}
	for range 100 {
		c.add(500 * time.Millisecond)
		lim.success(c.now())
		if got := lim.current; got > 0.5 {
			t.Fatalf("NewLimiter(0.5): Limit() = %v while recovering, above the ceiling", got)
		}
	}
}

// A 429 the Limiter passes on (it leaves out those to requests already in flight when
// the last came) cuts again, by at least a tenth, once a quarter second has passed since
// the last cut; a rise waits a second after the last cut.
func TestAdaptiveCutsAtMostEveryQuarterSecond(t *testing.T) {
	c := newFakeClock()
	lim := newAdaptive(200, 1, c.now)
	successes(lim, c, 80, time.Second)
	lim.throttled(c.now())
	prev := lim.current
	for _, step := range []struct {
		after time.Duration
		cut   bool
	}{{0, false}, {100 * time.Millisecond, false}, {149 * time.Millisecond, false}, {time.Millisecond, true}, {300 * time.Millisecond, true}, {249 * time.Millisecond, false}} {
		c.add(step.after)
		lim.throttled(c.now())
		switch got := lim.current; {
		case step.cut && got > prev*0.9+1e-9:
			t.Fatalf("a 429 %v after the last moved the rate from %v to %v; want at least 10 %% lower", step.after, prev, got)
		case !step.cut && got != prev:
			t.Fatalf("a 429 %v after the last moved the rate from %v to %v; want no cut within 250 ms of the last", step.after, prev, got)
		}
		prev = lim.current
	}
	c.add(750 * time.Millisecond) // 999 ms after the last cut
	lim.success(c.now())
	if lim.current != prev {
		t.Fatalf("the rate rose from %v to %v within a second of a cut", prev, lim.current)
	}
	c.add(time.Millisecond)
	lim.success(c.now())
	if lim.current <= prev {
		t.Fatalf("the rate stayed at %v a second after the last cut; want it to rise", prev)
	}
}

// After a cut the rate recovers once a second: by a tenth after the first quiet second,
// then a quarter more for each further one (+25 %, +50 %, ...), up to the ceiling.
func TestAdaptiveSuccessRecovers(t *testing.T) {
	c := newFakeClock()
	const ceiling, cut rate.Limit = 1000, 30
	lim := &adaptive{ceiling: ceiling, current: cut, lastCut: c.now(), lastRise: c.now()}
	cutAt := c.now()
	prev, prevRise := cut, cutAt
	var steps []float64 // each rise, as a share of the rate before it
	// One success every 100 ms for a minute.
	for range 600 {
		c.add(100 * time.Millisecond)
		lim.success(c.now())
		got := lim.current
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
		steps = append(steps, float64(got/prev)-1)
		prev, prevRise = got, now
	}
	want := []float64{0.10, 0.25, 0.50, 0.75, 1.00}
	if len(steps) < len(want) {
		t.Fatalf("the rate rose %d times in a minute from %v: %v", len(steps), cut, steps)
	}
	for i, w := range want {
		if math.Abs(steps[i]-w) > 0.001 {
			t.Errorf("rise %d was +%.3f, want +%.2f (all rises %v)", i+1, steps[i], w, steps)
		}
	}
	if prev != ceiling {
		t.Fatalf("Limit() = %v after a minute of successes, want it back at the ceiling %v", prev, ceiling)
	}
	// At the ceiling, more successes change nothing.
	for range 50 {
		c.add(time.Second)
		lim.success(c.now())
	}
	if got := lim.current; got != ceiling {
		t.Fatalf("Limit() = %v at the ceiling after more successes, want %v", got, ceiling)
	}
}
