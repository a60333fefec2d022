package pace

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

// newLearnt is the pace a gate of perSecond (0: no ceiling) learns; its successes are
// counted from c's time.
func newLearnt(perSecond float64, c *fakeClock) *learnt {
	ceiling := rate.Limit(perSecond)
	if perSecond <= 0 {
		ceiling = rate.Inf
	}
	a := &learnt{ceiling: ceiling, rate: ceiling}
	a.accepted.add(c.now(), 0)
	return a
}

// successes records n successes spread evenly over d, starting now; the clock ends d later.
func successes(lim *learnt, c *fakeClock, n int, d time.Duration) {
	step := d / time.Duration(n)
	for range n {
		lim.success(c.now())
		c.add(step)
	}
}

func TestLearntThrottledCutsToAcceptedRate(t *testing.T) {
	c := newFakeClock()
	lim := newLearnt(50, c)
	if got := lim.rate; got != 50 {
		t.Fatalf("rate = %v at start, want the ceiling 50", got)
	}
	// Successes seconds old count next to nothing.
	successes(lim, c, 200, 500*time.Millisecond)
	c.add(4 * time.Second)
	// 30 successes a second for the last 4 s, then a 429.
	successes(lim, c, 120, 4*time.Second)
	lim.throttled(c.now())
	got := lim.rate
	if got < 27 || got > 31.5 {
		t.Fatalf("after 30 successes a second and a 429, rate = %v, want about 30 (27..31.5)", got)
	}
}

// Few successes while rows wait out Retry-After measure that idleness, not the API: a
// 429 never cuts by more than half.
func TestLearntThrottledCutsAtMostByHalf(t *testing.T) {
	c := newFakeClock()
	lim := newLearnt(100, c)
	successes(lim, c, 8, time.Second)
	lim.throttled(c.now())
	if got := lim.rate; got != 50 {
		t.Fatalf("rate = %v after a 429 with 8 successes in the last second at 100/s, want 50 (half)", got)
	}
}

func TestLearntThrottledNeverRaises(t *testing.T) {
	c := newFakeClock()
	lim := newLearnt(40, c)
	successes(lim, c, 20, time.Second)
	lim.throttled(c.now())
	low := lim.rate
	if low > 20 {
		t.Fatalf("rate = %v after a 429 with 20 successes in the last second, want <= 20", low)
	}
	// A burst of successes far above the current limit (banked tokens, a second worker
	// finishing...), then another 429 more than a second later: the cut must still lower
	// the limit, never raise it to what was accepted.
	c.add(1100 * time.Millisecond)
	successes(lim, c, 90, 900*time.Millisecond)
	before := lim.rate
	lim.throttled(c.now())
	if after := lim.rate; after >= before {
		t.Fatalf("a 429 with 90 successes in the last second moved the rate from %v to %v; a 429 must never raise it", before, after)
	}
	// 429s with no success at all in the last second halve the rate, down to the floor
	// of 1/s, never 0 (a zero rate strands every waiter).
	for cuts := 0; lim.rate > 1; cuts++ {
		if cuts > 10 {
			t.Fatalf("rate = %v after %d cuts with no success, want the floor 1", lim.rate, cuts)
		}
		before := lim.rate
		c.add(2 * time.Second)
		lim.throttled(c.now())
		if got := lim.rate; got != max(before/2, 1) {
			t.Fatalf("rate = %v after a 429 with no recent success at %v, want %v", got, before, max(before/2, 1))
		}
	}
	c.add(2 * time.Second)
	lim.throttled(c.now())
	if got := lim.rate; got != 1 {
		t.Fatalf("rate = %v after a 429 at the floor, want it to stay 1", got)
	}
}

// A ceiling under 1/s is the user's: a 429 must not lift the rate to the 1/s floor.
func TestLearntThrottledBelowOnePerSecond(t *testing.T) {
	c := newFakeClock()
	lim := newLearnt(0.5, c)
	successes(lim, c, 1, time.Second)
	lim.throttled(c.now())
	if got := lim.rate; got > 0.5 {
		t.Fatalf("ceiling 0.5: rate = %v after a 429, above the 0.5/s ceiling", got)
	}
	for range 100 {
		c.add(500 * time.Millisecond)
		lim.success(c.now())
		if got := lim.rate; got > 0.5 {
			t.Fatalf("ceiling 0.5: rate = %v while recovering, above the ceiling", got)
		}
	}
}

// After a cut the rate recovers once a second, and never within a second of the cut: by
// the square of the quiet seconds in tenths (+10 %, +40 %, +90 %, ...), up to the ceiling.
func TestLearntSuccessRecovers(t *testing.T) {
	c := newFakeClock()
	const ceiling, cut rate.Limit = 1000, 30
	lim := &learnt{ceiling: ceiling, rate: cut, cut: c.now(), rise: c.now()}
	cutAt := c.now()
	prev, prevRise := cut, cutAt
	var steps []float64 // each rise, as a share of the rate before it
	// One success every 100 ms for a minute.
	for range 600 {
		c.add(100 * time.Millisecond)
		lim.success(c.now())
		got := lim.rate
		switch {
		case got > ceiling:
			t.Fatalf("rate = %v at +%v, above the ceiling %v", got, c.now().Sub(cutAt), ceiling)
		case got < prev:
			t.Fatalf("rate fell from %v to %v on a success", prev, got)
		case got == prev:
			continue
		}
		now := c.now()
		if gap := now.Sub(prevRise); gap < time.Second || gap > 1100*time.Millisecond {
			t.Fatalf("rate rose from %v to %v %v after the previous change; want once a second while successes come", prev, got, gap)
		}
		steps = append(steps, float64(got/prev)-1)
		prev, prevRise = got, now
	}
	want := []float64{0.10, 0.40, 0.90, 1.60}
	if len(steps) < len(want) {
		t.Fatalf("the rate rose %d times in a minute from %v: %v", len(steps), cut, steps)
	}
	for i, w := range want {
		if math.Abs(steps[i]-w) > 0.001 {
			t.Errorf("rise %d was +%.3f, want +%.2f (all rises %v)", i+1, steps[i], w, steps)
		}
	}
	if prev != ceiling {
		t.Fatalf("rate = %v after a minute of successes, want it back at the ceiling %v", prev, ceiling)
	}
	// At the ceiling, more successes change nothing.
	for range 50 {
		c.add(time.Second)
		lim.success(c.now())
	}
	if got := lim.rate; got != ceiling {
		t.Fatalf("rate = %v at the ceiling after more successes, want %v", got, ceiling)
	}
}
