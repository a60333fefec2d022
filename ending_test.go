package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"reassign/job"
)

// rowsOf returns n results of outcome, row i changing the fields fields names ("a" an
// agent, "d" detaching it, "n" the nickname, "l" the label) from what the number held
// before; errs, if given, are the rows' errors in turn.
func resultsOf(n int, outcome job.Outcome, fields string, errs ...string) []job.Result {
	out := make([]job.Result, n)
	for i := range out {
		row := job.Row{Line: i + 2, ID: fmt.Sprintf("phn_%05d", i)}
		before := &job.NumberState{AgentID: "agt_old", Nickname: "Old", Label: "Old"}
		for _, f := range fields {
			switch f {
			case 'a':
				row.AgentID = job.Field{Raw: "agt_new"}
			case 'd':
				row.AgentID = job.Field{Raw: "null", Null: true}
			case 'n':
				row.Nickname = job.Field{Raw: "New"}
			case 'l':
				row.Label = job.Field{Raw: "New"}
			case '=': // a field planned as the number holds it already
				row.Nickname = job.Field{Raw: "Old"}
			}
		}
		out[i] = job.Result{Row: row, Outcome: outcome, Before: before}
		if len(errs) > 0 {
			out[i].Error = errs[i%len(errs)]
		}
	}
	return out
}

// TestEndingWords: the end of typical runs, in words, against golden files in
// testdata/ending (go test -run TestEndingWords -update rewrites them).
func TestEndingWords(t *testing.T) {
	t.Parallel()
	live := []string{"--plan", "team-move.csv", "--base-url", "https://api.example.com/v1", "--rate", "20"}
	cases := []struct {
		name      string
		args      []string
		results   [][]job.Result
		exit      int
		outcomes  []job.Outcome // the summary's kinds; job.RunOutcomes when nil
		withheld  int
		interrupt bool
		stopped   error
		declined  bool
	}{
		{name: "exit0", exit: exitOK,
			args: append(live, "--report", "run.csv", "--undo-plan", "undo.csv", "--summary", "summary.json", "--html", "run.html"),
			results: [][]job.Result{resultsOf(1084, job.Updated, "an"), resultsOf(96, job.Updated, "a"), resultsOf(12, job.Updated, "l"),
				resultsOf(12, job.Updated, "n="), resultsOf(37, job.Unchanged, ""), resultsOf(10, job.Skipped, "a")}},
		{name: "exit3", exit: exitRowErrors, args: append(live, "--report", "run.csv"),
			results: [][]job.Result{resultsOf(40, job.Updated, "a"), resultsOf(2, job.Updated, "d"),
				resultsOf(3, job.NotFound, "a", "404 Not Found: Phone number not found"),
				resultsOf(5, job.Rejected, "a", "400 Bad Request: agent_id agt_outbound is not eligible to be assigned to a number: it makes outbound calls only",
					"400 Bad Request: agent_id agt_outbound is not eligible to be assigned to a number: it makes outbound calls only",
					"400 Bad Request: label must be at most 64 characters", "409 Conflict: the number is being ported"),
				resultsOf(1, job.Conflict, "a", "agent_id changed since the plan was reviewed: was agt_a, now agt_b")}},
		{name: "exit75-interrupted", exit: exitTemp, interrupt: true,
			args:    append(live, "--report", "reports/run.csv", "--undo-plan", "reports/undo.csv", "--columns", "agent=Target agent", "--shards", "4", "--shard-index", "2"),
			results: [][]job.Result{resultsOf(400, job.Updated, "an"), resultsOf(1, job.Failed, "a", "503 Service Unavailable"), resultsOf(599, job.NotAttempted, "an", "not sent: the run was interrupted")}},
		{name: "exit75-resumed-again", exit: exitTemp,
			args:    append(live, "--report", "run-resume.csv", "--resume", "run.csv"),
			results: [][]job.Result{resultsOf(20, job.Skipped, "a"), resultsOf(18, job.Updated, "a"), resultsOf(2, job.Failed, "a", "timeout: no answer within 30s")}},
		{name: "limit", exit: exitOK, withheld: 90,
			args:    append(live, "--report", "canary.csv", "--limit", "10"),
			results: [][]job.Result{resultsOf(10, job.Updated, "an"), resultsOf(90, job.NotAttempted, "an", "--limit reached")}},
		{name: "dry-run", exit: exitOK,
			args:    append(live, "--report", "review.csv", "--dry-run=server", "--summary", "review.json"),
			results: [][]job.Result{resultsOf(1180, job.WouldUpdate, "anl"), resultsOf(24, job.WouldUpdate, "n"), resultsOf(37, job.Unchanged, "")}},
		{name: "verify", exit: exitRowErrors, outcomes: job.VerifyOutcomes,
			args: []string{"verify", "--plan", "team-move.csv", "--base-url", "https://api.example.com/v1", "--report", "verify.csv"},
			results: [][]job.Result{resultsOf(1238, job.Matches, "a"),
				resultsOf(2, job.Differs, "a", "agent_id is agt_x, planned agt_new"), resultsOf(1, job.NotFound, "a", "not in the workspace")}},
		{name: "verify-matches", exit: exitOK, outcomes: job.VerifyOutcomes,
			args:    []string{"verify", "--plan", "team-move.csv", "--sandbox", "--sandbox-state", "rehearsal.json", "--report", "verify.csv"},
			results: [][]job.Result{resultsOf(41, job.Matches, "a")}},
		{name: "declined", exit: exitOK, declined: true, withheld: 1204,
			args:    append(live, "--report", "run.csv"),
			results: [][]job.Result{resultsOf(1204, job.NotAttempted, "a", "not sent: the run was not confirmed (Apply? [y/N])"), resultsOf(37, job.Unchanged, "")}},
		{name: "key-refused", exit: exitKey, stopped: job.ErrKeyRefused,
			args:    append(live, "--report", "run.csv", "--api-key-file", "/secrets/dialnexa/key"),
			results: [][]job.Result{resultsOf(1, job.Unauthorized, "a", "401 Unauthorized"), resultsOf(99, job.NotAttempted, "a", "not sent: the run stopped: the API refused the key")}},
		{name: "sandbox", exit: exitRowErrors, args: []string{"--plan", "samples/plan.csv", "--sandbox", "--report", "demo.csv"},
			results: [][]job.Result{resultsOf(5, job.Updated, "anl"), resultsOf(1, job.Updated, "dn"), resultsOf(1, job.NotFound, "a", "404 Not Found: Phone number not found")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(tc.args, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			e := cfg.ending("v1.4.0")
			sum := job.Summary{Counts: map[job.Outcome]int{}, Order: tc.outcomes, Withheld: tc.withheld,
				Interrupted: tc.interrupt, Stopped: tc.stopped}
			if sum.Order == nil {
				sum.Order = job.RunOutcomes
			}
			for _, rs := range tc.results {
				for _, r := range rs {
					e.Changes.Add(r)
					sum.Counts[r.Outcome]++
					sum.Rows++
				}
			}
			e.Ran(sum)
			e.ExitCode, e.Declined = tc.exit, tc.declined
			e.Next = cfg.next(e)
			got := strings.Join(e.Words(), "\n") + "\n"
			golden := filepath.Join("testdata", "ending", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestEndingWords -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("the end in words:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// TestSuccessor: the names of the next command's outputs never repeat this one's, and
// do not look like another shard's.
func TestSuccessor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, word, want string }{
		{"run.csv", "resume", "run-resume.csv"},
		{"run-resume.csv", "resume", "run-resume2.csv"},
		{"reports/run-resume9.csv", "resume", "reports/run-resume10.csv"},
		{"reports/job-0.csv", "resume", "reports/job-0-resume.csv"},
		{"review-run.json", "resume", "review-run-resume.json"},
		{"noext", "run", "noext-run"},
		{"", "resume", ""},
		{"-", "resume", "-"},
	} {
		if got := successor(c.in, c.word); got != c.want {
			t.Errorf("successor(%q, %q) = %q, want %q", c.in, c.word, got, c.want)
		}
	}
}

// TestCommandLineQuotes: values a shell would split or expand are quoted, so that the
// command offered can be pasted as it is.
func TestCommandLineQuotes(t *testing.T) {
	t.Parallel()
	got := commandLine("", map[string]string{"plan": "Team move (EMEA).xlsx", "columns": "agent=Ziel-Agent", "null-token": "it's null", "sandbox": "true", "rate": "0"})
	want := `reassign --plan 'Team move (EMEA).xlsx' --columns agent=Ziel-Agent --null-token 'it'\''s null' --rate 0 --sandbox`
	if got != want {
		t.Errorf("command line\n%s\nwant\n%s", got, want)
	}
	if got := commandLine("verify", map[string]string{"plan": "p.csv", "limit": "10", "undo-plan": "u.csv"}); got != "reassign verify --plan p.csv" {
		t.Errorf("verify keeps only its own flags: %s", got)
	}
}

// TestEndFlagsRefused: the end-of-run flags are checked before anything is read.
func TestEndFlagsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(2))
	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		output string
	}{
		{"gateway not http", []string{"--pushgateway", "ftp://gateway:9091"}, exitUsage, "--pushgateway: bad Pushgateway URL"},
		{"log file on stdout", []string{"--log-file", "-"}, exitUsage, "--log-file - "},
		{"metrics file is the plan", []string{"--metrics-file", plan}, exitUsage, "--metrics-file names the same file as --plan"},
		{"log file in a missing folder", []string{"--log-file", filepath.Join(dir, "missing", "run.log")}, exitConfig, "no such file or directory"},
	} {
		res := runIn(t, nil, "", append([]string{"--plan", plan, "--sandbox", "--report", filepath.Join(dir, "r.csv")}, tc.args...)...)
		if res.code != tc.want || !strings.Contains(res.stderr, tc.output) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", tc.name, res.code, tc.want, tc.output, res.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "r.csv")); err == nil {
			t.Fatalf("%s: a report was written", tc.name)
		}
	}
}
