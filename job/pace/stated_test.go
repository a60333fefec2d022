package pace_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// counter is one fixed-window rate counter as NestJS's in-memory throttler keeps it: the
// window starts at the first request after the last one ended; every request counts.
type counter struct {
	limit, used int // used: requests counted before the first one of the test
	length      time.Duration
	start       time.Time
}

// take counts a request arriving at now and states the budget after it.
func (c *counter) take(now time.Time) (dialnexa.Budget, bool) {
	if !c.start.IsZero() && !now.Before(c.start.Add(c.length)) {
		c.start, c.used = time.Time{}, 0
	}
	if c.start.IsZero() {
		c.start = now
	}
	c.used++
	left := c.start.Add(c.length).Sub(now)
	secs := (left + time.Second - 1) / time.Second * time.Second
	return dialnexa.Budget{Stated: true, Limit: c.limit, Remaining: max(0, c.limit-c.used), Reset: secs}, c.used <= c.limit
}

// sendRows sends rows requests through gate from workers goroutines, each answered by
// answer after latency, until all are answered or an hour of fake time has passed. It
// returns the requests answered and when the last answer came, from the start.
func sendRows(gate *pace.Gate, rows, workers int, latency time.Duration, answer func(now time.Time) pace.Reply) (int, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	var mu sync.Mutex
	todo, answered, last := rows, 0, time.Duration(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if todo == 0 {
					mu.Unlock()
					return
				}
				todo--
				mu.Unlock()
				tk, err := gate.Wait(ctx)
				if err != nil {
					return
				}
				time.Sleep(latency / 2)
				mu.Lock()
				rep := answer(time.Now())
				mu.Unlock()
				time.Sleep(latency / 2)
				gate.Done(tk, rep)
				mu.Lock()
				if rep.Status == http.StatusOK {
					answered++
				} else {
					todo++ // sent again
				}
				last = time.Since(start)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return answered, last
}

func counted(b dialnexa.Budget, ok bool) pace.Reply {
	if !ok {
		return pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: b.Reset}
	}
	return pace.Reply{Status: http.StatusOK, Budget: b}
}

// An API behind a load balancer whose replicas keep counters of their own (NestJS's
// in-memory throttler): answers alternate between two Remaining sequences, 900, 899, ...
// and 100, 99, .... Each answer is taken as stated, a rise as well as a fall: the run
// finishes in seconds (the lower counter governing the answers it gives), not one row a
// minute.
func TestGateReplicasWithCountersOfTheirOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		replicas := []*counter{{limit: 1000, used: 100, length: time.Minute}, {limit: 1000, used: 900, length: time.Minute}}
		next := 0
		gate := pace.NewGate(0, 1, time.Now)
		n, took := sendRows(gate, 40, 4, 20*time.Millisecond, func(now time.Time) pace.Reply {
			c := replicas[next%2]
			next++
			return counted(c.take(now))
		})
		t.Logf("%d rows, the last after %v, %d requests", n, took, next)
		if n != 40 || took > 15*time.Second {
			t.Errorf("%d of 40 rows answered, the last after %v (%d requests); want all 40 within seconds", n, took, next)
		}
	})
}

// The stated budget drops once mid-window (10^9 left, then 1000): the run goes on at the
// pace of what is stated now.
func TestGateStatedBudgetDrops(t *testing.T) {
	for _, limit := range []int{0, 1000} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				huge := &counter{limit: 1e9, length: time.Minute}
				small := &counter{limit: 1000, length: time.Minute}
				sent := 0
				gate := pace.NewGate(0, 1, time.Now)
				n, took := sendRows(gate, 40, 4, 20*time.Millisecond, func(now time.Time) pace.Reply {
					sent++
					b, ok := small.take(now)
					if sent <= 5 {
						b, ok = huge.take(now)
					}
					b.Limit = limit
					return counted(b, ok)
				})
				t.Logf("limit %d: %d rows, the last after %v, %d requests", limit, n, took, sent)
				// 35 rows after the drop, at 1000 a minute: about 2 s.
				if n != 40 || took < 1500*time.Millisecond || took > 5*time.Second {
					t.Errorf("limit %d: %d of 40 rows answered, the last after %v (%d requests); want all 40 in about 2 s", limit, n, took, sent)
				}
			})
		})
	}
}

// Another tool spends 300 of a budget of 600 a minute at once: the job slows, never
// overspends, and goes on to spend most of what is left by the window's end.
func TestGateBurstByAnotherTool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &counter{limit: 600, length: time.Minute}
		start := time.Now()
		var burst bool
		var before, after []time.Duration // answers in the 5 s before and after the burst
		throttled := 0
		gate := pace.NewGate(0, 1, time.Now)
		sendRows(gate, 1000, 4, 20*time.Millisecond, func(now time.Time) pace.Reply {
			at := now.Sub(start)
			if at >= 10*time.Second && !burst {
				burst, api.used = true, api.used+300
			}
			if at >= time.Minute {
				return pace.Reply{Status: 0} // the test is over: no answer
			}
			rep := counted(api.take(now))
			switch {
			case rep.Status != http.StatusOK:
				throttled++
			case at >= 5*time.Second && at < 10*time.Second:
				before = append(before, at)
			case at >= 10*time.Second && at < 15*time.Second:
				after = append(after, at)
			}
			return rep
		})
		t.Logf("before %d after %d, left %d, throttled %d", len(before), len(after), api.limit-api.used, throttled)
		if throttled > 0 {
			t.Errorf("%d requests answered 429; the stated budget is never overspent", throttled)
		}
		if len(after) >= len(before) {
			t.Errorf("%d requests in the 5 s after the burst, %d in the 5 s before; want fewer after", len(after), len(before))
		}
		// What is left after the burst is spent by the window's end (the job recovers).
		if left := api.limit - api.used; left > 30 {
			t.Errorf("%d of the window's 600 requests left unspent at its end; want the job to recover and spend them", left)
		}
	})
}

// An API that alternates two named throttlers as the tightest: the budget is logged
// when it changes materially, not with almost every answer.
func TestGateLogsAlternatingThrottlersSparingly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		gate := pace.NewGate(0, 1, time.Now)
		gate.Log = zerolog.New(&log)
		i := 0
		_, took := sendRows(gate, 40, 4, 20*time.Millisecond, func(now time.Time) pace.Reply {
			i++
			b := dialnexa.Budget{Stated: true, Name: "short", Limit: 10_000, Remaining: 10_000 - i, Reset: time.Second, Window: time.Second}
			if i%2 == 0 {
				b = dialnexa.Budget{Stated: true, Name: "long", Limit: 100_000, Remaining: 9_000 - i, Reset: time.Minute, Window: time.Minute}
			}
			return pace.Reply{Status: http.StatusOK, Budget: b}
		})
		lines := strings.Count(log.String(), `"rate_budget"`)
		if most := 2 + int(took/(5*time.Second)); lines > most {
			t.Errorf("%d rate_budget lines for 40 requests in %v; want at most %d", lines, took, most)
		}
	})
}
