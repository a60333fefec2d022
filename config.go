package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/cell"
	"reassign/job/planfile"
	"reassign/job/sandbox"
	"reassign/report"
	"reassign/report/metrics"
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
	html, logFile, pushgateway, metricsFile, metricsName                                 string
	columns                                                                              columnsFlag
	ignoreColumns                                                                        titlesFlag
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
	// set holds the flags whose value is not their default (from the command line or
	// the environment), by name, as the flag prints it: the end rebuilds the next
	// command from them.
	set map[string]string
	cmd command
	// The command, as the code that predates cmd asks for it: one of these is cmd.
	export, verify, agents, report bool
	// reassign export and reassign agents
	out, countryCode, numberType string
	// reassign report: the reports and summaries its page (html) is made of
	files []string
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
		Str("columns", c.columns.String()).Str("ignore_columns", c.ignoreColumns.String()).Str("sheet", c.sheet).Str("sandbox_state", c.sandboxState).
		Str("html", c.html).Str("log_file", c.logFile).Str("pushgateway", gatewayShown(c.pushgateway)).
		Str("metrics_file", c.metricsFile).Str("metrics_name", c.metricsName)
}

// command names what the run does: run (apply a plan), verify, export, agents or report.
func (c *config) command() string { return c.cmd.name() }

// asks reports whether the run puts its question before the first write: a live run
// (not a dry run, nor another command) that a person started at a terminal (stdin is
// one; stderr may go anywhere), unless --yes.
func (c *config) asks(atTerminal bool) bool {
	return atTerminal && !c.yes && c.dryRun == dryRunNone && c.cmd == cmdRun
}

// columnsFlag is --columns: FIELD=HEADER pairs, checked as they are set.
type columnsFlag struct{ planfile.Columns }

func (c *columnsFlag) String() string { return c.Columns.String() }
func (c *columnsFlag) Set(s string) (err error) {
	c.Columns, err = planfile.ParseColumns(s)
	return err
}

// titlesFlag is --ignore-columns: column titles, checked as they are set.
type titlesFlag struct{ planfile.Titles }

func (t *titlesFlag) String() string { return t.Titles.String() }
func (t *titlesFlag) Set(s string) (err error) {
	t.Titles, err = planfile.ParseTitles(s)
	return err
}

// planOptions are the plan reader's settings.
func (c *config) planOptions() planfile.Options {
	return planfile.Options{NullToken: c.nullToken, Columns: c.columns.Columns, IgnoreColumns: c.ignoreColumns.Titles, Sheet: c.sheet, Name: c.plan}
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
	// Opened as soon as the outputs are checked (Outputs.Begin), so that it holds the
	// command's first lines.
	o.Add(report.Output{Flag: "--log-file", Name: c.logFile, Kind: report.Appended})
	if c.export || c.agents {
		o.Add(report.Output{Flag: "--out", Name: c.out, Kind: report.New})
		return o
	}
	o.Add(report.Output{Flag: "--report", Name: c.reportName(), Kind: report.New})
	o.Add(report.Output{Flag: "--undo-plan", Name: c.undoPlanName(), Kind: report.New})
	o.Add(report.Output{Flag: "--summary", Name: c.summary, Kind: report.New, End: report.WriteSummary, Event: "summary_file"})
	o.Add(report.Output{Flag: "--termination-log", Name: report.TerminationLogPath(c.terminationLog, report.DefaultTerminationLog),
		Default: c.terminationLog == "", Kind: report.Overwritten, End: report.WriteTerminationMessage, Event: "termination_log"})
	o.Add(report.Output{Flag: "--html", Name: c.html, Kind: report.New, End: c.writeHTML, Event: "html"})
	o.Add(report.Output{Flag: "--metrics-file", Name: c.metricsFile, Kind: report.Replaced, End: c.writeMetrics, Event: "metrics_file"})
	return o
}

// inputs are the files the command reads, which no output may name: the plan, the key
// file, and the reports --resume names as the command starts (resume: the run reads
// these, not the pattern again).
func (c *config) inputs() (in []report.Input, resume []string, err error) {
	if c.export || c.agents {
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

// options is the flag table: one row a flag, saying which commands take it, where help
// lists it, its value's placeholder, its environment variable and its default. The
// environment is applied in this order, so the first bad variable is always the same.
// A flag that means one thing to one command and another to another (export's --out
// and agents') is a row each, for commands apart.
func (c *config) options() []option {
	return []option{
		// What the plan is and how to read it.
		{name: "plan", arg: "FILE", env: "REASSIGN_PLAN", group: groupPlan, cmds: cmdPlans, p: &c.plan,
			usage: "the plan, CSV or .xlsx (required); - reads stdin"},
		{name: "columns", arg: "FIELD=TITLE,...", env: "REASSIGN_COLUMNS", group: groupPlan, cmds: cmdPlans, p: &c.columns,
			usage: "the plan's own column titles, e.g. phone_number=Rufnummer,agent=Ziel-Agent (fields: " + strings.Join(planfile.Fields, ", ") + ")"},
		{name: "ignore-columns", arg: "TITLE,...", env: "REASSIGN_IGNORE_COLUMNS", group: groupPlan, cmds: cmdPlans, p: &c.ignoreColumns,
			usage: `the plan's columns not to read ("a, b" for a title with a comma); a column whose title looks like a field's is refused unless --columns maps it or it is named here`},
		{name: "sheet", arg: "NAME", env: "REASSIGN_SHEET", group: groupPlan, cmds: cmdPlans, p: &c.sheet,
			usage: "the sheet of an .xlsx plan to read, hidden or not (default: the first visible sheet)"},
		{name: "null-token", arg: "TEXT", env: "REASSIGN_NULL_TOKEN", def: "null", group: groupPlan, cmds: cmdAll, p: &c.nullToken,
			usage: `cell text that means "send null" (detach the agent, clear the nickname); a value equal to it in a CSV the job writes is marked, so that it reads back as text`},
		{name: "skip-invalid", env: "REASSIGN_SKIP_INVALID", group: groupPlan, cmds: cmdPlans, p: &c.skipInvalid,
			usage: "run the valid rows and report the invalid ones, instead of refusing the plan (verify reports them either way)"},

		// How a run goes.
		{name: "resume", arg: "REPORT", env: "REASSIGN_RESUME", group: groupRun, cmds: cmdRun, p: &c.resume,
			usage: "an earlier report, a folder of reports or a glob: rows recorded as updated or skipped with the same values are skipped"},
		{name: "shards", arg: "N", env: "REASSIGN_SHARDS", def: "1", group: groupRun, cmds: cmdRun, p: &c.shards,
			usage: "split the plan into N shards by id hash"},
		{name: "shard-index", arg: "I", env: "JOB_COMPLETION_INDEX", group: groupRun, cmds: cmdRun, p: &c.shardIndex,
			usage: "the shard this run handles, 0..shards-1 (a Kubernetes Indexed Job sets the variable)"},
		{name: "no-snapshot", env: "REASSIGN_NO_SNAPSHOT", group: groupRun, cmds: cmdRun, p: &c.noSnapshot,
			usage: "skip reading the workspace (numbers and agents) before the first write"},

		// What keeps a run from doing harm.
		{name: "dry-run", arg: "[=server]", env: "REASSIGN_DRY_RUN", group: groupSafety, cmds: cmdRun, p: &c.dryRun,
			usage: "validate and report what would be sent, offline; =server reads the workspace first; no write either way"},
		{name: "limit", arg: "N", env: "REASSIGN_LIMIT", group: groupSafety, cmds: cmdRun, p: &c.limit,
			usage: "send at most N rows that need a write (a canary); the later ones are not_attempted, and --resume runs them"},
		{name: "max-errors", arg: "N|N%", env: "REASSIGN_MAX_ERRORS", def: "0", group: groupSafety, cmds: cmdRun, p: &c.maxErrors,
			usage: "rows not_found, rejected or forbidden allowed: N, or a percentage of the rows sent (2%); without --waves or --atomic the run stops sending once reached; 0 = no limit (with --atomic: none)"},
		{name: "undo-plan", arg: "FILE", env: "REASSIGN_UNDO_PLAN", group: groupSafety, cmds: cmdRun, p: &c.undoPlan,
			usage: "write a plan that puts back the old values of every number the run changes; never overwritten"},
		{name: "waves", arg: "LIST", env: "REASSIGN_WAVES", group: groupSafety, cmds: cmdRun, p: &c.waves,
			usage: "send the rows that need a write in cumulative waves (1,10%,100%), re-reading and checking each before the next; a failed check stops the run"},
		{name: "atomic", env: "REASSIGN_ATOMIC", group: groupSafety, cmds: cmdRun, p: &c.atomic,
			usage: "if a wave's check fails, a row fails, or row errors pass --max-errors, put back every number the run changed (exit 3; 4 when some cannot be)"},
		{name: "yes", env: "REASSIGN_YES", group: groupSafety, cmds: cmdRun, p: &c.yes,
			usage: "never ask before the first write (a live run whose stdin is a terminal asks Apply? [y/N] on it)"},

		// What the command writes.
		{name: "report", arg: "FILE", env: "REASSIGN_REPORT", group: groupOutput, cmds: cmdPlans, p: &c.reportPath,
			usage: "the report CSV; - writes stdout (default reassign-report-<UTC time>.csv, verify: reassign-verify-<UTC time>.csv); never overwritten"},
		{name: "summary", arg: "FILE", env: "REASSIGN_SUMMARY", group: groupOutput, cmds: cmdPlans, p: &c.summary,
			usage: "write the summary as one JSON object to this file; - writes stdout; never overwritten"},
		{name: "termination-log", arg: "FILE", env: "REASSIGN_TERMINATION_LOG", group: groupOutput, cmds: cmdPlans, p: &c.terminationLog,
			usage: "file for a one-line summary at the end (default /dev/termination-log when it exists, as in a Kubernetes pod); - for none"},
		{name: "out", arg: "FILE", env: "REASSIGN_EXPORT_OUT", group: groupOutput, cmds: cmdExport, p: &c.out,
			usage: "the CSV file to write (required); - writes stdout; never overwritten"},
		{name: "country-code", arg: "CC", env: "REASSIGN_EXPORT_COUNTRY_CODE", group: groupOutput, cmds: cmdExport, p: &c.countryCode,
			usage: "only numbers of this country (e.g. IN)"},
		{name: "type", arg: "TYPE", env: "REASSIGN_EXPORT_TYPE", group: groupOutput, cmds: cmdExport, p: &c.numberType,
			usage: "only numbers of this type (e.g. local)"},
		{name: "out", arg: "FILE", env: "REASSIGN_AGENTS_OUT", group: groupOutput, cmds: cmdAgents, p: &c.out,
			usage: "the CSV file to write (default: stdout); never overwritten"},
		{name: "html", arg: "FILE", env: "REASSIGN_HTML", group: groupOutput, cmds: cmdReport, p: &c.html,
			usage: "the HTML page to write (required); - writes stdout; never overwritten"},
		// The end of a run, a dry run or verify: its page and its metrics.
		{name: "html", arg: "FILE", env: "REASSIGN_HTML", group: groupOutput, cmds: cmdPlans, p: &c.html,
			usage: "write the run's report as one self-contained HTML page to this file at the end; - writes stdout; never overwritten"},
		{name: "pushgateway", arg: "URL", env: "REASSIGN_PUSHGATEWAY", group: groupOutput, cmds: cmdPlans, p: &c.pushgateway,
			usage: "push the run's metrics at the end to this Prometheus Pushgateway (http://host:9091); a failed push is a warning"},
		{name: "metrics-file", arg: "FILE", env: "REASSIGN_METRICS_FILE", group: groupOutput, cmds: cmdPlans, p: &c.metricsFile,
			usage: "write the run's metrics at the end to this file, for node exporter's textfile collector (replaced whole); - writes stdout"},
		{name: "metrics-name", arg: "NAME", env: "REASSIGN_METRICS_NAME", group: groupOutput, cmds: cmdPlans, p: &c.metricsName,
			usage: "the plan label of the metrics (default: the plan's file name; stdin for -)"},

		// Where the workspace is and how hard to press it.
		{name: "base-url", arg: "URL", env: "DIALNEXA_BASE_URL", def: "https://api.dialnexa.com/v1", group: groupConnection, cmds: cmdReads, p: &c.baseURL,
			usage: "the API's base URL: https, or http on a loopback host"},
		{name: "api-key-file", arg: "FILE", env: "DIALNEXA_API_KEY_FILE", group: groupConnection, cmds: cmdReads, p: &c.keyFile,
			usage: "file holding the API key (else $DIALNEXA_API_KEY)"},
		{name: "rate", arg: "N", env: "REASSIGN_RATE", def: "5", group: groupConnection, cmds: cmdReads, p: &c.rate,
			usage: "requests per second, all workers and retries together; 0 = no ceiling"},
		{name: "burst", arg: "N", env: "REASSIGN_BURST", def: "1", group: groupConnection, cmds: cmdReads, p: &c.burst,
			usage: "token-bucket burst"},
		{name: "workers", arg: "N", env: "REASSIGN_WORKERS", def: "4", group: groupConnection, cmds: cmdReads, p: &c.workers,
			usage: "requests in flight at most (1..256)"},
		{name: "max-attempts", arg: "N", env: "REASSIGN_MAX_ATTEMPTS", def: "5", group: groupConnection, cmds: cmdReads, p: &c.maxAttempts,
			usage: "requests per row or read at most"},
		{name: "timeout", arg: "DURATION", env: "REASSIGN_TIMEOUT", def: "30s", group: groupConnection, cmds: cmdReads, p: &c.timeout,
			usage: "per request"},
		{name: "sandbox", group: groupConnection, cmds: cmdReads, p: &c.sandbox,
			usage: "work against the built-in simulated workspace; no key needed"},
		{name: "sandbox-state", arg: "FILE", env: "REASSIGN_SANDBOX_STATE", group: groupConnection, cmds: cmdReads, p: &c.sandboxState,
			usage: "with --sandbox: keep the sandbox's workspace in this file between commands (created on first use)"},
		{name: "sandbox-numbers", arg: "N", group: groupConnection, cmds: cmdReads, p: &c.sandboxNumbers,
			usage: fmt.Sprintf("with --sandbox: start from N generated numbers (1..%s) instead of the demo workspace", humanize.Comma(sandbox.MaxGenerated))},

		{name: "log-format", arg: "FORMAT", env: "REASSIGN_LOG_FORMAT", def: "auto", group: groupLogging, cmds: cmdReads, p: &c.logFormat,
			usage: "json, console, or auto (console on a terminal)"},
		{name: "log-level", arg: "LEVEL", env: "REASSIGN_LOG_LEVEL", def: "info", group: groupLogging, cmds: cmdReads, p: &c.logLevel,
			usage: "debug, info, warn or error"},
		{name: "log-file", arg: "FILE", env: "REASSIGN_LOG_FILE", group: groupLogging, cmds: cmdReads, p: &c.logFile,
			usage: "append the JSON log lines to this file as well as the console"},

		{name: "version", group: groupOther, cmds: cmdAll, p: &c.showVersion,
			usage: "print the version and exit"},
	}
}

// gatewayErr is what is wrong with a --pushgateway URL; nil when Push can use it.
func gatewayErr(raw string) error {
	_, err := metrics.Gateway(raw)
	return err
}

// gatewayShown is a --pushgateway URL as logs show it: its password redacted.
func gatewayShown(raw string) string {
	if raw == "" {
		return ""
	}
	shown, err := metrics.Gateway(raw)
	if err != nil {
		return "(not a URL)"
	}
	return shown
}

// maxShards is Kubernetes' limit on the completions of an Indexed Job.
const maxShards = 100_000

// parseConfig reads the command and its flags, with their environment variables as
// defaults (a command reads only its own flags' variables). Help (--help, -h, reassign
// help [COMMAND]) is printed on stdout, and the error is then flag.ErrHelp; any other
// error is a usageError.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (*config, error) {
	if len(args) > 0 && args[0] == "help" {
		return nil, help(stdout, args[1:])
	}
	cmd, args := commandOf(args)
	cfg := &config{cmd: cmd, dryRun: dryRunNone, shards: 1, started: time.Now()} // shards: a run's flag only
	cfg.verify, cfg.export, cfg.agents, cfg.report = cmd == cmdVerify, cmd == cmdExport, cmd == cmdAgents, cmd == cmdReport
	table := cfg.options()
	mine := rowsOf(table, cmd)
	defaults := make([]string, len(mine)) // each value before the environment and the flags
	for i, o := range mine {
		if o.def != "" {
			if err := o.set(o.def); err != nil {
				return nil, fmt.Errorf("--%s: default %q: %w (a bug)", o.name, o.def, err)
			}
		}
		defaults[i] = o.value()
	}
	for _, o := range mine { // in table order: the first bad variable is always the same
		if v := getenv(o.env); o.env != "" && v != "" {
			if err := o.set(v); err != nil {
				return nil, usageError{fmt.Errorf("$%s (--%s): %w", o.env, o.name, err)}
			}
		}
	}
	rest, err := parseArgs(cmd, table, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, cmd, mine)
		return nil, err
	case err != nil:
		return nil, usageError{err}
	}
	if err := cfg.check(rest); err != nil {
		return nil, usageError{err}
	}
	cfg.nullToken = strings.TrimSpace(cfg.nullToken)
	cfg.set = map[string]string{}
	for i, o := range mine {
		if v := o.value(); v != defaults[i] {
			cfg.set[o.name] = v
		}
	}
	if cfg.agents && cfg.out == "" {
		cfg.out = "-"
	}
	return cfg, nil
}

// check refuses a configuration that cannot run, before anything is read.
func (c *config) check(rest []string) error {
	switch {
	case c.showVersion:
		return nil
	case c.report:
		return c.checkReport(rest)
	case len(rest) > 0:
		return unexpectedArgument(c.cmd, rest[0])
	case c.export && c.out == "":
		return errors.New("export: --out is required")
	case c.cmd&cmdPlans != 0 && c.plan == "":
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
	case c.html != "" && c.reportName() == "-":
		return errors.New("--html renders the page from the report file, and --report - writes no file: name a report file (--report FILE) to have both")
	case c.logFile == "-":
		return errors.New("--log-file - : the log lines already go to stderr; name a file")
	case c.pushgateway != "" && gatewayErr(c.pushgateway) != nil:
		return fmt.Errorf("--pushgateway: %v", gatewayErr(c.pushgateway))
	}
	return nil
}

// checkReport refuses a report command that cannot render: rest are the files to read.
func (c *config) checkReport(rest []string) error {
	switch {
	case c.html == "":
		return errors.New("report: --html is required")
	case len(rest) == 0:
		return errors.New("report: name the report files to render")
	case cell.CheckNullToken(strings.TrimSpace(c.nullToken)) != nil:
		return fmt.Errorf("report: --null-token %v", cell.CheckNullToken(strings.TrimSpace(c.nullToken)))
	}
	c.files = rest
	return nil
}
