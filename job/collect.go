package job

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// collector is the phase of a run that takes every result, in the order rows finish,
// on one goroutine: it counts the row, logs its event, records it, paces the flushes of
// what record wrote, and reports Progress on its tick. The first record or Flush that
// fails is passed to fail (the run stops); from then on the collector only counts and
// logs.
type collector struct {
	r      *Runner
	record func(Result) error
	fail   func(Stop, error)
	sum    Summary

	failed    bool
	lastFlush time.Time
	held      <-chan time.Time // fires when rows not flushed yet are due
}

// newCollector counts into a Summary of the outcomes order lists.
func (r *Runner) newCollector(record func(Result) error, order []Outcome, fail func(Stop, error)) *collector {
	return &collector{r: r, record: record, fail: fail, sum: Summary{Counts: map[Outcome]int{}, Order: order}}
}

// collect takes results until the channel is closed, then flushes. start is when the
// run started, for Progress.
func (c *collector) collect(results <-chan Result, start time.Time) {
	var tick <-chan time.Time
	if c.r.ProgressEvery > 0 && c.r.Progress != nil {
		t := time.NewTicker(c.r.ProgressEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case res, ok := <-results:
			if !ok {
				c.flush()
				return
			}
			c.add(res)
			c.pace(len(results) > 0)
		case <-c.held:
			c.flush()
		case <-tick:
			s := c.sum.clone()
			s.Elapsed = c.r.Now().Sub(start)
			c.r.Progress(s)
		}
	}
}

// add counts, logs and records one result.
func (c *collector) add(res Result) {
	c.sum.Counts[res.Outcome]++
	c.sum.Rows++
	logRow(c.r.Log, res)
	if !c.failed {
		c.check(c.record(res))
	}
}

// pace flushes what was recorded once no other result is waiting (more), but at most
// once per FlushEvery, holding the rest until then: rows that finish together are
// flushed together, as a write per row would cost more than the row.
func (c *collector) pace(more bool) {
	if more || c.held != nil || c.failed {
		return
	}
	if wait := c.r.FlushEvery - c.r.Now().Sub(c.lastFlush); wait > 0 {
		c.held = time.After(wait)
		return
	}
	c.flush()
}

func (c *collector) flush() {
	c.held = nil
	if c.r.Flush != nil && !c.failed {
		c.lastFlush = c.r.Now()
		c.check(c.r.Flush())
	}
}

// check passes on the first error of record or Flush.
func (c *collector) check(err error) {
	if err != nil && !c.failed {
		c.failed = true
		c.fail(StopOutputFailed, fmt.Errorf("write report: %w", err))
	}
}

// logRow logs one row's event, at its outcome's Level.
func logRow(log zerolog.Logger, res Result) {
	ev := log.WithLevel(res.Outcome.Level()).Str("event", "row").Int("line", res.Row.Line).Str("id", res.Row.ID).
		Str("outcome", string(res.Outcome)).Int("status", res.Status).Int("attempts", res.Attempts).
		Int64("duration_ms", res.Duration.Milliseconds())
	if res.Error != "" {
		ev = ev.Str("error", res.Error)
	}
	if res.Outcome == WouldUpdate {
		ev = ev.RawJSON("body", res.Body)
	}
	ev.Msg(string(res.Outcome))
}
