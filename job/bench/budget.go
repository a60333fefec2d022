package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"reassign/job/sandbox"
)

// --- 5. the API's budget ---

// budgetCase is one row of the budget table (docs/performance.md): a fake API limited
// to 40/s in one way, and one pod or several started together against it.
type budgetCase struct {
	name    string
	pods    int
	window  sandbox.FixedWindow // the API's limit, when it is a fixed window
	bucket  bool                // else a token bucket of 40/s, burst 5, stating nothing
	goodput float64             // bar: rows applied per second, at least
	share   float64             // bar: % of all requests answered 429, at most
}

func budgetCases() []budgetCase {
	window := func(h sandbox.Headers) sandbox.FixedWindow {
		return sandbox.FixedWindow{Limit: 400, Length: 10 * time.Second, Headers: h}
	}
	return []budgetCase{
		{name: "X-RateLimit-* stated, 1 pod", pods: 1, window: window(sandbox.XRateLimit), goodput: 39, share: 0.5},
		{name: "IETF RateLimit stated, 1 pod", pods: 1, window: window(sandbox.IETF), goodput: 39, share: 0.5},
		{name: "X-RateLimit-* stated, 4 pods at once", pods: 4, window: window(sandbox.XRateLimit), goodput: 38, share: 1},
		{name: "nothing stated, fixed window, 1 pod", pods: 1, window: window(sandbox.NoHeaders), goodput: 38, share: 6},
		{name: "nothing stated, fixed window, 4 pods", pods: 4, window: window(sandbox.NoHeaders), goodput: 36, share: 10},
		{name: "nothing stated, token bucket 40/s burst 5, 1 pod", pods: 1, bucket: true, goodput: 38, share: 6},
		{name: "nothing stated, token bucket 40/s burst 5, 4 pods", pods: 4, bucket: true, goodput: 36, share: 10},
	}
}

// budget: each case of budgetCases, the sandbox throttled at 40/s (400 requests per 10 s,
// every request counted, or a token bucket) holding the plan's numbers; each pod
// configured far above the limit: --rate 400 alone, 100 each of 4 (--shards 4), 16
// workers, --max-attempts 10 (so that a job that overspends, with its 429s, still applies
// every row). The reads before the writes count against the budget too. Goodput is the
// rows applied from the first to the last PATCH answered 2xx.
func (h *harness) budget(sr *scenarioResult) error {
	n := h.sizes.budget
	plan, err := h.plan(n)
	if err != nil {
		return err
	}
	ws := workspace(n)
	for _, c := range budgetCases() {
		goodput := sr.add(c.name+": goodput, rows applied ÷ first to last PATCH answered 2xx", "rows/s", atLeast(c.goodput))
		share := sr.add(c.name+": share of all requests answered 429", "%", atMost(c.share))
		withReads := sr.add(c.name+": rows applied ÷ first to last 2xx of any request (the reads before the writes included)", "rows/s", nil)
		requests := sr.add(c.name+": requests sent (the plan's rows, the reads, the retries)", "", nil)
		for i := range h.opts.runs {
			h.settle(sr)
			opts := sandbox.Options{Key: h.key, Window: c.window}
			if c.bucket {
				opts.RatePerSecond, opts.RateBurst = 40, 5
			}
			rec := newRecorder(sandbox.New(ws, opts))
			var wall time.Duration
			if err := serve(rec, func(url string) error {
				flags := []string{"--workers", "16", "--max-attempts", "10"}
				if c.pods == 1 {
					jr, err := h.runJob(sr, plan, url, append(flags, "--rate", "400")...)
					wall = jr.wall
					return err
				}
				runs, err := h.runPods(sr, plan, url, c.pods, append(flags, "--rate", "100")...)
				for _, jr := range runs {
					wall = max(wall, jr.wall)
				}
				return err
			}); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			arrivals, statuses, _ := rec.snapshot()
			ok, okPatch := rec.spans()
			if len(arrivals) == 0 || okPatch.length() <= 0 {
				return errors.New(c.name + ": no request reached the fake")
			}
			throttled := statuses[http.StatusTooManyRequests]
			pct := 100 * float64(throttled) / float64(len(arrivals))
			goodput.values = append(goodput.values, float64(n)/okPatch.length().Seconds())
			share.values = append(share.values, pct)
			withReads.values = append(withReads.values, float64(n)/ok.length().Seconds())
			requests.values = append(requests.values, float64(len(arrivals)))
			h.logf("%s, run %d: %.2f rows/s (%.2f with the reads; slowest pod's wall %.1fs), %d requests, %d answered 429 (%.2f%%)",
				c.name, i+1, float64(n)/okPatch.length().Seconds(), float64(n)/ok.length().Seconds(), wall.Seconds(), len(arrivals), throttled, pct)
		}
	}
	sr.notes = append(sr.notes, "the API allows 400 requests per 10 s (a fixed window from the first request after the last window ended, every request counted, 429 with Retry-After = seconds to the window's end, rounded up), or a token bucket of 40/s, burst 5 (429 with Retry-After: 1); several pods are separate processes of the built job started together, --shards 4 --shard-index i over one plan")
	return nil
}
