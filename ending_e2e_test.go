package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/sandbox"
	"reassign/report/metrics/metricstest"
)

// summaryOf reads a --summary file.
func summaryOf(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary %s: %v", path, err)
	}
	return s
}

// sum adds up a JSON list of numbers.
func sum(t *testing.T, v any) int {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a list", v)
	}
	n := 0
	for _, x := range list {
		n += int(x.(float64))
	}
	return n
}

// countOutcomes counts a report file's rows per outcome.
func countOutcomes(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range readReport(t, string(data)) {
		counts[r["outcome"]]++
	}
	return counts
}

// TestHTMLAtTheEnd: a run, a dry run and a verify each end with their page, made from
// the report they wrote, and the summary file names it and carries the timeline; the
// page is an output like the others (never over a file, never the plan, never without
// a report file to read).
func TestHTMLAtTheEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	plan := filepath.Join("samples", "plan.csv")
	for _, tc := range []struct {
		name    string
		args    []string
		want    int
		command string
	}{
		{"run", []string{"--plan", plan}, exitRowErrors, "run"},
		{"dry", []string{"--plan", plan, "--dry-run"}, exitOK, "dry run"},
		{"verify", []string{"verify", "--plan", plan}, exitRowErrors, "verify"},
	} {
		args := append(tc.args, "--sandbox", "--log-format", "json", "--report", at(tc.name+".csv"),
			"--html", at(tc.name+".html"), "--summary", at(tc.name+".json"))
		res := runIn(t, nil, "", args...)
		if res.code != tc.want {
			t.Fatalf("%s: exit %d, want %d\n%s", tc.name, res.code, tc.want, res.stderr)
		}
		page, err := os.ReadFile(at(tc.name + ".html"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, want := range []string{"<!DOCTYPE html>", "plan.csv", "phn_k3p8vd2nq7ra", tc.command} {
			if !strings.Contains(string(page), want) {
				t.Errorf("%s: the page lacks %q", tc.name, want)
			}
		}
		s := summaryOf(t, at(tc.name+".json"))
		rows := int(s["rows"].(float64))
		if s["html"] != at(tc.name+".html") || s["version"] == "" || s["sandbox"] != true || s["base_url"] != nil || rows != 9 {
			t.Errorf("%s: summary %v", tc.name, s)
		}
		tl, ok := s["timeline"].(map[string]any)
		if !ok || sum(t, tl["rows"]) != rows {
			t.Errorf("%s: timeline %v does not count the %d rows", tc.name, s["timeline"], rows)
		}
		if msg := findEvent(logEvents(t, res.stderr), "summary")["message"].(string); !strings.Contains(msg, "HTML report: "+at(tc.name+".html")) {
			t.Errorf("%s: the end does not say where the page is:\n%s", tc.name, msg)
		}
	}

	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		output string
	}{
		{"over a file", []string{"--report", at("x.csv"), "--html", at("run.html")}, exitConfig, "already exists"},
		{"over the plan", []string{"--report", at("x.csv"), "--html", plan}, exitUsage, "--html names the same file as --plan"},
		{"with --report -", []string{"--report", "-", "--html", at("y.html")}, exitUsage, "--html renders the page from the report file"},
	} {
		before, _ := os.ReadFile(at("run.html"))
		res := runIn(t, nil, "", append([]string{"--plan", plan, "--sandbox", "--log-format", "json"}, tc.args...)...)
		if res.code != tc.want || !strings.Contains(res.stderr, tc.output) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", tc.name, res.code, tc.want, tc.output, res.stderr)
		}
		if after, _ := os.ReadFile(at("run.html")); string(after) != string(before) {
			t.Errorf("%s: the existing page was changed", tc.name)
		}
		if _, err := os.Stat(at("x.csv")); err == nil {
			t.Errorf("%s: a report was written by a refused run", tc.name)
		}
	}
}

// TestTimelineCounts429s: the summary's timeline counts, second by second, every row
// and every answer 429 the run got: its sums are the run's rows and its throttled count.
func TestTimelineCounts429s(t *testing.T) {
	t.Parallel()
	const n = 30
	_, base := fakeAPI(t, smallWorkspace(n), sandbox.Options{RatePerSecond: 20, RateBurst: 1})
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(n))
	env := map[string]string{"DIALNEXA_API_KEY": testKey}
	res := runIn(t, env, "", "--plan", plan, "--report", filepath.Join(dir, "r.csv"), "--base-url", base,
		"--rate", "0", "--workers", "8", "--no-snapshot", "--summary", filepath.Join(dir, "s.json"), "--log-format", "json")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	s := summaryOf(t, filepath.Join(dir, "s.json"))
	tl := s["timeline"].(map[string]any)
	throttled := int(s["throttled"].(float64))
	if throttled == 0 {
		t.Fatal("no 429 at all: the test tests nothing")
	}
	if got := sum(t, tl["throttled"]); got != throttled {
		t.Errorf("the timeline counts %d answers 429, the summary %d", got, throttled)
	}
	if got := sum(t, tl["rows"]); got != n {
		t.Errorf("the timeline counts %d rows, want %d", got, n)
	}
}

// TestLogFile: the JSON lines go to the log file as well as the console, from the first
// (the sandbox starting) to the last (the end in words), whatever the console's format;
// a second command adds to the file; a command refused before any read still leaves why
// in it; a log file that is another output is refused and not touched.
func TestLogFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "reassign.log")
	plan := filepath.Join("samples", "plan.csv")
	res := runIn(t, nil, "", "--plan", plan, "--sandbox", "--report", filepath.Join(dir, "r.csv"), "--log-format", "console", "--log-file", logFile)
	if res.code != exitRowErrors {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stderr, `{"level"`) {
		t.Errorf("JSON on a console asked for the console format:\n%s", res.stderr)
	}
	data, _ := os.ReadFile(logFile)
	evs := logEvents(t, string(data))
	if len(evs) < 5 || evs[0]["event"] != "sandbox" || evs[1]["event"] != "start" || evs[len(evs)-1]["event"] != "summary" {
		t.Fatalf("the log file does not run from the first line to the last:\n%s", data)
	}
	if rows := 0; true {
		for _, ev := range evs {
			if ev["event"] == "row" {
				rows++
			}
		}
		if rows != 9 {
			t.Errorf("%d row events in the log file, want 9", rows)
		}
	}
	if msg := evs[len(evs)-1]["message"].(string); !strings.Contains(msg, "Report: "+filepath.Join(dir, "r.csv")) || !strings.Contains(msg, "log: "+logFile) {
		t.Errorf("the summary event's message is not the end in words:\n%s", msg)
	}
	if !strings.Contains(res.stderr, "Not changed: 1 already as planned, 1 not found, 1 rejected.") {
		t.Errorf("the console does not end in words:\n%s", res.stderr)
	}

	// Refused: the report exists. The log file says why, after what it held.
	res = runIn(t, map[string]string{"REASSIGN_LOG_FILE": logFile}, "", "--plan", plan, "--sandbox", "--report", filepath.Join(dir, "r.csv"))
	if res.code != exitConfig {
		t.Fatalf("exit %d, want 78\n%s", res.code, res.stderr)
	}
	data, _ = os.ReadFile(logFile)
	evs2 := logEvents(t, string(data))
	if len(evs2) != len(evs)+1 || evs2[len(evs)]["event"] != "fatal" || !strings.Contains(evs2[len(evs)]["message"].(string), "already exists") {
		t.Errorf("after a refused run the log file holds:\n%s", data)
	}

	// A log file that is the report: refused, and neither file is made.
	other := filepath.Join(dir, "same.csv")
	res = runIn(t, nil, "", "--plan", plan, "--sandbox", "--report", other, "--log-file", other)
	if _, err := os.Stat(other); res.code != exitUsage || err == nil {
		t.Errorf("exit %d (want 64), file made: %v\n%s", res.code, err == nil, res.stderr)
	}
}

// pushed is the series a gateway holds for one run's group.
func pushed(t *testing.T, gateway, command, plan string) map[string]float64 {
	t.Helper()
	return metricstest.Series(t, gateway, map[string]string{"job": "reassign", "command": command, "plan": plan, "shard": "0"})
}

// TestMetricsPushed: against a real Pushgateway, the series a command pushes at its
// end are its report's counts (every outcome, 0 included) and its exit code; exit 0
// leaves a last-success timestamp that a later failure keeps; a verify of a workspace
// that drifted pushes its differs count; a command refused before its rows (65, 78)
// pushes too, its plan read from stdin named stdin; the metrics file holds what was
// pushed.
func TestMetricsPushed(t *testing.T) {
	t.Parallel()
	gateway := metricstest.StartPushgateway(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }

	// The sample against the sandbox: exit 3.
	res := runIn(t, nil, "", "--plan", filepath.Join("samples", "plan.csv"), "--sandbox", "--report", at("demo.csv"),
		"--pushgateway", gateway, "--metrics-file", at("demo.prom"), "--log-format", "json")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	got := pushed(t, gateway, "run", "plan.csv")
	counts := countOutcomes(t, at("demo.csv"))
	for _, o := range job.RunOutcomes {
		if v, ok := got[`reassign_rows{outcome="`+string(o)+`"}`]; !ok || int(v) != counts[string(o)] {
			t.Errorf("reassign_rows{outcome=%q} = %v (pushed: %v), the report counts %d", o, v, ok, counts[string(o)])
		}
	}
	if got["reassign_exit_code{}"] != 3 || got["reassign_requests{class=\"4xx\"}"] != 2 {
		t.Errorf("pushed %v", got)
	}
	if _, ok := got["reassign_last_success_timestamp_seconds{}"]; ok {
		t.Error("a run that exited 3 pushed a last success")
	}
	if file := countSeries(t, at("demo.prom")); len(file) != len(got) {
		t.Errorf("the metrics file holds %d series, the gateway %d", len(file), len(got))
	}

	// A scheduled run of the same plan name: exit 0, then a refused one (65) keeps the
	// success's timestamp.
	api, base := fakeAPI(t, smallWorkspace(5), sandbox.Options{})
	planFile := writeFile(t, dir, "nightly.csv", planOf(5))
	env := map[string]string{"DIALNEXA_API_KEY": testKey, "REASSIGN_PUSHGATEWAY": gateway, "REASSIGN_METRICS_NAME": "nightly"}
	res = runIn(t, env, "", "--plan", planFile, "--report", at("n1.csv"), "--base-url", base, "--rate", "0", "--log-format", "json")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	got = pushed(t, gateway, "run", "nightly")
	success, ok := got["reassign_last_success_timestamp_seconds{}"]
	if !ok || got[`reassign_rows{outcome="updated"}`] != 5 || got["reassign_exit_code{}"] != 0 {
		t.Errorf("after exit 0: %v", got)
	}
	if at := time.Unix(int64(success), 0); time.Since(at) > time.Hour || time.Until(at) > time.Minute {
		t.Errorf("last success %v is not now", at)
	}
	res = runIn(t, env, "id,agent_id\nphn_0000,bad agent\n", "--plan", "-", "--report", at("n2.csv"), "--base-url", base, "--log-format", "json")
	if res.code != exitPlan {
		t.Fatalf("exit %d, want 65\n%s", res.code, res.stderr)
	}
	got = pushed(t, gateway, "run", "nightly")
	if got["reassign_exit_code{}"] != 65 || got["reassign_last_success_timestamp_seconds{}"] != success || got[`reassign_rows{outcome="updated"}`] != 0 {
		t.Errorf("after exit 65: %v; want exit code 65, the last success kept, rows at 0", got)
	}
	// Without a name, a plan on stdin is "stdin"; no key is exit 78, pushed as well.
	res = runIn(t, map[string]string{"REASSIGN_PUSHGATEWAY": gateway}, planOf(2), "--plan", "-", "--report", at("n3.csv"), "--base-url", base, "--log-format", "json")
	if res.code != exitConfig {
		t.Fatalf("exit %d, want 78\n%s", res.code, res.stderr)
	}
	if got = pushed(t, gateway, "run", "stdin"); got["reassign_exit_code{}"] != 78 || len(got) < len(job.RunOutcomes)+4 {
		t.Errorf("exit 78, plan on stdin: %v", got)
	}

	// Someone changes two numbers in the dashboard: the next verify pushes differs 2.
	api.Update("phn_0001", func(n *sandbox.Number) { n.AgentID = new("agt_b") })
	api.Update("phn_0003", func(n *sandbox.Number) { n.Nickname = new("Moved") })
	res = runIn(t, env, "", "verify", "--plan", planFile, "--report", at("v.csv"), "--base-url", base, "--log-format", "json")
	if res.code != exitRowErrors {
		t.Fatalf("verify: exit %d\n%s", res.code, res.stderr)
	}
	got = pushed(t, gateway, "verify", "nightly")
	if got[`reassign_rows{outcome="differs"}`] != 2 || got[`reassign_rows{outcome="matches"}`] != 3 || got["reassign_exit_code{}"] != 3 {
		t.Errorf("verify of a drifted workspace pushed %v", got)
	}
	if _, ok := got[`reassign_rows{outcome="updated"}`]; ok {
		t.Error("verify pushed a run's outcomes")
	}
}

// countSeries reads the reassign_ series of a metrics file.
func countSeries(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "reassign_") {
			out = append(out, line)
		}
	}
	return out
}

// TestMetricsGatewayDown: a Pushgateway that is not there, or that never answers, is one
// warning; the exit code is the run's. A gateway that hangs is given up on after the
// push's own timeout, not the run's.
func TestMetricsGatewayDown(t *testing.T) {
	t.Parallel()
	down, err := metricstest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	hanging, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the parallel subtests, not when this function returns.
	t.Cleanup(func() { hanging.Close() })
	// It accepts, reads nothing and answers nothing.
	go func() {
		for {
			c, err := hanging.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct{ name, gateway, says string }{
		{"down", "http://" + down, "connection refused"},
		{"hanging", "http://" + hanging.Addr().String(), "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			start := time.Now()
			res := runIn(t, nil, "", "--plan", filepath.Join("samples", "plan.csv"), "--sandbox", "--report", filepath.Join(dir, "r.csv"),
				"--pushgateway", tc.gateway, "--log-format", "json")
			t.Logf("the run with a gateway %s took %v", tc.name, time.Since(start).Round(time.Millisecond))
			if res.code != exitRowErrors {
				t.Errorf("exit %d, want the run's 3\n%s", res.code, res.stderr)
			}
			var warnings []map[string]any
			for _, ev := range logEvents(t, res.stderr) {
				if ev["event"] == "metrics_push" {
					warnings = append(warnings, ev)
				}
			}
			if len(warnings) != 1 || warnings[0]["level"] != "warn" || !strings.Contains(warnings[0]["error"].(string), tc.says) {
				t.Errorf("warnings %v, want one saying %q", warnings, tc.says)
			}
		})
	}
}

// TestSIGTERMPushesAndOffersResume: a run stopped by SIGTERM still pushes its metrics
// (exit 75, the rows not sent), and the resume command its end offers runs the rest.
func TestSIGTERMPushesAndOffersResume(t *testing.T) {
	t.Parallel()
	gateway := metricstest.StartPushgateway(t)
	const rows = 120
	api, base := fakeAPI(t, smallWorkspace(rows), sandbox.Options{Latency: 50 * time.Millisecond})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", planOf(rows))
	env := []string{"DIALNEXA_API_KEY=" + testKey}
	cmd, stderr := startBinary(t, dir, env, "--plan", "plan.csv", "--report", "first.csv", "--base-url", base,
		"--rate", "40", "--workers", "4", "--pushgateway", gateway, "--metrics-name", "sigterm")
	deadline := time.Now().Add(30 * time.Second)
	for len(api.Patches()) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the run never got going")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitTemp {
		t.Fatalf("exit %d, want 75\n%s", code, stderr.String())
	}
	counts := countOutcomes(t, filepath.Join(dir, "first.csv"))
	got := pushed(t, gateway, "run", "sigterm")
	if got["reassign_exit_code{}"] != 75 || int(got[`reassign_rows{outcome="not_attempted"}`]) != counts["not_attempted"] || counts["not_attempted"] == 0 {
		t.Errorf("pushed %v; the report counts %v", got, counts)
	}

	msg, _ := findEvent(logEvents(t, stderr.String()), "summary")["message"].(string)
	var resume []string
	for _, line := range strings.Split(msg, "\n") {
		if cmdline, ok := strings.CutPrefix(line, "To finish it: reassign "); ok {
			resume = strings.Fields(cmdline) // no value here needs quoting
		}
	}
	if resume == nil {
		t.Fatalf("the end offers no resume command:\n%s", msg)
	}
	res := runBinary(t, dir, env, resume...)
	if res.code != exitOK {
		t.Fatalf("reassign %s: exit %d\n%s", strings.Join(resume, " "), res.code, res.stderr)
	}
	second := countOutcomes(t, filepath.Join(dir, "first-resume.csv"))
	if second["skipped"] != counts["updated"] || second["updated"] != rows-counts["updated"] {
		t.Errorf("the resumed run: %v; the first: %v", second, counts)
	}
}

// TestQuestionOnTheControllingTerminal: with stdin a terminal and stderr a pipe (as
// under 2>&1 | tee run.log), the question is put on the controlling terminal, naming
// the workspace and the undo plan. A no, or Ctrl-C at the question, sends nothing, logs
// no line per row and ends in one line, exit 0, the report listing the rows
// not_attempted; a yes sends.
func TestQuestionOnTheControllingTerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, answer string
		sent         int
	}{
		{"no", "n\r", 0},
		{"ctrl-c", "\x03", 0},
		{"yes", "y\r", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, base := fakeAPI(t, smallWorkspace(5), sandbox.Options{})
			api.Update("phn_0004", func(n *sandbox.Number) { n.AgentID, n.Nickname = new("agt_a"), new("Row 4") })
			dir := t.TempDir()
			writeFile(t, dir, "plan.csv", planOf(5))
			var errs bytes.Buffer // stderr is a pipe: the question goes to the terminal all the same
			code, screen := ptyRun(t, dir, key(), nil, &errs, tc.answer,
				"--plan", "plan.csv", "--report", "r.csv", "--undo-plan", "u.csv", "--base-url", base, "--rate", "0")
			stderr := errs.String()
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s\n%s", code, screen, stderr)
			}
			question := "write 4 numbers: 4 agent changes, 4 nickname changes, 0 label changes; 1 row already as planned\r\n" +
				"workspace: " + base + "\r\nundo plan: u.csv\r\nApply? [y/N] "
			if !strings.Contains(screen, question) {
				t.Errorf("the terminal shows:\n%q\nwant the question\n%q", screen, question)
			}
			if strings.Contains(stderr, "Apply?") {
				t.Errorf("the question went to stderr too:\n%s", stderr)
			}
			if len(api.Patches()) != tc.sent {
				t.Errorf("%d PATCHes, want %d", len(api.Patches()), tc.sent)
			}
			counts := countOutcomes(t, filepath.Join(dir, "r.csv"))
			evs := logEvents(t, stderr)
			msg, _ := findEvent(evs, "summary")["message"].(string)
			if tc.sent > 0 {
				if counts["updated"] != 4 {
					t.Errorf("after a yes: %v", counts)
				}
				return
			}
			if counts["not_attempted"] != 4 || counts["unchanged"] != 1 {
				t.Errorf("after a %s: %v, want 4 not_attempted and 1 unchanged", tc.name, counts)
			}
			for _, ev := range evs {
				if ev["event"] == "row" {
					t.Errorf("a line per row after a %s: %v", tc.name, ev)
				}
			}
			if want := "Nothing was sent: the answer was no. The report lists the 4 rows that needed a write as not_attempted: r.csv."; msg != want {
				t.Errorf("the end: %q, want %q", msg, want)
			}
		})
	}
}
