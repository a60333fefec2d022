package report

import (
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"reassign/job"
	"reassign/job/pace"
)

// DefaultTerminationLog is where Kubernetes reads a container's termination message.
const DefaultTerminationLog = "/dev/termination-log"

// MaxTerminationMessage is the most of a termination message Kubernetes keeps, in bytes.
const MaxTerminationMessage = 4096

// TerminationLogPath resolves --termination-log: "-" is none; "" is def when that file
// exists (Kubernetes creates it in every container), else none; anything else is itself.
func TerminationLogPath(flag, def string) string {
	switch flag {
	case "-":
		return ""
	case "":
		if _, err := os.Stat(def); err != nil {
			return ""
		}
		return def
	}
	return flag
}

// Ending is what the outputs written at the end of a command say (the --summary
// file, the termination message, the HTML page, the metrics) and what the end of a run
// says in words (Words): what ran, and how it ended. The caller fills it in as the
// command goes; Outputs.Finish hands it to each output's End.
type Ending struct {
	Command      string // "run" or "verify"
	DryRun       string // a run that sent no write: "client" (offline) or "server"; "" for none
	Plan, Report string
	Version      string
	Waves        string // the run's --waves, as given; "" without
	BaseURL      string // the workspace's API
	Sandbox      bool   // the built-in sandbox, whose BaseURL is a passing loopback address
	// The other files the command writes, "" for none: where the end says they are.
	UndoPlan, SummaryFile, HTML, LogFile string
	Requests                             *pace.Requests
	Started                              time.Time
	// Timeline counts the rows finished and the answers 429 per second; nil for none.
	Timeline *Timeline
	// Changes counts what the results changed and why rows did not change; nil for none.
	Changes *Changes
	// Agents names the workspace's agents by id, when the run read them (the HTML page
	// shows names beside ids).
	Agents map[string]string
	// Declined says a person answered no to the question before the first write.
	Declined bool
	// Next is what a person may run next, in the order the end says it.
	Next []Next
	// IgnoredColumns names the plan's columns the run did not read (those of the
	// job's own report and export aside), as their titles are written.
	IgnoredColumns []string
	// Summary is the run's, once it got to its rows (Ran); nil before.
	Summary *job.Summary
	// ExitCode, Err (what ended the command early, if anything) and Finished: how and
	// when it ended, set before the outputs are finished.
	ExitCode int
	Err      error
	Finished time.Time
}

// Next is a command a person may run after this one: what it is for ("To undo it")
// and the command line.
type Next struct {
	Why, Command string
}

// Ran records the run's summary.
func (e *Ending) Ran(s job.Summary) { e.Summary = &s }

// summaryJSON is the --summary file.
type summaryJSON struct {
	Command     string           `json:"command"`
	DryRun      string           `json:"dry_run,omitempty"`
	Plan        string           `json:"plan"`
	Report      string           `json:"report"`
	UndoPlan    string           `json:"undo_plan,omitempty"`
	HTML        string           `json:"html,omitempty"`
	Version     string           `json:"version"`
	BaseURL     string           `json:"base_url,omitempty"`
	Sandbox     bool             `json:"sandbox"`
	Rows        int              `json:"rows"`
	Counts      map[string]int   `json:"counts"`
	ExitCode    int              `json:"exit_code"`
	Interrupted bool             `json:"interrupted"`
	Stopped     string           `json:"stopped,omitempty"`
	Waves       string           `json:"waves,omitempty"`
	RolledBack  bool             `json:"rolled_back"`
	Error       string           `json:"error,omitempty"`
	ElapsedMS   int64            `json:"elapsed_ms"`
	Requests    map[string]int64 `json:"requests"`
	Throttled   int64            `json:"throttled"`
	StartedAt   string           `json:"started_at"`
	FinishedAt  string           `json:"finished_at"`
	// IgnoredColumns is the plan's columns the run did not read; [] for none.
	IgnoredColumns []string  `json:"ignored_columns"`
	Timeline       *Timeline `json:"timeline,omitempty"`
}

// WriteSummary writes the --summary file: one JSON object on one line. It is the End
// of a New output, written only for a run that got to its rows.
func WriteSummary(w io.Writer, e *Ending) error {
	s := e.Summary
	if s == nil {
		s = &job.Summary{}
	}
	out := summaryJSON{
		Command: e.Command, DryRun: e.DryRun, Plan: e.Plan, Report: e.Report, UndoPlan: e.UndoPlan, HTML: e.HTML,
		Version: e.Version, Sandbox: e.Sandbox, Timeline: e.Timeline, Rows: s.Rows, Counts: map[string]int{},
		ExitCode: e.ExitCode, Interrupted: s.Interrupted, ElapsedMS: e.Finished.Sub(e.Started).Milliseconds(),
		Waves: e.Waves, RolledBack: s.Rollback != job.NoRollback,
		Requests: e.Requests.ByClass(), Throttled: e.Requests.Throttled(),
		StartedAt: e.Started.UTC().Format(time.RFC3339Nano), FinishedAt: e.Finished.UTC().Format(time.RFC3339Nano),
		IgnoredColumns: append([]string{}, e.IgnoredColumns...),
	}
	if !e.Sandbox {
		out.BaseURL = e.BaseURL // the sandbox's address passes with it
	}
	for _, o := range s.Outcomes() {
		out.Counts[string(o)] = s.Counts[o]
	}
	if s.Stopped != nil {
		out.Stopped = s.Stopped.Error()
	}
	if e.Err != nil {
		out.Error = e.Err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// WriteTerminationMessage writes the termination message (Line) and its line end.
func WriteTerminationMessage(w io.Writer, e *Ending) error {
	_, err := io.WriteString(w, e.Line()+"\n")
	return err
}

// Line is the termination message: one line of key=value pairs, at most
// MaxTerminationMessage bytes with its line end (`exit_code=3 command=run rows=1000
// updated=990 conflict=2 unchanged=8 requests=1012 throttled=0 elapsed_ms=84210
// report=/reports/x.csv`): counts only of the outcomes that occurred; error (what ended
// the run early) last, cut short if it must be.
func (e *Ending) Line() string {
	var b strings.Builder
	add := func(k, v string) bool {
		kv := k + "=" + logfmtValue(v)
		if b.Len()+1+len(kv) > MaxTerminationMessage-1 { // -1: the line end
			return false
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv)
		return true
	}
	add("exit_code", strconv.Itoa(e.ExitCode))
	add("command", e.Command)
	if s := e.Summary; s != nil {
		add("rows", strconv.Itoa(s.Rows))
		for _, o := range s.Outcomes() {
			if n := s.Counts[o]; n > 0 {
				add(string(o), strconv.Itoa(n))
			}
		}
		if s.Interrupted {
			add("interrupted", "true")
		}
	}
	add("requests", strconv.FormatInt(e.Requests.ByClass()["total"], 10))
	add("throttled", strconv.FormatInt(e.Requests.Throttled(), 10))
	add("elapsed_ms", strconv.FormatInt(e.Finished.Sub(e.Started).Milliseconds(), 10))
	if e.Summary != nil {
		add("report", e.Report)
		if e.Summary.Stopped != nil {
			add("stopped", e.Summary.Stopped.Error())
		}
	}
	if e.Err != nil {
		// The longest field: shortened until it fits.
		msg := []rune(e.Err.Error())
		n := len(msg)
		for !add("error", cut(msg, n)) && n > 0 {
			n /= 2
		}
	}
	return b.String()
}

// cut is the first n runes of s, followed by "…" when that is not all of s.
func cut(s []rune, n int) string {
	if n >= len(s) {
		return string(s)
	}
	return string(s[:n]) + "…"
}

// logfmtValue quotes v when it is empty or holds a space, a quote, an = or anything
// unprintable (a line end), so that the line stays one line of key=value pairs.
func logfmtValue(v string) string {
	if v == "" || strings.ContainsAny(v, " =\"\\") || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}
