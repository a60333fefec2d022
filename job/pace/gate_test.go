package pace_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// The tests below run on testing/synctest's fake time: a gate's waits, the simulated
// API's windows and the requests' latency cost no real time, and the figures they check
// are the pacing logic's, not the machine's.

// simAPI is an API's rate limit as a gate meets it: a fixed window (every request
// counted, 429 with Retry-After = seconds to the window's end, rounded up), stating the
// budget on its 2xx answers or not; or a token bucket stating nothing (Retry-After: 1).
type simAPI struct {
	limit  int
	length time.Duration
	states bool
	bucket *rate.Limiter

	mu          sync.Mutex
	start       time.Time
	count       int
	ok, refused int
	arrivals    []time.Time
}

func fixedWindow(limit int, length time.Duration, states bool) *simAPI {
	return &simAPI{limit: limit, length: length, states: states}
}

func tokenBucket(perSecond float64, burst int) *simAPI {
	return &simAPI{bucket: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// serve answers one request arriving now.
func (a *simAPI) serve() pace.Reply {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.arrivals = append(a.arrivals, now)
	if a.bucket != nil {
		if a.bucket.AllowN(now, 1) {
			a.ok++
			return pace.Reply{Status: http.StatusOK}
		}
		a.refused++
		return pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Second}
	}
	if a.start.IsZero() || !now.Before(a.start.Add(a.length)) {
		a.start, a.count = now, 0
	}
	a.count++
	left := a.start.Add(a.length).Sub(now)
	secs := (left + time.Second - 1) / time.Second * time.Second
	if a.count > a.limit {
		a.refused++
		return pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: secs}
	}
	a.ok++
	rep := pace.Reply{Status: http.StatusOK}
	if a.states {
		rep.Budget = dialnexa.Budget{Stated: true, Limit: a.limit, Remaining: a.limit - a.count, Reset: secs}
	}
	return rep
}

func (a *simAPI) counts() (ok, throttled int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ok, a.refused
}

// drive sends requests through gate to api from workers goroutines until ctx ends, each
// answered after latency (the API counts it half-way).
func drive(ctx context.Context, wg *sync.WaitGroup, gate *pace.Gate, api *simAPI, workers int, latency time.Duration) {
	for range workers {
		wg.Go(func() {
			for {
				tk, err := gate.Wait(ctx)
				if err != nil {
					return
				}
				time.Sleep(latency / 2)
				rep := api.serve()
				time.Sleep(latency / 2)
				gate.Done(tk, rep)
			}
		})
	}
}

// simulate runs pods gates (each of workers goroutines, --rate ceiling, --shards pods)
// against api for d of fake time and reports the answers 2xx and 429.
func simulate(t *testing.T, api *simAPI, pods, workers int, ceiling float64, d time.Duration) (ok, throttled int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range pods {
		gate := pace.NewGate(ceiling, 1, time.Now)
		gate.Shards = pods
		drive(ctx, &wg, gate, api, workers, 2*time.Millisecond)
	}
	wg.Wait()
	return api.counts()
}

// A pod alone with a stated budget spends all of it and never a request more.
func TestGateSpendsStatedBudgetAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := fixedWindow(400, 10*time.Second, true)
		ok, throttled := simulate(t, api, 1, 16, 400, 40*time.Second)
		if throttled != 0 {
			t.Errorf("%d requests answered 429; a stated budget is never overspent", throttled)
		}
		// Four windows of 400: at least 97.5 % of them spent (39/s).
		if ok < 1560 {
			t.Errorf("%d requests accepted in 40 s of windows of 400 per 10 s; want at least 1560 (the budget spent)", ok)
		}
	})
}

// Four pods on one budget see it fall faster than their own requests explain, and take
// their share of it: together they spend it with almost no 429.
func TestGateSharesStatedBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := fixedWindow(400, 10*time.Second, true)
		ok, throttled := simulate(t, api, 4, 16, 100, 40*time.Second)
		if share := float64(throttled) / float64(ok+throttled); share > 0.01 {
			t.Errorf("%d of %d requests answered 429 (%.1f %%); want at most 1 %%", throttled, ok+throttled, 100*share)
		}
		if ok < 1520 {
			t.Errorf("%d requests accepted in 40 s of windows of 400 per 10 s; want at least 1520 (38/s together)", ok)
		}
	})
}

// Without headers, a spent fixed window pauses the pool until it ends: a few 429s a
// window, not one for every row.
func TestGateSpentWindowPausesPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := fixedWindow(400, 10*time.Second, false)
		ok, throttled := simulate(t, api, 1, 16, 400, 40*time.Second)
		if throttled > 4*5 {
			t.Errorf("%d requests answered 429 over 4 windows; want a few a window (the pool paused)", throttled)
		}
		if ok < 1500 {
			t.Errorf("%d requests accepted in 40 s of windows of 400 per 10 s; want at least 1500", ok)
		}
	})
}

// Without headers, a token bucket that refills in milliseconds answers a 429 now and
// then: a probe passes, and the pool does not sit out the whole second of Retry-After.
func TestGateLoneThrottleDoesNotStallPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := tokenBucket(40, 5)
		ok, throttled := simulate(t, api, 1, 16, 400, 60*time.Second)
		if share := float64(throttled) / float64(ok+throttled); share > 0.06 {
			t.Errorf("%d of %d requests answered 429 (%.1f %%); want at most 6 %%", throttled, ok+throttled, 100*share)
		}
		if ok < 38*60 {
			t.Errorf("%d requests accepted in 60 s of a 40/s bucket; want at least %d (38/s)", ok, 38*60)
		}
	})
}

// --rate is never passed, however much the API states is left.
func TestGateCeilingHeldUnderStatedBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := fixedWindow(100_000, time.Minute, true)
		const ceiling = 10
		simulate(t, api, 1, 8, ceiling, 20*time.Second)
		if most := mostInOneSecond(api.arrivals); most > ceiling+1 {
			t.Errorf("%d requests in one second at --rate %d --burst 1; want at most %d", most, ceiling, ceiling+1)
		}
		if n := len(api.arrivals); n < 19*ceiling {
			t.Errorf("%d requests in 20 s at --rate %d under a budget of 100,000; want the ceiling held, about %d", n, ceiling, 20*ceiling)
		}
	})
}

func mostInOneSecond(at []time.Time) int {
	most := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// waiter is a goroutine waiting in gate.Wait: done closes when it got its ticket.
type waiter struct {
	tk   pace.Ticket
	at   time.Time
	err  error
	done chan struct{}
}

// goWait waits in gate.Wait on a goroutine, until the test ends.
func goWait(t *testing.T, gate *pace.Gate) *waiter {
	w := &waiter{done: make(chan struct{})}
	go func() {
		w.tk, w.err = gate.Wait(t.Context())
		w.at = time.Now()
		close(w.done)
	}()
	return w
}

func (w *waiter) passed() bool {
	synctest.Wait()
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func mustWait(t *testing.T, gate *pace.Gate) pace.Ticket {
	t.Helper()
	tk, err := gate.Wait(context.Background())
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return tk
}

func stated(remaining int, reset time.Duration) pace.Reply {
	return pace.Reply{Status: http.StatusOK, Budget: dialnexa.Budget{Stated: true, Limit: 10, Remaining: remaining, Reset: reset}}
}

// The requests in flight count against the stated remaining: with 3 left and 2 in
// flight, one more may go, then nothing until the window resets.
func TestGateCountsRequestsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		first := mustWait(t, gate)
		mustWait(t, gate) // in flight
		mustWait(t, gate) // in flight
		gate.Done(first, stated(3, 10*time.Second))
		start := time.Now()
		mustWait(t, gate) // the one left, paced within the window
		w := goWait(t, gate)
		if w.passed() {
			t.Fatalf("a request went with 3 left and 3 sent since; want none before the reset")
		}
		<-w.done
		if got := w.at.Sub(start); got < 10*time.Second {
			t.Errorf("the next request went %v after the statement; want at the reset, 10 s", got)
		}
	})
}

// An answer to an older request states more than a newer one did: it is stale.
func TestGateIgnoresStaleStatement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		old := mustWait(t, gate)
		newer := mustWait(t, gate)
		gate.Done(newer, stated(0, 5*time.Second))
		gate.Done(old, stated(7, 5*time.Second))
		start := time.Now()
		w := goWait(t, gate)
		if w.passed() {
			t.Fatalf("a request went on an older answer's remaining of 7; the newer said 0")
		}
		<-w.done
		if got := w.at.Sub(start); got < 5*time.Second {
			t.Errorf("the next request went after %v; want at the reset, 5 s", got)
		}
	})
}

// When the window has reset, one request learns the new one before any other goes.
func TestGateOneRequestLearnsNewWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		gate.Done(mustWait(t, gate), stated(0, 2*time.Second))
		learner := goWait(t, gate)
		other := goWait(t, gate)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		n := 0
		for _, w := range []*waiter{learner, other} {
			if w.passed() {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d requests went when the window reset; want 1, to learn the new window", n)
		}
		if !learner.passed() {
			learner, other = other, learner
		}
		gate.Done(learner.tk, stated(9, 10*time.Second))
		// 9 left over 10 s: the next goes at that pace.
		time.Sleep(1200 * time.Millisecond)
		if !other.passed() {
			t.Errorf("the new window states 9 left over 10 s, yet the next request still waits after 1.2 s")
		}
	})
}

// The API stops stating its budget: the first answer after the window says nothing, and
// the gate goes back to pacing by 429s.
func TestGateDropsBudgetNoLongerStated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		gate := pace.NewGate(0, 1, time.Now)
		gate.Log = zerolog.New(&log)
		gate.Done(mustWait(t, gate), stated(0, time.Second))
		time.Sleep(time.Second)
		gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK})
		for i := range 50 {
			if w := goWait(t, gate); !w.passed() {
				t.Fatalf("request %d waits after the budget was dropped; want no wait (no ceiling)", i)
			}
		}
		if !strings.Contains(log.String(), "no longer states") {
			t.Errorf("log %s; want a line saying the budget is no longer stated", log.String())
		}
	})
}

// The budget is logged when first learnt and when it changes, not with every answer, and
// a change at most every 5 s: one that lasts is logged then.
func TestGateLogsBudgetOnceAndOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		gate := pace.NewGate(0, 1, time.Now)
		gate.Log = zerolog.New(&log)
		for i := range 5 {
			gate.Done(mustWait(t, gate), stated(90-i, 10*time.Second))
		}
		rep := stated(400, 60*time.Second)
		rep.Budget.Limit = 500
		gate.Done(mustWait(t, gate), rep) // within 5 s of the first line: held back
		if n := strings.Count(log.String(), "rate_budget"); n != 1 {
			t.Fatalf("log:\n%s\nwant one rate_budget line before 5 s have passed", log.String())
		}
		time.Sleep(5 * time.Second)
		rep.Budget.Remaining--
		gate.Done(mustWait(t, gate), rep)
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"limit":10`) || !strings.Contains(lines[1], `"limit":500`) {
			t.Errorf("log:\n%s\nwant two rate_budget lines: limit 10, then 500", log.String())
		}
	})
}

// A 429 holds the pool back for one probe; the probe is answered: the pool goes on at
// once, without waiting out the Retry-After.
func TestGateProbeAfterLoneThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		for range 100 { // 1,000/s accepted: the 429 cuts the rate to about that
			gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK})
			time.Sleep(time.Millisecond)
		}
		tk := mustWait(t, gate)
		inFlight := mustWait(t, gate) // sent before the 429 came
		gate.Done(tk, pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		// A 429 to a request sent before the first says nothing new: no second cut.
		cut := gate.Limit()
		gate.Done(inFlight, pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		if got := gate.Limit(); got != cut {
			t.Errorf("a 429 to a request in flight when the first came moved the rate from %v to %v", cut, got)
		}
		start := time.Now()
		probe := goWait(t, gate)
		<-probe.done
		held := goWait(t, gate)
		time.Sleep(100 * time.Millisecond) // 100 times the pace
		if held.passed() {
			t.Fatalf("a second request went while the probe was unanswered")
		}
		gate.Done(probe.tk, pace.Reply{Status: http.StatusOK})
		time.Sleep(10 * time.Millisecond)
		if !held.passed() {
			t.Fatalf("the probe was answered, yet the pool still waits")
		}
		if got := held.at.Sub(start); got >= time.Second {
			t.Errorf("the pool waited %v after a lone 429; want less than its 1 s Retry-After", got)
		}
	})
}

// The probe is refused too: the window is spent, and nothing goes until its Retry-After
// ends, but for one probe half a second before (Retry-After counts whole seconds, rounded
// up). That probe refused too, the pool waits for the end the first Retry-After gave, not
// its own; then a probe again.
func TestGateProbeRefusedPausesPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		gate := pace.NewGate(0, 1, time.Now)
		gate.Log = zerolog.New(&log)
		for range 100 { // 1,000/s accepted: the pace after the 429 is no constraint here
			gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK})
			time.Sleep(time.Millisecond)
		}
		gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second})
		probe := mustWait(t, gate)
		start := time.Now()
		gate.Done(probe, pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: 6 * time.Second})
		ws := []*waiter{goWait(t, gate), goWait(t, gate), goWait(t, gate)}
		passed := func() (n int, w *waiter) {
			for _, x := range ws {
				if x.passed() {
					n, w = n+1, x
				}
			}
			return n, w
		}
		time.Sleep(5500*time.Millisecond - time.Millisecond)
		if n, _ := passed(); n != 0 {
			t.Fatalf("%d requests went %v into a pause of 6 s", n, time.Since(start))
		}
		time.Sleep(time.Millisecond)
		n, early := passed()
		if n != 1 {
			t.Fatalf("%d requests went half a second before the pause's end; want one probe", n)
		}
		gate.Done(early.tk, pace.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		time.Sleep(500*time.Millisecond - time.Millisecond)
		if n, _ := passed(); n != 1 {
			t.Fatalf("%d requests went after the early probe was refused, before the first end; want none", n-1)
		}
		time.Sleep(time.Millisecond)
		if n, _ := passed(); n != 2 {
			t.Fatalf("at the pause's end %d more requests went; want exactly one, a probe", n-1)
		}
		if got := strings.Count(log.String(), "rate_pause"); got != 1 {
			t.Errorf("log %s; want the pause logged once", log.String())
		}
	})
}

// A probe that hangs does not hold the pool for its whole timeout.
func TestGateProbeThatHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusTooManyRequests})
		mustWait(t, gate) // the probe, never answered
		start := time.Now()
		w := goWait(t, gate)
		<-w.done
		if got := w.at.Sub(start); got > 1100*time.Millisecond {
			t.Errorf("the pool waited %v behind a probe that hangs; want about a second", got)
		}
	})
}

// The rate is held: 100 Waits at 50/s, burst 1, from 10 goroutines, take about 2 s and no
// 1-second window holds more than rate + burst of them.
func TestGateHoldsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perSecond, burst, n, workers = 50, 1, 100, 10
		gate := pace.NewGate(perSecond, burst, time.Now)
		start := time.Now()
		var mu sync.Mutex
		var at []time.Time
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range n / workers {
					tk, err := gate.Wait(context.Background())
					if err != nil {
						t.Errorf("Wait: %v", err)
						return
					}
					mu.Lock()
					at = append(at, time.Now())
					mu.Unlock()
					gate.Done(tk, pace.Reply{Status: http.StatusOK})
				}
			})
		}
		wg.Wait()
		// The bucket starts with one token: the 100th wait is released at 99/50 s.
		if el := time.Since(start); el < 1900*time.Millisecond || el > 2100*time.Millisecond {
			t.Fatalf("%d Waits at %d/s took %v of fake time, want about 2 s", n, perSecond, el)
		}
		if most := mostInOneSecond(at); most > perSecond+burst {
			t.Fatalf("%d Waits returned in one second, more than rate+burst = %d", most, perSecond+burst)
		}
	})
}

// With no ceiling, a 429 makes the rate finite: about what was accepted over the last
// second; Waits then pace at it.
func TestGateNoCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		if got := gate.Limit(); got != rate.Inf {
			t.Fatalf("NewGate(0): Limit() = %v, want rate.Inf", got)
		}
		for range 40 { // 40 accepted over a second
			gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK})
			time.Sleep(25 * time.Millisecond)
		}
		if got := gate.Limit(); got != rate.Inf {
			t.Fatalf("Limit() = %v after successes only, want rate.Inf", got)
		}
		gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusTooManyRequests})
		got := gate.Limit()
		if got == rate.Inf || got < 36 || got > 41 {
			t.Fatalf("NewGate(0): Limit() = %v after a 429, want finite, about the 40/s accepted", got)
		}
		gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK}) // the probe
		start := time.Now()
		for range 40 {
			gate.Done(mustWait(t, gate), pace.Reply{Status: http.StatusOK})
		}
		if el := time.Since(start); el < 900*time.Millisecond || el > 1200*time.Millisecond {
			t.Fatalf("40 Waits at %v/s took %v of fake time, want about 1 s", got, el)
		}
	})
}

// A Wait whose context is done sends nothing, however open the gate.
func TestGateWaitEndedContext(t *testing.T) {
	gate := pace.NewGate(0, 1, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gate.Wait(ctx); err == nil {
		t.Fatal("Wait with an ended context let a request through")
	}
}

// Nothing left and a reset an hour off: the job asks again after a minute, as it would
// after the longest Retry-After it honours, not after the hour.
func TestGateLongResetAsksAfterAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := pace.NewGate(0, 1, time.Now)
		gate.Done(mustWait(t, gate), stated(0, time.Hour))
		start := time.Now()
		a, b := goWait(t, gate), goWait(t, gate)
		time.Sleep(time.Minute - time.Millisecond)
		if a.passed() || b.passed() {
			t.Fatalf("a request went %v after nothing was left", time.Since(start))
		}
		time.Sleep(time.Millisecond)
		if a.passed() == b.passed() {
			t.Fatalf("a minute after nothing was left: %v and %v; want exactly one request", a.passed(), b.passed())
		}
	})
}

// A budget stated by Remaining and Reset alone is logged too; an answer naming more
// limits than are read says so once, at debug.
func TestGateLogsBareBudgetAndIgnoredLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		gate := pace.NewGate(0, 1, time.Now)
		gate.Log = zerolog.New(&log)
		for i := range 3 {
			rep := pace.Reply{Status: http.StatusOK, Budget: dialnexa.Budget{Stated: true, Remaining: 50 - i, Reset: time.Minute, Ignored: 100}}
			gate.Done(mustWait(t, gate), rep)
		}
		if n := strings.Count(log.String(), `"remaining":50`); n != 1 {
			t.Errorf("log:\n%s\nwant the budget logged once", log.String())
		}
		if n := strings.Count(log.String(), `"limits_ignored":100`); n != 1 {
			t.Errorf("log:\n%s\nwant one line on the limits ignored", log.String())
		}
	})
}
