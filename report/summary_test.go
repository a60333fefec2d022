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

// ending is the Ending of a run that sent 4 requests, one of them answered 429.
func ending() *Ending {
	reqs := &pace.Requests{}
	for _, err := range []error{nil, nil, &dialnexa.APIError{StatusCode: 429}, &dialnexa.APIError{StatusCode: 404}} {
		reqs.Add(err)
	}
	return &Ending{Command: "run", Plan: "plan.csv", Report: "r.csv", Requests: reqs, Started: t0, Finished: t0}
}

func TestWriteSummary(t *testing.T) {
	e := ending()
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Updated: 2, job.NotFound: 1}, Order: job.RunOutcomes, Rows: 3})
	e.ExitCode, e.Finished = 3, t0.Add(1500*time.Millisecond)
	e.IgnoredColumns = []string{"Notes", "Owner"}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, e); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
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
		Ignored   []string         `json:"ignored_columns"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if strings.Join(got.Ignored, "|") != "Notes|Owner" {
		t.Errorf("ignored_columns %q, want the plan's columns not read", got.Ignored)
	}
	buf.Reset()
	e.IgnoredColumns = nil
	if WriteSummary(&buf, e); !strings.Contains(buf.String(), `"ignored_columns":[]`) {
		t.Errorf("no column ignored: %s, want ignored_columns [] (present, empty)", buf.String())
	}
	if got.Command != "run" || got.Rows != 3 || got.ExitCode != 3 || got.Report != "r.csv" || got.ElapsedMS != 1500 || got.Throttled != 1 {
		t.Errorf("summary %+v", got)
	}
	if len(got.Counts) != len(job.RunOutcomes) || got.Counts["updated"] != 2 || got.Counts["not_found"] != 1 || got.Counts["failed"] != 0 {
		t.Errorf("counts %v: want every outcome of a run, present", got.Counts)
	}
	if got.Requests["total"] != 4 || got.Requests["2xx"] != 2 || got.Requests["4xx"] != 2 {
		t.Errorf("requests %v", got.Requests)
	}
}

// TestEndingRefused: a run refused before its rows leaves no summary file, as it leaves
// no report; its termination message still says why.
func TestEndingRefused(t *testing.T) {
	dir := t.TempDir()
	outs := NewOutputs(io.Discard)
	outs.Add(Output{Flag: "--summary", Name: filepath.Join(dir, "summary.json"), Kind: New, End: WriteSummary, Event: "summary_file"})
	outs.Add(Output{Flag: "--termination-log", Name: filepath.Join(dir, "termination-log"), Kind: Overwritten, End: WriteTerminationMessage, Event: "termination_log"})
	if err := outs.Check(); err != nil {
		t.Fatal(err)
	}
	if err := outs.Create(); err != nil {
		t.Fatal(err)
	}
	e := ending()
	e.ExitCode, e.Err = 65, errors.New("3 of 7 rows are invalid; nothing was sent")
	outs.Finish(e, zerolog.Nop())
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the summary of a refused run was left behind: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "termination-log"))
	if want := "exit_code=65 command=run requests=4 throttled=1 elapsed_ms=0 error=\"3 of 7 rows are invalid; nothing was sent\"\n"; err != nil || string(msg) != want {
		t.Errorf("termination message %q (%v), want %q", msg, err, want)
	}
}

func TestEndingLine(t *testing.T) {
	e := ending()
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Matches: 7, job.Differs: 2}, Order: job.VerifyOutcomes, Rows: 9,
		Stopped: errors.New("write report: disk full")})
	e.Command, e.Report = "verify", "my reports/v.csv"
	e.ExitCode, e.Finished = 3, t0.Add(2*time.Second)
	want := `exit_code=3 command=verify rows=9 matches=7 differs=2 requests=4 throttled=1 elapsed_ms=2000 report="my reports/v.csv" stopped="write report: disk full"`
	if got := e.Line(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// A huge error with line ends: still one line, within the limit, cut short.
	e.ExitCode, e.Finished = 65, t0
	e.Err = errors.New(strings.Repeat("line 12: agent_id agt_x is not an agent of this workspace\n", 200))
	got := e.Line()
	if len(got)+1 > MaxTerminationMessage || strings.Contains(got, "\n") || !strings.Contains(got, `error="line 12`) || !strings.HasSuffix(got, `…"`) {
		t.Errorf("%d bytes: %.200s…", len(got), got)
	}
}

// TestEndingCannotWrite: end files that cannot be written are logged; nothing panics,
// and the exit code is the caller's to keep.
func TestEndingCannotWrite(t *testing.T) {
	dir := t.TempDir()
	outs := NewOutputs(io.Discard)
	summary := outs.Add(Output{Flag: "--summary", Name: filepath.Join(dir, "summary.json"), Kind: New, End: WriteSummary, Event: "summary_file"})
	outs.Add(Output{Flag: "--termination-log", Name: filepath.Join(dir, "no such folder", "termination-log"), Kind: Overwritten, End: WriteTerminationMessage, Event: "termination_log"})
	if err := outs.Create(); err != nil {
		t.Fatal(err)
	}
	outs.Keep()
	summary.f.Close() // the file is gone from under the run
	e := ending()
	e.Ran(job.Summary{Counts: map[job.Outcome]int{}})
	e.ExitCode = 75
	var logs bytes.Buffer
	outs.Finish(e, zerolog.New(&logs))
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
