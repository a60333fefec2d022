package job

import "fmt"

// feeder is the phase of a run that reads the plan, on the goroutine that calls Each:
// it decides each row that needs no request (its result goes straight to the
// collector), holds back what a "no" or Limit withholds, and hands the rows that need a
// write to the senders in batches, each written ahead first (WriteAhead; a row is a
// batch without it). send is the one place a batch leaves the feeder: a gate between
// batches (wait for the collector to have the batches so far, check, go on or stop)
// goes there.
type feeder struct {
	r    *Runner
	stop *runStop
	todo chan<- Result // to the senders
	done chan<- Result // to the collector

	batch []Result // rows to send, waiting for WriteAhead
	size  int      // rows per batch: one without WriteAhead

	writes      int  // rows needing a write that were let through
	withheld    int  // rows needing a write that were held back on purpose
	interrupted bool // a row was left unsent because the caller's context ended

	befores []NumberState // where the rows' Before values are kept, 256 to an allocation
}

func (r *Runner) newFeeder(stop *runStop, todo, done chan<- Result) *feeder {
	size := r.WriteAheadBatch
	switch {
	case r.WriteAhead == nil:
		size = 1
	case size <= 0:
		size = 4 * r.Workers
	}
	return &feeder{r: r, stop: stop, todo: todo, done: done, size: size}
}

// row takes one row of the plan (the function Each calls).
func (f *feeder) row(row Row, problems []Problem) error {
	if !InShard(row.ID, f.r.Shards, f.r.ShardIndex) {
		return nil
	}
	res, write := f.decide(row, problems)
	if !write {
		res.Finished = f.r.Now()
		f.done <- res
		return nil
	}
	if f.batch = append(f.batch, res); len(f.batch) >= f.size {
		f.send()
	}
	return nil
}

// decide is what becomes of a row: a result already (no request needed, the run has
// stopped, held back, a dry run), or a write to send.
func (f *feeder) decide(row Row, problems []Problem) (res Result, write bool) {
	r := f.r
	res.Row = row
	before, known := r.Snapshot.Get(row.ID)
	if known {
		res.Before = f.keep(before)
	}
	res.Outcome, res.Error = r.settle(row, problems, before, known)
	switch {
	case res.Outcome != "":
		return res, false
	case f.stop.stopped():
		return f.unsent(res), false
	case r.withholds(f.writes):
		res.Outcome, res.Error = NotAttempted, r.holdReason()
		f.withheld++
		return res, false
	}
	f.writes++
	switch {
	case r.DryRun && r.Snapshot != nil && !known:
		res.Outcome, res.Error = NotFound, "not in the workspace (dry run against the workspace)"
	case r.DryRun:
		// Offline, a name stays a name: the body holds what is known, Error says what
		// the run resolves (never an agent_id that is not one).
		res.Outcome, res.Body, res.Error = WouldUpdate, Body(row), Pending(row)
	default:
		return res, true
	}
	return res, false
}

// keep returns a copy of s that outlives the row's decision, from a slab of them: one
// allocation for 256 rows rather than one a row. A slab goes once no result it holds
// is needed any more.
func (f *feeder) keep(s NumberState) *NumberState {
	if len(f.befores) == cap(f.befores) {
		f.befores = make([]NumberState, 0, 256)
	}
	f.befores = append(f.befores, s)
	return &f.befores[len(f.befores)-1]
}

// unsent is res left unsent by the run's stop: not_attempted.
func (f *feeder) unsent(res Result) Result {
	res.Outcome, res.Error = NotAttempted, "not sent: "+f.stop.why()
	f.interrupted = f.interrupted || f.stop.interrupted()
	return res
}

// send hands the batch to the senders once WriteAhead has recorded it. When the run has
// stopped (WriteAhead failing stops it), the batch's rows are not_attempted instead.
func (f *feeder) send() {
	if f.r.WriteAhead != nil && len(f.batch) > 0 && !f.stop.stopped() {
		if err := f.r.WriteAhead(f.batch); err != nil {
			f.stop.stopWith(StopOutputFailed, fmt.Errorf("write undo plan: %w", err))
		}
	}
	for _, res := range f.batch {
		if f.stop.stopped() {
			res = f.unsent(res)
			res.Finished = f.r.Now()
			f.done <- res
			continue
		}
		f.todo <- res
	}
	f.batch = f.batch[:0]
}
