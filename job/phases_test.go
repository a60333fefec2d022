package job

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"reassign/job/pace"

	"github.com/rs/zerolog"
)

// The phases of a run, each alone: the collector, the feeder, the senders' stop rules
// and the drain. run_test.go drives them together through Run.

// TestCollectorPacesFlushes: on fake time, a result that finishes alone is flushed at
// once; one within FlushEvery of the last flush waits for the timer, even when no other
// result comes; the end flushes what is left; Progress comes on its tick with the counts.
func TestCollectorPacesFlushes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// synctest.Wait is no synchronisation for the race detector: the collector's
		// calls are seen through mu.
		var mu sync.Mutex
		var flushes []time.Duration // since the start, on the bubble's clock
		var progress []Summary
		start := time.Now()
		r := &Runner{Now: time.Now, Retrier: pace.Retrier{Log: zerolog.Nop()},
			FlushEvery: 50 * time.Millisecond, ProgressEvery: time.Second}
		r.Flush = func() error {
			mu.Lock()
			defer mu.Unlock()
			flushes = append(flushes, time.Since(start))
			return nil
		}
		flushed := func() []time.Duration {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(flushes)
		}
		r.Progress = func(s Summary) { progress = append(progress, s) } // read once the collector is done
		var recorded []int
		col := r.newCollector(func(res Result) error { recorded = append(recorded, res.Row.Line); return nil }, RunOutcomes, nil)
		results := make(chan Result)
		done := make(chan struct{})
		go func() {
			defer close(done)
			col.collect(results, start)
		}()

		results <- Result{Row: Row{Line: 2}, Outcome: Updated}
		synctest.Wait()
		results <- Result{Row: Row{Line: 3}, Outcome: NotFound} // within 50 ms of the first flush
		synctest.Wait()
		if got, want := flushed(), []time.Duration{0}; !slices.Equal(got, want) {
			t.Fatalf("flushes at %v, want %v: the second row is held", got, want)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if got, want := flushed(), []time.Duration{0, 50 * time.Millisecond}; !slices.Equal(got, want) {
			t.Fatalf("flushes at %v, want %v: the timer flushes the held row", got, want)
		}
		time.Sleep(time.Second)
		results <- Result{Row: Row{Line: 4}, Outcome: Updated}
		close(results)
		<-done
		if n := len(flushes); n != 4 || flushes[n-1] != 1050*time.Millisecond {
			t.Errorf("flushes at %v, want a fourth at the end (1.05 s)", flushes)
		}
		if len(progress) != 1 || progress[0].Rows != 2 || progress[0].Counts[NotFound] != 1 || progress[0].Elapsed != time.Second {
			t.Errorf("progress %+v, want one tick at 1 s with 2 rows, 1 not_found", progress)
		}
		if !slices.Equal(recorded, []int{2, 3, 4}) || col.sum.Rows != 3 || col.sum.Counts[Updated] != 2 {
			t.Errorf("recorded %v, summary %+v", recorded, col.sum)
		}
	})
}

// TestCollectorStopsAtFirstFailure: a record that fails stops the run once; later rows
// are counted but neither recorded nor flushed.
func TestCollectorStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	full := errors.New("no space left on device")
	var stops []error
	flushes, records := 0, 0
	r := &Runner{Now: time.Now, Retrier: pace.Retrier{Log: zerolog.Nop()}}
	r.Flush = func() error { flushes++; return nil }
	col := r.newCollector(func(Result) error { records++; return full }, RunOutcomes, func(k Stop, err error) {
		if k != StopOutputFailed {
			t.Errorf("stop kind %v, want StopOutputFailed", k)
		}
		stops = append(stops, err)
	})
	results := make(chan Result, 3)
	for range 3 {
		results <- Result{Outcome: Updated}
	}
	close(results)
	col.collect(results, time.Now())
	if len(stops) != 1 || !errors.Is(stops[0], full) || !strings.HasPrefix(stops[0].Error(), "write report: ") {
		t.Errorf("stops %v, want one: write report: %v", stops, full)
	}
	if records != 1 || flushes != 0 || col.sum.Rows != 3 {
		t.Errorf("%d records, %d flushes, %d rows counted; want 1, 0, 3", records, flushes, col.sum.Rows)
	}
}

// feederRig is a feeder whose channels are buffered slices.
type feederRig struct {
	f          *feeder
	stop       *runStop
	todo, done chan Result
}

func newFeederRig(r *Runner) feederRig {
	stop := newRunStop(context.Background())
	todo, done := make(chan Result, 100), make(chan Result, 100)
	return feederRig{r.newFeeder(stop, todo, done, nil, nil), stop, todo, done}
}

func drained(ch chan Result) []Result {
	var out []Result
	for {
		select {
		case res := <-ch:
			out = append(out, res)
		default:
			return out
		}
	}
}

// TestFeederDecides: each kind of row the feeder settles without a request, and the
// rows it lets through.
func TestFeederDecides(t *testing.T) {
	t.Parallel()
	agent := func(id, a string) Row { return Row{ID: id, AgentID: Field{Raw: a}} }
	snap := newSnapshot(nil, 0)
	snap.add("phn_same", NumberState{AgentID: "agt_a"}, "")
	snap.add("phn_moved", NumberState{AgentID: "agt_c"}, "")
	snap.add("phn_known", NumberState{AgentID: "agt_a"}, "")
	reviewed := agent("phn_moved", "agt_b")
	reviewed.Reviewed = &NumberState{AgentID: "agt_a"}
	rows := []struct {
		row      Row
		problems []Problem
		want     Outcome // "" for a write let through
	}{
		{agent("phn_bad", "agt x"), []Problem{{Line: 2, Reason: "agent_id is not an id"}}, Invalid},
		{Row{ID: "phn_empty"}, nil, Unchanged},
		{agent("phn_same", "agt_a"), nil, Unchanged},
		{reviewed, nil, Conflict},
		{agent("phn_done", "agt_b"), nil, Skipped},
		{agent("phn_known", "agt_b"), nil, ""},
		{agent("phn_new", "agt_b"), nil, ""},
		{agent("phn_late", "agt_b"), nil, NotAttempted}, // past Limit
	}
	r := &Runner{Now: time.Now, Snapshot: snap, Limit: 2, Workers: 1,
		Done: func(row Row) bool { return row.ID == "phn_done" }}
	rig := newFeederRig(r)
	for _, tc := range rows {
		rig.f.row(tc.row, tc.problems)
	}
	rig.f.send()
	sent, settled := drained(rig.todo), drained(rig.done)
	got := map[string]Outcome{}
	for _, res := range settled {
		got[res.Row.ID] = res.Outcome
	}
	for _, res := range sent {
		got[res.Row.ID] = ""
	}
	for _, tc := range rows {
		if o, ok := got[tc.row.ID]; !ok || o != tc.want {
			t.Errorf("%s: %q (handled %v), want %q", tc.row.ID, o, ok, tc.want)
		}
	}
	if rig.f.writes != 2 || rig.f.withheld != 1 {
		t.Errorf("writes %d, withheld %d; want 2, 1", rig.f.writes, rig.f.withheld)
	}
	for _, res := range sent {
		if (res.Before != nil) != (res.Row.ID == "phn_known") {
			t.Errorf("%s: Before %v; want the snapshot's values exactly for a known number", res.Row.ID, res.Before)
		}
	}
}

// TestFeederWritesAhead: rows go to the senders only after WriteAhead took their batch;
// when it fails, that batch and every later row are not_attempted, saying why.
func TestFeederWritesAhead(t *testing.T) {
	t.Parallel()
	full := errors.New("no space left on device")
	var batches [][]string
	r := &Runner{Now: time.Now, Workers: 1, WriteAheadBatch: 2}
	r.WriteAhead = func(b []Result) error {
		if len(batches) == 2 {
			return full
		}
		var ids []string
		for _, res := range b {
			ids = append(ids, res.Row.ID)
		}
		batches = append(batches, ids)
		return nil
	}
	rig := newFeederRig(r)
	var sentAt []int // how many batches were written when each row was sent
	for i, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		rig.f.row(Row{Line: i + 2, ID: id, Nickname: Field{Raw: "n"}}, nil)
		for range drained(rig.todo) {
			sentAt = append(sentAt, len(batches))
		}
	}
	rig.f.send()
	if want := [][]string{{"a", "b"}, {"c", "d"}}; !slices.EqualFunc(batches, want, slices.Equal) {
		t.Errorf("batches written ahead %v, want %v", batches, want)
	}
	if !slices.Equal(sentAt, []int{1, 1, 2, 2}) {
		t.Errorf("rows sent after %v batches, want [1 1 2 2]: never before their batch", sentAt)
	}
	left := drained(rig.done)
	if len(left) != 3 {
		t.Fatalf("%d rows left, want e, f, g", len(left))
	}
	for _, res := range left {
		if res.Outcome != NotAttempted || res.Error != "not sent: the run stopped: write undo plan: "+full.Error() {
			t.Errorf("%s: %s, %q", res.Row.ID, res.Outcome, res.Error)
		}
	}
	if k, err := rig.stop.cause(); k != StopOutputFailed || !errors.Is(err, full) || rig.f.interrupted {
		t.Errorf("stop %v (%v), interrupted %v; want StopOutputFailed, not interrupted", k, err, rig.f.interrupted)
	}
}

// TestSendersStopRules: five 403s as the first answers refuse the key; the MaxErrors-th
// row error stops the run; a later reason never replaces the first.
func TestSendersStopRules(t *testing.T) {
	t.Parallel()
	newSenders := func(maxErrors int) *senders {
		return &senders{r: &Runner{MaxErrors: Allowance{Count: maxErrors}}, stop: newRunStop(context.Background())}
	}
	s := newSenders(0)
	for range 4 {
		s.answered(403)
	}
	if s.stop.stopped() {
		t.Error("stopped after four 403s")
	}
	s.answered(403)
	if k, err := s.stop.cause(); k != StopKeyRefused || !strings.Contains(err.Error(), "the first 5 answers were all 403") {
		t.Errorf("after five 403s: %v (%v), want StopKeyRefused", k, err)
	}
	s.refused(Rejected) // MaxErrors is 0: never a reason
	s.refused(Unauthorized)
	if _, err := s.stop.cause(); !strings.Contains(err.Error(), "403") {
		t.Errorf("the first reason was replaced: %v", err)
	}

	s = newSenders(0)
	s.answered(200)
	for range 4 {
		s.answered(403)
	}
	s.answered(403)
	if s.stop.stopped() {
		t.Error("stopped on 403s after a first answer that was not one")
	}

	s = newSenders(3)
	for _, o := range []Outcome{NotFound, Failed, Rejected, Conflict} {
		s.refused(o)
	}
	if s.stop.stopped() {
		t.Error("stopped after two row errors of --max-errors 3")
	}
	s.refused(Forbidden)
	if k, _ := s.stop.cause(); k != StopMaxErrors {
		t.Errorf("after three row errors: %v, want StopMaxErrors", k)
	}

	s = newSenders(0)
	s.refused(Unauthorized)
	if k, err := s.stop.cause(); k != StopKeyRefused || err != ErrKeyRefused {
		t.Errorf("after a 401: %v (%v), want StopKeyRefused", k, err)
	}
}

// TestDrain: once the run stops sending, requests in flight run on for the drain time,
// then are cut; with no drain time they are left to their own timeout; the end of the
// run ends the drain.
func TestDrain(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := newRunStop(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.drain(20 * time.Second)
		}()
		time.Sleep(time.Hour) // a run that does not stop is never cut
		synctest.Wait()
		if s.requests.Err() != nil {
			t.Fatal("requests cut while the run was sending")
		}
		cancel() // a signal
		time.Sleep(20*time.Second - time.Nanosecond)
		synctest.Wait()
		if s.requests.Err() != nil {
			t.Fatal("requests cut before the drain time ran out")
		}
		time.Sleep(time.Nanosecond)
		<-done
		if s.requests.Err() == nil {
			t.Error("requests not cut once the drain time ran out")
		}
		if !s.interrupted() || s.why() != "the run was interrupted" {
			t.Errorf("interrupted %v, why %q", s.interrupted(), s.why())
		}
		// A request let finish after the signal is refused: the reason is kept.
		s.stopWith(StopKeyRefused, ErrKeyRefused)
		if k, _ := s.cause(); k != StopKeyRefused {
			t.Errorf("cause after the signal %v, want StopKeyRefused", k)
		}
		s.end()
	})
	synctest.Test(t, func(t *testing.T) {
		s := newRunStop(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.drain(0)
		}()
		s.stopWith(StopMaxErrors, ErrMaxErrors)
		<-done
		time.Sleep(time.Hour)
		if s.requests.Err() != nil {
			t.Error("requests cut with no drain time")
		}
		if s.why() != "the run stopped: "+ErrMaxErrors.Error() {
			t.Errorf("why %q", s.why())
		}
		s.end()
	})
	synctest.Test(t, func(t *testing.T) {
		s := newRunStop(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.drain(time.Minute)
		}()
		s.end() // the run ended: the drain goroutine must not outlive it
		<-done
	})
}
