package job_test

import (
	"context"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/sandbox"
)

// The stated budget, through the Runner, the client and a sandbox (the pace package
// tests the pacing itself on fake time).

// Through the Runner, the client and a sandbox that states its budget: every row is sent
// once, none refused, though nothing else (no --rate) holds the workers back.
func TestRunSpendsStatedBudget(t *testing.T) {
	for _, headers := range []sandbox.Headers{sandbox.XRateLimit, sandbox.IETF} {
		const n, workers = 15, 8
		_, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{
			Window: sandbox.FixedWindow{Limit: 10, Length: time.Second, Headers: headers},
		}, 10*time.Second)
		data, lines := simplePlan(t, n, nil)
		r, _ := newRunner(client, workers)
		rec := newRecorder(t)
		sum, err := r.Run(context.Background(), readPlan(t, data).Each, rec.record)
		if err != nil {
			t.Fatalf("headers %d: Run: %v", headers, err)
		}
		rec.checkOnce(t, lines)
		if sum.Counts[job.Updated] != n {
			t.Errorf("headers %d: %v; want %d updated", headers, sum.Counts, n)
		}
		for _, res := range rec.byLine {
			if res.Attempts != 1 {
				t.Errorf("headers %d: line %d took %d attempts (status %d); want 1: the stated budget is never overspent", headers, res.Row.Line, res.Attempts, res.Status)
			}
		}
	}
}

// The reads before the writes spend the same budget: pages read side by side stay
// within it.
func TestReadWorkspaceSpendsStatedBudget(t *testing.T) {
	const numbers = 750 // 8 pages and the agent list: 9 requests, 5 a second allowed
	api, client := startSandbox(t, simpleWorkspace(numbers), sandbox.Options{
		Window: sandbox.FixedWindow{Limit: 5, Length: time.Second, Headers: sandbox.XRateLimit},
	}, 10*time.Second)
	r, _ := newRunner(client, 8)
	ws, err := job.ReadWorkspace(context.Background(), client, &r.Retrier, job.WorkspaceReads{Parallel: 8, NeededBy: "the test"})
	if err != nil {
		t.Fatalf("ReadWorkspace: %v", err)
	}
	if ws.Snapshot.Len() != numbers || len(ws.Agents) != 2 {
		t.Errorf("read %d numbers and %d agents, want %d and 2", ws.Snapshot.Len(), len(ws.Agents), numbers)
	}
	if got := api.Requests(); got != 9 {
		t.Errorf("the sandbox got %d requests for 8 pages and the agents; want 9: none refused and sent again", got)
	}
}
