package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"reassign/job/sandbox"
)

// snapshotDir is every file under dir with its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// earlierReport is a report an earlier pod left: phn_0000 updated.
const earlierReport = "line,id,agent_id,nickname,label,outcome\n2,phn_0000,agt_a,Row 0,,updated\n"

// TestOutputsNeverClobber: an output that names the plan, a report --resume reads, the
// key file or another output is refused before any request (exit 64), and every file
// is left byte for byte as it was, whichever flag or spelling names it.
func TestOutputsNeverClobber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string // {dir} is the run's folder
		env  map[string]string
		says string
	}{
		{"termination log is the undo plan", []string{"--report", "{dir}/run.csv", "--undo-plan", "{dir}/undo.csv", "--termination-log", "{dir}/undo.csv"}, nil, "--termination-log names the same file as --undo-plan"},
		{"termination log is the plan", []string{"--report", "{dir}/run.csv", "--termination-log", "{dir}/plan.csv"}, nil, "--termination-log names the same file as --plan"},
		{"termination log is the report", []string{"--report", "{dir}/run.csv", "--termination-log", "{dir}/run.csv"}, nil, "--termination-log names the same file as --report"},
		{"termination log is the summary", []string{"--report", "{dir}/run.csv", "--summary", "{dir}/s.json", "--termination-log", "{dir}/./s.json"}, nil, "--termination-log names the same file as --summary"},
		{"termination log is the plan, from the environment", []string{"--report", "{dir}/run.csv"}, map[string]string{"REASSIGN_TERMINATION_LOG": "{dir}/plan.csv"}, "--plan"},
		{"termination log is the plan through a symlink", []string{"--report", "{dir}/run.csv", "--termination-log", "{dir}/link.csv"}, nil, "--plan"},
		{"termination log is the key file", []string{"--report", "{dir}/run.csv", "--api-key-file", "{dir}/key.txt", "--termination-log", "{dir}/key.txt"}, nil, "--api-key-file"},
		{"report is the plan", []string{"--report", "{dir}/plan.csv"}, nil, "--report names the same file as --plan"},
		{"undo plan is the plan", []string{"--report", "{dir}/run.csv", "--undo-plan", "{dir}/sub/../plan.csv"}, nil, "--undo-plan names the same file as --plan"},
		{"summary is the plan", []string{"--report", "{dir}/run.csv", "--summary", "{dir}/plan.csv"}, nil, "--summary names the same file as --plan"},
		{"summary is the undo plan", []string{"--report", "{dir}/run.csv", "--undo-plan", "{dir}/undo.csv", "--summary", "{dir}/undo.csv"}, nil, "--summary names the same file as --undo-plan"},
		{"report is the resume report", []string{"--report", "{dir}/reports/reassign-sharded-0-a.csv", "--resume", "{dir}/reports/reassign-sharded-0-a.csv"}, nil, "--report names the same file as --resume"},
		{"termination log is a report the resume glob matches", []string{"--report", "{dir}/run.csv", "--resume", "{dir}/reports/reassign-sharded-*.csv", "--termination-log", "{dir}/reports/reassign-sharded-0-a.csv"}, nil, "--termination-log names the same file as --resume"},
		{"summary is a report in the resume folder", []string{"--report", "{dir}/run.csv", "--resume", "{dir}/reports", "--summary", "{dir}/reports/reassign-sharded-0-a.csv"}, nil, "--summary names the same file as --resume"},
		{"verify: termination log is the plan", []string{"verify", "--report", "{dir}/v.csv", "--termination-log", "{dir}/plan.csv"}, nil, "--plan"},
		{"export: out is the key file", []string{"export", "--out", "{dir}/key.txt", "--api-key-file", "{dir}/key.txt"}, nil, "--out names the same file as --api-key-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, base := fakeAPI(t, smallWorkspace(3), sandbox.Options{})
			dir := t.TempDir()
			writeFile(t, dir, "plan.csv", planOf(3))
			writeFile(t, dir, "key.txt", testKey+"\n")
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			os.Mkdir(filepath.Join(dir, "reports"), 0o755)
			writeFile(t, dir, "reports/reassign-sharded-0-a.csv", earlierReport)
			if err := os.Symlink(filepath.Join(dir, "plan.csv"), filepath.Join(dir, "link.csv")); err != nil {
				t.Fatal(err)
			}
			in := func(s string) string { return strings.ReplaceAll(s, "{dir}", dir) }
			var args []string
			for _, a := range tc.args {
				args = append(args, in(a))
			}
			if args[0] != "export" && args[0] != "verify" {
				args = append([]string{"--plan", filepath.Join(dir, "plan.csv")}, args...)
			} else if args[0] == "verify" {
				args = append(args, "--plan", filepath.Join(dir, "plan.csv"))
			}
			env := map[string]string{"DIALNEXA_API_KEY": testKey, "DIALNEXA_BASE_URL": base, "REASSIGN_LOG_FORMAT": "json", "REASSIGN_RATE": "0"}
			for k, v := range tc.env {
				env[k] = in(v)
			}
			before := snapshotDir(t, dir)

			res := runIn(t, env, "", args...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tc.says) {
				t.Errorf("exit %d, want 64 saying %q\n%s", res.code, tc.says, res.stderr)
			}
			if n := api.Requests(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
			if after := snapshotDir(t, dir); !maps.Equal(before, after) {
				t.Errorf("the files changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// TestResumeGlobBesideTheReport: the Kubernetes samples write /reports/$(POD_NAME).csv
// and resume from /reports/<job>-*.csv, which their own report matches once written: a
// retried pod reads the reports there when it starts and writes its own beside them.
// Devices never clash (a termination log on /dev/null).
func TestResumeGlobBesideTheReport(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, smallWorkspace(3), sandbox.Options{})
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", planOf(3))
	os.Mkdir(filepath.Join(dir, "reports"), 0o755)
	writeFile(t, dir, "reports/reassign-sharded-0-a.csv", earlierReport)
	env := map[string]string{"DIALNEXA_API_KEY": testKey, "DIALNEXA_BASE_URL": base, "REASSIGN_LOG_FORMAT": "json", "REASSIGN_RATE": "0"}
	report := filepath.Join(dir, "reports", "reassign-sharded-0-b.csv")
	res := runIn(t, env, "", "--plan", plan, "--report", report, "--resume", filepath.Join(dir, "reports", "reassign-sharded-*.csv"),
		"--termination-log", os.DevNull)
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", res.code, res.stderr)
	}
	got := outcomes(readReport(t, readFile(t, dir, "reports/reassign-sharded-0-b.csv")))
	if got["phn_0000"] != "skipped" || got["phn_0001"] != "updated" || len(api.Patches()) != 2 {
		t.Errorf("outcomes %v, %d PATCHes; want phn_0000 skipped and 2 PATCHes", got, len(api.Patches()))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "reports", "reassign-sharded-0-a.csv")); string(b) != earlierReport {
		t.Errorf("the earlier report changed: %q", b)
	}
}
