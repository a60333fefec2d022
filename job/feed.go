package job

import "fmt"

// feeder is the phase of a run that reads the plan, on the goroutine that calls Each:
// it decides each row that needs no request (its result goes straight to the
// collector), holds back what a "no" or Limit withholds, and hands the rows that need a
// write to the senders in batches, each written ahead first (WriteAhead; a row is a
// batch without it). send is the one place a batch leaves the feeder. In a run with
// gates, a wave ends with a batch of its own, and the gate between waves (gate.go)
// waits for the collector to have the wave back, checks it, and goes on or stops.
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

	gates   *gates         // nil: no waves, not atomic
	asks    chan<- gateAsk // to the collector, from a gate
	wave    int            // the wave being sent, from 1; 0 without gates
	handed  int            // rows handed to the senders
	gated   int            // handed by the last gate
	differs map[string]bool

	befores []NumberState // where the rows' Before values are kept, 256 to an allocation
}

// newFeeder feeds todo and done; with gates (nil for none), its gates ask the collector
// through asks.
func (r *Runner) newFeeder(stop *runStop, todo, done chan<- Result, g *gates, asks chan<- gateAsk) *feeder {
	size := r.WriteAheadBatch
	switch {
	case r.WriteAhead == nil:
		size = 1
	case size <= 0:
		size = 4 * r.Workers
	}
	f := &feeder{r: r, stop: stop, todo: todo, done: done, size: size, gates: g, asks: asks}
	if g != nil {
		f.wave, f.differs = 1, map[string]bool{}
	}
	return f
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
	f.batch = append(f.batch, res)
	switch {
	case f.waveEnds():
		f.send()
		f.gate()
	case len(f.batch) >= f.size:
		f.send()
	}
	return nil
}

// waveEnds reports whether the row just let through is the last of its wave.
func (f *feeder) waveEnds() bool {
	g := f.gates
	return g != nil && f.wave <= len(g.cuts) && f.writes == g.cuts[f.wave-1]
}

// finish sends what is left once the plan is read; a wave the plan ended in before its
// count (the rows turned out fewer than counted) is checked all the same.
func (f *feeder) finish() {
	f.send()
	if f.gates != nil && f.handed > f.gated && !f.stop.stopped() {
		f.gate()
	}
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
	res.Outcome, res.Error = NotAttempted, f.stop.unsentReason("not sent: "+f.stop.why())
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
		res.wave = f.wave
		f.handed++
		f.todo <- res
	}
	f.batch = f.batch[:0]
}
