// Command reassign applies a plan of DialNexa phone-number changes (inbound agent,
// nickname, label) through the API, rate-limited, and reports what happened to each row.
// The README and docs/ describe its behaviour. main only wires the packages: job/planfile reads
// the plan, job runs it through job/dialnexa, report writes what happened.
package main

import (
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

// Exit codes (docs/exit-codes.md).
const (
	exitOK        = 0
	exitBug       = 1
	exitRowErrors = 3  // some rows not_found, rejected, forbidden or invalid; or an atomic run rolled back
	exitNotBack   = 4  // an atomic run could not put every number back
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
		// double, which keeps a million-row run within 150 MiB. A run that stays under it
		// peaks at about the limit plus the binary's own pages (1 to 2 MiB): 92 MiB keeps
		// a 200,000-row run under 100.
		debug.SetMemoryLimit(92 << 20)
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
		fmt.Fprintf(stderr, "reassign: %v\n%s\n", err, helpHint(args))
		return exitUsage
	}
	switch {
	case cfg.showVersion:
		fmt.Fprintln(stdout, "reassign "+buildVersion())
		return exitOK
	case cfg.report: // reads reports already written, nothing else
		return reportCommand(cfg, stdout, stderr)
	}
	s := &session{cfg: cfg, getenv: getenv, stdin: stdin, outs: cfg.outputs(stdout), end: cfg.ending(buildVersion())}
	s.terminal = report.IsTerminal(stderr)
	console := stderr
	if s.terminal {
		s.bar = report.NewBar(stderr)
		defer s.bar.Clear()
		console = s.bar
	}
	s.sink = report.NewLogSink(console)
	defer s.sink.Hold(false)
	defer onHardStop(hardStop, s.sink, os.Exit)()
	s.log = report.NewLogger(s.sink, cfg.logFormat, cfg.logLevel, s.terminal, nil)
	if cfg.asks(report.IsTerminal(stdin)) {
		// On the controlling terminal: stderr may go to a file or a pipe.
		s.ask = report.Question(ctx, report.OpenTTY, stdin, stderr)
	}

	var code int
	if err = s.open(); err == nil {
		switch {
		case cfg.export:
			err = export(ctx, s)
		case cfg.agents:
			err = listAgents(ctx, s)
		default:
			code, err = apply(ctx, s)
		}
		// The sandbox saves its state file here: a save that fails decides the exit code.
		err = errors.Join(err, s.conn.close())
	}
	if err != nil {
		code = exitCodeFor(err)
		s.log.Error().Str("event", "fatal").Int("exit_code", code).Msg(err.Error())
	}
	s.end.ExitCode, s.end.Err, s.end.Finished = code, err, time.Now()
	s.conclude(ctx)
	return code
}

// session is one command's world: its settings, where it logs and whom it asks, its
// connection to the API and the files it writes. run builds it; apply and export work
// with it.
type session struct {
	cfg      *config
	log      zerolog.Logger
	sink     *report.LogSink     // the log lines, held during a run and flushed with the report
	terminal bool                // stderr is a terminal
	bar      *report.Bar         // the progress bar on a terminal; nil otherwise
	ask      func(string) bool   // the question before the first write; nil: never asked
	getenv   func(string) string // the environment, for the key
	stdin    io.Reader           // the plan, for --plan -
	outs     *report.Outputs     // every file the command writes (config.outputs)
	end      *report.Ending      // what the summary and the termination message say
	resume   []string            // the reports --resume names, as the command started
	conn     *connection         // set by open
}

// open checks the outputs against the files the command reads and one another, opens
// the log file, then connects. Nothing is read or sent before; a refused check leaves
// every file as it was (the log file aside, which is added to unless it clashes).
func (s *session) open() error {
	in, resume, err := s.cfg.inputs()
	if err != nil {
		return err
	}
	err = s.outs.Check(in...)
	if berr := s.outs.Begin(); berr != nil {
		return errors.Join(err, berr)
	}
	if f := s.outs.Get("--log-file"); f != nil && !errors.Is(err, report.ErrClash) {
		s.log = report.NewLogger(s.sink, s.cfg.logFormat, s.cfg.logLevel, s.terminal, f)
	}
	if err != nil {
		return err
	}
	s.resume = resume
	if s.conn, err = connect(s.cfg, s.log, s.getenv); err != nil {
		return err
	}
	s.end.Requests, s.end.BaseURL = s.conn.retrier.Requests, s.conn.baseURL
	s.end.Requests.OnThrottled = func() { s.end.Timeline.Throttled(time.Now()) }
	return nil
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
	case errors.As(err, &ue), errors.Is(err, filepath.ErrBadPattern), errors.Is(err, planfile.ErrUsage), errors.Is(err, report.ErrClash):
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
// 4 (an atomic run could not put every number back) > 78 (an output could not be
// written) > 3 (an atomic run put every number back, whatever made it) > 75 (failed
// rows) > 3 > 75 (rows not sent).
func exitCodeOf(s job.Summary) int {
	switch {
	case s.Interrupted:
		return exitTemp
	case s.Stop == job.StopKeyRefused || s.Counts[job.Unauthorized] > 0:
		return exitKey
	case s.Rollback == job.RollbackPartial:
		return exitNotBack
	case s.Stop == job.StopOutputFailed:
		return exitConfig
	case s.Rollback == job.RollbackComplete:
		return exitRowErrors
	case s.Counts[job.Failed] > 0:
		return exitTemp
	case s.Stop == job.StopMaxErrors, s.Count(job.Outcome.NeedsFix) > 0:
		return exitRowErrors
	case s.Counts[job.NotAttempted] > s.Withheld: // rows held back by --limit or a "no" need no rerun
		return exitTemp
	}
	return exitOK
}

// export writes the workspace as a plan-shaped CSV (`reassign export`); the file is
// kept only once every number is in it.
func export(ctx context.Context, s *session) error {
	if err := s.outs.Create(); err != nil {
		return err
	}
	cfg := s.cfg
	filter := dialnexa.ListFilter{CountryCode: cfg.countryCode, Type: cfg.numberType}
	// The agent column names each number's agent; without the names it stays empty, and
	// the agent_id column alone says it.
	agents, err := job.ReadAgents(ctx, s.conn.client, &s.conn.retrier)
	if err != nil && ctx.Err() == nil {
		s.log.Warn().Str("event", "agents").Str("error", err.Error()).Msg("could not read the workspace's agents; the export's agent column is empty")
	}
	requests := 1
	numbers, err := report.Export(s.outs.Get("--out"), cfg.nullToken, job.AgentNames(agents), func(write func([]dialnexa.PhoneNumber) error) (err error) {
		n, err := job.EachNumber(ctx, s.conn.client, &s.conn.retrier, filter, write)
		requests += n
		return err
	})
	if err == nil {
		err = s.outs.Close()
	}
	if err != nil {
		var apiErr *dialnexa.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w: %v", job.ErrKeyRefused, err)
		}
		return tempError{fmt.Errorf("export: %w (nothing was kept of %s)", err, cfg.out)}
	}
	s.outs.Keep()
	s.log.Info().Str("event", "summary").Int("numbers", numbers).Int("requests", requests).Str("out", cfg.out).
		Int("exit_code", exitOK).Bool("sandbox", cfg.sandbox).
		Msgf("exported %d numbers to %s in %d requests", numbers, cfg.out, requests)
	return nil
}

// connection is the API client and the retry policy every request shares.
type connection struct {
	client             *dialnexa.Client
	retrier            pace.Retrier
	baseURL, keySource string
	close              func() error // the sandbox saves its state file here
}

// connect finds the key (or starts the sandbox) and builds the client. Nothing is sent.
func connect(cfg *config, log zerolog.Logger, getenv func(string) string) (*connection, error) {
	c := &connection{baseURL: cfg.baseURL, close: func() error { return nil }, keySource: "env"}
	key := dialnexa.Secret(strings.TrimSpace(getenv("DIALNEXA_API_KEY")))
	var err error
	switch {
	case cfg.sandbox:
		sbx, err := sandbox.StartDemo(sandbox.DemoOptions{State: cfg.sandboxState, Numbers: cfg.sandboxNumbers})
		switch {
		case errors.Is(err, sandbox.ErrSeedConflict):
			return nil, usageError{err}
		case err != nil:
			return nil, configError{err}
		}
		c.baseURL, key, c.keySource = sbx.BaseURL, dialnexa.Secret(sbx.Key), "sandbox"
		c.close = func() error {
			saved, err := sbx.Close()
			if err != nil {
				return configError{err}
			}
			if saved {
				log.Info().Str("event", "sandbox_state").Str("file", cfg.sandboxState).Msg("sandbox state saved")
			}
			return nil
		}
		log.Info().Str("event", "sandbox").Str("base_url", c.baseURL).Str("state", cfg.sandboxState).Bool("created", sbx.Created).
			Int("numbers", sbx.Numbers).Msg("sandbox workspace started; no real number is touched")
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
