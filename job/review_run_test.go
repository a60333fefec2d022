package job_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/sandbox"
)

// reviewWorkspace holds phn_run_0000.. (n), each with agent agt_a and nickname "Old i".
func reviewWorkspace(n int) sandbox.Workspace {
	ws := simpleWorkspace(n)
	ws.Agents = append(ws.Agents, "agt_c")
	for i := range ws.Numbers {
		ws.Numbers[i].AgentID, ws.Numbers[i].Nickname = new("agt_a"), new(fmt.Sprintf("Old %d", i))
	}
	return ws
}

// snapshotOf reads the sandbox's numbers as a live run does before its first write.
func snapshotOf(t *testing.T, r *job.Runner, c job.Lister) *job.Snapshot {
	t.Helper()
	ws, err := job.ReadWorkspace(context.Background(), c, &r.Retrier, job.WorkspaceReads{NeededBy: "the test"})
	if err != nil {
		t.Fatal(err)
	}
	return ws.Snapshot
}

// reviewedRow is a row moving phn_run_i to agent, reviewed against agt_a.
func reviewedRow(i int, agent string) job.Row {
	return job.Row{Line: i + 2, ID: simpleID(i), AgentID: job.Field{Raw: agent}, Reviewed: &job.NumberState{AgentID: "agt_a", Nickname: fmt.Sprintf("Old %d", i)}}
}

// TestRunConflict: a reviewed row whose number moved since is conflict and is not sent;
// a move in a field the row does not send, or to the planned value, is no conflict.
func TestRunConflict(t *testing.T) {
	t.Parallel()
	api, c := startSandbox(t, reviewWorkspace(5), sandbox.Options{}, 5*time.Second)
	r, _ := newRunner(c, 2)
	api.Update(simpleID(1), func(n *sandbox.Number) { n.AgentID = new("agt_c") })    // moved: conflict
	api.Update(simpleID(2), func(n *sandbox.Number) { n.Nickname = new("Renamed") }) // not the row's field
	api.Update(simpleID(3), func(n *sandbox.Number) { n.AgentID = new("agt_b") })    // already as planned
	r.Snapshot = snapshotOf(t, r, c)
	plan := testPlan{reviewedRow(0, "agt_b"), reviewedRow(1, "agt_b"), reviewedRow(2, "agt_b"), reviewedRow(3, "agt_b"), reviewedRow(4, "null")}
	plan[4].AgentID.Null = true
	rec := newRecorder(t)
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]job.Outcome{2: job.Updated, 3: job.Conflict, 4: job.Updated, 5: job.Unchanged, 6: job.Updated}
	for line, o := range want {
		if got := rec.byLine[line].Outcome; got != o {
			t.Errorf("line %d: %s, want %s (%s)", line, got, o, rec.byLine[line].Error)
		}
	}
	if got, want := rec.byLine[3].Error, "agent_id changed since the plan was reviewed: was agt_a, now agt_c"; got != want {
		t.Errorf("conflict error %q, want %q", got, want)
	}
	for _, p := range api.Patches() {
		if p.ID == simpleID(1) {
			t.Errorf("the conflicting row was sent: %s", p.Body)
		}
	}
	if n, _ := api.Number(simpleID(1)); deref(n.AgentID) != "agt_c" {
		t.Errorf("the number that moved was overwritten: agent %s", deref(n.AgentID))
	}
	if sum.Counts[job.Conflict] != 1 || len(api.Patches()) != 3 {
		t.Errorf("counts %v, %d PATCHes; want 1 conflict and 3 PATCHes", sum.Counts, len(api.Patches()))
	}
}

// TestRunLimit: at most Limit rows that need a write are sent, the first in plan order;
// rows that need none do not count; the rest are not_attempted and withheld.
func TestRunLimit(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry run %v", dry), func(t *testing.T) {
			api, c := startSandbox(t, reviewWorkspace(10), sandbox.Options{}, 5*time.Second)
			r, _ := newRunner(c, 4)
			r.Snapshot, r.Limit, r.DryRun = snapshotOf(t, r, c), 3, dry
			var plan testPlan
			for i := range 10 {
				agent := "agt_b"
				if i%3 == 0 {
					agent = "agt_a" // already as planned: needs no write
				}
				plan = append(plan, job.Row{Line: i + 2, ID: simpleID(i), AgentID: job.Field{Raw: agent}})
			}
			rec := newRecorder(t)
			sum, err := r.Run(context.Background(), plan.Each, rec.record)
			if err != nil {
				t.Fatal(err)
			}
			sent := job.Updated
			if dry {
				sent = job.WouldUpdate
			}
			// Rows 1, 2, 4 are the first three that need a write; 5, 7, 8 are held back.
			for i, o := range []job.Outcome{job.Unchanged, sent, sent, job.Unchanged, sent, job.NotAttempted, job.Unchanged, job.NotAttempted, job.NotAttempted, job.Unchanged} {
				res := rec.byLine[i+2]
				if res.Outcome != o {
					t.Errorf("row %d: %s, want %s", i, res.Outcome, o)
				}
				if o == job.NotAttempted && res.Error != "--limit reached" {
					t.Errorf("row %d: error %q, want --limit reached", i, res.Error)
				}
			}
			wantPatches := 3
			if dry {
				wantPatches = 0
			}
			if n := len(api.Patches()); n != wantPatches {
				t.Errorf("%d PATCHes, want %d", n, wantPatches)
			}
			if sum.Withheld != 3 || sum.Interrupted {
				t.Errorf("withheld %d, interrupted %v; want 3, false", sum.Withheld, sum.Interrupted)
			}
		})
	}
}

// TestRunDeclined: a run declined at the question sends nothing; each row that needs a
// write is not_attempted and withheld, the others keep their outcome.
func TestRunDeclined(t *testing.T) {
	t.Parallel()
	api, c := startSandbox(t, reviewWorkspace(4), sandbox.Options{}, 5*time.Second)
	r, _ := newRunner(c, 2)
	r.Snapshot, r.Declined = snapshotOf(t, r, c), true
	plan := testPlan{
		{Line: 2, ID: simpleID(0), AgentID: job.Field{Raw: "agt_b"}},
		{Line: 3, ID: simpleID(1), AgentID: job.Field{Raw: "agt_a"}},
		{Line: 4, ID: simpleID(2), Nickname: job.Field{Raw: "New"}},
	}
	rec := newRecorder(t)
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Patches()) != 0 {
		t.Errorf("%d PATCHes after a no", len(api.Patches()))
	}
	if rec.byLine[3].Outcome != job.Unchanged || rec.count(job.NotAttempted) != 2 || sum.Withheld != 2 {
		t.Errorf("counts %v, withheld %d; want 1 unchanged, 2 not_attempted withheld", sum.Counts, sum.Withheld)
	}
}

// TestPreview counts what the run is about to do from the snapshot, as Run then does it.
func TestPreview(t *testing.T) {
	t.Parallel()
	api, c := startSandbox(t, reviewWorkspace(8), sandbox.Options{}, 5*time.Second)
	r, _ := newRunner(c, 2)
	api.Update(simpleID(5), func(n *sandbox.Number) { n.AgentID = new("agt_c") })
	r.Snapshot, r.Limit = snapshotOf(t, r, c), 3
	plan := testPlan{
		{Line: 2, ID: simpleID(0), AgentID: job.Field{Raw: "agt_b"}, Nickname: job.Field{Raw: "Old 0"}}, // agent change only
		{Line: 3, ID: simpleID(1), AgentID: job.Field{Raw: "agt_a"}},                                    // as planned
		{Line: 4, ID: simpleID(2), Nickname: job.Field{Raw: "New"}, Label: job.Field{Raw: "Team"}},      // nickname, label
		{Line: 5, ID: "phn_elsewhere", AgentID: job.Field{Raw: "agt_b"}},                                // not in the snapshot: agent change
		{Line: 6, ID: simpleID(4), AgentID: job.Field{Raw: "agt_b"}},                                    // over the limit
		reviewedRow(5, "agt_b"),    // conflict
		{Line: 8, ID: simpleID(6)}, // nothing to send
	}
	p, err := r.Preview(plan.Each)
	if err != nil {
		t.Fatal(err)
	}
	want := job.Preview{Writes: 3, Agents: 2, Nicknames: 1, Labels: 1, AsPlanned: 2, Conflicts: 1, Held: 1}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("preview %+v\nwant    %+v", p, want)
	}
	if len(api.Patches()) != 0 {
		t.Error("Preview sent a PATCH")
	}
}

// TestVerify: each row matches, differs (naming each field), is not found or invalid;
// nothing is written.
func TestVerify(t *testing.T) {
	t.Parallel()
	api, c := startSandbox(t, reviewWorkspace(3), sandbox.Options{}, 5*time.Second)
	r, _ := newRunner(c, 2)
	r.Snapshot = snapshotOf(t, r, c)
	reads := api.Requests()
	plan := testPlan{
		{Line: 2, ID: simpleID(0), AgentID: job.Field{Raw: "agt_a"}, Nickname: job.Field{Raw: "Old 0"}},
		{Line: 3, ID: simpleID(1), AgentID: job.Field{Raw: "agt_b"}, Nickname: job.Field{Raw: "null", Null: true}},
		{Line: 4, ID: "phn_elsewhere", AgentID: job.Field{Raw: "agt_a"}},
	}
	bad := job.Row{Line: 5, ID: simpleID(2), AgentID: job.Field{Raw: "agt a"}}
	each := func(fn func(job.Row, []job.Problem) error) error {
		if err := plan.Each(fn); err != nil {
			return err
		}
		return fn(bad, []job.Problem{{Line: 5, Reason: `agent_id "agt a" is not an agent id`}})
	}
	rec := newRecorder(t)
	sum, err := r.Verify(context.Background(), each, rec.record)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]struct {
		o   job.Outcome
		err string
	}{
		2: {job.Matches, ""},
		3: {job.Differs, `agent_id is agt_a, planned agt_b; nickname is "Old 1", planned (none)`},
		4: {job.NotFound, "not in the workspace"},
		5: {job.Invalid, `agent_id "agt a" is not an agent id`},
	}
	for line, w := range want {
		if got := rec.byLine[line]; got.Outcome != w.o || got.Error != w.err {
			t.Errorf("line %d: %s %q, want %s %q", line, got.Outcome, got.Error, w.o, w.err)
		}
	}
	if b := rec.byLine[3].Before; b == nil || b.AgentID != "agt_a" || rec.byLine[3].Number.Nickname != "Old 1" {
		t.Errorf("line 3 does not carry the number's values: before %+v, number %+v", b, rec.byLine[3].Number)
	}
	if api.Requests() != reads {
		t.Errorf("verify sent %d requests", api.Requests()-reads)
	}
	if sum.Rows != 4 || sum.Counts[job.Matches] != 1 || sum.Interrupted {
		t.Errorf("summary %+v", sum)
	}

	// Interrupted: the rows left are not_attempted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec = newRecorder(t)
	sum, _ = r.Verify(ctx, plan.Each, rec.record)
	if !sum.Interrupted || rec.count(job.NotAttempted) != 3 {
		t.Errorf("interrupted verify: %+v", sum)
	}
}
