package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job/sandbox"
)

// awkward is a workspace whose values a careless reader would change: the word null,
// surrounding spaces, values that look like the job's own ' mark, line breaks and
// terminal escapes, a backslash.
func awkward() sandbox.Workspace {
	n := func(id, agent, nick, label string) sandbox.Number {
		num := sandbox.Number{ID: id, PhoneNumber: "+1555000" + id[len(id)-4:], Status: "active", CountryCode: "US", Type: "local"}
		if agent != "" {
			num.AgentID = new(agent)
		}
		if nick != "" {
			num.Nickname = new(nick)
		}
		if label != "" {
			num.Label = new(label)
		}
		return num
	}
	return sandbox.Workspace{
		Agents: []string{"agt_old", "agt_new", "null", "-agt"},
		Numbers: []sandbox.Number{
			n("phn_0001", "agt_old", "null", "NULL"),
			n("phn_0002", "agt_old", "  padded  ", " x"),
			n("phn_0003", "null", "'=1+1", "'+44"),
			n("phn_0004", "-agt", "two\nlines", "tab\there"),
			n("phn_0005", "", "\x1b[31mred\x1b[0m", "\r\nCRLF"),
			n("phn_0006", "agt_old", `back\slash \n`, "-dash"),
			n("phn_0007", "agt_old", "'Tis", "@home"),
			n("phn_0008", "agt_old", "''=x", "Null "),
			n("phn_0009", "agt_old", "", ""),
		},
	}
}

// hasControl reports a control character other than the line ends between records.
func hasControl(b []byte) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.IndexFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) >= 0 {
			return true
		}
	}
	return false
}

// TestAwkwardValuesRoundTrip: a workspace of awkward values, exported and fed back
// unchanged, costs no write; changed with an undo plan and then undone, it holds
// exactly what it held, value for value (an empty label aside, which the API cannot
// restore); and no file the job wrote carries a raw control character.
func TestAwkwardValuesRoundTrip(t *testing.T) {
	t.Parallel()
	ws := awkward()
	api, base := fakeAPI(t, ws, sandbox.Options{})
	dir := t.TempDir()
	res := runBinary(t, dir, key(), "export", "--out", "numbers.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("export: exit %d\n%s", res.code, tail(res.stderr))
	}
	res = runBinary(t, dir, key(), "--plan", "numbers.csv", "--report", "same.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("export fed back: exit %d\n%s", res.code, tail(res.stderr))
	}
	if p := api.Patches(); len(p) != 0 {
		t.Fatalf("the export fed back unchanged sent %d PATCHes: %v", len(p), p)
	}
	for _, r := range readReport(t, readFile(t, dir, "same.csv")) {
		if r["outcome"] != "unchanged" {
			t.Errorf("%s: %s (%s), want unchanged", r["id"], r["outcome"], r["error"])
		}
	}

	var plan strings.Builder
	plan.WriteString("id,agent_id,nickname,label\n")
	for _, n := range ws.Numbers {
		plan.WriteString(n.ID + ",agt_new,Plain nickname,Plain label\n")
	}
	writeFile(t, dir, "change.csv", plan.String())
	res = runBinary(t, dir, key(), "--plan", "change.csv", "--report", "change-report.csv", "--undo-plan", "undo.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("change: exit %d\n%s", res.code, tail(res.stderr))
	}
	res = runBinary(t, dir, key(), "--plan", "undo.csv", "--report", "undo-report.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("undo: exit %d\n%s", res.code, tail(res.stderr))
	}
	for _, want := range ws.Numbers {
		got, _ := api.Number(want.ID)
		wantLabel := val(want.Label)
		if wantLabel == "" {
			wantLabel = "Plain label" // the API takes no null label: undo_keeps_label
		}
		if val(got.AgentID) != val(want.AgentID) || val(got.Nickname) != val(want.Nickname) || val(got.Label) != wantLabel {
			t.Errorf("%s after undo: agent %q nickname %q label %q; want %q %q %q", want.ID,
				val(got.AgentID), val(got.Nickname), val(got.Label), val(want.AgentID), val(want.Nickname), wantLabel)
		}
	}
	for _, name := range []string{"numbers.csv", "same.csv", "change-report.csv", "undo.csv", "undo-report.csv"} {
		if hasControl([]byte(readFile(t, dir, name))) {
			t.Errorf("%s holds a raw control character", name)
		}
	}
}

// TestReportCellsInert: an API whose error text carries terminal escapes and line
// breaks leaves none of them raw in the report; the report still resumes the run.
func TestReportCellsInert(t *testing.T) {
	t.Parallel()
	hostile := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPatch || !strings.HasSuffix(r.URL.Path, "/phn_00002") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"statusCode":400,"message":"=cmd|' /C calc'!A0 \u001b[2J\u001b[31mgone\nsecond line\u0007","error":"Bad Request"}`))
		return true
	}
	api, base := fakeAPI(t, workspace(5), sandbox.Options{Fault: hostile})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id,nickname\nphn_00001,agt_new,=One\nphn_00002,agt_new,Two\nphn_00003,agt_new,null\n")
	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	data := readFile(t, dir, "r.csv")
	if hasControl([]byte(data)) {
		t.Errorf("the report holds raw control characters:\n%q", data)
	}
	rows := readReport(t, data)
	for _, r := range rows {
		for col, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("%s: %s = %q would run as a formula", r["id"], col, cell)
			}
		}
		if r["id"] == "phn_00002" && !strings.Contains(r["error"], `\x1b[31mgone\nsecond line\x07`) {
			t.Errorf("the error is not shown escaped: %q", r["error"])
		}
	}
	before := len(api.Patches())
	res = runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r2.csv", "--resume", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != exitRowErrors {
		t.Fatalf("resume: exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	want := map[string]string{"phn_00001": "skipped", "phn_00002": "rejected", "phn_00003": "skipped"}
	if got := outcomes(readReport(t, readFile(t, dir, "r2.csv"))); !equalMaps(got, want) {
		t.Errorf("resume: %v, want %v", got, want)
	}
	if sent := len(api.Patches()) - before; sent != 0 {
		t.Errorf("resume sent %d PATCHes to the workspace, want none: the others were applied", sent)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestHostilePlanSources: a device that never ends and a single line of megabytes
// are refused (exit 65) naming the bound, having read little of them.
func TestHostilePlanSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.csv")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("id,nickname\np1,")
	f.Write(bytes.Repeat([]byte("n"), 3<<20))
	f.WriteString("\n")
	f.Close()
	for _, plan := range []string{"/dev/zero", big} {
		if _, err := os.Stat(plan); err != nil {
			continue
		}
		res := runBinary(t, dir, nil, "--plan", plan, "--dry-run", "--report", "r.csv")
		if res.code != exitPlan || !strings.Contains(res.stderr, "a row of more than 1.0 MiB") {
			t.Errorf("--plan %s: exit %d, want 65 naming the bound\n%s", plan, res.code, tail(res.stderr))
		}
	}
}

// TestSIGTERMWhileWaitingForThePlan: a plan that never comes (a named pipe with no
// writer, a silent stdin) does not hold the job past the first SIGTERM: exit 75.
func TestSIGTERMWhileWaitingForThePlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "plan.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	for _, plan := range []string{fifo, "-"} {
		cmd := exec.Command(binPath, "--plan", plan, "--dry-run", "--report", "r.csv", "--log-format", "json")
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		stdin, _ := cmd.StdinPipe() // never written to
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The start event is logged just before the plan is opened.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() && !strings.Contains(sc.Text(), `"event":"start"`) {
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { io.Copy(io.Discard, stderr); done <- cmd.Wait() }()
		select {
		case <-done:
			if code := cmd.ProcessState.ExitCode(); code != exitTemp {
				t.Errorf("--plan %s: exit %d after SIGTERM, want 75", plan, code)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("--plan %s: still running 20 s after SIGTERM", plan)
		}
		stdin.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); err == nil {
		t.Error("an interrupted plan read left a report")
	}
}

// TestNullTokenMustReadBack: a null token that a written file could not hold as itself
// (a formula, a marked cell) is a usage error.
func TestNullTokenMustReadBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(1))
	for _, token := range []string{"-", "=clear", "'null", "a\tb"} {
		res := runIn(t, nil, "", "--plan", plan, "--dry-run", "--null-token", token, "--report", filepath.Join(dir, "r.csv"))
		if res.code != exitUsage || !strings.Contains(res.stderr, "--null-token") {
			t.Errorf("--null-token %q: exit %d, want 64\n%s", token, res.code, res.stderr)
		}
	}
	if res := runIn(t, nil, "", "--plan", plan, "--dry-run", "--null-token", "<clear>", "--report", filepath.Join(dir, "r.csv")); res.code != 0 {
		t.Errorf("--null-token <clear>: exit %d\n%s", res.code, res.stderr)
	}
}
