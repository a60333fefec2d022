package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job/sandbox"
)

// The tests of waves and atomic runs: the built program against the sandbox with its
// scripted faults, at --rate 0. Their plan moves 500 numbers; --waves 1,10%,100% sends
// them as waves of 1, 49 and 450 rows (phn_00000, then phn_00001 to phn_00049, then the
// rest).

const wavesRows = 500

// wavesWorkspace is n numbers each holding something in every field the plan changes
// (a nickname or an agent missing on some, so that putting back means clearing), and
// a label on every one, so that a changed label can be put back too.
func wavesWorkspace(n int) sandbox.Workspace {
	ws := sandbox.Workspace{Agents: []string{"agt_old", "agt_new", "agt_other"}}
	for i := range n {
		num := sandbox.Number{ID: fmt.Sprintf("phn_%05d", i), PhoneNumber: fmt.Sprintf("+1555%07d", i), Status: "active",
			CountryCode: "US", Type: "local", Label: new(fmt.Sprintf("Team %d", i%4))}
		if i%3 != 0 {
			num.AgentID = new("agt_old")
		}
		if i%4 != 0 {
			num.Nickname = new(fmt.Sprintf("Old %d", i))
		}
		ws.Numbers = append(ws.Numbers, num)
	}
	return ws
}

// wavesPlan moves every number to agt_new with a new nickname (cleared on some) and a
// new label on odd rows.
func wavesPlan(n int) string {
	var b strings.Builder
	b.WriteString("id,agent_id,nickname,label\n")
	for i := range n {
		nick, label := fmt.Sprintf("New %d", i), ""
		if i%5 == 0 {
			nick = "null"
		}
		if i%2 == 1 {
			label = "Team B"
		}
		fmt.Fprintf(&b, "phn_%05d,agt_new,%s,%s\n", i, nick, label)
	}
	return b.String()
}

// wavesRun writes the plan into a new folder and runs the built program on it against
// base, with args after the plan, the report (report.csv), JSON logs and --rate 0.
func wavesRun(t *testing.T, base string, args ...string) (dir string, res execResult) {
	t.Helper()
	dir = t.TempDir()
	writeFile(t, dir, "plan.csv", wavesPlan(wavesRows))
	args = append([]string{"--plan", "plan.csv", "--report", "report.csv", "--summary", "summary.json",
		"--base-url", base, "--rate", "0", "--log-format", "json"}, args...)
	return dir, runBinary(t, dir, key(), args...)
}

// lines reads a report's lines of each id, in the order written.
func lines(t *testing.T, dir, report string) map[string][]map[string]string {
	t.Helper()
	m := map[string][]map[string]string{}
	for _, r := range readReport(t, readFile(t, dir, report)) {
		m[r["id"]] = append(m[r["id"]], r)
	}
	return m
}

// lineOutcomes lists the outcomes of a row's lines.
func lineOutcomes(ls []map[string]string) string {
	var os []string
	for _, l := range ls {
		os = append(os, l["outcome"])
	}
	return strings.Join(os, ",")
}

// events returns the log events named name.
func events(t *testing.T, stderr, name string) []map[string]any {
	var out []map[string]any
	for _, ev := range logEvents(t, stderr) {
		if ev["event"] == name {
			out = append(out, ev)
		}
	}
	return out
}

// sameWorkspace fails unless api holds want, field for field.
func sameWorkspace(t *testing.T, api *sandbox.API, want sandbox.Workspace) {
	t.Helper()
	got := api.Workspace()
	if reflect.DeepEqual(got.Numbers, want.Numbers) {
		return
	}
	bad := 0
	for i, w := range want.Numbers {
		if g := got.Numbers[i]; !reflect.DeepEqual(g, w) && bad < 5 {
			bad++
			t.Errorf("%s: agent %q nickname %q label %q; before the run %q %q %q", w.ID, val(g.AgentID), val(g.Nickname), val(g.Label),
				val(w.AgentID), val(w.Nickname), val(w.Label))
		}
	}
	t.Errorf("the workspace is not as it was before the run")
}

// TestWavesClean: 500 rows in waves of 1, 49 and 450, nothing wrong: every row updated,
// one line each, three gates passed and logged, and the requests are the writes, the
// reads before them and the gates' re-reads, exactly.
func TestWavesClean(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, wavesWorkspace(wavesRows), sandbox.Options{})
	dir, res := wavesRun(t, base, "--waves", "1,10%,100%", "--html", "run.html")
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", res.code, tail(res.stderr))
	}
	if page := readFile(t, dir, "run.html"); !strings.Contains(page, "1,10%,100%") {
		t.Error("the HTML page does not name the waves")
	}
	for id, ls := range lines(t, dir, "report.csv") {
		if lineOutcomes(ls) != "updated" {
			t.Errorf("%s: %s, want one line, updated", id, lineOutcomes(ls))
		}
	}
	gates := events(t, res.stderr, "wave")
	want := []struct{ written, requests float64 }{{1, 1}, {49, 1}, {450, 5}}
	if len(gates) != len(want) {
		t.Fatalf("%d gates logged, want 3:\n%v", len(gates), gates)
	}
	reads := 0.0
	for i, g := range gates {
		msg := fmt.Sprintf("wave %d of 3: %s written, %d verified", i+1, map[bool]string{true: "1 row", false: fmt.Sprint(want[i].written) + " rows"}[want[i].written == 1], int(want[i].written))
		if g["passed"] != true || g["written"] != want[i].written || g["verified"] != want[i].written || g["requests"] != want[i].requests || g["message"] != msg {
			t.Errorf("gate %d: %v, want %q, %v re-reads", i+1, g, msg, want[i].requests)
		}
		reads += g["requests"].(float64)
	}
	// The reads before the first write: the agents and 5 list pages; then the gates'.
	if p, r := len(api.Patches()), api.Requests(); p != wavesRows || r != int64(wavesRows+6+reads) || reads != 7 {
		t.Errorf("%d PATCHes and %d requests (%v re-reads), want %d and %d (7)", p, r, reads, wavesRows, wavesRows+6+7)
	}
	s := readSummary(t, dir, "summary.json")
	if s.Waves != "1,10%,100%" || s.RolledBack == nil || *s.RolledBack {
		t.Errorf("summary: waves %q, rolled_back %v; want 1,10%%,100%%, false", s.Waves, s.RolledBack)
	}
}

// TestWaveGateStopsTheRun: a number in wave 2 answers 200 and keeps its values; without
// --atomic the gate finds it, records it again as differs, and nothing of wave 3 is sent.
func TestWaveGateStopsTheRun(t *testing.T) {
	t.Parallel()
	const swallowed = "phn_00031"
	api, base := fakeAPI(t, wavesWorkspace(wavesRows), sandbox.Options{SwallowIDs: []string{swallowed}})
	dir, res := wavesRun(t, base, "--waves", "1,10%,100%")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	if p := api.Patches(); len(p) != 50 || p[0].ID != "phn_00000" {
		t.Errorf("%d PATCHes, want the 50 of waves 1 and 2", len(p))
	}
	const reason = "wave 2 gate: 1 row does not hold what was written"
	for id, ls := range lines(t, dir, "report.csv") {
		var i int
		fmt.Sscanf(id, "phn_%d", &i)
		switch last := ls[len(ls)-1]; {
		case id == swallowed:
			if lineOutcomes(ls) != "updated,differs" || !strings.HasPrefix(last["error"], "wave 2 gate: agent_id is agt_old, planned agt_new") {
				t.Errorf("%s: %s (%s), want updated then differs", id, lineOutcomes(ls), last["error"])
			}
		case i < 50 && lineOutcomes(ls) != "updated":
			t.Errorf("%s: %s, want updated", id, lineOutcomes(ls))
		case i >= 50 && (lineOutcomes(ls) != "not_attempted" || last["error"] != reason):
			t.Errorf("%s: %s (%s), want not_attempted (%s)", id, lineOutcomes(ls), last["error"], reason)
		}
	}
	if gates := events(t, res.stderr, "wave"); len(gates) != 2 || gates[1]["message"] != reason {
		t.Errorf("gates logged: %v, want wave 1 passed, then %q", gates, reason)
	}
}

// TestAtomicPutsBack: an atomic run whose wave 3 goes wrong (a write answered 200 and
// not applied, found by the gate's re-read; or a write refused with 400, for a rule the
// job cannot check beforehand) puts every number back: the workspace read after it
// equals the one read before, field for field; exit 3; every row sent has a second line;
// the undo plan verifies as matching, the plan as differing.
func TestAtomicPutsBack(t *testing.T) {
	t.Parallel()
	const wrong = "phn_00300"
	for _, tc := range []struct {
		name  string
		opts  sandbox.Options
		wrong string // the row's lines
	}{
		{"swallowed", sandbox.Options{SwallowIDs: []string{wrong}}, "updated,differs,unchanged"},
		{"refused", sandbox.Options{RefuseIDs: []string{wrong}}, "rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := wavesWorkspace(wavesRows)
			api, base := fakeAPI(t, ws, tc.opts)
			dir, res := wavesRun(t, base, "--waves", "1,10%,100%", "--atomic", "--undo-plan", "undo.csv")
			if res.code != exitRowErrors {
				t.Fatalf("exit %d, want 3\n%s", res.code, tail(res.stderr))
			}
			sameWorkspace(t, api, ws)
			for id, ls := range lines(t, dir, "report.csv") {
				switch o := lineOutcomes(ls); {
				case id == wrong && o != tc.wrong:
					t.Errorf("%s: %s, want %s", id, o, tc.wrong)
				case id != wrong && o != "updated,rolled_back" && !strings.HasPrefix(ls[0]["error"], "wave 3 gate: "):
					t.Errorf("%s: %s (%s), want updated then rolled_back, or not_attempted by the gate", id, o, ls[0]["error"])
				}
			}
			if end := events(t, res.stderr, "summary"); len(end) != 1 ||
				!strings.Contains(end[0]["message"].(string), "very number the run changed was put back as it was") ||
				!strings.Contains(end[0]["message"].(string), "To check that every number is as it was before the run: reassign verify --plan undo.csv") {
				t.Errorf("the end in words: %v; want it to say every number is back, and how to verify it", end)
			}
			s := readSummary(t, dir, "summary.json")
			if s.RolledBack == nil || !*s.RolledBack || s.Counts["rolled_back"] == 0 || s.Counts["updated"] != 0 {
				t.Errorf("summary: rolled_back %v, counts %v; want true, no row updated", s.RolledBack, s.Counts)
			}
			if r := runBinary(t, dir, key(), "verify", "--plan", "undo.csv", "--report", "v-undo.csv", "--base-url", base, "--rate", "0"); r.code != exitOK {
				t.Errorf("verify the undo plan: exit %d, want 0 (every row matches)\n%s", r.code, tail(r.stderr))
			}
			if r := runBinary(t, dir, key(), "verify", "--plan", "plan.csv", "--report", "v-plan.csv", "--base-url", base, "--rate", "0"); r.code != exitRowErrors {
				t.Errorf("verify the plan: exit %d, want 3 (rows differ)", r.code)
			}
		})
	}
}

// TestAtomicRollbackCannotFinish: the API fails every write after the first 100, so
// wave 3 fails and so does every write putting a number back: exit 4, the end names
// the undo plan (its default name) and the command that finishes the job. Run once the
// API is healthy again, the undo plan puts back the rest: the workspace is as before.
func TestAtomicRollbackCannotFinish(t *testing.T) {
	t.Parallel()
	ws := wavesWorkspace(wavesRows)
	api, base := fakeAPI(t, ws, sandbox.Options{FailWritesAfter: 100})
	dir, res := wavesRun(t, base, "--waves", "1,10%,100%", "--atomic", "--max-attempts", "1")
	if res.code != exitNotBack {
		t.Fatalf("exit %d, want 4\n%s", res.code, tail(res.stderr))
	}
	undo, _ := filepath.Glob(filepath.Join(dir, "reassign-undo-*.csv"))
	if len(undo) != 1 {
		t.Fatalf("undo plans %v, want one of the default name", undo)
	}
	name := filepath.Base(undo[0])
	end := events(t, res.stderr, "rolled_back")
	if len(end) != 1 || end[0]["undo_plan"] != name || !strings.Contains(end[0]["message"].(string), "reassign --plan "+name+" --base-url "+base) {
		t.Errorf("the end says %v; want it to name %s and the command running it", end, name)
	}
	if words := events(t, res.stderr, "summary"); len(words) != 1 ||
		!strings.Contains(words[0]["message"].(string), "could not be put back: the workspace is partly changed") ||
		!strings.Contains(words[0]["message"].(string), "To put back the rest, where nobody changed a number since: reassign --plan "+name) {
		t.Errorf("the end in words: %v; want it to say the workspace is partly changed, and the undo command", words)
	}
	notBack := 0
	for id, ls := range lines(t, dir, "report.csv") {
		if o := lineOutcomes(ls); o == "updated,failed" {
			notBack++
		} else if o != "failed" && o != "not_attempted" && o != "failed,unchanged" {
			t.Errorf("%s: %s", id, o)
		}
	}
	if notBack < 100 || end[0]["not_back"] != float64(notBack) {
		t.Errorf("%d rows could not be put back (the end says %v), want the 100 written", notBack, end[0]["not_back"])
	}

	api.Heal()
	r := runBinary(t, dir, key(), "--plan", name, "--report", "undo-report.csv", "--base-url", base, "--rate", "0")
	if r.code != exitOK {
		t.Fatalf("the undo plan: exit %d\n%s", r.code, tail(r.stderr))
	}
	sameWorkspace(t, api, ws)
}

// TestAtomicRollbackConflict: someone changes a number between the run's write and its
// rollback: the rollback leaves it alone (conflict) and exits 4; every other number is
// put back.
func TestAtomicRollbackConflict(t *testing.T) {
	t.Parallel()
	ws := wavesWorkspace(wavesRows)
	var api *sandbox.API
	// While wave 3 runs, phn_00000 (written in wave 1) is moved in the dashboard.
	moved := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/phn_00300") {
			api.Update("phn_00000", func(n *sandbox.Number) { n.AgentID = new("agt_other") })
		}
		return false
	}
	api, base := fakeAPI(t, ws, sandbox.Options{RefuseIDs: []string{"phn_00300"}, Fault: moved})
	dir, res := wavesRun(t, base, "--waves", "1,10%,100%", "--atomic", "--undo-plan", "undo.csv")
	if res.code != exitNotBack {
		t.Fatalf("exit %d, want 4\n%s", res.code, tail(res.stderr))
	}
	ls := lines(t, dir, "report.csv")["phn_00000"]
	if lineOutcomes(ls) != "updated,conflict" || ls[1]["error"] != "not put back: agent_id changed since the run wrote it: was agt_new, now agt_other" {
		t.Errorf("phn_00000: %s (%s), want updated then conflict", lineOutcomes(ls), ls[len(ls)-1]["error"])
	}
	if n, _ := api.Number("phn_00000"); val(n.AgentID) != "agt_other" {
		t.Errorf("phn_00000 holds agent %s: the rollback overwrote a change it did not make", val(n.AgentID))
	}
	ws.Numbers[0].AgentID = new("agt_other") // the one change that is not the run's
	sameWorkspace(t, api, ws)
}

// TestAtomicKilledDuringRollback: an atomic run killed outright (SIGKILL) while it puts
// numbers back; the undo plan, run by hand, finishes the job: the workspace is as it was.
func TestAtomicKilledDuringRollback(t *testing.T) {
	t.Parallel()
	ws := wavesWorkspace(wavesRows)
	api, base := fakeAPI(t, ws, sandbox.Options{RefuseIDs: []string{"phn_00300"}, Latency: 5 * time.Millisecond})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", wavesPlan(wavesRows))
	cmd, stderr := startBinary(t, dir, key(), "--plan", "plan.csv", "--report", "report.csv", "--undo-plan", "undo.csv",
		"--waves", "1,10%,100%", "--atomic", "--base-url", base, "--rate", "0", "--workers", "2", "--log-format", "json")
	// A write putting a number back is the only one not naming agt_new.
	putBack := func() int {
		n := 0
		for _, p := range api.Patches() {
			if !strings.Contains(p.Body, "agt_new") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(time.Minute)
	for putBack() < 20 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling the fake for progress, not a synchronisation
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	written := len(api.Patches()) - putBack()
	if n := putBack(); n < 20 || n >= written-1 {
		t.Fatalf("%d numbers put back of %d written when killed: nothing to test\n%s", n, written, tail(stderr.String()))
	}
	r := runBinary(t, dir, key(), "--plan", "undo.csv", "--report", "undo-report.csv", "--base-url", base, "--rate", "0")
	if r.code != exitOK {
		t.Fatalf("the undo plan: exit %d\n%s", r.code, tail(r.stderr))
	}
	sameWorkspace(t, api, ws)
	if _, err := os.Stat(filepath.Join(dir, "report.csv")); err != nil {
		t.Error(err)
	}
}

// TestWavesAndAtomicRefused: the settings waves and atomic runs cannot go with, each
// exit 64 before anything is read or sent.
func TestWavesAndAtomicRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", wavesPlan(3))
	env := map[string]string{"DIALNEXA_API_KEY": testKey}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--waves", "10%,1,50%"}, "the last wave must be 100%"},
		{[]string{"--waves", "10,5,100%"}, "5 after 10: the waves must rise"},
		{[]string{"--waves", "50%,10%,100%"}, "10% after 50%"},
		{[]string{"--waves", "0,100%"}, "at least 1 row"},
		{[]string{"--waves", "1,150%"}, "a percentage is 1% to 100%"},
		{[]string{"--waves", "1,100%", "--dry-run"}, "--waves checks what each wave wrote"},
		{[]string{"--waves", "1,100%", "--no-snapshot"}, "--waves reads the workspace first"},
		{[]string{"--atomic", "--no-snapshot"}, "--atomic reads the workspace first"},
		{[]string{"--atomic", "--dry-run=server"}, "--atomic puts back what a run wrote"},
		{[]string{"--atomic", "--shards", "2"}, "--atomic puts back what one run changed"},
		{[]string{"--atomic", "--undo-plan", "-"}, "give --undo-plan a file"},
		{[]string{"--max-errors", "-1"}, "must be 0 (no limit) or more"},
		{[]string{"--max-errors", "0%"}, "a percentage is above 0%"},
	} {
		args := append([]string{"--plan", plan, "--base-url", "http://127.0.0.1:1/v1"}, tc.args...)
		r := runIn(t, env, "", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want 64 saying %q\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left behind: %v", entries)
	}
}
