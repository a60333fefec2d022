package job_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// BenchmarkRun is the runner's own cost per row, without HTTP: b.N rows from a slice,
// each moving a number of an in-memory snapshot to another agent, sent by 8 workers
// (no rate ceiling) to a Patcher that answers 200 at once, each row's event logged as
// JSON to nowhere and its result handed to a record that keeps nothing. job/bench's
// BenchmarkRunner measures the same path with the real client, a loopback API and files.
func BenchmarkRun(b *testing.B) {
	n := b.N
	page := func(_ context.Context, p int) (*dialnexa.NumberPage, error) {
		var ns []dialnexa.PhoneNumber
		for i := (p - 1) * 100; i < min(p*100, n); i++ {
			ns = append(ns, dialnexa.PhoneNumber{ID: fmt.Sprintf("phn_%07d", i), AgentID: "agt_a", Nickname: fmt.Sprintf("Line %d", i)})
		}
		return &dialnexa.NumberPage{Numbers: ns, Total: n, TotalPages: (n + 99) / 100}, nil
	}
	rows := make(testPlan, n)
	for i := range rows {
		rows[i] = job.Row{Line: i + 2, ID: fmt.Sprintf("phn_%07d", i), AgentID: job.Field{Raw: "agt_b"}, Nickname: job.Field{Raw: fmt.Sprintf("Line %d", i)}}
	}
	answer := &dialnexa.Answer{StatusCode: 200, RequestID: "req", Number: dialnexa.PhoneNumber{AgentID: "agt_b"}}
	patch := patcherFunc(func(context.Context, string, []byte) (*dialnexa.Answer, error) { return answer, nil })
	r := &job.Runner{
		Now: time.Now,
		Retrier: pace.Retrier{
			Gate: pace.NewGate(0, 1, time.Now), MaxAttempts: 5,
			Sleep: pace.SleepContext, Rand: func(n int64) int64 { return n - 1 },
			Log: zerolog.New(io.Discard).With().Timestamp().Logger(),
		},
		Client: patch, Workers: 8, Drain: 20 * time.Second,
		Flush: func() error { return nil }, FlushEvery: 50 * time.Millisecond,
	}
	ws, err := job.ReadWorkspace(context.Background(), listFunc(page), &r.Retrier, job.WorkspaceReads{Parallel: 8, Expect: n, NeededBy: "the benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	r.Snapshot = ws.Snapshot
	b.ReportAllocs()
	b.ResetTimer()
	sum, err := r.Run(context.Background(), rows.Each, func(job.Result) error { return nil })
	b.StopTimer()
	if err != nil || sum.Counts[job.Updated] != n {
		b.Fatalf("Run: %v, %v of %d rows updated", err, sum.Counts, n)
	}
}
