package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"reassign/job/sandbox"
)

// The tests of this file drive the built program into the failures
// docs/failure-modes.md describes: what the user sees, what is kept.

// listPage answers GET /organization-phone-numbers with the given items and meta.
func listPage(w http.ResponseWriter, items []sandbox.Number, meta map[string]int) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"data": items}
	if meta != nil {
		body["meta"] = meta
	}
	json.NewEncoder(w).Encode(body)
}

func isList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/organization-phone-numbers")
}

// TestShortPagesDoNotEndTheReads: an API that serves 50 numbers a page when asked for
// 100 still gives the whole workspace to the snapshot, the undo plan, the dry run
// against the workspace and the export.
func TestShortPagesDoNotEndTheReads(t *testing.T) {
	t.Parallel()
	const n = 250
	api, base := fakeAPI(t, workspace(n), sandbox.Options{MaxPageSize: 50})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))
	args := []string{"--plan", "plan.csv", "--base-url", base, "--rate", "0", "--workers", "8"}

	res := runBinary(t, dir, key(), append(args, "--report", "dry.csv", "--dry-run=server")...)
	if res.code != 0 {
		t.Fatalf("dry run: exit %d\n%s", res.code, tail(res.stderr))
	}
	for _, r := range readReport(t, readFile(t, dir, "dry.csv")) {
		if r["outcome"] == "not_found" {
			t.Fatalf("dry run: %s reported not_found though the workspace has it", r["id"])
		}
	}
	res = runBinary(t, dir, key(), append(args, "--report", "run.csv", "--undo-plan", "undo.csv")...)
	if res.code != 0 {
		t.Fatalf("run: exit %d\n%s", res.code, tail(res.stderr))
	}
	changed := 0
	for _, r := range readReport(t, readFile(t, dir, "run.csv")) {
		if r["outcome"] == "updated" {
			changed++
		}
	}
	if undo := readReport(t, readFile(t, dir, "undo.csv")); len(undo) != changed || changed == 0 {
		t.Errorf("the run changed %d numbers; its undo plan holds %d rows", changed, len(undo))
	}
	res = runBinary(t, dir, key(), "export", "--out", "export.csv", "--base-url", base)
	if res.code != 0 {
		t.Fatalf("export: exit %d\n%s", res.code, tail(res.stderr))
	}
	if rows := readReport(t, readFile(t, dir, "export.csv")); len(rows) != n {
		t.Errorf("export: %d numbers of %d", len(rows), n)
	}
	if len(api.Patches()) != changed {
		t.Errorf("%d PATCHes for %d changes", len(api.Patches()), changed)
	}
}

// TestListingsThatDoNotAddUp: pages that say more than they list, pages that repeat,
// pages that never end. The reads fail with a reason: a plain run goes on without
// them (a warning), --undo-plan and --dry-run=server exit 78 before any write, export
// exits 75 and keeps no file.
func TestListingsThatDoNotAddUp(t *testing.T) {
	t.Parallel()
	ws := workspace(250)
	cases := []struct {
		name   string
		fault  func(w http.ResponseWriter, r *http.Request) bool
		reason string
	}{
		{"one number dropped", func(w http.ResponseWriter, r *http.Request) bool {
			if !isList(r) {
				return false
			}
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			from, to := min((page-1)*100, 250), min(page*100, 250)
			items := ws.Numbers[from:to]
			if page == 2 {
				items = items[1:] // the API loses one on the way
			}
			listPage(w, items, map[string]int{"page": page, "limit": 100, "total": 250, "totalPages": 3})
			return true
		}, "list 249 distinct ones"},
		{"page ignored, no total", func(w http.ResponseWriter, r *http.Request) bool {
			if !isList(r) {
				return false
			}
			listPage(w, ws.Numbers[:100], nil)
			return true
		}, "does not seem to page"},
		{"a billion pages", func(w http.ResponseWriter, r *http.Request) bool {
			if !isList(r) {
				return false
			}
			listPage(w, ws.Numbers[:100], map[string]int{"page": 1, "limit": 100, "total": 100_000_000_000, "totalPages": 1_000_000_000})
			return true
		}, "1000000000 pages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lists atomic.Int64
			api, base := fakeAPI(t, ws, sandbox.Options{Fault: func(w http.ResponseWriter, r *http.Request) bool {
				if isList(r) {
					lists.Add(1)
				}
				return tc.fault(w, r)
			}})
			dir := t.TempDir()
			writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\nphn_00002,agt_new\n")
			args := []string{"--plan", "plan.csv", "--base-url", base, "--rate", "0"}
			for _, extra := range [][]string{{"--undo-plan", "undo.csv"}, {"--dry-run=server"}} {
				res := runBinary(t, dir, key(), append(append(args, "--report", "refused.csv"), extra...)...)
				if res.code != exitConfig || !strings.Contains(res.stderr, tc.reason) {
					t.Errorf("%v: exit %d, want 78 saying %q\n%s", extra, res.code, tc.reason, tail(res.stderr))
				}
				if len(api.Patches()) != 0 {
					t.Fatalf("%v: a write was sent", extra)
				}
				for _, f := range []string{"refused.csv", "undo.csv"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
						t.Errorf("%v: %s was left behind", extra, f)
					}
				}
			}
			res := runBinary(t, dir, key(), append(args, "--report", "run.csv")...)
			if res.code != 0 || !strings.Contains(res.stderr, `"event":"snapshot"`) || !strings.Contains(res.stderr, tc.reason) {
				t.Errorf("plain run: exit %d, want 0 with a warning saying %q\n%s", res.code, tc.reason, tail(res.stderr))
			}
			res = runBinary(t, dir, key(), "export", "--out", "export.csv", "--base-url", base)
			if res.code != exitTemp || !strings.Contains(res.stderr, tc.reason) {
				t.Errorf("export: exit %d, want 75 saying %q\n%s", res.code, tc.reason, tail(res.stderr))
			}
			if _, err := os.Stat(filepath.Join(dir, "export.csv")); err == nil {
				t.Error("export: an incomplete export was left behind")
			}
			if n := lists.Load(); n > 100 {
				t.Errorf("%d list requests: the reads did not stop", n)
			}
		})
	}
}

// TestSignalDuringReads: SIGTERM while the workspace is being read ends every mode with
// 75; a run records every row not_attempted.
func TestSignalDuringReads(t *testing.T) {
	t.Parallel()
	reading := make(chan struct{}, 100)
	slowReads := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		reading <- struct{}{}
		<-r.Context().Done() // a read that never answers
		return true
	}
	_, base := fakeAPI(t, workspace(5), sandbox.Options{Fault: slowReads})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\nphn_00002,agt_new\n")
	modes := map[string][]string{
		"live":       {"--plan", "plan.csv", "--report", "live.csv"},
		"dry server": {"--plan", "plan.csv", "--report", "dry.csv", "--dry-run=server"},
		"undo plan":  {"--plan", "plan.csv", "--report", "undo-run.csv", "--undo-plan", "undo.csv"},
		"export":     {"export", "--out", "export.csv"},
	}
	for name, args := range modes {
		t.Run(name, func(t *testing.T) {
			cmd, stderr := startBinary(t, dir, key(), append(args, "--base-url", base, "--log-format", "json")...)
			<-reading
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("no exit within 30 s of SIGTERM")
			}
			if code := cmd.ProcessState.ExitCode(); code != exitTemp {
				t.Errorf("exit %d, want 75\n%s", code, tail(stderr.String()))
			}
			if args[0] == "--plan" {
				rows := readReport(t, readFile(t, dir, args[3]))
				if len(rows) != 2 || rows[0]["outcome"] != "not_attempted" || rows[1]["outcome"] != "not_attempted" {
					t.Errorf("report %v, want both rows not_attempted", rows)
				}
			}
		})
	}
}

// TestRefusedKeyOnReads: a 401 on the reads is exit 77 in every mode, and no write is
// sent with the key the API just refused.
func TestRefusedKeyOnReads(t *testing.T) {
	t.Parallel()
	refuse := refuseReads(http.StatusUnauthorized, "Invalid or expired API key")
	api, base := fakeAPI(t, workspace(5), sandbox.Options{Fault: refuse})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\n")
	for i, args := range [][]string{
		{"--plan", "plan.csv"},
		{"--plan", "plan.csv", "--dry-run=server"},
		{"--plan", "plan.csv", "--undo-plan", "u.csv"},
		{"export", "--out", "e.csv"},
	} {
		if args[0] == "--plan" {
			args = append(args, "--report", fmt.Sprintf("r%d.csv", i))
		}
		res := runBinary(t, dir, key(), append(args, "--base-url", base, "--rate", "0")...)
		if res.code != exitKey {
			t.Errorf("%v: exit %d, want 77\n%s", args, res.code, tail(res.stderr))
		}
	}
	if p := len(api.Patches()); p != 0 {
		t.Errorf("%d PATCHes sent with a key the API refused", p)
	}
}

// TestUnwritableOutputRefusedFirst: an undo plan that cannot be created is found before
// the first request, and no report is left to block the rerun.
func TestUnwritableOutputRefusedFirst(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, workspace(5), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\n")
	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--undo-plan", "missing/u.csv", "--base-url", base)
	if res.code != exitConfig || !strings.Contains(res.stderr, "missing/u.csv") {
		t.Errorf("exit %d, want 78 naming the undo plan\n%s", res.code, tail(res.stderr))
	}
	if n := api.Requests(); n != 0 {
		t.Errorf("%d requests before the refusal", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); err == nil {
		t.Error("a report was left behind")
	}
}

// TestReportIntoClosedPipe: a report on stdout whose reader goes away is exit 78, with
// the summary on stderr, and the writes stop.
func TestReportIntoClosedPipe(t *testing.T) {
	t.Parallel()
	const n = 200
	api, base := fakeAPI(t, workspace(n), sandbox.Options{Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))
	cmd := exec.Command(binPath, "--plan", "plan.csv", "--report", "-", "--base-url", base, "--rate", "0", "--workers", "1", "--no-snapshot", "--log-format", "json")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, key()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	if _, err := br.ReadString('\n'); err != nil { // the header
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); err != nil { // a first row
		t.Fatal(err)
	}
	out.Close() // the reader goes away, as `| head -2` does
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitConfig {
		t.Errorf("exit %d (%v), want 78\n%s", code, cmd.ProcessState, tail(stderr.String()))
	}
	if !strings.Contains(stderr.String(), `"event":"summary"`) {
		t.Errorf("no summary on stderr:\n%s", tail(stderr.String()))
	}
	if p := len(api.Patches()); p >= n {
		t.Errorf("%d PATCHes of %d: the writes went on with no report", p, n)
	}
}

// TestKillThenResumeThenUndo: a run killed outright (SIGKILL) with its changes in
// flight, resumed, and both undo plans run: the workspace is back as it was, exactly.
func TestKillThenResumeThenUndo(t *testing.T) {
	t.Parallel()
	const n = 600
	ws := workspace(n)
	api, base := fakeAPI(t, ws, sandbox.Options{Latency: 5 * time.Millisecond})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))
	args := []string{"--plan", "plan.csv", "--base-url", base, "--rate", "0", "--workers", "8", "--log-format", "json"}

	cmd, _ := startBinary(t, dir, key(), append(args, "--report", "run1.csv", "--undo-plan", "undo1.csv")...)
	deadline := time.Now().Add(time.Minute)
	for len(api.Patches()) < n/3 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling the fake for progress, not a synchronisation
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(api.Patches()) >= n {
		t.Fatal("the run finished before it was killed: nothing to test")
	}
	res := runBinary(t, dir, key(), append(args, "--report", "run2.csv", "--undo-plan", "undo2.csv", "--resume", "run1.csv")...)
	if res.code != 0 {
		t.Fatalf("resumed run: exit %d\n%s", res.code, tail(res.stderr))
	}
	for _, undo := range []string{"undo2.csv", "undo1.csv"} {
		res := runBinary(t, dir, key(), "--plan", undo, "--report", "after-"+undo, "--base-url", base, "--rate", "0", "--workers", "8")
		if res.code != 0 {
			t.Fatalf("%s: exit %d\n%s", undo, res.code, tail(res.stderr))
		}
	}
	for _, b := range ws.Numbers {
		now, _ := api.Number(b.ID)
		if val(now.AgentID) != val(b.AgentID) || val(now.Nickname) != val(b.Nickname) {
			t.Errorf("%s: agent %q nickname %q after both undo plans, want %q %q", b.ID, val(now.AgentID), val(now.Nickname), val(b.AgentID), val(b.Nickname))
		}
		if val(now.Label) != val(b.Label) && val(b.Label) != "" {
			t.Errorf("%s: label %q after both undo plans, want %q", b.ID, val(now.Label), val(b.Label))
		}
	}
}
