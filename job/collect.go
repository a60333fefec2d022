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
// logs. A row's later line (Result.Again) replaces its earlier one in the counts.
//
// In a run with gates it also tallies the rows of each wave as the senders hand them
// back (track), keeps the rows that may have changed their number (for the gate's
// re-read and the rollback), and answers the feeder's gate once the wave is all back.
type collector struct {
	r      *Runner
	record func(Result) error
	fail   func(Stop, error)
	sum    Summary
	every  time.Duration // flushes at most this often: FlushEvery, 0 in a rollback

	failed    bool
	lastFlush time.Time
	held      <-chan time.Time // fires when rows not flushed yet are due

	gates   *gates       // nil: no waves, not atomic
	stop    *runStop     // the run's, for a gate that fails early
	asks    chan gateAsk // the feeder's gate, waiting for its wave
	pending *gateAsk
	back    int       // results of rows handed to the senders, so far
	errors  int       // of those, row errors (not_found, rejected, forbidden)
	wave    waveTally // the current wave's
	changed []written // every row that may have changed its number (atomic)
}

// newCollector counts into a Summary of the outcomes order lists.
func (r *Runner) newCollector(record func(Result) error, order []Outcome, fail func(Stop, error)) *collector {
	return &collector{r: r, record: record, fail: fail, sum: Summary{Counts: map[Outcome]int{}, Order: order}, every: r.FlushEvery}
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
		case a := <-c.asks:
			c.pending = &a
			c.answer()
		case <-tick:
			s := c.sum.clone()
			s.Elapsed = c.r.Now().Sub(start)
			c.r.Progress(s)
		}
	}
}

// add counts, logs and records one result; a row's later line moves the row's count
// from its earlier outcome to its new one.
func (c *collector) add(res Result) {
	if res.Again() {
		c.sum.Counts[res.earlier]--
	} else {
		c.sum.Rows++
	}
	c.sum.Counts[res.Outcome]++
	logRow(c.r.Log, res)
	if !c.failed {
		c.check(c.record(res))
	}
	if res.wave > 0 {
		c.track(res)
	}
}

// pace flushes what was recorded once no other result is waiting (more), but at most
// once per FlushEvery, holding the rest until then: rows that finish together are
// flushed together, as a write per row would cost more than the row.
func (c *collector) pace(more bool) {
	if more || c.held != nil || c.failed {
		return
	}
	if wait := c.every - c.r.Now().Sub(c.lastFlush); wait > 0 {
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
	if res.Again() {
		ev = ev.Str("earlier", string(res.earlier))
	}
	if res.Outcome == WouldUpdate {
		ev = ev.RawJSON("body", res.Body)
	}
	ev.Msg(string(res.Outcome))
}
