package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testKey = "key_test01:s3cr3t-value-0123456789"

// fakeAPI serves the sandbox workspace ws on a loopback httptest server.
func fakeAPI(t *testing.T, ws sandbox.Workspace, opts sandbox.Options) (*sandbox.API, string) {
	t.Helper()
	if opts.Key == "" {
		opts.Key = testKey
	}
	api := sandbox.New(ws, opts)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, srv.URL + "/v1"
}

// refuseReads is a sandbox fault that answers every GET (the workspace reads) with
// status and the API's error envelope carrying message; the writes go through.
func refuseReads(status int, message string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": message, "error": http.StatusText(status)})
		return true
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readReport parses a report file into records keyed by column name.
func readReport(t *testing.T, data string) []map[string]string {
	t.Helper()
	data = strings.TrimPrefix(data, "\uFEFF")
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v\n%s", err, data)
	}
	if len(recs) == 0 {
		t.Fatal("report is empty")
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func outcomes(rows []map[string]string) map[string]string {
	m := map[string]string{}
	for _, r := range rows {
		m[r["id"]] = r["outcome"]
	}
	return m
}

// logEvents parses the JSON log lines on stderr.
func logEvents(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		evs = append(evs, ev)
	}
	return evs
}

func findEvent(evs []map[string]any, name string) map[string]any {
	for _, ev := range evs {
		if ev["event"] == name {
			return ev
		}
	}
	return nil
}

// TestSampleAgainstSandbox runs samples/plan.csv with --sandbox, as `make demo` does,
// and compares the report with testdata/sample-report.golden (times masked).
func TestSampleAgainstSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan, _ := filepath.Abs("samples/plan.csv")
	res := runBinary(t, dir, nil, "--sandbox", "--plan", plan, "--report", "r.csv", "--rate", "0")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3\n%s", res.code, res.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "r.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\uFEFF")) {
		t.Error("a file report must start with a BOM")
	}
	rows := readReport(t, string(data))
	got := map[string]int{}
	for _, r := range rows {
		got[r["outcome"]]++
	}
	for _, o := range []string{"updated", "not_found", "rejected", "unchanged"} {
		if got[o] == 0 {
			t.Errorf("the sample shows no %s row: %v", o, got)
		}
	}
	summary := findEvent(logEvents(t, res.stderr), "summary")
	if summary == nil || summary["sandbox"] != true || summary["report"] != "r.csv" {
		t.Errorf("summary event missing or wrong: %v", summary)
	}

	// Golden: rows sorted by line; request ids, durations and times masked.
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	body := recs[1:]
	sort.Slice(body, func(i, j int) bool {
		a, _ := strconv.Atoi(body[i][0])
		b, _ := strconv.Atoi(body[j][0])
		return a < b
	})
	for _, r := range body {
		for name, mask := range map[string]string{"request_id": "REQ", "duration_ms": "MS", "finished_at": "TIME"} {
			if r[col[name]] != "" {
				r[col[name]] = mask
			}
		}
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.WriteAll(recs)
	masked := buf.String()
	golden := filepath.Join("testdata", "sample-report.golden")
	if *update {
		os.WriteFile(golden, []byte(masked), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestSampleAgainstSandbox -update)", err)
	}
	if masked != string(want) {
		t.Errorf("report differs from %s:\ngot:\n%s\nwant:\n%s", golden, masked, want)
	}
}

func smallWorkspace(n int) sandbox.Workspace {
	ws := sandbox.Workspace{Agents: []string{"agt_a", "agt_b"}}
	for i := 0; i < n; i++ {
		ws.Numbers = append(ws.Numbers, sandbox.Number{ID: fmt.Sprintf("phn_%04d", i), PhoneNumber: fmt.Sprintf("+1555000%04d", i), Status: "active"})
	}
	return ws
}

func planOf(n int) string {
	var b strings.Builder
	b.WriteString("id,agent_id,nickname\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "phn_%04d,agt_a,Row %d\n", i, i)
	}
	return b.String()
}

// TestExitCodes drives the built program into each exit code but 75 (TestSIGTERMThenResume
// does that one): one case each, as a whole program; the other ways to each code are
// tested in process (TestRunCommandLine, TestRunExitCodes, TestExitCodeOf).
func TestExitCodes(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, smallWorkspace(5), sandbox.Options{})
	good := planOf(5)
	key := "DIALNEXA_API_KEY=" + testKey
	cases := []struct {
		name     string
		env      []string
		args     []string
		plan     string
		pre      func(dir string)
		want     int
		stderr   string // a fragment the logs must hold
		requests bool   // whether any request may reach the API
		reads    bool   // whether reads (not writes) may reach it
	}{
		{name: "ok", env: []string{key}, args: []string{"--base-url", base, "--rate", "0"}, plan: good, want: 0, requests: true},
		{name: "unknown flag", args: []string{"--nope"}, plan: good, want: 64, stderr: "unknown flag --nope"},
		{name: "report exists", env: []string{key}, args: []string{"--base-url", base}, plan: good, pre: func(dir string) { writeFile(t, dir, "r.csv", "keep me") }, want: 78, stderr: "already exists"},
		{name: "invalid plan", env: []string{key}, args: []string{"--base-url", base}, plan: "id,agent_id\nphn_0000,agt_a\nphn 1,agt_a\nphn_0002,agt_typo\n", want: 65, stderr: "line 4: agent_id agt_typo is not an agent of this workspace", reads: true},
		{name: "not found is 3", env: []string{key}, args: []string{"--base-url", base, "--rate", "0"}, plan: "id,agent_id\nphn_9999,agt_a\n", want: 3, requests: true},
		{name: "refused key is 77", env: []string{"DIALNEXA_API_KEY=key_other:wrong-secret"}, args: []string{"--base-url", base, "--rate", "0"}, plan: good, want: 77, requests: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.pre != nil {
				tc.pre(dir)
			}
			args := tc.args
			if tc.plan != "" {
				writeFile(t, dir, "plan.csv", tc.plan)
				args = append([]string{"--plan", "plan.csv"}, args...)
			}
			args = append(args, "--report", "r.csv", "--log-format", "json")
			before, patchesBefore := api.Requests(), len(api.Patches())
			res := runBinary(t, dir, tc.env, args...)
			if res.code != tc.want {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, tc.want, res.stderr)
			}
			if tc.stderr != "" && !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
			if sent := api.Requests() - before; !tc.requests && !tc.reads && sent != 0 {
				t.Errorf("%d requests reached the API; want none", sent)
			}
			if sent := len(api.Patches()) - patchesBefore; !tc.requests && sent != 0 {
				t.Errorf("%d PATCHes reached the API; want none", sent)
			}
			if strings.Contains(res.stderr+res.stdout, "s3cr3t-value") {
				t.Error("the key appears in the output")
			}
		})
	}
}

// TestEnvironmentConfig checks that every setting can come from the environment and
// that a flag wins over its variable.
func TestEnvironmentConfig(t *testing.T) {
	t.Parallel()
	_, base := fakeAPI(t, smallWorkspace(3), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(3))
	keyFile := writeFile(t, dir, "key", testKey+"\n")
	env := []string{
		"REASSIGN_PLAN=plan.csv", "REASSIGN_REPORT=env.csv", "DIALNEXA_BASE_URL=" + base,
		"DIALNEXA_API_KEY_FILE=" + keyFile, "REASSIGN_RATE=0", "REASSIGN_WORKERS=2",
		"REASSIGN_LOG_FORMAT=json", "REASSIGN_NULL_TOKEN=NONE",
	}
	res := runBinary(t, dir, env, "--workers", "3")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	start := findEvent(logEvents(t, res.stderr), "start")
	if start["workers"] != float64(3) || start["rate"] != float64(0) || start["null_token"] != "NONE" || start["key_source"] != "file" {
		t.Errorf("start event does not show the settings: %v", start)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.csv")); err != nil {
		t.Errorf("REASSIGN_REPORT ignored: %v", err)
	}
	if strings.Contains(res.stderr, "s3cr3t") {
		t.Error("the key is in the logs")
	}
}

// TestReportToStdoutAndPlanFromStdin: "-" for both; stdout gets no BOM.
func TestReportToStdoutAndPlanFromStdin(t *testing.T) {
	t.Parallel()
	_, base := fakeAPI(t, smallWorkspace(3), sandbox.Options{})
	dir := t.TempDir()
	cmdPlan := writeFile(t, dir, "plan.csv", planOf(3))
	res := runBinaryStdin(t, dir, []string{"DIALNEXA_API_KEY=" + testKey}, cmdPlan, "--plan", "-", "--report", "-", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if strings.HasPrefix(res.stdout, "\uFEFF") {
		t.Error("stdout report must have no BOM")
	}
	rows := readReport(t, res.stdout)
	if len(rows) != 3 {
		t.Fatalf("%d rows in the report, want 3", len(rows))
	}
	for _, r := range rows {
		if r["outcome"] != "updated" {
			t.Errorf("row %s: %s", r["id"], r["outcome"])
		}
	}
}

// TestKeyNeverLeaks: an API that echoes the key in messages and headers.
func TestKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Request-Id", auth)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"statusCode":400,"message":["bad key %s","secret s3cr3t-value-0123456789"],"error":"Bad Request"}`, auth)
		return true
	}
	_, base := fakeAPI(t, smallWorkspace(2), sandbox.Options{Fault: echo})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(2))
	res := runBinary(t, dir, []string{"DIALNEXA_API_KEY=" + testKey}, "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0", "--log-level", "debug")
	if res.code != 3 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "r.csv"))
	for where, s := range map[string]string{"logs": res.stderr, "report": string(data)} {
		if strings.Contains(s, "s3cr3t-value") || strings.Contains(s, testKey) {
			t.Errorf("the key leaks into the %s:\n%s", where, s)
		}
	}
	if !strings.Contains(string(data), "[redacted]") {
		t.Errorf("the echoed message should be kept, redacted:\n%s", data)
	}
}

func runBinaryStdin(t *testing.T, dir string, env []string, stdinFile string, args ...string) execResult {
	t.Helper()
	f, err := os.Open(stdinFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return runBinaryWith(t, dir, env, f, args...)
}

// TestSIGTERMThenResume: SIGTERM mid-run ends with 75, every row recorded once and
// every row the API accepted recorded as updated; --resume then finishes the rest and
// sends none of the updated rows again.
func TestSIGTERMThenResume(t *testing.T) {
	t.Parallel()
	const rows = 120
	api, base := fakeAPI(t, smallWorkspace(rows), sandbox.Options{Latency: 50 * time.Millisecond})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(rows))
	env := []string{"DIALNEXA_API_KEY=" + testKey}

	cmd, stderr := startBinary(t, dir, env, "--plan", "plan.csv", "--report", "first.csv", "--base-url", base, "--rate", "40", "--workers", "4")
	// Signal once the API has accepted a few rows: by its own count, not by a sleep.
	deadline := time.Now().Add(30 * time.Second)
	for len(api.Patches()) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the run never got going")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != exitTemp {
		t.Fatalf("exit %d (%v), want 75\n%s", code, err, stderr.String())
	}
	data, _ := os.ReadFile(filepath.Join(dir, "first.csv"))
	first := readReport(t, string(data))
	if len(first) != rows {
		t.Fatalf("%d rows in the report, want %d", len(first), rows)
	}
	seen := map[string]bool{}
	for _, r := range first {
		if seen[r["id"]] {
			t.Errorf("row %s recorded twice", r["id"])
		}
		seen[r["id"]] = true
	}
	firstOutcome := outcomes(first)
	accepted := map[string]bool{}
	for _, p := range api.Patches() {
		accepted[p.ID] = true
	}
	counts := map[string]int{}
	for id := range accepted {
		if firstOutcome[id] != "updated" {
			t.Errorf("the API accepted %s but the report says %s", id, firstOutcome[id])
		}
	}
	for _, o := range firstOutcome {
		counts[o]++
	}
	if counts["not_attempted"] == 0 {
		t.Fatalf("the signal came too late to test anything: %v", counts)
	}

	patchesBefore := len(api.Patches())
	res := runBinary(t, dir, env, "--plan", "plan.csv", "--report", "second.csv", "--resume", "first.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("resume exit %d\n%s", res.code, res.stderr)
	}
	for _, p := range api.Patches()[patchesBefore:] {
		if firstOutcome[p.ID] == "updated" {
			t.Errorf("resume sent %s again", p.ID)
		}
	}
	data, _ = os.ReadFile(filepath.Join(dir, "second.csv"))
	second := outcomes(readReport(t, string(data)))
	for id, o := range firstOutcome {
		want := "updated"
		if o == "updated" {
			want = "skipped"
		}
		if second[id] != want {
			t.Errorf("resume: %s is %s, want %s", id, second[id], want)
		}
	}
}

// TestShardsAreDisjointAndCover: four shards of a 1,000-row plan, run as four
// processes, handle every row exactly once between them.
func TestShardsAreDisjointAndCover(t *testing.T) {
	t.Parallel()
	const rows = 1000
	api, base := fakeAPI(t, smallWorkspace(rows), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(rows))
	owner := map[string]int{}
	for i := 0; i < 4; i++ {
		report := fmt.Sprintf("shard-%d.csv", i)
		env := []string{"DIALNEXA_API_KEY=" + testKey, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)}
		res := runBinary(t, dir, env, "--plan", "plan.csv", "--report", report, "--shards", "4", "--base-url", base, "--rate", "0", "--workers", "8")
		if res.code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, res.code, res.stderr)
		}
		data, _ := os.ReadFile(filepath.Join(dir, report))
		got := readReport(t, string(data))
		if len(got) < rows/8 {
			t.Errorf("shard %d has only %d rows: the hash spreads badly", i, len(got))
		}
		for _, r := range got {
			if prev, ok := owner[r["id"]]; ok {
				t.Errorf("%s is in shards %d and %d", r["id"], prev, i)
			}
			owner[r["id"]] = i
			if r["outcome"] != "updated" {
				t.Errorf("shard %d: %s is %s", i, r["id"], r["outcome"])
			}
		}
	}
	if len(owner) != rows {
		t.Errorf("the shards cover %d rows, want %d", len(owner), rows)
	}
	if n := len(api.Patches()); n != rows {
		t.Errorf("%d PATCHes for %d rows", n, rows)
	}
}

// TestSkipInvalid: the valid rows run, the invalid ones are reported with the reason.
func TestSkipInvalid(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, smallWorkspace(4), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id,nickname,label\nphn_0000,agt_a,,\nphn_0001,agt a,,\nphn_0002,,,null\nphn_0003,agt_b,Fine,\n")
	res := runBinary(t, dir, []string{"DIALNEXA_API_KEY=" + testKey}, "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0", "--skip-invalid")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3\n%s", res.code, res.stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "r.csv"))
	rows := readReport(t, string(data))
	byID := map[string]map[string]string{}
	for _, r := range rows {
		byID[r["id"]] = r
	}
	for id, want := range map[string]string{"phn_0000": "updated", "phn_0001": "invalid", "phn_0002": "invalid", "phn_0003": "updated"} {
		if byID[id]["outcome"] != want {
			t.Errorf("%s: %s, want %s", id, byID[id]["outcome"], want)
		}
	}
	if !strings.Contains(byID["phn_0001"]["error"], "agent_id") || !strings.Contains(byID["phn_0002"]["error"], "label") {
		t.Errorf("invalid rows must say why: %v / %v", byID["phn_0001"]["error"], byID["phn_0002"]["error"])
	}
	if n := len(api.Patches()); n != 2 {
		t.Errorf("%d PATCHes, want 2", n)
	}
}

// TestResumeFromManyReports: --resume takes a folder or a glob of reports (the pods of a
// retried Job each leave one); a glob that matches nothing yet resumes nothing.
func TestResumeFromManyReports(t *testing.T) {
	t.Parallel()
	const rows = 60
	api, base := fakeAPI(t, smallWorkspace(rows), sandbox.Options{})
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "reports"), 0o755)
	full := planOf(rows)
	lines := strings.SplitAfter(full, "\n")
	writeFile(t, dir, "first.csv", strings.Join(lines[:21], ""))             // rows 0-19
	writeFile(t, dir, "second.csv", lines[0]+strings.Join(lines[21:41], "")) // rows 20-39
	writeFile(t, dir, "plan.csv", full)
	run := func(args ...string) execResult {
		t.Helper()
		res := runBinary(t, dir, []string{"DIALNEXA_API_KEY=" + testKey}, append(args, "--base-url", base, "--rate", "0", "--no-snapshot")...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, res.code, res.stderr)
		}
		return res
	}
	run("--plan", "plan.csv", "--report", "reports/job-a1.csv", "--resume", "reports/job-*.csv") // nothing to resume yet
	if n := len(api.Patches()); n != rows {
		t.Fatalf("%d PATCHes, want %d", n, rows)
	}
	os.Remove(filepath.Join(dir, "reports/job-a1.csv"))
	run("--plan", "first.csv", "--report", "reports/job-b1.csv")
	run("--plan", "second.csv", "--report", "reports/job-b2.csv")
	for _, resume := range []string{"reports", "reports/job-b*.csv"} {
		before := len(api.Patches())
		report := "r-" + strings.NewReplacer("/", "_", "*", "_").Replace(resume) + ".csv"
		run("--plan", "plan.csv", "--report", report, "--resume", resume)
		if sent := len(api.Patches()) - before; sent != 20 {
			t.Errorf("--resume %s: %d PATCHes, want 20", resume, sent)
		}
		skipped := 0
		for _, o := range outcomes(readReport(t, readFile(t, dir, report))) {
			if o == "skipped" {
				skipped++
			}
		}
		if skipped != 40 {
			t.Errorf("--resume %s: %d rows skipped, want 40", resume, skipped)
		}
	}
}
