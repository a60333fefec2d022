package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
	"reassign/job/planfile"
	"reassign/job/sandbox"
	"reassign/report"
)

// BenchmarkRunner is the overhead scenario inside one process, for profiles, following
// main's live run: the plan read and validated (planfile.Read), the agents and the
// workspace snapshot read, the plan resolved against them (job.Resolver), then the rows
// sent by job.Runner (--rate 0, 8 workers) through the real client to the fast fake,
// with the report and the JSON log written to files. b.N is the plan's rows. The fake's goroutines
// carry the pprof label side=fake, so a CPU profile can leave them out:
//
//	go test ./job/bench -run '^$' -bench Runner -benchtime 20000x -cpuprofile cpu.out -memprofile mem.out
//	go tool pprof -top -tagignore side=fake cpu.out      # the job's side only
//	go tool pprof -top -sample_index=alloc_space mem.out
//
// -benchmem's allocs/op are per plan row.
func BenchmarkRunner(b *testing.B) {
	zerolog.TimeFieldFormat = time.RFC3339Nano // as main sets it
	dir := b.TempDir()
	n := b.N
	plan, err := writePlan(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	key := "bench_key:0123456789abcdef"
	api := newFastAPI(key, n)
	var url string
	var stop func()
	pprof.Do(context.Background(), pprof.Labels("side", "fake"), func(context.Context) {
		// Goroutines started from here (the server's) inherit the label.
		url, stop, err = sandbox.Start(api)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()

	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 100, 8
	client, err := dialnexa.NewClient(&http.Client{Timeout: 30 * time.Second, Transport: t}, url, dialnexa.Secret(key), "reassign/bench")
	if err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "log.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	reportFile, err := os.Create(filepath.Join(dir, "report.csv"))
	if err != nil {
		b.Fatal(err)
	}
	defer reportFile.Close()
	// As main does during a run: log lines wait in a buffer flushed with the report.
	logBuf := bufio.NewWriterSize(logFile, 64<<10)
	log := zerolog.New(zerolog.SyncWriter(logBuf)).With().Timestamp().Logger()

	b.ResetTimer()
	start := time.Now()
	ctx := context.Background()
	runner := &job.Runner{
		Retrier: pace.Retrier{
			Gate: pace.NewGate(0, 1, time.Now), MaxAttempts: 5,
			Sleep: pace.SleepContext, Rand: mrand.Int64N, Log: log,
		},
		Now: time.Now, Client: client, Workers: 8, Drain: 20 * time.Second,
	}
	open := func() (io.ReadCloser, error) { return os.Open(plan.path) }
	p, keys, err := planfile.Read(context.Background(), open, planfile.Options{NullToken: "null"})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := job.ReadWorkspace(ctx, client, &runner.Retrier, job.WorkspaceReads{Keep: keys.Keep, Parallel: 8, NeededBy: "the benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	resolver := job.NewResolver(ws)
	found, err := resolver.Check(ctx, p.Each, p.AgentRows())
	if err != nil {
		b.Fatal(err)
	}
	if problems, invalid := job.Collate(p.Problems, found); invalid > 0 {
		b.Fatalf("%d invalid rows: %v", invalid, problems[0])
	}
	runner.Snapshot = ws.Snapshot
	rw, err := report.NewWriter(reportFile, true, "null")
	if err != nil {
		b.Fatal(err)
	}
	runner.Flush = func() error { return errors.Join(rw.Flush(), logBuf.Flush()) }
	runner.FlushEvery = 50 * time.Millisecond
	sum, err := runner.Run(ctx, resolver.Each(p.Each), rw.Write)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if sum.Counts[job.Updated] != n {
		b.Fatalf("%v rows updated of %d", sum.Counts, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
}
