package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/cell"
	"reassign/job/planfile"
	"reassign/job/sandbox"
	"reassign/report"
)

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

// limitFlag is --limit: at least 1 when given; 0 when not (no limit).
type limitFlag int

func (l *limitFlag) String() string { return strconv.Itoa(int(*l)) }
func (l *limitFlag) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a whole number", s)
	case n < 1:
		return fmt.Errorf("must be at least 1, not %d (leave it out for no limit)", n)
	}
	*l = limitFlag(n)
	return nil
}

// wavesFlag is --waves: a list of cumulative waves, checked as it is set.
type wavesFlag struct{ job.Waves }

func (w *wavesFlag) Set(s string) (err error) {
	w.Waves, err = job.ParseWaves(s)
	return err
}

// allowanceFlag is --max-errors: a count of rows, or a percentage of the rows sent.
type allowanceFlag struct{ job.Allowance }

func (a *allowanceFlag) Set(s string) (err error) {
	a.Allowance, err = job.ParseAllowance(s)
	return err
}

type config struct {
	plan, reportPath, baseURL, keyFile, resume, nullToken, logFormat, logLevel, undoPlan string
	summary, terminationLog, sandboxState                                                string
	columns                                                                              columnsFlag
	sheet                                                                                string
	dryRun                                                                               dryRunMode
	rate                                                                                 float64
	burst, workers, maxAttempts, shards, shardIndex, sandboxNumbers                      int
	maxErrors                                                                            allowanceFlag
	limit                                                                                limitFlag
	waves                                                                                wavesFlag
	timeout                                                                              time.Duration
	skipInvalid, sandbox, showVersion, noSnapshot, yes, atomic                           bool
	started                                                                              time.Time
	// reassign export
	export                       bool
	out, countryCode, numberType string
	// reassign verify
	verify bool
}

// MarshalZerologObject logs the effective settings (never the key) in the start event.
func (c *config) MarshalZerologObject(e *zerolog.Event) {
	e.Str("plan", c.plan).Str("report", c.reportName()).Str("dry_run", string(c.dryRun)).
		Float64("rate", c.rate).Int("burst", c.burst).Int("workers", c.workers).
		Int("max_attempts", c.maxAttempts).Str("timeout", c.timeout.String()).Str("resume", c.resume).
		Bool("skip_invalid", c.skipInvalid).Str("null_token", c.nullToken).Str("max_errors", c.maxErrors.String()).
		Int("shards", c.shards).Int("shard_index", c.shardIndex).Bool("snapshot", c.snapshotWanted()).
		Str("undo_plan", c.undoPlanName()).Bool("sandbox", c.sandbox).Str("command", c.command()).
		Str("waves", c.waves.String()).Bool("atomic", c.atomic).
		Int("limit", int(c.limit)).Str("summary", c.summary).Bool("yes", c.yes).
		Str("columns", c.columns.String()).Str("sheet", c.sheet).Str("sandbox_state", c.sandboxState)
}

// command names what the run does: run (apply a plan), verify or export.
func (c *config) command() string {
	switch {
	case c.verify:
		return "verify"
	case c.export:
		return "export"
	}
	return "run"
}

// asks reports whether the run puts its question before the first write: a live run
// (not a dry run, verify or export) that a person watches (stdin and stderr are
// terminals), unless --yes.
func (c *config) asks(atTerminal bool) bool {
	return atTerminal && !c.yes && c.dryRun == dryRunNone && !c.verify && !c.export
}

// columnsFlag is --columns: FIELD=HEADER pairs, checked as they are set.
type columnsFlag struct{ planfile.Columns }

func (c *columnsFlag) String() string { return c.Columns.String() }
func (c *columnsFlag) Set(s string) (err error) {
	c.Columns, err = planfile.ParseColumns(s)
	return err
}

// planOptions are the plan reader's settings.
func (c *config) planOptions() planfile.Options {
	return planfile.Options{NullToken: c.nullToken, Columns: c.columns.Columns, Sheet: c.sheet, Name: c.plan}
}

// checkPlan refuses a run that cannot resolve the plan: need names what in it needs
// the workspace's reads (planfile's Plan.Needs). Offline, it says that the plan is
// checked for spelling only.
func (c *config) checkPlan(need string, log zerolog.Logger) error {
	switch {
	case need == "":
	case c.noSnapshot:
		return usageError{fmt.Errorf("--no-snapshot: %s needs the workspace's reads, which resolve phone numbers and agent names to ids", need)}
	case c.dryRun == dryRunClient && c.shards > 1:
		return usageError{fmt.Errorf("--shards: %s is split by the ids of its numbers, which an offline --dry-run does not read; use --dry-run=server", need)}
	case c.dryRun == dryRunClient:
		log.Warn().Str("event", "offline").Msgf("offline dry run: %s is checked for spelling only; phone numbers and agent names are resolved to ids against the workspace (--dry-run=server, or the run)", need)
	}
	return nil
}

// snapshotWanted: a live run or a dry run against the workspace reads it first.
func (c *config) snapshotWanted() bool { return !c.noSnapshot && c.dryRun != dryRunClient }

// snapshotNeeder names the option that cannot work without the reads, if any; reviewed
// says the plan has before_* columns, which are checked against the snapshot.
func (c *config) snapshotNeeder(reviewed bool) string {
	switch {
	case c.verify:
		return "verify"
	case c.dryRun == dryRunServer:
		return "--dry-run=server"
	case c.undoPlan != "":
		return "--undo-plan"
	case c.atomic:
		return "--atomic"
	case !c.waves.IsZero():
		return "--waves"
	case reviewed:
		return "a plan with before_* columns"
	}
	return ""
}

// undoPlanName is the undo plan's file: --undo-plan, or for an atomic run without one
// reassign-undo-<UTC time>.csv; "" for none.
func (c *config) undoPlanName() string {
	if c.undoPlan == "" && c.atomic {
		return strings.Replace(report.DefaultName(c.started), "reassign-report-", "reassign-undo-", 1)
	}
	return c.undoPlan
}

func (c *config) reportName() string {
	switch {
	case c.reportPath != "":
		return c.reportPath
	case c.verify:
		return strings.Replace(report.DefaultName(c.started), "reassign-report-", "reassign-verify-", 1)
	}
	return report.DefaultName(c.started)
}

// outputs declares the files the command writes, each once: their check walks this
// list, so an output flag is one entry here, whose kind says how it is written.
func (c *config) outputs(stdout io.Writer) *report.Outputs {
	o := report.NewOutputs(stdout)
	// The sandbox writes its state itself (beside it, then renamed), when the command
	// ends; it is listed here so that no other file may be it.
	o.Add(report.Output{Flag: "--sandbox-state", Name: c.sandboxState, Kind: report.Replaced})
	if c.export {
		o.Add(report.Output{Flag: "--out", Name: c.out, Kind: report.New})
		return o
	}
	o.Add(report.Output{Flag: "--report", Name: c.reportName(), Kind: report.New})
	o.Add(report.Output{Flag: "--undo-plan", Name: c.undoPlanName(), Kind: report.New})
	o.Add(report.Output{Flag: "--summary", Name: c.summary, Kind: report.New, End: report.WriteSummary, Event: "summary_file"})
	o.Add(report.Output{Flag: "--termination-log", Name: report.TerminationLogPath(c.terminationLog, report.DefaultTerminationLog),
		Default: c.terminationLog == "", Kind: report.Overwritten, End: report.WriteTerminationMessage, Event: "termination_log"})
	return o
}

// inputs are the files the command reads, which no output may name: the plan, the key
// file, and the reports --resume names as the command starts (resume: the run reads
// these, not the pattern again).
func (c *config) inputs() (in []report.Input, resume []string, err error) {
	if c.export {
		return []report.Input{{Flag: "--api-key-file", Name: c.keyFile}}, nil, nil
	}
	in = []report.Input{{Flag: "--plan", Name: c.plan}, {Flag: "--api-key-file", Name: c.keyFile}}
	if c.resume != "" {
		if resume, err = report.ResumeFiles(c.resume); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range resume {
		in = append(in, report.Input{Flag: "--resume", Name: name})
	}
	return in, resume, nil
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
		{"plan", "REASSIGN_PLAN", "", "plan file, CSV or .xlsx (required); - reads stdin", &c.plan},
		{"columns", "REASSIGN_COLUMNS", "", "the plan's own headers: FIELD=HEADER,... (fields: " + strings.Join(planfile.Fields, ", ") + ")", &c.columns},
		{"sheet", "REASSIGN_SHEET", "", "the sheet of an .xlsx plan to read (default: the first)", &c.sheet},
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
		{"max-errors", "REASSIGN_MAX_ERRORS", "0", "rows not_found, rejected or forbidden allowed: N, or a percentage of the rows sent (2%); without --waves or --atomic the run stops sending once reached; 0 = no limit (with --atomic: none)", &c.maxErrors},
		{"shards", "REASSIGN_SHARDS", "1", "split the plan into N shards by id hash", &c.shards},
		{"shard-index", "JOB_COMPLETION_INDEX", "", "the shard this run handles, 0..shards-1", &c.shardIndex},
		{"log-format", "REASSIGN_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)", &c.logFormat},
		{"log-level", "REASSIGN_LOG_LEVEL", "info", "debug, info, warn or error", &c.logLevel},
		{"no-snapshot", "REASSIGN_NO_SNAPSHOT", "", "skip reading the workspace (numbers and agents) before the first write", &c.noSnapshot},
		{"undo-plan", "REASSIGN_UNDO_PLAN", "", "write a plan that puts back the old values of every number the run changes", &c.undoPlan},
		{"limit", "REASSIGN_LIMIT", "", "send at most N rows that need a write (a canary); the later ones are not_attempted, and --resume runs them", &c.limit},
		{"waves", "REASSIGN_WAVES", "", "send the rows that need a write in cumulative waves (1,10%,100%), re-reading and checking each before the next; a failed check stops the run", &c.waves},
		{"atomic", "REASSIGN_ATOMIC", "", "if a wave's check fails, a row fails, or row errors pass --max-errors, put back every number the run changed (exit 3; 4 when some cannot be)", &c.atomic},
		{"summary", "REASSIGN_SUMMARY", "", "write the run's summary as one JSON object to this file; - writes stdout; never overwritten", &c.summary},
		{"termination-log", "REASSIGN_TERMINATION_LOG", "", "file for a one-line summary at the end (default /dev/termination-log when it exists, as in a Kubernetes pod); - for none", &c.terminationLog},
		{"yes", "REASSIGN_YES", "", "never ask before the first write (a live run whose stdin and stderr are terminals asks Apply? [y/N])", &c.yes},
	}
	if c.verify {
		// The flags of a run that reads the plan and the workspace: no write to shape.
		// no-snapshot is kept to be refused with its reason.
		takes := map[string]bool{"plan": true, "report": true, "rate": true, "burst": true, "workers": true,
			"max-attempts": true, "timeout": true, "base-url": true, "api-key-file": true, "null-token": true,
			"log-format": true, "log-level": true, "no-snapshot": true, "summary": true, "termination-log": true}
		opts = slices.DeleteFunc(opts, func(o option) bool { return !takes[o.name] })
	}
	if c.export {
		opts = append(opts,
			option{"out", "REASSIGN_EXPORT_OUT", "", "export: the CSV file to write (required); - writes stdout", &c.out},
			option{"country-code", "REASSIGN_EXPORT_COUNTRY_CODE", "", "export: only numbers of this country (e.g. IN)", &c.countryCode},
			option{"type", "REASSIGN_EXPORT_TYPE", "", "export: only numbers of this type (e.g. local)", &c.numberType})
	}
	return append(opts,
		option{"sandbox", "", "", "run against the built-in simulated workspace; no key needed", &c.sandbox},
		option{"sandbox-state", "REASSIGN_SANDBOX_STATE", "", "with --sandbox: keep the sandbox's workspace in this file between commands (created on first use)", &c.sandboxState},
		option{"sandbox-numbers", "", "", fmt.Sprintf("with --sandbox: start from N generated numbers (1..%d) instead of the demo workspace", sandbox.MaxGenerated), &c.sandboxNumbers},
		option{"version", "", "", "print the version and exit", &c.showVersion})
}

// maxShards is Kubernetes' limit on the completions of an Indexed Job.
const maxShards = 100_000

// parseConfig reads the flags, with their environment variables as defaults. --help
// prints the usage on stdout and returns flag.ErrHelp; any other error is a usageError.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (*config, error) {
	cfg := &config{dryRun: dryRunNone, shards: 1, started: time.Now()} // shards: verify has no such flag
	if len(args) > 0 && args[0] == "export" {
		cfg.export, args = true, args[1:]
	} else if len(args) > 0 && args[0] == "verify" {
		cfg.verify, args = true, args[1:]
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
	case c.noSnapshot && c.snapshotNeeder(false) != "":
		return fmt.Errorf("%s reads the workspace first: it cannot go with --no-snapshot", c.snapshotNeeder(false))
	case c.undoPlan != "" && c.dryRun != dryRunNone:
		return errors.New("--undo-plan needs a live run: a dry run changes nothing to undo")
	case !c.waves.IsZero() && c.dryRun != dryRunNone:
		return errors.New("--waves checks what each wave wrote: a dry run writes nothing (run --dry-run without it)")
	case c.atomic && c.dryRun != dryRunNone:
		return errors.New("--atomic puts back what a run wrote: a dry run writes nothing")
	case c.atomic && c.shards > 1:
		return errors.New("--atomic puts back what one run changed: it cannot go with --shards above 1, whose pods cannot roll back together")
	case c.atomic && c.undoPlan == "-":
		return errors.New("--atomic keeps its undo plan to finish a rollback by hand: give --undo-plan a file, not - (stdout)")
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
	case c.shards < 1 || c.shards > maxShards:
		return fmt.Errorf("--shards must be between 1 and %d, not %d", maxShards, c.shards)
	case c.shardIndex < 0 || c.shardIndex >= c.shards:
		return fmt.Errorf("--shard-index must be between 0 and %d (--shards %d), not %d", c.shards-1, c.shards, c.shardIndex)
	case cell.CheckNullToken(strings.TrimSpace(c.nullToken)) != nil:
		return fmt.Errorf("--null-token %v", cell.CheckNullToken(strings.TrimSpace(c.nullToken)))
	case !c.sandbox && c.sandboxState != "":
		return errors.New("--sandbox-state (or $REASSIGN_SANDBOX_STATE) keeps the sandbox's workspace: it goes with --sandbox only")
	case !c.sandbox && c.sandboxNumbers != 0:
		return errors.New("--sandbox-numbers seeds the sandbox's workspace: it goes with --sandbox only")
	case c.sandboxNumbers < 0 || c.sandboxNumbers > sandbox.MaxGenerated:
		return fmt.Errorf("--sandbox-numbers must be between 1 and %d, not %d", sandbox.MaxGenerated, c.sandboxNumbers)
	case c.logFormat != "auto" && c.logFormat != "json" && c.logFormat != "console":
		return fmt.Errorf("--log-format must be json, console or auto, not %q", c.logFormat)
	case c.logLevel != "debug" && c.logLevel != "info" && c.logLevel != "warn" && c.logLevel != "error":
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.logLevel)
	}
	return nil
}

func printUsage(w io.Writer, table []option) {
	fmt.Fprintf(w, "Usage: reassign --plan PLAN.csv|PLAN.xlsx [flags]\n       reassign verify --plan PLAN.csv|PLAN.xlsx [--report FILE] [flags]\n       reassign export --out FILE [--country-code CC] [--type TYPE] [flags]\n       reassign report --html OUT.html REPORT.csv... [SUMMARY.json...]\n\nApplies a plan (CSV or .xlsx) of phone-number changes through the DialNexa API and writes a CSV report;\nverify reports whether the workspace holds what a plan says, without a write;\nexport writes the workspace's numbers as a plan to edit;\nreport renders reports already written as one HTML page.\n\nFlags (each also read from the environment variable shown; the flag wins):\n")
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
	fmt.Fprintf(w, "\nExit codes: 0 done, 3 some rows not found/rejected/invalid/conflict (verify: not all match), or an\natomic run rolled back, 4 an atomic run could not put every number back (run its undo plan),\n64 usage, 65 bad plan, 75 interrupted or rows failed (rerun with --resume), 77 key refused,\n78 configuration refused.\n")
}
