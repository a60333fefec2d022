package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

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

// Ending is what a run leaves for whoever looks after it, besides the report: the
// --summary file (one JSON object) and the termination message (one line). Both are
// written whatever the exit code, and neither can change it: one that cannot be written
// is logged.
type Ending struct {
	Command      string // "run" or "verify"
	Plan, Report string
	Requests     *pace.Requests
	Started      time.Time
	// TerminationLog is the file the termination message goes to; "" for none.
	TerminationLog string

	summary *Output      // the --summary file, while it may still be written
	sum     *job.Summary // set once the run got to its rows
}

// SummaryTo is where the summary goes: out, created with the report. A run that never
// gets to its rows (Ran) leaves none, as it leaves no report: see Abort.
func (e *Ending) SummaryTo(out *Output) { e.summary = out }

// Ran records the run's summary: the summary file will be written.
func (e *Ending) Ran(s job.Summary) { e.sum = &s }

// Abort removes the summary file of a run refused before its rows (a file of nothing
// would only block the rerun, as an empty report would). After Ran it does nothing.
func (e *Ending) Abort() {
	if e.sum == nil && e.summary != nil {
		e.summary.Remove()
		e.summary = nil
	}
}

// summaryJSON is the --summary file.
type summaryJSON struct {
	Command     string           `json:"command"`
	Plan        string           `json:"plan"`
	Report      string           `json:"report"`
	Rows        int              `json:"rows"`
	Counts      map[string]int   `json:"counts"`
	ExitCode    int              `json:"exit_code"`
	Interrupted bool             `json:"interrupted"`
	Stopped     string           `json:"stopped,omitempty"`
	Error       string           `json:"error,omitempty"`
	ElapsedMS   int64            `json:"elapsed_ms"`
	Requests    map[string]int64 `json:"requests"`
	Throttled   int64            `json:"throttled"`
	StartedAt   string           `json:"started_at"`
	FinishedAt  string           `json:"finished_at"`
}

// Finish writes the summary file (if the run has one and got to its rows) and the
// termination message (if there is a file for it), for a run that ended at now with
// exit code code and, if it ended early, err.
func (e *Ending) Finish(code int, err error, now time.Time, log zerolog.Logger) {
	e.Abort() // a summary file of a run that never got to its rows goes
	if e.summary != nil {
		if werr := e.writeSummary(code, err, now); werr != nil {
			log.Error().Str("event", "summary_file").Str("error", werr.Error()).Int("exit_code", code).
				Msgf("could not write the summary; the exit code stays %d", code)
		}
	}
	if e.TerminationLog != "" {
		line := e.Line(code, err, now)
		if werr := os.WriteFile(e.TerminationLog, []byte(line+"\n"), 0o644); werr != nil {
			log.Warn().Str("event", "termination_log").Str("error", werr.Error()).Int("exit_code", code).
				Msgf("could not write the termination message; the exit code stays %d", code)
		}
	}
}

func (e *Ending) writeSummary(code int, err error, now time.Time) error {
	s := e.sum
	out := summaryJSON{
		Command: e.Command, Plan: e.Plan, Report: e.Report, Rows: s.Rows, Counts: map[string]int{},
		ExitCode: code, Interrupted: s.Interrupted, ElapsedMS: now.Sub(e.Started).Milliseconds(),
		Requests: e.Requests.ByClass(), Throttled: e.Requests.Throttled(),
		StartedAt: e.Started.UTC().Format(time.RFC3339Nano), FinishedAt: now.UTC().Format(time.RFC3339Nano),
	}
	for _, o := range s.Kinds() {
		out.Counts[string(o)] = s.Counts[o]
	}
	if s.Stopped != nil {
		out.Stopped = s.Stopped.Error()
	}
	if err != nil {
		out.Error = err.Error()
	}
	f := e.summary
	e.summary = nil
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	if werr := enc.Encode(out); werr != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", f.Name, werr)
	}
	return f.Close()
}

// Line is the termination message: one line of key=value pairs, at most
// MaxTerminationMessage bytes with its line end (`exit_code=3 command=run rows=1000
// updated=990 conflict=2 unchanged=8 requests=1012 throttled=0 elapsed_ms=84210
// report=/reports/x.csv`): counts only of the outcomes that occurred; error (what ended
// the run early) last, cut short if it must be.
func (e *Ending) Line(code int, err error, now time.Time) string {
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
	add("exit_code", strconv.Itoa(code))
	add("command", e.Command)
	if s := e.sum; s != nil {
		add("rows", strconv.Itoa(s.Rows))
		for _, o := range s.Kinds() {
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
	add("elapsed_ms", strconv.FormatInt(now.Sub(e.Started).Milliseconds(), 10))
	if e.sum != nil {
		add("report", e.Report)
		if e.sum.Stopped != nil {
			add("stopped", e.sum.Stopped.Error())
		}
	}
	if err != nil {
		// The longest field: shortened until it fits.
		msg := []rune(err.Error())
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
