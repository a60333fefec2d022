// Command reassign applies a plan of DialNexa phone-number changes (inbound agent,
// nickname, label) through the API, rate-limited, and reports what happened to each row.
// The README describes its behaviour. main only wires the packages: job/planfile reads
// the plan, job runs it through job/dialnexa, report writes what happened.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
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
	terminal := isTerminal(stderr)
	out := stderr
	var bar *report.Bar
	if terminal {
		bar = report.NewBar(stderr)
		defer bar.Clear()
		out = bar
	}
	sink := report.NewLogSink(out)
	defer sink.Hold(false)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-hardStop:
			sink.Flush()
			os.Exit(exitTemp) // the report holds every row flushed so far
		case <-done:
		}
	}()
	log := newLogger(cfg, sink, terminal)

	var code int
	if cfg.export {
		err = export(ctx, cfg, log, getenv, stdout)
	} else {
		code, err = apply(ctx, cfg, log, sink, bar, getenv, stdin, stdout)
	}
	if err != nil {
		code = exitCodeFor(err)
		log.Error().Str("event", "fatal").Int("exit_code", code).Msg(err.Error())
	}
	return code
}

// usageError is a bad command line: exit 64.
type usageError struct{ error }

// configError is a configuration refused before anything is read or sent: exit 78.
type configError struct{ error }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Errorf(format, args...)}
}

// exitCodeFor is the exit code of a run that ended with err instead of a summary.
func exitCodeFor(err error) int {
	var pe *planfile.Error
	var re *report.ResumeError
	var ue usageError
	var ce configError
	var readErr *job.ReadError
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, context.Canceled):
		return exitTemp
	case errors.As(err, &ue), errors.Is(err, filepath.ErrBadPattern):
		return exitUsage
	case errors.As(err, &pe), errors.As(err, &re):
		return exitPlan
	case errors.Is(err, job.ErrKeyRefused):
		return exitKey
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
		s.Counts[job.NotFound]+s.Counts[job.Rejected]+s.Counts[job.Forbidden]+s.Counts[job.Invalid] > 0:
		return exitRowErrors
	case s.Counts[job.NotAttempted] > 0:
		return exitTemp
	}
	return exitOK
}

// apply runs the plan: read and validate it, read the workspace, send, record.
func apply(ctx context.Context, cfg *config, log zerolog.Logger, sink *report.LogSink, bar *report.Bar, getenv func(string) string, stdin io.Reader, stdout io.Writer) (int, error) {
	if err := report.CheckOutputs(cfg.reportName(), cfg.undoPlan); err != nil {
		return 0, err
	}
	conn, err := connect(cfg, log, getenv)
	if err != nil {
		return 0, err
	}
	defer conn.close()
	var applied *report.Applied
	if cfg.resume != "" {
		var files int
		if applied, files, err = report.ReadResume(cfg.resume); err != nil {
			return 0, err
		}
		log.Info().Str("event", "resume").Str("from", cfg.resume).Int("reports", files).Int("applied", applied.Len()).Msg("rows an earlier run applied will be skipped")
	}
	log.Info().Str("event", "start").Str("version", buildVersion()).
		Str("plan", cfg.plan).Str("report", cfg.reportName()).Str("dry_run", string(cfg.dryRun)).
		Float64("rate", cfg.rate).Int("burst", cfg.burst).Int("workers", cfg.workers).
		Int("max_attempts", cfg.maxAttempts).Str("timeout", cfg.timeout.String()).Str("base_url", conn.baseURL).
		Str("key_source", conn.keySource).Str("resume", cfg.resume).Bool("skip_invalid", cfg.skipInvalid).
		Str("null_token", cfg.nullToken).Int("max_errors", cfg.maxErrors).Int("shards", cfg.shards).
		Int("shard_index", cfg.shardIndex).Bool("snapshot", cfg.snapshotWanted()).Str("undo_plan", cfg.undoPlan).
		Bool("sandbox", cfg.sandbox).Msg("reassign starting")

	open, cleanup, err := planfile.Source(cfg.plan, stdin)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	plan, err := planfile.Read(open, planfile.Options{NullToken: cfg.nullToken})
	if err != nil {
		return 0, logPlanError(log, err)
	}
	outs, err := report.CreateOutputs(stdout, cfg.reportName(), cfg.undoPlan)
	if err != nil {
		return 0, err
	}
	keep := false // the outputs, once a row is recorded in them
	defer func() {
		if !keep {
			for _, o := range outs {
				o.Remove()
			}
		}
	}()

	runner := &job.Runner{
		Retrier: conn.retrier, Client: conn.client, Workers: cfg.workers, MaxErrors: cfg.maxErrors,
		DryRun: cfg.dryRun != dryRunNone, Drain: 20 * time.Second, FlushEvery: 50 * time.Millisecond,
		ProgressEvery: 10 * time.Second,
	}
	if applied != nil {
		runner.Done = applied.Has
	}
	if cfg.snapshotWanted() {
		ws, err := job.ReadWorkspace(ctx, conn.client, &conn.retrier, job.WorkspaceReads{
			Keep: plan.MayContain, Parallel: cfg.workers, NeededBy: cfg.snapshotNeeder(),
		})
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted while reading: the run below records every row not_attempted.
		case err != nil:
			return 0, err
		default:
			runner.Snapshot = ws.Snapshot
			if ws.Agents != nil {
				if err := plan.CheckAgents(agentSet(ws.Agents)); err != nil {
					return 0, logPlanError(log, err)
				}
			}
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
			return 0, &planfile.Error{Problems: []job.Problem{{Reason: fmt.Sprintf("%d of %d rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others)", plan.Invalid, plan.Rows)}}}
		}
	}

	rec, err := report.NewRecorder(outs[0], outs[1], cfg.nullToken, log)
	if err != nil {
		return 0, configErrorf("write report %s: %w", cfg.reportName(), err)
	}
	keep = true
	runner.Flush = func() error { return errors.Join(rec.Flush(), sink.Flush()) }
	total := plan.Rows
	if cfg.shards > 1 {
		total = -1 // unknown until the shard's rows are counted
	}
	runner.Progress = func(s job.Summary) { report.LogProgress(log, s, total) }
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
	sink.Hold(true) // log lines go out with the report's
	sum, runErr := runner.Run(ctx, each, rec.Record)
	sink.Hold(false)
	if bar != nil {
		bar.Clear()
	}
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

// logPlanError logs each problem of a plan that cannot be run, one event a line.
func logPlanError(log zerolog.Logger, err error) error {
	var pe *planfile.Error
	if !errors.As(err, &pe) {
		return err
	}
	for _, p := range pe.Problems {
		log.Error().Str("event", "invalid_plan").Int("line", p.Line).Msg(p.String())
	}
	return &planfile.Error{Problems: []job.Problem{{Reason: "the plan cannot be read; nothing was sent"}}}
}

func agentSet(agents []dialnexa.Agent) func(string) bool {
	ids := make(map[string]bool, len(agents))
	for _, a := range agents {
		ids[a.ID] = true
	}
	return func(id string) bool { return ids[id] }
}

// export writes the workspace as a plan-shaped CSV (`reassign export`). An export that
// does not finish leaves no file behind: a part of the workspace is not the workspace.
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
	out := outs[0]
	ew, err := report.NewExportWriter(out)
	numbers, requests := 0, 0
	if err == nil {
		filter := dialnexa.ListFilter{CountryCode: cfg.countryCode, Type: cfg.numberType}
		requests, err = job.EachNumber(ctx, conn.client, &conn.retrier, filter, func(ns []dialnexa.PhoneNumber) error {
			for _, n := range ns {
				numbers++
				if err := ew.Write(n); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil {
		err = errors.Join(ew.Close(), out.Close())
	}
	if err != nil {
		out.Remove()
		var apiErr *dialnexa.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w: %v", job.ErrKeyRefused, err)
		}
		return fmt.Errorf("export: %w (nothing was kept of %s)", err, cfg.out)
	}
	log.Info().Str("event", "summary").Int("numbers", numbers).Int("requests", requests).Str("out", cfg.out).
		Int("exit_code", exitOK).Bool("sandbox", cfg.sandbox).
		Msgf("exported %d numbers to %s in %d requests", numbers, cfg.out, requests)
	return nil
}

// connection is the API client and the retry policy every request shares.
type connection struct {
	client             *dialnexa.Client
	retrier            job.Retrier
	baseURL, keySource string
	close              func()
}

// maxKeyFile bounds what is read of --api-key-file: a key is a few dozen bytes.
const maxKeyFile = 4 << 10

// connect finds the key (or starts the sandbox) and builds the client. Nothing is sent.
func connect(cfg *config, log zerolog.Logger, getenv func(string) string) (*connection, error) {
	c := &connection{baseURL: cfg.baseURL, close: func() {}}
	var key dialnexa.Secret
	switch {
	case cfg.sandbox:
		b := make([]byte, 16)
		rand.Read(b)
		key = dialnexa.Secret("sbx_" + hex.EncodeToString(b[:4]) + ":" + hex.EncodeToString(b[4:]))
		url, stop, err := sandbox.Start(sandbox.New(sandbox.Demo(), sandbox.Options{Key: string(key)}))
		if err != nil {
			return nil, err
		}
		c.close, c.baseURL, c.keySource = stop, url, "sandbox"
		log.Info().Str("event", "sandbox").Str("base_url", url).Msg("sandbox workspace started; no real number is touched")
	case cfg.keyFile != "":
		f, err := os.Open(cfg.keyFile)
		if err != nil {
			return nil, configErrorf("read API key file: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
		f.Close()
		switch {
		case err != nil:
			return nil, configErrorf("read API key file: %w", err)
		case len(b) > maxKeyFile:
			return nil, configErrorf("the API key file %s holds more than %d bytes: it is not a key file", cfg.keyFile, maxKeyFile)
		}
		key, c.keySource = dialnexa.Secret(strings.TrimSpace(string(b))), "file"
	default:
		key, c.keySource = dialnexa.Secret(strings.TrimSpace(getenv("DIALNEXA_API_KEY"))), "env"
	}
	if key == "" && cfg.dryRun != dryRunClient {
		return nil, configErrorf("no API key: set DIALNEXA_API_KEY or --api-key-file (or try --sandbox)")
	}
	if strings.ContainsFunc(string(key), func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return nil, configErrorf("the API key holds spaces or control characters; check the key file or variable")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = max(100, cfg.workers), cfg.workers
	client, err := dialnexa.NewClient(&http.Client{Timeout: cfg.timeout, Transport: t}, c.baseURL, key, "reassign/"+buildVersion())
	if err != nil {
		c.close()
		return nil, configError{err}
	}
	c.client = client
	c.retrier = job.Retrier{
		Limiter: job.NewLimiter(cfg.rate, cfg.burst, time.Now), MaxAttempts: cfg.maxAttempts,
		Now: time.Now, Sleep: job.SleepContext, Rand: mrand.Int64N, Log: log,
	}
	return c, nil
}

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
	plan, reportPath, baseURL, keyFile, resume, nullToken, logFormat, logLevel, undoPlan string
	dryRun                                                                               dryRunMode
	rate                                                                                 float64
	burst, workers, maxAttempts, maxErrors, shards, shardIndex                           int
	timeout                                                                              time.Duration
	skipInvalid, sandbox, showVersion, noSnapshot                                        bool
	started                                                                              time.Time
	// reassign export
	export                       bool
	out, countryCode, numberType string
}

// snapshotWanted: a live run or a dry run against the workspace reads it first.
func (c *config) snapshotWanted() bool { return !c.noSnapshot && c.dryRun != dryRunClient }

// snapshotNeeder names the option that cannot work without the reads, if any.
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

// option is one row of the flag table: the flag, its environment variable, its default
// and what it means. p is a *string, *int, *float64, *bool, *time.Duration or flag.Value.
type option struct {
	name, env, def, usage string
	p                     any
}

// options is the flag table, in the order the environment is applied and --help lists.
func (c *config) options() []option {
	opts := []option{
		{"plan", "REASSIGN_PLAN", "", "plan CSV file (required); - reads stdin", &c.plan},
		{"report", "REASSIGN_REPORT", "", "report CSV file; - writes stdout (default reassign-report-<UTC time>.csv); never overwritten", &c.reportPath},
		{"dry-run", "REASSIGN_DRY_RUN", "", "validate and report what would be sent, offline; =server reads the workspace first; no write either way", &c.dryRun},
		{"rate", "REASSIGN_RATE", "5", "requests per second, all workers and retries together; 0 = no ceiling", &c.rate},
		{"burst", "REASSIGN_BURST", "1", "token-bucket burst", &c.burst},
		{"workers", "REASSIGN_WORKERS", "4", "requests in flight at most", &c.workers},
		{"max-attempts", "REASSIGN_MAX_ATTEMPTS", "5", "requests per row at most", &c.maxAttempts},
		{"timeout", "REASSIGN_TIMEOUT", "30s", "per request", &c.timeout},
		{"base-url", "DIALNEXA_BASE_URL", "https://api.dialnexa.com/v1", "API base URL", &c.baseURL},
		{"api-key-file", "DIALNEXA_API_KEY_FILE", "", "file holding the API key (else DIALNEXA_API_KEY)", &c.keyFile},
		{"resume", "REASSIGN_RESUME", "", "an earlier report, a folder of reports or a glob: rows recorded as updated or skipped with the same values are skipped", &c.resume},
		{"skip-invalid", "REASSIGN_SKIP_INVALID", "", "run the valid rows and report the invalid ones, instead of refusing the plan", &c.skipInvalid},
		{"null-token", "REASSIGN_NULL_TOKEN", "null", `cell text that means "send null"`, &c.nullToken},
		{"max-errors", "REASSIGN_MAX_ERRORS", "", "stop sending after N rows not_found, rejected or forbidden; 0 = no limit", &c.maxErrors},
		{"shards", "REASSIGN_SHARDS", "1", "split the plan into N shards by id hash", &c.shards},
		{"shard-index", "JOB_COMPLETION_INDEX", "", "the shard this run handles, 0..shards-1", &c.shardIndex},
		{"log-format", "REASSIGN_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)", &c.logFormat},
		{"log-level", "REASSIGN_LOG_LEVEL", "info", "debug, info, warn or error", &c.logLevel},
		{"no-snapshot", "REASSIGN_NO_SNAPSHOT", "", "skip reading the workspace (numbers and agents) before the first write", &c.noSnapshot},
		{"undo-plan", "REASSIGN_UNDO_PLAN", "", "write a plan that puts back the old values of every number the run changes", &c.undoPlan},
	}
	if c.export {
		opts = append(opts,
			option{"out", "REASSIGN_EXPORT_OUT", "", "export: the CSV file to write (required); - writes stdout", &c.out},
			option{"country-code", "REASSIGN_EXPORT_COUNTRY_CODE", "", "export: only numbers of this country (e.g. IN)", &c.countryCode},
			option{"type", "REASSIGN_EXPORT_TYPE", "", "export: only numbers of this type (e.g. local)", &c.numberType})
	}
	return append(opts,
		option{"sandbox", "", "", "run against the built-in simulated workspace; no key needed", &c.sandbox},
		option{"version", "", "", "print the version and exit", &c.showVersion})
}

// maxShards is Kubernetes' limit on the completions of an Indexed Job.
const maxShards = 100_000

// parseConfig reads the flags, with their environment variables as defaults. --help
// prints the usage on stdout and returns flag.ErrHelp; any other error is a usageError.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (*config, error) {
	cfg := &config{dryRun: dryRunNone, started: time.Now()}
	if len(args) > 0 && args[0] == "export" {
		cfg.export, args = true, args[1:]
	}
	fs := flag.NewFlagSet("reassign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	table := cfg.options()
	for _, o := range table {
		switch p := o.p.(type) {
		case *string:
			fs.StringVar(p, o.name, "", o.usage)
		case *int:
			fs.IntVar(p, o.name, 0, o.usage)
		case *float64:
			fs.Float64Var(p, o.name, 0, o.usage)
		case *bool:
			fs.BoolVar(p, o.name, false, o.usage)
		case *time.Duration:
			fs.DurationVar(p, o.name, 0, o.usage)
		case flag.Value:
			fs.Var(p, o.name, o.usage)
		}
		if o.def != "" {
			fs.Set(o.name, o.def)
			fs.Lookup(o.name).DefValue = o.def
		}
	}
	for _, o := range table { // in table order: the first bad variable is always the same
		if v := getenv(o.env); o.env != "" && v != "" {
			if err := fs.Set(o.name, v); err != nil {
				return nil, usageError{fmt.Errorf("$%s: %v", o.env, err)}
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, table)
			return nil, err
		}
		return nil, usageError{err}
	}
	if err := cfg.check(fs.Args()); err != nil {
		return nil, usageError{err}
	}
	cfg.nullToken = strings.TrimSpace(cfg.nullToken)
	return cfg, nil
}

// check refuses a configuration that cannot run, before anything is read.
func (c *config) check(rest []string) error {
	switch {
	case c.showVersion:
		return nil
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q (flags start with --)", rest[0])
	case c.export && c.out == "":
		return errors.New("export: --out is required")
	case !c.export && c.plan == "":
		return errors.New("--plan is required")
	case c.noSnapshot && c.snapshotNeeder() != "":
		return fmt.Errorf("%s reads the workspace first: it cannot go with --no-snapshot", c.snapshotNeeder())
	case c.undoPlan != "" && c.dryRun != dryRunNone:
		return errors.New("--undo-plan needs a live run: a dry run changes nothing to undo")
	case !c.export && report.SameFile(c.reportName(), c.undoPlan):
		return fmt.Errorf("--report and --undo-plan name the same file (%s): give each its own", c.undoPlan)
	case c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0):
		return fmt.Errorf("--rate must be 0 (no ceiling) or a positive number, not %v", c.rate)
	case c.burst < 1:
		return fmt.Errorf("--burst must be at least 1, not %d", c.burst)
	case c.workers < 1 || c.workers > 256:
		return fmt.Errorf("--workers must be between 1 and 256, not %d", c.workers)
	case c.maxAttempts < 1:
		return fmt.Errorf("--max-attempts must be at least 1, not %d", c.maxAttempts)
	case c.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, not %v", c.timeout)
	case c.maxErrors < 0:
		return fmt.Errorf("--max-errors must be 0 (no limit) or more, not %d", c.maxErrors)
	case c.shards < 1 || c.shards > maxShards:
		return fmt.Errorf("--shards must be between 1 and %d, not %d", maxShards, c.shards)
	case c.shardIndex < 0 || c.shardIndex >= c.shards:
		return fmt.Errorf("--shard-index must be between 0 and %d (--shards %d), not %d", c.shards-1, c.shards, c.shardIndex)
	case strings.TrimSpace(c.nullToken) == "":
		return errors.New("--null-token must not be empty")
	case c.logFormat != "auto" && c.logFormat != "json" && c.logFormat != "console":
		return fmt.Errorf("--log-format must be json, console or auto, not %q", c.logFormat)
	case c.logLevel != "debug" && c.logLevel != "info" && c.logLevel != "warn" && c.logLevel != "error":
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.logLevel)
	}
	return nil
}

func printUsage(w io.Writer, table []option) {
	fmt.Fprintf(w, "Usage: reassign --plan PLAN.csv [flags]\n       reassign export --out FILE [--country-code CC] [--type TYPE] [flags]\n\nApplies a CSV plan of phone-number changes through the DialNexa API and writes a CSV report;\nexport writes the workspace's numbers as a plan to edit.\n\nFlags (each also read from the environment variable shown; the flag wins):\n")
	for _, o := range table {
		env, def := "", ""
		if o.env != "" {
			env = "  [$" + o.env + "]"
		}
		if o.def != "" {
			def = " (default " + o.def + ")"
		}
		fmt.Fprintf(w, "  --%s%s\n      %s%s\n", o.name, env, o.usage, def)
	}
	fmt.Fprintf(w, "\nExit codes: 0 done, 3 some rows not found/rejected/invalid, 64 usage, 65 bad plan,\n75 interrupted or rows failed (rerun with --resume), 77 key refused, 78 configuration refused.\n")
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

// isTerminal reports whether w is a terminal (not a file, a pipe or /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
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
