// Command reassign applies a plan of DialNexa phone-number changes (inbound agent,
// nickname, label) through the API, rate-limited, and reports what happened to each row.
// The README describes its behaviour. main only wires the packages: job/planfile reads
// the plan, job runs it through job/dialnexa, report writes what happened.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
	"reassign/job/planfile"
	"reassign/job/sandbox"
	"reassign/report"
)

// Exit codes (README, "Exit codes").
const (
	exitOK        = 0
	exitBug       = 1
	exitRowErrors = 3  // some rows not_found, rejected, forbidden or invalid
	exitUsage     = 64 // unknown flag, bad value
	exitPlan      = 65 // plan unreadable or invalid; nothing sent
	exitTemp      = 75 // interrupted, or rows failed after their retries
	exitKey       = 77 // the API refused the key
	exitConfig    = 78 // no key, insecure URL, an output exists or is unwritable
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: near it the collector works harder rather than let the heap
		// double, which keeps a million-row run within 150 MiB.
		debug.SetMemoryLimit(100 << 20)
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is small next to what each request allocates: collecting at 5×
		// rather than 2× of it saves CPU, and the soft limit above still bounds the total.
		debug.SetGCPercent(400)
	}
	// A report on stdout into a pipe that closes is a write error (exit 78), not a death.
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	hardStop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel() // first signal: finish what is in flight, record the rest
		<-sigs
		close(hardStop) // second signal: stop at once
	}()
	os.Exit(run(ctx, hardStop, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program: main only adds the process around it. A close of hardStop
// exits at once (75), after writing out the log lines held.
func run(ctx context.Context, hardStop <-chan struct{}, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "reassign: %v\nRun reassign --help for the flags.\n", err)
		return exitUsage
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, "reassign "+buildVersion())
		return exitOK
	}
	terminal := report.IsTerminal(stderr)
	out := stderr
	var bar *report.Bar
	if terminal {
		bar = report.NewBar(stderr)
		defer bar.Clear()
		out = bar
	}
	sink := report.NewLogSink(out)
	defer sink.Hold(false)
	defer onHardStop(hardStop, sink, os.Exit)()
	log := report.NewLogger(sink, cfg.logFormat, cfg.logLevel, terminal)
	var ask func(about string) bool
	if cfg.asks(report.IsTerminal(stdin) && terminal) {
		ask = func(about string) bool { return report.Ask(ctx, stdin, stderr, about) }
	}

	var code int
	end := &report.Ending{Command: cfg.command(), Plan: cfg.plan, Report: cfg.reportName(), Started: cfg.started,
		TerminationLog: report.TerminationLogPath(cfg.terminationLog, report.DefaultTerminationLog)}
	if cfg.export {
		err = export(ctx, cfg, log, getenv, stdout)
	} else {
		code, err = apply(ctx, cfg, log, sink, bar, end, ask, getenv, stdin, stdout)
	}
	if err != nil {
		code = exitCodeFor(err)
		log.Error().Str("event", "fatal").Int("exit_code", code).Msg(err.Error())
	}
	if !cfg.export {
		end.Finish(code, err, time.Now(), log)
	}
	return code
}

// onHardStop exits with 75 when hardStop closes (a second signal), after writing out the
// log lines sink holds; the report already holds every row it flushed. The function it
// returns stops the watch.
func onHardStop(hardStop <-chan struct{}, sink *report.LogSink, exit func(int)) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-hardStop:
			sink.Flush()
			exit(exitTemp)
		case <-done:
		}
	}()
	return func() { close(done) }
}

// usageError is a bad command line: exit 64.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// tempError is a run that could not finish for a reason that may pass: exit 75.
type tempError struct{ error }

func (e tempError) Unwrap() error { return e.error }

// configError is a configuration refused before anything is read or sent: exit 78.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Errorf(format, args...)}
}

// exitCodeFor is the exit code of a run that ended with err instead of a summary.
func exitCodeFor(err error) int {
	var pe *planfile.Error
	var re *report.ResumeError
	var ue usageError
	var te tempError
	var ce configError
	var readErr *job.ReadError
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, context.Canceled):
		return exitTemp
	case errors.As(err, &ue), errors.Is(err, filepath.ErrBadPattern), errors.Is(err, planfile.ErrUsage):
		return exitUsage
	case errors.As(err, &pe), errors.As(err, &re):
		return exitPlan
	case errors.Is(err, job.ErrKeyRefused):
		return exitKey
	case errors.As(err, &te):
		return exitTemp
	case errors.As(err, &ce), errors.As(err, &readErr), errors.As(err, &pathErr):
		return exitConfig
	}
	return exitBug
}

// exitCodeOf is the exit code of a run that got to its summary: 75 (interrupted) > 77 >
// 75 (failed rows) > 3.
func exitCodeOf(s job.Summary) int {
	switch {
	case s.Interrupted:
		return exitTemp
	case errors.Is(s.Stopped, job.ErrKeyRefused) || s.Counts[job.Unauthorized] > 0:
		return exitKey
	case s.Stopped != nil && !errors.Is(s.Stopped, job.ErrMaxErrors):
		return exitConfig // a file the run writes could not be written
	case s.Counts[job.Failed] > 0:
		return exitTemp
	case errors.Is(s.Stopped, job.ErrMaxErrors),
		s.Counts[job.NotFound]+s.Counts[job.Rejected]+s.Counts[job.Forbidden]+s.Counts[job.Invalid]+
			s.Counts[job.Conflict]+s.Counts[job.Differs] > 0:
		return exitRowErrors
	case s.Counts[job.NotAttempted] > s.Withheld: // rows held back by --limit or a "no" need no rerun
		return exitTemp
	}
	return exitOK
}

// apply runs the plan (or verifies it): read and validate it, read the workspace, ask
// (when ask is set), send, record.
func apply(ctx context.Context, cfg *config, log zerolog.Logger, sink *report.LogSink, bar *report.Bar, end *report.Ending, ask func(string) bool, getenv func(string) string, stdin io.Reader, stdout io.Writer) (int, error) {
	if err := report.CheckOutputs(cfg.reportName(), cfg.undoPlan, cfg.summary); err != nil {
		return 0, err
	}
	conn, err := connect(cfg, log, getenv)
	if err != nil {
		return 0, err
	}
	defer conn.close()
	end.Requests = conn.retrier.Requests
	runner := &job.Runner{
		Retrier: conn.retrier, Now: time.Now, Client: conn.client, Workers: cfg.workers, MaxErrors: cfg.maxErrors,
		DryRun: cfg.dryRun != dryRunNone, Shards: cfg.shards, ShardIndex: cfg.shardIndex,
		Drain: 20 * time.Second, FlushEvery: 50 * time.Millisecond, Limit: int(cfg.limit),
	}
	if cfg.resume != "" {
		applied, files, err := report.ReadResume(cfg.resume, cfg.nullToken)
		if err != nil {
			return 0, err
		}
		runner.Done = applied.Has
		log.Info().Str("event", "resume").Str("from", cfg.resume).Int("reports", files).Int("applied", applied.Len()).Msg("rows an earlier run applied will be skipped")
	}
	log.Info().Str("event", "start").Str("version", buildVersion()).EmbedObject(cfg).
		Str("base_url", conn.baseURL).Str("key_source", conn.keySource).Msg("reassign starting")

	open, cleanup, err := planfile.Source(ctx, cfg.plan, stdin)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	plan, err := planfile.Read(ctx, open, cfg.planOptions())
	if err != nil {
		return 0, logPlanError(log, err)
	}
	if plan.Reviewed && cfg.noSnapshot {
		return 0, usageError{errors.New("the plan's before_* columns are checked against the workspace: it cannot go with --no-snapshot")}
	}
	if err := cfg.checkPlan(plan.Needs(), log); err != nil {
		return 0, err
	}
	outs, err := report.CreateOutputs(stdout, cfg.reportName(), cfg.undoPlan, cfg.summary)
	if err != nil {
		return 0, err
	}
	end.SummaryTo(outs[2])
	defer end.Abort() // as rec.Abort: no summary of a run refused before its rows
	rec, err := report.NewRecorder(outs[0], outs[1], cfg.nullToken, log, sink)
	if err != nil {
		return 0, configErrorf("write report %s: %w", cfg.reportName(), err)
	}
	defer rec.Abort() // a run refused before its first row leaves no file behind
	if cfg.snapshotWanted() {
		ws, err := job.ReadWorkspace(ctx, conn.client, &conn.retrier, job.WorkspaceReads{
			Keep: plan.MayContain, PhoneKey: plan.PhoneKeys(), Parallel: cfg.workers, Expect: plan.Rows,
			NeededBy: cmp.Or(cfg.snapshotNeeder(plan.Reviewed), plan.Needs()),
		})
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted while reading: the run below records every row not_attempted.
			plan.ReadsInterrupted()
		case err != nil:
			return 0, err
		default:
			if err := plan.Resolve(ctx, ws); err != nil {
				return 0, logPlanError(log, err)
			}
		}
		if ws != nil {
			runner.Snapshot = ws.Snapshot
		}
		plan.DropIndex() // MayContain has served: its memory goes back before the run
	}
	log.Info().Str("event", "plan").Int("rows", plan.Rows).Int("invalid", plan.Invalid).
		Strs("ignored_columns", plan.Ignored).Bool("reviewed", plan.Reviewed).Msg("plan read")
	for _, p := range plan.Problems {
		log.Error().Str("event", "invalid_row").Int("line", p.Line).Msg(p.String())
	}
	if plan.Invalid > 0 && !cfg.skipInvalid && !cfg.verify {
		return 0, &planfile.Error{Problems: []job.Problem{{Reason: fmt.Sprintf("%d of %d rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others)", plan.Invalid, plan.Rows)}}}
	}
	if err := runner.Confirm(plan.Each, ask); err != nil {
		return 0, logPlanError(log, err)
	}

	total := plan.Rows
	if cfg.shards > 1 {
		total = -1 // unknown until the shard's rows are counted
	}
	runner.Flush, runner.FlushEvery = rec.Flush, 50*time.Millisecond
	if rec.Undoing() {
		runner.WriteAhead = rec.WriteAhead
	}
	runner.Progress, runner.ProgressEvery = report.Progress(log, bar, total)
	sink.Hold(true) // log lines go out with the report's
	run := runner.Run
	if cfg.verify {
		run = runner.Verify
	}
	sum, runErr := run(ctx, plan.Each, rec.Record)
	end.Ran(sum)
	sink.Hold(false)
	bar.Clear()
	if err := rec.Close(); err != nil && sum.Stopped == nil {
		sum.Stopped = err
	}
	if runErr != nil {
		return 0, logPlanError(log, runErr)
	}
	code := exitCodeOf(sum)
	report.LogSummary(log, sum, cfg.reportName(), code, cfg.sandbox)
	return code, nil
}

// logPlanError logs each problem of a plan that cannot be run, one event a line, and
// returns what ends the run.
func logPlanError(log zerolog.Logger, err error) error {
	var pe *planfile.Error
	if !errors.As(err, &pe) || len(pe.Problems) == 0 {
		return err
	}
	for _, p := range pe.Problems {
		log.Error().Str("event", "invalid_plan").Int("line", p.Line).Msg(p.String())
	}
	return &planfile.Error{Problems: []job.Problem{{Reason: "the plan cannot be read; nothing was sent"}}, Err: pe.Err}
}

// export writes the workspace as a plan-shaped CSV (`reassign export`).
func export(ctx context.Context, cfg *config, log zerolog.Logger, getenv func(string) string, stdout io.Writer) error {
	if err := report.CheckOutputs(cfg.out); err != nil {
		return err
	}
	conn, err := connect(cfg, log, getenv)
	if err != nil {
		return err
	}
	defer conn.close()
	outs, err := report.CreateOutputs(stdout, cfg.out)
	if err != nil {
		return err
	}
	filter := dialnexa.ListFilter{CountryCode: cfg.countryCode, Type: cfg.numberType}
	requests := 0
	numbers, err := report.Export(outs[0], cfg.nullToken, func(write func([]dialnexa.PhoneNumber) error) (err error) {
		requests, err = job.EachNumber(ctx, conn.client, &conn.retrier, filter, write)
		return err
	})
	if err != nil {
		var apiErr *dialnexa.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w: %v", job.ErrKeyRefused, err)
		}
		return tempError{fmt.Errorf("export: %w (nothing was kept of %s)", err, cfg.out)}
	}
	log.Info().Str("event", "summary").Int("numbers", numbers).Int("requests", requests).Str("out", cfg.out).
		Int("exit_code", exitOK).Bool("sandbox", cfg.sandbox).
		Msgf("exported %d numbers to %s in %d requests", numbers, cfg.out, requests)
	return nil
}

// connection is the API client and the retry policy every request shares.
type connection struct {
	client             *dialnexa.Client
	retrier            pace.Retrier
	baseURL, keySource string
	close              func()
}

// connect finds the key (or starts the sandbox) and builds the client. Nothing is sent.
func connect(cfg *config, log zerolog.Logger, getenv func(string) string) (*connection, error) {
	c := &connection{baseURL: cfg.baseURL, close: func() {}, keySource: "env"}
	key := dialnexa.Secret(strings.TrimSpace(getenv("DIALNEXA_API_KEY")))
	var err error
	switch {
	case cfg.sandbox:
		var k string
		if c.baseURL, k, c.close, err = sandbox.StartDemo(); err != nil {
			return nil, err
		}
		key, c.keySource = dialnexa.Secret(k), "sandbox"
		log.Info().Str("event", "sandbox").Str("base_url", c.baseURL).Msg("sandbox workspace started; no real number is touched")
	case cfg.keyFile != "":
		if key, err = dialnexa.ReadKeyFile(cfg.keyFile); err != nil {
			return nil, configError{err}
		}
		c.keySource = "file"
	}
	if key == "" && cfg.dryRun != dryRunClient {
		return nil, configErrorf("no API key: set DIALNEXA_API_KEY or --api-key-file (or try --sandbox)")
	}
	if err := dialnexa.CheckKey(key); err != nil {
		return nil, configError{err}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = max(100, cfg.workers), cfg.workers
	if c.client, err = dialnexa.NewClient(&http.Client{Timeout: cfg.timeout, Transport: t}, c.baseURL, key, "reassign/"+buildVersion()); err != nil {
		c.close()
		return nil, configError{err}
	}
	gate := pace.NewGate(cfg.rate, cfg.burst, time.Now)
	gate.Log, gate.Shards = log, cfg.shards
	c.retrier = pace.Retrier{
		Gate: gate, MaxAttempts: cfg.maxAttempts,
		Sleep: pace.SleepContext, Rand: mrand.Int64N, Log: log, Requests: &pace.Requests{},
	}
	return c, nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
