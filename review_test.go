package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"reassign/job/sandbox"
)

// against is args for a run against base, as fast as it goes, logging JSON.
func against(base string, args ...string) []string {
	return append(args, "--base-url", base, "--rate", "0", "--log-format", "json")
}

// byID indexes a report's rows by id.
func byID(rows []map[string]string) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, r := range rows {
		m[r["id"]] = r
	}
	return m
}

// TestReviewChangeApplyVerify: a --dry-run=server report is reviewed; meanwhile someone
// changes numbers in the dashboard; the reviewed report, run as the plan, writes only
// where the numbers still hold what was reviewed (conflict elsewhere, exit 3), and verify
// then names exactly the rows that conflicted.
func TestReviewChangeApplyVerify(t *testing.T) {
	t.Parallel()
	const n = 30
	api, base := fakeAPI(t, workspace(n), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))

	res := runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--dry-run=server", "--report", "review.csv")...)
	if res.code != 0 || len(api.Patches()) != 0 {
		t.Fatalf("review: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}

	// In the dashboard, after the review: phn_00001's agent and phn_00002's label, which
	// their rows change; phn_00003's label, which its row does not.
	api.Update("phn_00001", func(n *sandbox.Number) { n.AgentID = new("agt_other") })
	api.Update("phn_00002", func(n *sandbox.Number) { n.Label = new("Team C") })
	api.Update("phn_00003", func(n *sandbox.Number) { n.Label = new("Team Z") })

	res = runBinary(t, dir, key(), against(base, "--plan", "review.csv", "--report", "run.csv")...)
	if res.code != exitRowErrors {
		t.Fatalf("apply: exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	rows := byID(readReport(t, readFile(t, dir, "run.csv")))
	wantConflicts := map[string]string{
		"phn_00001": "agent_id changed since the plan was reviewed: was agt_old, now agt_other",
		"phn_00002": `label changed since the plan was reviewed: was (none), now "Team C"`,
	}
	for id, r := range rows {
		want, conflict := wantConflicts[id]
		switch {
		case conflict && (r["outcome"] != "conflict" || r["error"] != want):
			t.Errorf("%s: %s %q, want conflict %q", id, r["outcome"], r["error"], want)
		case !conflict && r["outcome"] != "updated" && r["outcome"] != "unchanged":
			t.Errorf("%s: %s %q, want updated", id, r["outcome"], r["error"])
		}
	}
	for _, p := range api.Patches() {
		if _, conflict := wantConflicts[p.ID]; conflict {
			t.Errorf("%s was sent despite its conflict: %s", p.ID, p.Body)
		}
	}
	if num, _ := api.Number("phn_00001"); val(num.AgentID) != "agt_other" {
		t.Errorf("the dashboard's change to phn_00001 was overwritten: %s", val(num.AgentID))
	}
	if num, _ := api.Number("phn_00003"); val(num.Label) != "Team Z" || val(num.AgentID) != "agt_new" {
		t.Errorf("phn_00003: label %q agent %q; want the dashboard's label kept and the plan's agent applied", val(num.Label), val(num.AgentID))
	}

	patches := len(api.Patches())
	res = runBinary(t, dir, key(), against(base, "verify", "--plan", "review.csv", "--report", "verify.csv")...)
	if res.code != exitRowErrors || len(api.Patches()) != patches {
		t.Fatalf("verify: exit %d, %d PATCHes; want 3 and none\n%s", res.code, len(api.Patches())-patches, tail(res.stderr))
	}
	for id, r := range byID(readReport(t, readFile(t, dir, "verify.csv"))) {
		_, conflict := wantConflicts[id]
		if want := map[bool]string{true: "differs", false: "matches"}[conflict]; r["outcome"] != want {
			t.Errorf("verify %s: %s %q, want %s", id, r["outcome"], r["error"], want)
		}
	}
}

// TestReviewedPlanNeedsTheSnapshot: before_* columns with --no-snapshot are a usage
// error, found before any request; when the numbers cannot be read, nothing is written.
func TestReviewedPlanNeedsTheSnapshot(t *testing.T) {
	t.Parallel()
	var unreadable atomic.Bool
	api, base := fakeAPI(t, workspace(3), sandbox.Options{Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if unreadable.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/organization-phone-numbers") {
			http.Error(w, `{"statusCode":403,"message":"Forbidden"}`, http.StatusForbidden)
			return true
		}
		return false
	}})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id,before_agent_id,before_nickname,before_label\nphn_00001,agt_new,agt_old,,\n")
	res := runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--no-snapshot", "--report", "r.csv")...)
	if res.code != exitUsage || api.Requests() != 0 || !strings.Contains(res.stderr, "--no-snapshot") {
		t.Errorf("exit %d, %d requests; want 64 and none\n%s", res.code, api.Requests(), res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); err == nil {
		t.Error("a report was left behind")
	}

	unreadable.Store(true)
	res = runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "r.csv")...)
	if res.code != exitConfig || len(api.Patches()) != 0 || !strings.Contains(res.stderr, "a plan with before_* columns needs them") {
		t.Errorf("numbers unreadable: exit %d, %d PATCHes; want 78 and none\n%s", res.code, len(api.Patches()), res.stderr)
	}
}

// TestVerifyProvesTheRun: after a clean run verify exits 0; after an API that answered
// 200 and applied nothing, it exits 3 naming every row the run reported updated.
func TestVerifyProvesTheRun(t *testing.T) {
	t.Parallel()
	const n = 40
	for _, swallow := range []bool{false, true} {
		api, base := fakeAPI(t, workspace(n), sandbox.Options{SwallowWrites: swallow})
		dir := t.TempDir()
		writeFile(t, dir, "plan.csv", migration(n))
		res := runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "run.csv")...)
		if res.code != 0 {
			t.Fatalf("swallow %v: run: exit %d\n%s", swallow, res.code, tail(res.stderr))
		}
		run := byID(readReport(t, readFile(t, dir, "run.csv")))
		patches := len(api.Patches())
		res = runBinary(t, dir, key(), against(base, "verify", "--plan", "plan.csv", "--report", "verify.csv")...)
		want := map[bool]int{false: 0, true: exitRowErrors}[swallow]
		if res.code != want || len(api.Patches()) != patches {
			t.Fatalf("swallow %v: verify: exit %d, %d PATCHes; want %d and none\n%s", swallow, res.code, len(api.Patches())-patches, want, tail(res.stderr))
		}
		differs := 0
		for id, r := range byID(readReport(t, readFile(t, dir, "verify.csv"))) {
			wantOutcome := "matches"
			if swallow && run[id]["outcome"] == "updated" {
				wantOutcome = "differs"
				differs++
				if !strings.Contains(r["error"], ", planned ") {
					t.Errorf("%s: error %q does not name the field and both values", id, r["error"])
				}
			}
			if r["outcome"] != wantOutcome {
				t.Errorf("swallow %v: %s: %s %q, want %s", swallow, id, r["outcome"], r["error"], wantOutcome)
			}
		}
		if swallow && differs == 0 {
			t.Error("no row differs after an API that applied nothing")
		}
	}
}

// summaryFile is what the tests read of --summary.
type summaryFile struct {
	Rows       int              `json:"rows"`
	Counts     map[string]int   `json:"counts"`
	ExitCode   int              `json:"exit_code"`
	Report     string           `json:"report"`
	ElapsedMS  *int64           `json:"elapsed_ms"`
	Requests   map[string]int64 `json:"requests"`
	Throttled  int64            `json:"throttled"`
	Waves      string           `json:"waves"`
	RolledBack *bool            `json:"rolled_back"`
}

func readSummary(t *testing.T, dir, name string) summaryFile {
	t.Helper()
	var s summaryFile
	if err := json.Unmarshal([]byte(readFile(t, dir, name)), &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// checkSummary checks a summary against the report it names and the run's exit code.
func checkSummary(t *testing.T, dir string, s summaryFile, code int) {
	t.Helper()
	rows := readReport(t, readFile(t, dir, s.Report))
	counted := map[string]int{}
	for _, r := range rows {
		counted[r["outcome"]]++
	}
	for o, n := range counted {
		if s.Counts[o] != n {
			t.Errorf("summary counts %d %s, the report %d", s.Counts[o], o, n)
		}
	}
	for _, o := range []string{"updated", "unchanged", "skipped", "conflict", "not_found", "rejected", "failed", "invalid", "not_attempted"} {
		if _, ok := s.Counts[o]; !ok {
			t.Errorf("summary counts lack %s: %v", o, s.Counts)
		}
	}
	if s.Rows != len(rows) || s.ExitCode != code || s.ElapsedMS == nil {
		t.Errorf("summary rows %d, exit %d, elapsed %v; the report has %d rows, the run exited %d", s.Rows, s.ExitCode, s.ElapsedMS, len(rows), code)
	}
}

// TestCanaryThenResume: --limit sends the first N rows that need a write and holds the
// rest back (exit 0); --resume with its report sends the rest, each number once. Both
// runs' summaries agree with their reports.
func TestCanaryThenResume(t *testing.T) {
	t.Parallel()
	const n = 20
	api, base := fakeAPI(t, workspace(n), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))

	res := runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "canary.csv", "--limit", "5", "--summary", "canary.json")...)
	if res.code != 0 {
		t.Fatalf("canary: exit %d\n%s", res.code, tail(res.stderr))
	}
	rows := readReport(t, readFile(t, dir, "canary.csv"))
	for _, r := range rows {
		line, _ := strconv.Atoi(r["line"])
		first := line <= 6 // lines 2..6: the first five rows
		switch {
		case first && r["outcome"] != "updated":
			t.Errorf("line %s: %s, want updated", r["line"], r["outcome"])
		case !first && (r["outcome"] != "not_attempted" || r["error"] != "'--limit reached"):
			t.Errorf("line %s: %s %q, want not_attempted '--limit reached", r["line"], r["outcome"], r["error"])
		}
	}
	if len(api.Patches()) != 5 {
		t.Errorf("the canary sent %d PATCHes, want 5", len(api.Patches()))
	}
	checkSummary(t, dir, readSummary(t, dir, "canary.json"), 0)

	res = runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "rest.csv", "--resume", "canary.csv", "--summary", "rest.json")...)
	if res.code != 0 {
		t.Fatalf("rest: exit %d\n%s", res.code, tail(res.stderr))
	}
	sent := map[string]int{}
	for _, p := range api.Patches() {
		sent[p.ID]++
	}
	if len(sent) != n || len(api.Patches()) != n {
		t.Errorf("%d PATCHes to %d numbers, want each of %d once", len(api.Patches()), len(sent), n)
	}
	s := readSummary(t, dir, "rest.json")
	checkSummary(t, dir, s, 0)
	if s.Counts["skipped"] != 5 || s.Counts["updated"] != n-5 {
		t.Errorf("rest: counts %v, want 5 skipped and %d updated", s.Counts, n-5)
	}
}

// TestSummaryAndTerminationMessage: the summary counts the requests by class and the
// 429s, as the API saw them; the termination message is one line saying the same; one
// that cannot be written is logged and leaves the exit code alone.
func TestSummaryAndTerminationMessage(t *testing.T) {
	t.Parallel()
	var once sync.Once
	api, base := fakeAPI(t, smallWorkspace(6), sandbox.Options{Fault: func(w http.ResponseWriter, r *http.Request) bool {
		throttled := false
		if r.Method == http.MethodPatch {
			once.Do(func() {
				w.Header().Set("Retry-After", "0")
				http.Error(w, `{"statusCode":429,"message":"slow down"}`, http.StatusTooManyRequests)
				throttled = true
			})
		}
		return throttled
	}})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(5)+"phn_9999,agt_a,Nowhere\n")
	res := runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "run.csv", "--summary", "s.json", "--termination-log", "termination-log")...)
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3 (one row not found)\n%s", res.code, tail(res.stderr))
	}
	s := readSummary(t, dir, "s.json")
	checkSummary(t, dir, s, exitRowErrors)
	// Reads (agents, one page), 6 PATCHes, one of them retried after its 429.
	want := map[string]int64{"total": api.Requests(), "2xx": 7, "4xx": 2, "3xx": 0, "5xx": 0, "no_answer": 0}
	for k, n := range want {
		if s.Requests[k] != n {
			t.Errorf("requests[%s] = %d, want %d (%v)", k, s.Requests[k], n, s.Requests)
		}
	}
	if s.Throttled != 1 {
		t.Errorf("throttled %d, want 1", s.Throttled)
	}
	msg := readFile(t, dir, "termination-log")
	if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || len(msg) > 4096 {
		t.Errorf("termination message is not one line of at most 4 KiB: %q", msg)
	}
	for _, f := range []string{"exit_code=3 ", "command=run ", "rows=6 ", "updated=5 ", "not_found=1 ", "throttled=1 ", "report=run.csv"} {
		if !strings.Contains(msg, f) {
			t.Errorf("termination message lacks %q: %s", f, msg)
		}
	}

	// An existing summary file is refused before any request, as a report is.
	requests := api.Requests()
	res = runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "again.csv", "--summary", "s.json")...)
	if res.code != exitConfig || api.Requests() != requests || !strings.Contains(res.stderr, "already exists") {
		t.Errorf("existing summary: exit %d, %d requests; want 78 and none\n%s", res.code, api.Requests()-requests, tail(res.stderr))
	}
	// A termination message that cannot be written does not change the exit code.
	res = runBinary(t, dir, key(), against(base, "--plan", "plan.csv", "--report", "third.csv", "--termination-log", filepath.Join(dir, "no such folder", "t"))...)
	if res.code != exitRowErrors || !strings.Contains(res.stderr, `"event":"termination_log"`) {
		t.Errorf("unwritable termination log: exit %d, want 3 and a termination_log event\n%s", res.code, tail(res.stderr))
	}
}

// ptyRun runs the built program with a pseudo-terminal as its controlling terminal and
// as its stdin and stderr (unless stdin or stderr is given), types answer if the
// question appears, and returns its exit code and what the terminal showed.
func ptyRun(t *testing.T, dir string, env []string, stdin *os.File, stderr io.Writer, answer string, args ...string) (int, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin, cmd.Stderr = tty, tty
	// The pseudo-terminal is the program's controlling terminal (/dev/tty), as a shell's
	// is; without a session of its own it would be the test's, if any.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 2}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stderr != nil {
		cmd.Stderr = stderr
		cmd.SysProcAttr.Ctty = 0 // the terminal is the program's stdin
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	asked := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var once sync.Once
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			if strings.Contains(screen.String(), "Apply? [y/N]") {
				once.Do(func() { close(asked) })
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-asked:
		if answer != "" {
			if _, err := ptmx.Write([]byte(answer)); err != nil {
				t.Fatal(err)
			}
		}
		err = <-done
	case err = <-done: // never asked: the caller checks the screen
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("neither a question nor an exit within a minute")
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return code, screen.String()
}

// TestQuestionAtTerminal: a live run whose stdin and stderr are terminals says what it
// is about to do and asks; no sends nothing (exit 0, rows not_attempted), yes sends;
// --yes, REASSIGN_YES or a stdin that is not a terminal never ask.
func TestQuestionAtTerminal(t *testing.T) {
	t.Parallel()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cases := []struct {
		name   string
		env    []string
		args   []string
		stdin  *os.File
		answer string
		asked  bool
		sent   int
	}{
		{name: "no", answer: "n\r", asked: true, sent: 0},
		{name: "enter", answer: "\r", asked: true, sent: 0},
		{name: "yes", answer: "yes\r", asked: true, sent: 4},
		{name: "--yes", args: []string{"--yes"}, sent: 4},
		{name: "REASSIGN_YES", env: []string{"REASSIGN_YES=true"}, sent: 4},
		{name: "stdin not a terminal", stdin: devNull, sent: 4},
		{name: "dry run", args: []string{"--dry-run=server"}, sent: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api, base := fakeAPI(t, smallWorkspace(5), sandbox.Options{})
			api.Update("phn_0004", func(n *sandbox.Number) { n.AgentID, n.Nickname = new("agt_a"), new("Row 4") })
			dir := t.TempDir()
			writeFile(t, dir, "plan.csv", planOf(5))
			args := append([]string{"--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0"}, tc.args...)
			code, screen := ptyRun(t, dir, append(key(), tc.env...), tc.stdin, nil, tc.answer, args...)
			if code != 0 {
				t.Fatalf("exit %d, want 0\n%s", code, screen)
			}
			question := "write 4 numbers: 4 agent changes, 4 nickname changes, 0 label changes; 1 row already as planned\r\n" +
				"workspace: " + base + "\r\nundo plan: none (--undo-plan FILE keeps one)\r\nApply? [y/N]"
			if asked := strings.Contains(screen, question); asked != tc.asked {
				t.Errorf("asked %v, want %v:\n%s", asked, tc.asked, screen)
			}
			if len(api.Patches()) != tc.sent {
				t.Errorf("%d PATCHes, want %d", len(api.Patches()), tc.sent)
			}
			counts := map[string]int{}
			for _, r := range readReport(t, readFile(t, dir, "r.csv")) {
				counts[r["outcome"]]++
			}
			if tc.asked && tc.sent == 0 && (counts["not_attempted"] != 4 || counts["unchanged"] != 1) {
				t.Errorf("after a no: %v, want 4 not_attempted and 1 unchanged", counts)
			}
		})
	}
}
