// Command reassign applies a CSV plan of DialNexa phone-number changes (inbound agent,
// nickname, label) through the API, rate-limited, and reports what happened to each row.
// ../README.md and CONTRACT.md describe its behaviour.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/sandbox"
	"reassign/report"
)

// Exit codes (contract §7).
const (
	exitOK        = 0
	exitBug       = 1
	exitRowErrors = 3  // some rows not_found, rejected, forbidden or invalid
	exitUsage     = 64 // unknown flag, bad value
	exitPlan      = 65 // plan unreadable or invalid; nothing sent
	exitTemp      = 75 // interrupted, or rows failed after their retries
	exitKey       = 77 // the API refused the key
	exitConfig    = 78 // no key, insecure URL, report exists or unwritable
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
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel() // first signal: finish what is in flight, record the rest
		<-sigs
		os.Exit(exitTemp) // second signal: stop at once; the report was flushed as rows finished
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
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

// run is the whole program; main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, code, done := parseConfig(args, getenv, stdout, stderr)
	if done {
		return code
	}
	var bar *report.Bar
	if isTerminal(stderr) {
		bar = report.NewBar(stderr)
		defer bar.Clear()
	}
	var out io.Writer = stderr
	if bar != nil {
		out = bar
	}
	sink := &logSink{w: bufio.NewWriterSize(out, 64<<10)}
	defer sink.Hold(false)
	log := newLogger(cfg, sink, isTerminal(stderr))
	code, err := execute(ctx, cfg, log, bar, sink, getenv, stdin, stdout)
	if err != nil {
		log.Error().Str("event", "fatal").Int("exit_code", code).Msg(err.Error())
	}
	return code
}

// exitError is an error that ends the program with a given exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// execute runs the job as cfg says and returns the exit code.
func execute(ctx context.Context, cfg *config, log zerolog.Logger, bar *report.Bar, sink *logSink, getenv func(string) string, stdin io.Reader, stdout io.Writer) (int, error) {
	env, err := setup(cfg, log, getenv, stdin)
	defer env.close()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code, err
		}
		return exitBug, err
	}
	runner := &job.Runner{
		Client:        env.client,
		Limiter:       job.NewLimiter(cfg.rate, cfg.burst, time.Now),
		Workers:       cfg.workers,
		MaxAttempts:   cfg.maxAttempts,
		MaxErrors:     cfg.maxErrors,
		DryRun:        cfg.dryRun != dryRunNone,
		Drain:         20 * time.Second,
		FlushEvery:    50 * time.Millisecond,
		ProgressEvery: 10 * time.Second,
		Now:           time.Now,
		Sleep:         job.SleepContext,
		Rand:          mrand.Int64N,
		Log:           log,
	}
	if cfg.export {
		return export(ctx, cfg, log, runner, env, stdout)
	}
	log.Info().Str("event", "start").Str("version", buildVersion()).
		Str("plan", cfg.plan).Str("report", cfg.reportName()).Str("dry_run", string(cfg.dryRun)).
		Float64("rate", cfg.rate).Int("burst", cfg.burst).Int("workers", cfg.workers).
		Int("max_attempts", cfg.maxAttempts).Str("timeout", cfg.timeout.String()).Str("base_url", env.baseURL).
		Str("key_source", env.keySource).Str("resume", cfg.resume).Bool("skip_invalid", cfg.skipInvalid).
		Str("null_token", cfg.nullToken).Int("max_errors", cfg.maxErrors).Int("shards", cfg.shards).
		Int("shard_index", cfg.shardIndex).Bool("snapshot", cfg.snapshotWanted()).Str("undo_plan", cfg.undoPlan).
		Bool("sandbox", cfg.sandbox).Msg("reassign starting")

	plan, err := readPlan(env, cfg, log)
	if err != nil {
		return exitPlan, err
	}
	if cfg.snapshotWanted() {
		// The agent list and the numbers are read side by side: both are reads, and a
		// plan refused over an agent has cost nothing but them.
		var snap *job.Snapshot
		var snapErr error
		snapDone := make(chan struct{})
		go func() {
			defer close(snapDone)
			snap, snapErr = runner.ReadSnapshot(ctx, env.client, plan.MayContain)
		}()
		agents, err := runner.ReadAgents(ctx, env.client)
		<-snapDone
		switch {
		case err != nil && cfg.snapshotNeeded():
			return exitConfig, fmt.Errorf("read the workspace's agents: %v; %s needs it, nothing was sent", err, cfg.snapshotNeeder())
		case err != nil:
			log.Warn().Str("event", "agents").Str("error", err.Error()).Msg("could not read the workspace's agents; going on without the agent check")
		default:
			log.Info().Str("event", "agents").Int("agents", len(agents)).Msg("workspace agents read")
			if err := plan.CheckAgents(func(id string) bool { return agents[id] }); err != nil {
				return exitPlan, fmt.Errorf("read plan: %w", err)
			}
		}
		switch {
		case snapErr != nil && cfg.snapshotNeeded():
			return exitConfig, fmt.Errorf("read the workspace's numbers: %v; %s needs them, nothing was sent", snapErr, cfg.snapshotNeeder())
		case snapErr != nil:
			log.Warn().Str("event", "snapshot").Str("error", snapErr.Error()).Msg("could not read the workspace's numbers; going on without the snapshot (every row is sent)")
		default:
			runner.Snapshot = snap
			log.Info().Str("event", "snapshot").Int("numbers", snap.Seen).Int("kept", snap.Len()).
				Int("requests", snap.Requests).Msg("workspace snapshot read")
		}
		plan.DropIndex() // MayContain has served: its memory goes back before the run
	}
	log.Info().Str("event", "plan").Int("rows", plan.Rows).Int("invalid", plan.Invalid).
		Strs("ignored_columns", plan.Ignored).Msg("plan read")
	if plan.Invalid > 0 {
		for _, p := range plan.Problems {
			log.Error().Str("event", "invalid_row").Int("line", p.Line).Msg(p.String())
		}
		if !cfg.skipInvalid {
			return exitPlan, fmt.Errorf("%d of %d rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others)", plan.Invalid, plan.Rows)
		}
	}

	out, reportPath, err := createOutput(cfg.reportName(), stdout)
	if err != nil {
		return exitConfig, err
	}
	defer out.Close()
	rw, err := report.NewWriter(out, reportPath != "-")
	if err != nil {
		return exitConfig, fmt.Errorf("write report %s: %w", reportPath, err)
	}
	record, flush := rw.Write, rw.Flush
	if cfg.undoPlan != "" {
		undoOut, _, err := createOutput(cfg.undoPlan, stdout)
		if err != nil {
			return exitConfig, err
		}
		defer undoOut.Close()
		undo, err := report.NewUndoWriter(undoOut, cfg.nullToken)
		if err != nil {
			return exitConfig, fmt.Errorf("write undo plan %s: %w", cfg.undoPlan, err)
		}
		flush = func() error { return errors.Join(rw.Flush(), undo.Flush()) }
		record = func(res job.Result) error {
			if err := rw.Write(res); err != nil || res.Outcome != job.Updated || res.Before == nil {
				return err
			}
			kept, err := undo.Write(res.Row, *res.Before)
			if kept {
				log.Warn().Str("event", "undo_keeps_label").Int("line", res.Row.Line).Str("id", res.Row.ID).
					Msg("the label was empty before and the API takes no null label: the undo plan keeps the new label")
			}
			return err
		}
	}
	runner.Flush = func() error { return errors.Join(flush(), sink.Flush()) }
	if env.applied != nil {
		runner.Done = env.applied.Has
	}
	total := plan.Rows
	if cfg.shards > 1 {
		total = -1 // unknown until the shard's rows are counted
	}
	runner.Progress = func(s job.Summary) { logProgress(log, s, total) }
	if bar != nil {
		// On a terminal a bar replaces the progress events.
		runner.ProgressEvery = 250 * time.Millisecond
		runner.Progress = func(s job.Summary) {
			bar.Update(s.Rows, total, s.Elapsed, s.Rows-s.Counts[job.Updated]-s.Counts[job.WouldUpdate]-s.Counts[job.Unchanged]-s.Counts[job.Skipped])
		}
	}

	each := func(fn func(job.Row, []job.Problem) error) error {
		return plan.Each(func(r job.Row, problems []job.Problem) error {
			if !job.InShard(r.ID, cfg.shards, cfg.shardIndex) {
				return nil
			}
			return fn(r, problems)
		})
	}
	sink.Hold(true) // log lines go out with the report's, when no row is waiting
	sum, runErr := runner.Run(ctx, each, record)
	sink.Hold(false)
	if bar != nil {
		bar.Clear()
	}
	closeErr := out.Close()
	code := exitCode(sum)
	if runErr != nil {
		return exitPlan, fmt.Errorf("read plan: %w", runErr)
	}
	if closeErr != nil && sum.Stopped == nil {
		sum.Stopped = fmt.Errorf("write report: %w", closeErr)
		code = exitConfig
	}
	logSummary(log, sum, reportPath, code, cfg.sandbox)
	return code, nil
}

// readPlan reads and validates the plan, logging each problem of an unreadable one.
func readPlan(env *runEnv, cfg *config, log zerolog.Logger) (*job.Plan, error) {
	plan, err := job.ReadPlan(env.openPlan, job.PlanOptions{NullToken: cfg.nullToken})
	var pe *job.PlanError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			log.Error().Str("event", "invalid_plan").Int("line", p.Line).Msg(p.String())
		}
		return nil, fmt.Errorf("the plan cannot be read; nothing was sent")
	}
	return plan, err
}

// export writes the workspace as a plan-shaped CSV (`reassign export`).
func export(ctx context.Context, cfg *config, log zerolog.Logger, runner *job.Runner, env *runEnv, stdout io.Writer) (int, error) {
	out, path, err := createOutput(cfg.out, stdout)
	if err != nil {
		return exitConfig, err
	}
	defer out.Close()
	ew, err := report.NewExportWriter(out)
	if err != nil {
		return exitConfig, fmt.Errorf("write %s: %w", path, err)
	}
	numbers := 0
	var writeErr error
	filter := job.ListFilter{CountryCode: cfg.countryCode, Type: cfg.numberType}
	requests, err := runner.EachNumber(ctx, env.client, filter, func(n job.PhoneNumber) {
		numbers++
		if writeErr == nil {
			writeErr = ew.Write(n)
		}
	})
	if err == nil {
		err = writeErr
	}
	if err == nil {
		err = ew.Close()
	}
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		var apiErr *job.APIError
		switch {
		case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
			return exitKey, fmt.Errorf("export: the API refused the key: %v", err)
		case errors.As(err, &apiErr) || ctx.Err() == nil:
			return exitTemp, fmt.Errorf("export: %v (%s is incomplete)", err, path)
		default:
			return exitTemp, fmt.Errorf("export interrupted (%s is incomplete)", path)
		}
	}
	log.Info().Str("event", "summary").Int("numbers", numbers).Int("requests", requests).Str("out", path).
		Int("exit_code", exitOK).Bool("sandbox", cfg.sandbox).
		Msgf("exported %d numbers to %s in %d requests", numbers, path, requests)
	return exitOK, nil
}

// exitCode picks the code of §7: 75 (interrupted) > 77 > 75 (failed rows) > 3.
func exitCode(s job.Summary) int {
	switch {
	case s.Interrupted:
		return exitTemp
	case errors.Is(s.Stopped, job.ErrKeyRefused) || s.Counts[job.Unauthorized] > 0:
		return exitKey
	case s.Stopped != nil && !errors.Is(s.Stopped, job.ErrMaxErrors):
		return exitConfig // the report could not be written
	case s.Counts[job.Failed] > 0:
		return exitTemp
	case errors.Is(s.Stopped, job.ErrMaxErrors),
		s.Counts[job.NotFound]+s.Counts[job.Rejected]+s.Counts[job.Forbidden]+s.Counts[job.Invalid] > 0:
		return exitRowErrors
	case s.Counts[job.NotAttempted] > 0:
		return exitTemp
	}
	return exitOK
}

func logProgress(log zerolog.Logger, s job.Summary, total int) {
	ev := log.Info().Str("event", "progress").Int("done", s.Rows).Int64("elapsed_ms", s.Elapsed.Milliseconds())
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Rows) / secs
	}
	ev = ev.Float64("rows_per_s", round1(rate))
	if total >= 0 {
		ev = ev.Int("total", total)
		if rate > 0 {
			ev = ev.Int64("eta_s", int64(float64(total-s.Rows)/rate))
		}
	}
	d := zerolog.Dict()
	for _, o := range job.Outcomes {
		if n := s.Counts[o]; n > 0 {
			d = d.Int(string(o), n)
		}
	}
	ev.Dict("counts", d).Msg("progress")
}

func logSummary(log zerolog.Logger, s job.Summary, reportPath string, code int, sandboxed bool) {
	d := zerolog.Dict()
	parts := []string{}
	for _, o := range job.Outcomes {
		if n := s.Counts[o]; n > 0 {
			d = d.Int(string(o), n)
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Rows) / secs
	}
	ev := log.Info().Str("event", "summary").Int("rows", s.Rows).Dict("counts", d).
		Int64("elapsed_ms", s.Elapsed.Milliseconds()).Float64("rows_per_s", round1(rate)).
		Str("report", reportPath).Int("exit_code", code).Bool("sandbox", sandboxed).Bool("interrupted", s.Interrupted)
	if s.Stopped != nil {
		ev = ev.Str("stopped", s.Stopped.Error())
	}
	where := "report: " + reportPath
	if reportPath == "-" {
		where = "report on stdout"
	}
	prefix := ""
	if sandboxed {
		prefix = "sandbox run: "
	}
	ev.Msgf("%s%d rows: %s; %s; exit %d", prefix, s.Rows, strings.Join(parts, ", "), where, code)
}

func round1(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 1, 64), 64)
	return v
}

// runEnv is what setup prepared: the plan source, the API client and what to clean up.
type runEnv struct {
	openPlan  func() (io.ReadCloser, error)
	client    *job.Client
	applied   *report.Applied
	baseURL   string
	keySource string
	cleanup   []func()
}

func (e *runEnv) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

// setup checks the configuration (key, URL, report path, resume file) and prepares the
// plan source and client. Nothing is sent.
func setup(cfg *config, log zerolog.Logger, getenv func(string) string, stdin io.Reader) (*runEnv, error) {
	env := &runEnv{baseURL: cfg.baseURL}
	outputs := map[string]string{"report": cfg.reportName(), "undo plan": cfg.undoPlan}
	if cfg.export {
		outputs = map[string]string{"output": cfg.out}
	}
	for what, path := range outputs {
		if path == "" || path == "-" {
			continue
		}
		if _, err := os.Stat(path); err == nil {
			return env, fail(exitConfig, "%s %s already exists; it is never overwritten (choose another name)", what, path)
		}
	}
	var key job.Secret
	switch {
	case cfg.sandbox:
		b := make([]byte, 16)
		rand.Read(b)
		key = job.Secret("sbx_" + hex.EncodeToString(b[:4]) + ":" + hex.EncodeToString(b[4:]))
		api := sandbox.New(sandbox.Demo(), sandbox.Options{Key: string(key)})
		url, stop, err := sandbox.Start(api)
		if err != nil {
			return env, fail(exitBug, "%v", err)
		}
		env.cleanup = append(env.cleanup, stop)
		env.baseURL, env.keySource = url, "sandbox"
		log.Info().Str("event", "sandbox").Str("base_url", url).Msg("sandbox workspace started; no real number is touched")
	case cfg.keyFile != "":
		b, err := os.ReadFile(cfg.keyFile)
		if err != nil {
			return env, fail(exitConfig, "read API key file: %v", err)
		}
		key, env.keySource = job.Secret(strings.TrimSpace(string(b))), "file"
	default:
		key, env.keySource = job.Secret(strings.TrimSpace(getenv("DIALNEXA_API_KEY"))), "env"
	}
	if key == "" && cfg.dryRun != dryRunClient {
		return env, fail(exitConfig, "no API key: set DIALNEXA_API_KEY or --api-key-file (or try --sandbox)")
	}
	if strings.ContainsFunc(string(key), func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return env, fail(exitConfig, "the API key holds spaces or control characters; check the key file or variable")
	}
	hc := &http.Client{Timeout: cfg.timeout, Transport: newTransport(cfg.workers)}
	client, err := job.NewClient(hc, env.baseURL, key, "reassign/"+buildVersion())
	if err != nil {
		return env, fail(exitConfig, "%v", err)
	}
	env.client = client
	if cfg.export {
		return env, nil
	}

	if cfg.resume != "" {
		applied, files, err := readResume(cfg.resume)
		if err != nil {
			return env, err
		}
		env.applied = applied
		log.Info().Str("event", "resume").Str("from", cfg.resume).Int("reports", files).Int("applied", applied.Len()).Msg("rows an earlier run applied will be skipped")
	}

	env.openPlan = func() (io.ReadCloser, error) { return os.Open(cfg.plan) }
	if cfg.plan == "-" {
		// The plan is read twice (validate, then run): keep stdin in a temporary file.
		f, err := os.CreateTemp("", "reassign-plan-*.csv")
		if err != nil {
			return env, fail(exitConfig, "spool the plan from stdin: %v", err)
		}
		env.cleanup = append(env.cleanup, func() { f.Close(); os.Remove(f.Name()) })
		if _, err := io.Copy(f, stdin); err != nil {
			return env, fail(exitPlan, "read the plan from stdin: %v", err)
		}
		env.openPlan = func() (io.ReadCloser, error) { return os.Open(f.Name()) }
	} else if _, err := os.Stat(cfg.plan); err != nil {
		return env, fail(exitPlan, "read plan: %v", err)
	}
	return env, nil
}

func newTransport(workers int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConns = max(100, workers)
	t.MaxIdleConnsPerHost = workers
	return t
}

// readResume reads --resume: one earlier report, every *.csv report in a folder, or
// every report a glob pattern matches (as the pods of a retried Kubernetes Job leave
// them: a pattern that matches nothing yet resumes nothing).
func readResume(path string) (*report.Applied, int, error) {
	files := []string{path}
	if strings.ContainsAny(path, "*?[") {
		var err error
		if files, err = filepath.Glob(path); err != nil {
			return nil, 0, fail(exitUsage, "--resume %s: %v", path, err)
		}
	} else if st, err := os.Stat(path); err != nil {
		return nil, 0, fail(exitConfig, "read resume report: %v", err)
	} else if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.csv"))
	}
	all := report.NewApplied()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, 0, fail(exitConfig, "read resume report: %v", err)
		}
		applied, err := report.ReadApplied(f)
		f.Close()
		if err != nil {
			return nil, 0, fail(exitPlan, "read resume report %s: %v", name, err)
		}
		all.Merge(applied)
	}
	return all, len(files), nil
}

// createOutput creates a file the run writes, refusing to overwrite one; "-" is stdout.
func createOutput(name string, stdout io.Writer) (io.WriteCloser, string, error) {
	if name == "-" {
		return nopCloser{stdout}, "-", nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, name, fmt.Errorf("%s already exists; it is never overwritten (choose another name)", name)
	}
	if err != nil {
		return nil, name, fmt.Errorf("create %s: %w", name, err)
	}
	return &syncCloser{f: f}, name, nil
}

// syncCloser syncs the report to disk once, at the end, and closes it once.
type syncCloser struct {
	f      *os.File
	closed bool
}

func (s *syncCloser) Write(p []byte) (int, error) { return s.f.Write(p) }
func (s *syncCloser) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// --- configuration ---

// dryRunMode is --dry-run: a boolean flag that also takes a mode, as kubectl's does.
type dryRunMode string

const (
	dryRunNone   dryRunMode = "none"
	dryRunClient dryRunMode = "client" // offline: no request at all
	dryRunServer dryRunMode = "server" // reads the workspace, sends no write
)

func (d *dryRunMode) String() string   { return string(*d) }
func (d *dryRunMode) IsBoolFlag() bool { return true }
func (d *dryRunMode) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "client", "yes":
		*d = dryRunClient
	case "false", "0", "none", "no", "":
		*d = dryRunNone
	case "server":
		*d = dryRunServer
	default:
		return fmt.Errorf("%q: want true (offline), server (against the workspace) or false", s)
	}
	return nil
}

type config struct {
	plan, reportPath, baseURL, keyFile, resume, nullToken, logFormat, logLevel string
	undoPlan                                                                   string
	dryRun                                                                     dryRunMode
	rate                                                                       float64
	burst, workers, maxAttempts, maxErrors, shards, shardIndex                 int
	timeout                                                                    time.Duration
	skipInvalid, sandbox, showVersion, noSnapshot                              bool
	started                                                                    time.Time
	// reassign export
	export                       bool
	out, countryCode, numberType string
}

// snapshotWanted: a live run or a dry run against the workspace reads it first.
func (c *config) snapshotWanted() bool {
	return !c.noSnapshot && !c.export && c.dryRun != dryRunClient
}

// snapshotNeeded: these options cannot work without the snapshot.
func (c *config) snapshotNeeded() bool { return c.snapshotNeeder() != "" }

func (c *config) snapshotNeeder() string {
	switch {
	case c.dryRun == dryRunServer:
		return "--dry-run=server"
	case c.undoPlan != "":
		return "--undo-plan"
	}
	return ""
}

func (c *config) reportName() string {
	if c.reportPath == "" {
		return report.DefaultName(c.started)
	}
	return c.reportPath
}

// parseConfig reads flags, with the environment variables of §2 as defaults. done means
// the program should exit with code (help, version or a usage error).
func parseConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (*config, int, bool) {
	cfg := &config{dryRun: dryRunNone, started: time.Now()}
	if len(args) > 0 && args[0] == "export" {
		cfg.export, args = true, args[1:]
	}
	fs := flag.NewFlagSet("reassign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envOf := map[string]string{}
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, def, usage)
		envOf[name] = env
	}
	num := func(p *int, name, env string, def int, usage string) {
		fs.IntVar(p, name, def, usage)
		envOf[name] = env
	}
	boolean := func(p *bool, name, env, usage string) {
		fs.BoolVar(p, name, false, usage)
		envOf[name] = env
	}
	str(&cfg.plan, "plan", "REASSIGN_PLAN", "", "plan CSV file (required); - reads stdin")
	str(&cfg.reportPath, "report", "REASSIGN_REPORT", "", "report CSV file; - writes stdout (default reassign-report-<UTC time>.csv); never overwritten")
	fs.Var(&cfg.dryRun, "dry-run", "validate and report what would be sent, offline; =server reads the workspace first; no write either way")
	envOf["dry-run"] = "REASSIGN_DRY_RUN"
	fs.Float64Var(&cfg.rate, "rate", 5, "requests per second, all workers and retries together; 0 = no ceiling")
	envOf["rate"] = "REASSIGN_RATE"
	num(&cfg.burst, "burst", "REASSIGN_BURST", 1, "token-bucket burst")
	num(&cfg.workers, "workers", "REASSIGN_WORKERS", 4, "requests in flight at most")
	num(&cfg.maxAttempts, "max-attempts", "REASSIGN_MAX_ATTEMPTS", 5, "requests per row at most")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per request")
	envOf["timeout"] = "REASSIGN_TIMEOUT"
	str(&cfg.baseURL, "base-url", "DIALNEXA_BASE_URL", "https://api.dialnexa.com/v1", "API base URL")
	str(&cfg.keyFile, "api-key-file", "DIALNEXA_API_KEY_FILE", "", "file holding the API key (else DIALNEXA_API_KEY)")
	str(&cfg.resume, "resume", "REASSIGN_RESUME", "", "an earlier report, a folder of reports or a glob: rows recorded as updated or skipped with the same values are skipped")
	boolean(&cfg.skipInvalid, "skip-invalid", "REASSIGN_SKIP_INVALID", "run the valid rows and report the invalid ones, instead of refusing the plan")
	str(&cfg.nullToken, "null-token", "REASSIGN_NULL_TOKEN", "null", `cell text that means "send null"`)
	num(&cfg.maxErrors, "max-errors", "REASSIGN_MAX_ERRORS", 0, "stop sending after N rows not_found, rejected or forbidden; 0 = no limit")
	num(&cfg.shards, "shards", "REASSIGN_SHARDS", 1, "split the plan into N shards by id hash")
	num(&cfg.shardIndex, "shard-index", "JOB_COMPLETION_INDEX", 0, "the shard this run handles, 0..shards-1")
	str(&cfg.logFormat, "log-format", "REASSIGN_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)")
	str(&cfg.logLevel, "log-level", "REASSIGN_LOG_LEVEL", "info", "debug, info, warn or error")
	boolean(&cfg.noSnapshot, "no-snapshot", "REASSIGN_NO_SNAPSHOT", "skip reading the workspace (numbers and agents) before the first write")
	str(&cfg.undoPlan, "undo-plan", "REASSIGN_UNDO_PLAN", "", "write a plan that puts back the old values of every number the run changes")
	if cfg.export {
		str(&cfg.out, "out", "REASSIGN_EXPORT_OUT", "", "export: the CSV file to write (required); - writes stdout")
		str(&cfg.countryCode, "country-code", "REASSIGN_EXPORT_COUNTRY_CODE", "", "export: only numbers of this country (e.g. IN)")
		str(&cfg.numberType, "type", "REASSIGN_EXPORT_TYPE", "", "export: only numbers of this type (e.g. local)")
	}
	fs.BoolVar(&cfg.sandbox, "sandbox", false, "run against the built-in simulated workspace; no key needed")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")

	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: reassign --plan PLAN.csv [flags]\n       reassign export --out FILE [--country-code CC] [--type TYPE] [flags]\n\nApplies a CSV plan of phone-number changes through the DialNexa API and writes a CSV report;\nexport writes the workspace's numbers as a plan to edit.\n\nFlags (each also read from the environment variable shown; the flag wins):\n")
		fs.VisitAll(func(f *flag.Flag) {
			env := envOf[f.Name]
			if env != "" {
				env = "  [$" + env + "]"
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "none" && f.DefValue != "0" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "  --%s%s\n      %s%s\n", f.Name, env, f.Usage, def)
		})
		fmt.Fprintf(w, "\nExit codes: 0 done, 3 some rows not found/rejected/invalid, 64 usage, 65 bad plan,\n75 interrupted or rows failed (rerun with --resume), 77 key refused, 78 configuration refused.\n")
	}
	usageErr := func(format string, a ...any) (*config, int, bool) {
		fmt.Fprintf(stderr, "reassign: "+format+"\nRun reassign --help for the flags.\n", a...)
		return nil, exitUsage, true
	}

	var names []string
	for name := range envOf {
		names = append(names, name)
	}
	for _, name := range names {
		if v := getenv(envOf[name]); v != "" {
			if err := fs.Set(name, v); err != nil {
				return usageErr("$%s: %v", envOf[name], err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return nil, exitOK, true
		}
		return usageErr("%v", err)
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, "reassign "+buildVersion())
		return nil, exitOK, true
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (flags start with --)", fs.Arg(0))
	case cfg.export && cfg.out == "":
		return usageErr("export: --out is required")
	case !cfg.export && cfg.plan == "":
		return usageErr("--plan is required")
	case cfg.noSnapshot && cfg.snapshotNeeded():
		return usageErr("%s reads the workspace first: it cannot go with --no-snapshot", cfg.snapshotNeeder())
	case cfg.undoPlan != "" && cfg.dryRun != dryRunNone:
		return usageErr("--undo-plan needs a live run: a dry run changes nothing to undo")
	case cfg.rate < 0:
		return usageErr("--rate must be 0 (no ceiling) or more, not %v", cfg.rate)
	case cfg.burst < 1:
		return usageErr("--burst must be at least 1, not %d", cfg.burst)
	case cfg.workers < 1 || cfg.workers > 256:
		return usageErr("--workers must be between 1 and 256, not %d", cfg.workers)
	case cfg.maxAttempts < 1:
		return usageErr("--max-attempts must be at least 1, not %d", cfg.maxAttempts)
	case cfg.timeout <= 0:
		return usageErr("--timeout must be positive, not %v", cfg.timeout)
	case cfg.maxErrors < 0:
		return usageErr("--max-errors must be 0 (no limit) or more, not %d", cfg.maxErrors)
	case cfg.shards < 1:
		return usageErr("--shards must be at least 1, not %d", cfg.shards)
	case cfg.shardIndex < 0 || cfg.shardIndex >= cfg.shards:
		return usageErr("--shard-index must be between 0 and %d (--shards %d), not %d", cfg.shards-1, cfg.shards, cfg.shardIndex)
	case strings.TrimSpace(cfg.nullToken) == "":
		return usageErr("--null-token must not be empty")
	}
	switch cfg.logFormat {
	case "auto", "json", "console":
	default:
		return usageErr("--log-format must be json, console or auto, not %q", cfg.logFormat)
	}
	switch cfg.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return usageErr("--log-level must be debug, info, warn or error, not %q", cfg.logLevel)
	}
	cfg.nullToken = strings.TrimSpace(cfg.nullToken)
	return cfg, 0, false
}

// newLogger logs to out: JSON lines, or the console format on a terminal.
func newLogger(cfg *config, out io.Writer, terminal bool) zerolog.Logger {
	level, _ := zerolog.ParseLevel(cfg.logLevel)
	w := out
	if cfg.logFormat == "console" || (cfg.logFormat == "auto" && terminal) {
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05", NoColor: !terminal}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// logSink is where log lines go. Outside a run each line is written at once; during one
// (Hold) lines wait in a buffer that the runner flushes with the report (Runner.Flush):
// at full speed that saves a write per row.
type logSink struct {
	mu   sync.Mutex
	w    *bufio.Writer
	hold bool
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if err == nil && !l.hold {
		err = l.w.Flush()
	}
	return n, err
}

// Flush writes out the lines held.
func (l *logSink) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// Hold starts or stops holding lines; stopping writes out those held.
func (l *logSink) Hold(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = on
	if !on {
		l.w.Flush()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
