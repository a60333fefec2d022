package job_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"reassign/job"
	"reassign/job/sandbox"
)

// lineLog is Run's record callback for runs whose rows may get later lines: every line
// of each id, in the order recorded.
type lineLog struct {
	mu    sync.Mutex
	lines map[string][]job.Result
}

func (l *lineLog) record(res job.Result) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = map[string][]job.Result{}
	}
	l.lines[res.Row.ID] = append(l.lines[res.Row.ID], res)
	return nil
}

// outcomes lists the outcomes of id's lines.
func (l *lineLog) outcomes(id string) string {
	var os []string
	for _, r := range l.lines[id] {
		os = append(os, string(r.Outcome))
	}
	return strings.Join(os, ",")
}

// wavesRunner is a runner for n numbers of a sandbox with opts, its snapshot read, with
// waves and atomic as given.
func wavesRunner(t *testing.T, n int, opts sandbox.Options, waves string, atomic bool) (*job.Runner, *sandbox.API, testPlan) {
	t.Helper()
	api, client := startSandbox(t, simpleWorkspace(n), opts, 0)
	r, _ := newRunner(client, 4)
	ws, err := job.ReadWorkspace(context.Background(), client, &r.Retrier, job.WorkspaceReads{NeededBy: "the test"})
	if err != nil {
		t.Fatal(err)
	}
	r.Snapshot, r.Reader, r.Atomic = ws.Snapshot, client, atomic
	if waves != "" {
		if r.Waves, err = job.ParseWaves(waves); err != nil {
			t.Fatal(err)
		}
	}
	return r, api, simpleRows(n, nil)
}

// checkCounts fails unless the summary counts each row once, by its last line.
func checkCounts(t *testing.T, sum job.Summary, l *lineLog, rows int) {
	t.Helper()
	want := map[job.Outcome]int{}
	for _, ls := range l.lines {
		want[ls[len(ls)-1].Outcome]++
	}
	got := map[job.Outcome]int{}
	for o, n := range sum.Counts {
		if n != 0 {
			got[o] = n
		}
	}
	if sum.Rows != rows || !reflect.DeepEqual(got, want) {
		t.Errorf("summary: %d rows, counts %v; want %d, %v (each row's last line)", sum.Rows, got, rows, want)
	}
}

// TestRunWaveGate: in process, on the race detector: a number of wave 2 that answers 200
// and applies nothing fails the gate; it gets a second line, differs, and the rows after
// the wave are not sent, with the gate's reason.
func TestRunWaveGate(t *testing.T) {
	t.Parallel()
	r, api, plan := wavesRunner(t, 100, sandbox.Options{SwallowIDs: []string{simpleID(5)}}, "1,10%,100%", false)
	l := &lineLog{}
	sum, err := r.Run(context.Background(), plan.Each, l.record)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.outcomes(simpleID(5)); got != "updated,differs" {
		t.Errorf("%s: %s, want updated,differs", simpleID(5), got)
	}
	const reason = "wave 2 gate: 1 row does not hold what was written"
	if ls := l.lines[simpleID(10)]; len(ls) != 1 || ls[0].Outcome != job.NotAttempted || ls[0].Error != reason {
		t.Errorf("%s: %+v, want not_attempted: %s", simpleID(10), ls, reason)
	}
	if sum.Stop != job.StopGate || sum.Stopped.Error() != reason || sum.Rollback != job.NoRollback {
		t.Errorf("summary stop %v (%v), rollback %v; want the gate's, none", sum.Stop, sum.Stopped, sum.Rollback)
	}
	if p := len(api.Patches()); p != 10 {
		t.Errorf("%d PATCHes, want the 10 of waves 1 and 2", p)
	}
	checkCounts(t, sum, l, 100)
}

// TestRunAtomicRollback: in process, on the race detector: an atomic run without waves
// whose row is refused puts back every number it wrote, each with a second line; the
// summary counts each row by its last line and says the rollback is complete.
func TestRunAtomicRollback(t *testing.T) {
	t.Parallel()
	r, api, plan := wavesRunner(t, 200, sandbox.Options{RefuseIDs: []string{simpleID(150)}}, "", true)
	before := api.Workspace()
	l := &lineLog{}
	sum, err := r.Run(context.Background(), plan.Each, l.record)
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Workspace(); !reflect.DeepEqual(got, before) {
		t.Error("the workspace is not as it was before the run")
	}
	if sum.Rollback != job.RollbackComplete || sum.NotBack != 0 || !strings.HasPrefix(sum.Stopped.Error(), "atomic run: 1 row not found, rejected or forbidden") {
		t.Errorf("rollback %v (%d not back), stopped %v; want complete, by the refused row", sum.Rollback, sum.NotBack, sum.Stopped)
	}
	written := 0
	for id := range l.lines {
		switch o := l.outcomes(id); o {
		case "updated,rolled_back":
			written++
		case "rejected", "not_attempted":
		default:
			t.Errorf("%s: %s", id, o)
		}
	}
	if written < 150 || len(api.Patches()) != 2*written+1 {
		t.Errorf("%d rows put back, %d PATCHes; want at least 150, each twice, and the refused one", written, len(api.Patches()))
	}
	checkCounts(t, sum, l, 200)
}
