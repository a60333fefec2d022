package job

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// A waiter wakes a little after its token: the next token still counts from when this
// one came, so that the pace is kept whatever the timers' delays.
func TestBucketTakeAsOfTokenTime(t *testing.T) {
	t0 := time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)
	b := newBucket(50, 1)
	b.take(t0) // the bucket starts full: the first token is there at once
	if d := b.wait(t0); d < 19*time.Millisecond || d > 21*time.Millisecond {
		t.Fatalf("wait after a take at 50/s = %v, want 20 ms", d)
	}
	now := t0
	for i := range 50 {
		now = now.Add(20 * time.Millisecond)
		if d := b.wait(now); d != 0 {
			t.Fatalf("token %d: wait %v at its time, want none", i+2, d)
		}
		b.take(now.Add(time.Millisecond)) // taken a millisecond late
	}
	// 51 tokens by t0 + 1 s: the late takes cost nothing.
	if d := b.wait(now.Add(20 * time.Millisecond)); d != 0 {
		t.Errorf("after 50 late takes the next token is %v late; want on time", d)
	}
	// A full bucket is taken as of now: its tokens came long ago, and the burst is what
	// may go at once.
	full := newBucket(50, 3)
	later := t0.Add(time.Hour)
	for range 3 {
		if d := full.wait(later); d != 0 {
			t.Fatalf("a full bucket of 3 made a take wait %v", d)
		}
		full.take(later)
	}
	if d := full.wait(later); d < 19*time.Millisecond {
		t.Errorf("after the burst of 3, wait %v; want about 20 ms", d)
	}
}

// The pace goes to rate.Inf and back, at one instant: the bucket keeps counting.
func TestBucketToInfAndBack(t *testing.T) {
	t0 := time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)
	b := newBucket(rate.Inf, 1)
	for _, r := range []rate.Limit{40, rate.Inf, 40, 20, rate.Inf, 10} {
		b.setLimit(t0, r)
	}
	if d := b.wait(t0); d != 0 {
		t.Fatalf("wait = %v on a bucket new at 10/s; want none (it starts full)", d)
	}
	b.take(t0)
	if d := b.wait(t0); d < 99*time.Millisecond || d > 101*time.Millisecond {
		t.Errorf("wait = %v after a take at 10/s; want 100 ms", d)
	}
}
