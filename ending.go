package main

import (
	"context"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"reassign/job"
	"reassign/report"
	"reassign/report/html"
	"reassign/report/metrics"
)

// ending is what the end of the command will say, as far as the settings tell it; the
// command fills in the rest as it goes.
func (c *config) ending(version string) *report.Ending {
	e := &report.Ending{
		Command: c.command(), Plan: c.plan, Report: c.reportName(), Started: c.started, Version: version,
		Sandbox: c.sandbox, UndoPlan: c.undoPlanName(), SummaryFile: c.summary, Waves: c.waves.String(), HTML: c.html, LogFile: c.logFile,
		Timeline: report.NewTimeline(c.started), Changes: &report.Changes{},
	}
	if c.dryRun != dryRunNone {
		e.DryRun = string(c.dryRun)
	}
	return e
}

// conclude ends every command once its exit code is known: the outputs' Ends written
// (the summary, the termination message and the page first: after a SIGTERM the grace
// period runs), the metrics pushed (a push that fails is a warning), then the end in
// words (a run or verify that got to its rows), then the files closed, the log last.
func (s *session) conclude(ctx context.Context) {
	s.outs.WriteEnds(s.end, s.log)
	if !s.cfg.export {
		s.pushMetrics(ctx)
	}
	if !s.cfg.export && s.end.Err == nil && s.end.Summary != nil {
		s.end.Next = s.cfg.next(s.end)
		report.LogSummary(s.log, s.end)
	}
	s.outs.Finish(s.end, s.log)
}

// pushMetrics pushes the end's series to --pushgateway, if set. It is bounded
// (metrics.PushTimeout) and outlives a signal: an interrupted run is worth a push too.
func (s *session) pushMetrics(ctx context.Context) {
	if s.cfg.pushgateway == "" {
		return
	}
	// Push bounds itself (its context), and a client timeout would only race it.
	if err := metrics.Push(context.WithoutCancel(ctx), s.cfg.pushgateway, &http.Client{}, s.cfg.metricsRun(s.end)); err != nil {
		s.log.Warn().Str("event", "metrics_push").Str("error", err.Error()).Int("exit_code", s.end.ExitCode).
			Msgf("could not push the metrics; the exit code stays %d", s.end.ExitCode)
	}
}

// metricsRun is the end as metrics: every outcome of the command, 0 included (all of
// them at 0 for a command that never got to its rows).
func (c *config) metricsRun(e *report.Ending) metrics.Run {
	command, kinds := metrics.CommandRun, job.RunOutcomes
	switch {
	case c.verify:
		command, kinds = metrics.CommandVerify, job.VerifyOutcomes
	case c.dryRun != dryRunNone:
		command = metrics.CommandDryRun
	}
	var counts map[job.Outcome]int
	if e.Summary != nil {
		kinds, counts = e.Summary.Outcomes(), e.Summary.Counts
	}
	rows := make(map[string]int, len(kinds))
	for _, o := range kinds {
		rows[string(o)] = counts[o]
	}
	return metrics.Run{
		Command: command, Plan: metrics.PlanName(c.plan, c.metricsName), Shard: c.shardIndex, Rows: rows,
		Requests: metrics.RequestClasses(e.Requests.ByClass()), Throttled: e.Requests.Throttled(),
		Duration: e.Finished.Sub(e.Started), ExitCode: e.ExitCode, Finished: e.Finished,
	}
}

// writeMetrics is the --metrics-file's End: the file it replaces keeps its last success.
func (c *config) writeMetrics(w io.Writer, e *report.Ending) error {
	return metrics.Write(w, c.metricsRun(e), c.metricsFile)
}

// writeHTML is the --html page's End: the page of the report, closed by then.
func (c *config) writeHTML(w io.Writer, e *report.Ending) error {
	command, plan := e.Command, c.plan
	if e.DryRun != "" {
		command = "dry run"
	}
	if plan == "-" {
		plan = "stdin"
	}
	meta := html.Meta{
		Command: command, Plan: plan, BaseURL: e.BaseURL, Sandbox: e.Sandbox, Version: e.Version,
		Started: e.Started, Elapsed: e.Finished.Sub(e.Started), ExitCodes: []int{e.ExitCode},
		Reports: []string{e.Report}, Agents: e.Agents, Timeline: e.Timeline, Generated: e.Finished, Waves: e.Waves,
	}
	_, err := html.Render(w, meta, html.Files(c.nullToken, e.Report))
	return err
}

// target says, in the question before the first write, where the run writes and how
// it can be undone.
func (c *config) target(baseURL string) string {
	where := "workspace: " + baseURL
	if c.sandbox {
		where = "workspace: the sandbox (no real number is touched)"
	}
	undo := "undo plan: none (--undo-plan FILE keeps one)"
	switch name := c.undoPlanName(); name {
	case "":
	case "-":
		undo = "undo plan: on stdout"
	default:
		undo = "undo plan: " + name
	}
	return where + "\n" + undo
}

// connectionFlags are the flags that say where and how to reach the workspace, and how
// to log: the commands offered next keep them.
var connectionFlags = []string{"base-url", "api-key-file", "rate", "burst", "workers", "max-attempts", "timeout",
	"null-token", "log-format", "log-level", "log-file", "sandbox", "sandbox-state", "sandbox-numbers"}

// next is what the end offers to run next: the --resume command after an interruption,
// failed rows, a refused key or --limit; the undo command after a run with an undo
// plan; verify after a finished run; the live command after a dry run; after a verify
// that found rows differing, the run that writes them again. Each is this command's
// line rebuilt from its settings.
func (c *config) next(e *report.Ending) []report.Next {
	s := e.Summary
	switch {
	case e.Declined || s == nil:
		return nil
	case c.sandbox && c.sandboxState == "":
		return []report.Next{{Why: "The sandbox's workspace ended with this command; --sandbox-state FILE keeps it for the next one"}}
	case c.verify:
		return c.nextAfterVerify(e)
	case s.Rollback == job.RollbackComplete && e.UndoPlan != "" && e.UndoPlan != "-":
		verify := c.with(connectionFlags, map[string]string{"plan": e.UndoPlan})
		return []report.Next{{Why: "To check that every number is as it was before the run", Command: commandLine("verify", verify)}}
	case s.Rollback == job.RollbackPartial && e.UndoPlan != "" && e.UndoPlan != "-":
		undo := c.with(connectionFlags, map[string]string{"plan": e.UndoPlan})
		return []report.Next{{Why: "To put back the rest, where nobody changed a number since", Command: commandLine("", undo)}}
	case c.dryRun != dryRunNone:
		run := c.with(nil, map[string]string{"dry-run": "", "report": "",
			"summary": successor(c.set["summary"], "run"), "html": successor(c.set["html"], "run")})
		return []report.Next{{Why: "To run it", Command: commandLine("", run)}}
	}
	var next []report.Next
	resume := func(keepLimit bool) string {
		with := map[string]string{"resume": e.Report, "report": successor(c.reportPath, "resume"),
			"undo-plan": successor(c.set["undo-plan"], "resume"), "summary": successor(c.set["summary"], "resume"),
			"html": successor(c.set["html"], "resume")}
		if !keepLimit {
			with["limit"] = ""
		}
		return commandLine("", c.with(nil, with))
	}
	canResume := e.Report != "-"
	switch {
	case e.ExitCode == exitKey && canResume:
		next = append(next, report.Next{Why: "With a key the API accepts, to finish it", Command: resume(true)})
	case e.ExitCode == exitTemp && canResume:
		next = append(next, report.Next{Why: "To finish it", Command: resume(true)})
	case s.Withheld > 0 && canResume:
		next = append(next, report.Next{Why: "To send the rest", Command: resume(false)})
	case e.ExitCode == exitOK || e.ExitCode == exitRowErrors:
		verify := c.with(append([]string{"plan", "columns", "sheet", "ignore-columns", "skip-invalid"}, connectionFlags...), nil)
		next = append(next, report.Next{Why: "To check that the workspace holds the plan", Command: commandLine("verify", verify)})
	}
	if e.UndoPlan != "" && e.UndoPlan != "-" && s.Counts[job.Updated] > 0 {
		undo := c.with(connectionFlags, map[string]string{"plan": e.UndoPlan})
		next = append(next, report.Next{Why: "To put back every number it changed", Command: commandLine("", undo)})
	}
	return next
}

// nextAfterVerify: a verify that found rows differing offers its report as the plan
// (a reviewed plan: it writes only those rows, and only where nobody changed them
// since); an interrupted one, to verify again.
func (c *config) nextAfterVerify(e *report.Ending) []report.Next {
	switch {
	case e.ExitCode == exitTemp:
		again := c.with(nil, map[string]string{"report": successor(c.reportPath, "again"),
			"summary": successor(c.set["summary"], "again"), "html": successor(c.set["html"], "again")})
		return []report.Next{{Why: "To verify again", Command: commandLine("verify", again)}}
	case e.Summary.Counts[job.Differs] > 0 && e.Report != "-":
		rerun := c.with(connectionFlags, map[string]string{"plan": e.Report})
		return []report.Next{{Why: "To write the rows that differ again, where nobody changed them since", Command: commandLine("", rerun)}}
	}
	return nil
}

// with is the flags set on this command line (or only those named in keep, when keep is
// not nil), changed by change: a value there replaces the flag's, "" drops it.
func (c *config) with(keep []string, change map[string]string) map[string]string {
	vals := map[string]string{}
	if keep == nil {
		maps.Copy(vals, c.set)
	} else {
		for _, name := range keep {
			if v, ok := c.set[name]; ok {
				vals[name] = v
			}
		}
	}
	for name, v := range change {
		if v == "" {
			delete(vals, name)
		} else {
			vals[name] = v
		}
	}
	return vals
}

// commandLine is the command line of command ("" for a run, "verify") with the flags
// vals holds, in the order of that command's flag table, leaving out the flags it
// does not take; values are quoted for a POSIX shell where they need it.
func commandLine(command string, vals map[string]string) string {
	cmd := cmdRun
	parts := []string{"reassign"}
	if command != "" {
		cmd, _ = commandNamed(command)
		parts = append(parts, command)
	}
	for _, o := range rowsOf(new(config).options(), cmd) {
		v, ok := vals[o.name]
		if !ok || v == "" {
			continue
		}
		switch p := o.p.(type) {
		case *bool:
			if v == "true" {
				parts = append(parts, "--"+o.name)
			}
			continue
		case interface{ IsBoolFlag() bool }:
			if p.IsBoolFlag() {
				if v == "true" {
					parts = append(parts, "--"+o.name)
				} else {
					parts = append(parts, "--"+o.name+"="+shellQuote(v))
				}
				continue
			}
		}
		parts = append(parts, "--"+o.name, shellQuote(v))
	}
	return strings.Join(parts, " ")
}

// shellSafe are the values a POSIX shell reads as they are.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes v for a POSIX shell, where it needs it.
func shellQuote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// successorSuffix finds a name's -WORD or -WORDn suffix.
var successorSuffix = regexp.MustCompile(`-([a-z]+)([0-9]*)$`)

// successor is a new name for an output of the command offered next, beside name:
// run.csv gives run-resume.csv, then run-resume2.csv, run-resume3.csv. "" (the default
// name, a new one each time) and "-" (stdout) stay as they are.
func successor(name, word string) string {
	if name == "" || name == "-" {
		return name
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	if m := successorSuffix.FindStringSubmatch(base); m != nil && m[1] == word {
		n := 2
		if m[2] != "" {
			n, _ = strconv.Atoi(m[2])
			n++
		}
		return strings.TrimSuffix(base, m[0]) + "-" + word + strconv.Itoa(n) + ext
	}
	return base + "-" + word + ext
}
