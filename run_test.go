package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/sandbox"
	"reassign/report"
)

// inProcess is what one call of run left.
type inProcess struct {
	code           int
	stdout, stderr string
}

// runIn calls run in this process, in dir (paths in args are relative to it only where
// the test joins them), with exactly the environment env and stdin.
func runIn(t *testing.T, env map[string]string, stdin string, args ...string) inProcess {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, nil, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return inProcess{code, stdout.String(), stderr.String()}
}

// TestRunCommandLine drives run in process through the command line's refusals and
// answers: each case's exit code, a fragment of its output, and no file left behind.
func TestRunCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(3))
	report := filepath.Join(dir, "r.csv")
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		want   int
		output string // a fragment of stdout+stderr
	}{
		{name: "help", args: []string{"--help"}, want: 0, output: "REASSIGN_RATE"},
		{name: "version", args: []string{"--version"}, want: 0, output: "reassign "},
		{name: "unknown flag", args: []string{"--plan", plan, "--nope"}, want: 64, output: "unknown flag --nope"},
		{name: "no plan", args: nil, want: 64, output: "--plan is required"},
		{name: "bad env value", env: map[string]string{"REASSIGN_WORKERS": "many"}, args: []string{"--plan", plan}, want: 64, output: "$REASSIGN_WORKERS"},
		{name: "flag wins over a bad env value? no: the env is read first", env: map[string]string{"REASSIGN_RATE": "fast"}, args: []string{"--plan", plan, "--rate", "1"}, want: 64, output: "$REASSIGN_RATE"},
		{name: "rate NaN", args: []string{"--plan", plan, "--rate", "NaN"}, want: 64, output: "--rate"},
		{name: "rate Inf", args: []string{"--plan", plan, "--rate", "Inf"}, want: 64, output: "--rate"},
		{name: "rate -Inf from env", env: map[string]string{"REASSIGN_RATE": "-Inf"}, args: []string{"--plan", plan}, want: 64, output: "--rate"},
		{name: "shards 2^32", args: []string{"--plan", plan, "--shards", "4294967296"}, want: 64, output: "--shards must be between 1 and 100000"},
		{name: "shard index out of range", env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, args: []string{"--plan", plan, "--shards", "3"}, want: 64, output: "--shard-index"},
		{name: "report and undo plan one file", args: []string{"--plan", plan, "--report", report, "--undo-plan", report}, want: 64, output: "same file"},
		{name: "report and undo plan one file, spelt apart", args: []string{"--plan", plan, "--report", report, "--undo-plan", filepath.Join(dir, ".", "r.csv")}, want: 64, output: "same file"},
		{name: "report and undo plan both stdout", args: []string{"--plan", plan, "--report", "-", "--undo-plan", "-"}, want: 64, output: "--report and --undo-plan both write stdout"},
		{name: "undo plan with a dry run", args: []string{"--plan", plan, "--dry-run", "--undo-plan", filepath.Join(dir, "u.csv")}, want: 64, output: "--undo-plan needs a live run"},
		{name: "no key", args: []string{"--plan", plan, "--report", report}, want: 78, output: "no API key"},
		{name: "key file endless", args: []string{"--plan", plan, "--report", report, "--api-key-file", "/dev/zero"}, want: 78, output: "more than 4096 bytes"},
		{name: "key with a space", env: map[string]string{"DIALNEXA_API_KEY": "key one"}, args: []string{"--plan", plan, "--report", report}, want: 78, output: "spaces or control characters"},
		{name: "insecure URL", env: map[string]string{"DIALNEXA_API_KEY": testKey}, args: []string{"--plan", plan, "--report", report, "--base-url", "http://api.example.com/v1"}, want: 78, output: "https"},
		{name: "plan is a folder", args: []string{"--plan", dir, "--report", report, "--dry-run"}, want: 65, output: "is a directory"},
		{name: "missing plan", args: []string{"--plan", filepath.Join(dir, "nope.csv"), "--report", report, "--dry-run"}, want: 65, output: "nope.csv"},
		{name: "export without --out", args: []string{"export"}, want: 64, output: "--out is required"},
		{name: "limit 0", args: []string{"--plan", plan, "--limit", "0"}, want: 64, output: "must be at least 1, not 0"},
		{name: "limit negative from env", env: map[string]string{"REASSIGN_LIMIT": "-3"}, args: []string{"--plan", plan}, want: 64, output: "$REASSIGN_LIMIT"},
		{name: "limit not a number", args: []string{"--plan", plan, "--limit", "ten"}, want: 64, output: "not a whole number"},
		{name: "summary is the report", args: []string{"--plan", plan, "--report", report, "--summary", report}, want: 64, output: "--summary names the same file"},
		{name: "summary and report both stdout", args: []string{"--plan", plan, "--report", "-", "--summary", "-"}, want: 64, output: "--report and --summary both write stdout"},
		{name: "verify without a plan", args: []string{"verify"}, want: 64, output: "--plan is required"},
		{name: "verify writes nothing to shape", args: []string{"verify", "--plan", plan, "--dry-run"}, want: 64, output: "verify does not take --dry-run (a run does)"},
		{name: "verify without the snapshot", args: []string{"verify", "--plan", plan, "--no-snapshot"}, want: 64, output: "verify does not take --no-snapshot (a run does)"},
		{name: "verify ignores a run's variables", env: map[string]string{"REASSIGN_LIMIT": "0", "REASSIGN_DRY_RUN": "maybe"}, args: []string{"verify", "--plan", plan, "--report", report}, want: 78, output: "no API key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runIn(t, tc.env, "", tc.args...)
			if res.code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.want, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout+res.stderr, tc.output) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.output, res.stdout, res.stderr)
			}
			if _, err := os.Stat(report); err == nil {
				os.Remove(report)
				t.Errorf("%s was created by a run that was refused", report)
			}
		})
	}
}

// TestRunExitCodes: more ways to the exit codes, in process against the fake: each
// case's code, a fragment of its output, and that nothing reached the API.
func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		key    bool
		args   func(dir string) []string
		want   int
		output string // a fragment of stdout+stderr
	}{
		{name: "bad rate", args: func(string) []string { return []string{"--rate", "-1"} }, want: exitUsage, output: "--rate"},
		{name: "stray argument", args: func(string) []string { return []string{"extra"} }, want: exitUsage, output: "unexpected argument"},
		{name: "unreadable key file", args: func(string) []string { return []string{"--api-key-file", "/nonexistent/key"} }, want: exitConfig, output: "key file"},
		{name: "dry run needs no key", args: func(string) []string { return []string{"--dry-run"} }, want: exitOK},
		{name: "summary exists", key: true, args: func(dir string) []string {
			return []string{"--summary", writeFile(t, dir, "s.json", "{}")}
		}, want: exitConfig, output: "already exists"},
		{name: "summary in a missing folder", key: true, args: func(dir string) []string {
			return []string{"--summary", filepath.Join(dir, "nowhere", "s.json")}
		}, want: exitConfig, output: filepath.Join("nowhere", "s.json")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, base := fakeAPI(t, smallWorkspace(5), sandbox.Options{})
			dir := t.TempDir()
			env := map[string]string{"DIALNEXA_BASE_URL": base, "REASSIGN_LOG_FORMAT": "json"}
			if tc.key {
				env["DIALNEXA_API_KEY"] = testKey
			}
			args := append([]string{"--plan", writeFile(t, dir, "plan.csv", planOf(5)), "--report", filepath.Join(dir, "r.csv")}, tc.args(dir)...)
			res := runIn(t, env, "", args...)
			if res.code != tc.want {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, tc.want, res.stderr)
			}
			if !strings.Contains(res.stdout+res.stderr, tc.output) {
				t.Errorf("output lacks %q:\n%s", tc.output, res.stderr)
			}
			if n := api.Requests(); n != 0 {
				t.Errorf("%d requests reached the API; want none", n)
			}
		})
	}
}

// TestRunEnvironmentOrder: with two bad variables, the same one is reported every time
// (the flag table's order), not whichever a map walk met first.
func TestRunEnvironmentOrder(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REASSIGN_WORKERS": "many", "REASSIGN_RATE": "fast", "REASSIGN_BURST": "big", "REASSIGN_TIMEOUT": "soon"}
	for i := range 30 {
		res := runIn(t, env, "", "--plan", "p.csv")
		if res.code != exitUsage || !strings.Contains(res.stderr, "$REASSIGN_RATE") {
			t.Fatalf("run %d: exit %d, %q; want 64 naming $REASSIGN_RATE, the first of the table", i, res.code, res.stderr)
		}
	}
}

// TestRunPlanReadErrorSaidOnce: an unreadable plan says "read plan:" once.
func TestRunPlanReadErrorSaidOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res := runIn(t, nil, "", "--plan", dir, "--dry-run", "--report", filepath.Join(dir, "r.csv"), "--log-format", "json")
	if res.code != exitPlan {
		t.Fatalf("exit %d, want 65\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "read plan:"); n != 1 || strings.Contains(res.stderr, "read plan: read plan") {
		t.Errorf("%d times \"read plan:\" in\n%s", n, res.stderr)
	}
}

// TestRunInProcessAgainstFake: a live run and a dry run through run, against the fake.
func TestRunInProcessAgainstFake(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, smallWorkspace(3), sandbox.Options{})
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(3))
	env := map[string]string{"DIALNEXA_API_KEY": testKey, "DIALNEXA_BASE_URL": base, "REASSIGN_LOG_FORMAT": "json"}
	res := runIn(t, env, "", "--plan", plan, "--report", filepath.Join(dir, "dry.csv"), "--dry-run")
	if res.code != exitOK || len(api.Patches()) != 0 {
		t.Fatalf("dry run: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), res.stderr)
	}
	res = runIn(t, env, "", "--plan", plan, "--report", "-", "--rate", "0")
	if res.code != exitOK || len(api.Patches()) != 3 {
		t.Fatalf("live run: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), res.stderr)
	}
	if rows := readReport(t, res.stdout); len(rows) != 3 {
		t.Errorf("%d report rows on stdout, want 3", len(rows))
	}
}

// TestOnHardStop: a second signal writes out the log lines held, then exits 75.
func TestOnHardStop(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	sink := report.NewLogSink(&out)
	sink.Hold(true)
	log := zerolog.New(sink)
	log.Info().Msg("held line")
	if out.Len() != 0 {
		t.Fatal("the line was not held")
	}
	hard := make(chan struct{})
	exited := make(chan int, 1)
	stop := onHardStop(hard, sink, func(code int) { exited <- code })
	defer stop()
	close(hard)
	select {
	case code := <-exited:
		if code != exitTemp {
			t.Errorf("exit %d, want 75", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the second signal")
	}
	if !strings.Contains(out.String(), "held line") {
		t.Errorf("the held log line was lost: %q", out.String())
	}
}

// TestExitCodeOf: the exit code of each kind of summary, and which wins when several
// apply.
func TestExitCodeOf(t *testing.T) {
	t.Parallel()
	counts := func(kv ...any) map[job.Outcome]int {
		m := map[job.Outcome]int{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(job.Outcome)] = kv[i+1].(int)
		}
		return m
	}
	disk := errors.New("write report: no space left on device")
	cases := []struct {
		name string
		sum  job.Summary
		want int
	}{
		{"every row applied", job.Summary{Counts: counts(job.Updated, 3, job.Unchanged, 1, job.Skipped, 2)}, exitOK},
		{"dry run", job.Summary{Counts: counts(job.WouldUpdate, 3)}, exitOK},
		{"verify: all match", job.Summary{Counts: counts(job.Matches, 3)}, exitOK},
		{"held back by --limit", job.Summary{Counts: counts(job.Updated, 1, job.NotAttempted, 2), Withheld: 2}, exitOK},
		{"a row not found", job.Summary{Counts: counts(job.Updated, 2, job.NotFound, 1)}, exitRowErrors},
		{"verify: a row differs", job.Summary{Counts: counts(job.Matches, 2, job.Differs, 1)}, exitRowErrors},
		{"a conflict", job.Summary{Counts: counts(job.Conflict, 1)}, exitRowErrors},
		{"stopped by --max-errors", job.Summary{Counts: counts(job.Rejected, 2, job.NotAttempted, 5), Stop: job.StopMaxErrors, Stopped: job.ErrMaxErrors}, exitRowErrors},
		{"rows not sent, nothing held back", job.Summary{Counts: counts(job.Updated, 1, job.NotAttempted, 2), Withheld: 1}, exitTemp},
		{"failed beats row errors", job.Summary{Counts: counts(job.Failed, 1, job.NotFound, 1)}, exitTemp},
		{"an output failed beats failed rows", job.Summary{Counts: counts(job.Failed, 1), Stop: job.StopOutputFailed, Stopped: disk}, exitConfig},
		{"a refused key", job.Summary{Counts: counts(job.Forbidden, 5, job.NotAttempted, 5), Stop: job.StopKeyRefused, Stopped: job.ErrKeyRefused}, exitKey},
		{"a 401 row", job.Summary{Counts: counts(job.Unauthorized, 1, job.Failed, 1)}, exitKey},
		{"interrupted beats a refused key", job.Summary{Counts: counts(job.Unauthorized, 1), Stop: job.StopKeyRefused, Interrupted: true}, exitTemp},
	}
	for _, tc := range cases {
		if got := exitCodeOf(tc.sum); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}
