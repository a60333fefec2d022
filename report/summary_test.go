package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
)

var t0 = time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)

// ending is an Ending of a run that sent 4 requests, one of them answered 429.
func ending(t *testing.T, summaryName string) *Ending {
	t.Helper()
	reqs := &pace.Requests{}
	for _, err := range []error{nil, nil, &dialnexa.APIError{StatusCode: 429}, &dialnexa.APIError{StatusCode: 404}} {
		reqs.Add(err)
	}
	e := &Ending{Command: "run", Plan: "plan.csv", Report: "r.csv", Requests: reqs, Started: t0}
	if summaryName != "" {
		outs, err := CreateOutputs(io.Discard, summaryName)
		if err != nil {
			t.Fatal(err)
		}
		e.SummaryTo(outs[0])
	}
	return e
}

func TestEndingSummaryFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "summary.json")
	e := ending(t, name)
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Updated: 2, job.NotFound: 1}, Outcomes: job.Outcomes, Rows: 3})
	e.Abort() // after Ran: keeps the file
	e.Finish(3, nil, t0.Add(1500*time.Millisecond), zerolog.Nop())
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(data, []byte("\n")) != 1 {
		t.Errorf("not one JSON object on one line: %q", data)
	}
	var got struct {
		Command   string           `json:"command"`
		Rows      int              `json:"rows"`
		Counts    map[string]int   `json:"counts"`
		ExitCode  int              `json:"exit_code"`
		Report    string           `json:"report"`
		ElapsedMS int64            `json:"elapsed_ms"`
		Requests  map[string]int64 `json:"requests"`
		Throttled int64            `json:"throttled"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if got.Command != "run" || got.Rows != 3 || got.ExitCode != 3 || got.Report != "r.csv" || got.ElapsedMS != 1500 || got.Throttled != 1 {
		t.Errorf("summary %+v", got)
	}
	if len(got.Counts) != len(job.Outcomes) || got.Counts["updated"] != 2 || got.Counts["not_found"] != 1 || got.Counts["failed"] != 0 {
		t.Errorf("counts %v: want every outcome of a run, present", got.Counts)
	}
	if got.Requests["total"] != 4 || got.Requests["2xx"] != 2 || got.Requests["4xx"] != 2 {
		t.Errorf("requests %v", got.Requests)
	}
}

// TestEndingAbort: a run refused before its rows leaves no summary file, as it leaves no
// report; its termination message still says why.
func TestEndingAbort(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "summary.json")
	e := ending(t, name)
	e.TerminationLog = filepath.Join(dir, "termination-log")
	e.Finish(65, errors.New("3 of 7 rows are invalid; nothing was sent"), t0, zerolog.Nop())
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the summary of a refused run was left behind: %v", err)
	}
	msg, err := os.ReadFile(e.TerminationLog)
	if want := "exit_code=65 command=run requests=4 throttled=1 elapsed_ms=0 error=\"3 of 7 rows are invalid; nothing was sent\"\n"; err != nil || string(msg) != want {
		t.Errorf("termination message %q (%v), want %q", msg, err, want)
	}
}

func TestEndingLine(t *testing.T) {
	e := ending(t, "")
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Matches: 7, job.Differs: 2}, Outcomes: job.VerifyOutcomes, Rows: 9,
		Stopped: errors.New("write report: disk full")})
	e.Command, e.Report = "verify", "my reports/v.csv"
	want := `exit_code=3 command=verify rows=9 matches=7 differs=2 requests=4 throttled=1 elapsed_ms=2000 report="my reports/v.csv" stopped="write report: disk full"`
	if got := e.Line(3, nil, t0.Add(2*time.Second)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// A huge error with line ends: still one line, within the limit, cut short.
	long := errors.New(strings.Repeat("line 12: agent_id agt_x is not an agent of this workspace\n", 200))
	got := e.Line(65, long, t0)
	if len(got)+1 > MaxTerminationMessage || strings.Contains(got, "\n") || !strings.Contains(got, `error="line 12`) || !strings.HasSuffix(got, `…"`) {
		t.Errorf("%d bytes: %.200s…", len(got), got)
	}
}

// TestEndingCannotWrite: files that cannot be written are logged; nothing panics, and
// the exit code is the caller's to keep.
func TestEndingCannotWrite(t *testing.T) {
	dir := t.TempDir()
	e := ending(t, filepath.Join(dir, "summary.json"))
	e.Ran(job.Summary{Counts: map[job.Outcome]int{}})
	e.summary.f.Close() // the file is gone from under the run
	e.TerminationLog = filepath.Join(dir, "no such folder", "termination-log")
	var logs bytes.Buffer
	e.Finish(75, nil, t0, zerolog.New(&logs))
	for _, ev := range []string{`"event":"summary_file"`, `"event":"termination_log"`} {
		if !strings.Contains(logs.String(), ev) || !strings.Contains(logs.String(), "the exit code stays 75") {
			t.Errorf("no %s event saying the exit code stays: %s", ev, logs.String())
		}
	}
}

func TestTerminationLogPath(t *testing.T) {
	exists := filepath.Join(t.TempDir(), "termination-log")
	os.WriteFile(exists, nil, 0o644)
	missing := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct{ flag, def, want string }{
		{"", exists, exists},
		{"", missing, ""},
		{"-", exists, ""},
		{"t.txt", exists, "t.txt"},
	} {
		if got := TerminationLogPath(tc.flag, tc.def); got != tc.want {
			t.Errorf("TerminationLogPath(%q, %q) = %q, want %q", tc.flag, tc.def, got, tc.want)
		}
	}
}
