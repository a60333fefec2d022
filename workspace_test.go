package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"reassign/job/sandbox"
)

// workspace builds n numbers with varied starting states (some without an agent,
// nickname or label) and a few agents.
func workspace(n int) sandbox.Workspace {
	ws := sandbox.Workspace{Agents: []string{"agt_old", "agt_new", "agt_other"}}
	for i := 0; i < n; i++ {
		num := sandbox.Number{ID: fmt.Sprintf("phn_%05d", i), PhoneNumber: fmt.Sprintf("+1555%07d", i), Status: "active", CountryCode: "US", Type: "local"}
		if i%3 != 0 {
			num.AgentID = new("agt_old")
		}
		if i%4 != 0 {
			num.Nickname = new(fmt.Sprintf("Old %d", i))
		}
		if i%5 == 0 {
			num.Label = new("Team A")
		}
		if i%7 == 0 {
			num.CountryCode, num.Type = "IN", "mobile"
		}
		ws.Numbers = append(ws.Numbers, num)
	}
	return ws
}

func val(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// migration is a plan moving every number: new agent, a new or cleared nickname, and
// a new label on some.
func migration(n int) string {
	var b strings.Builder
	b.WriteString("id,agent_id,nickname,label\n")
	for i := 0; i < n; i++ {
		nick := fmt.Sprintf("New %d", i)
		if i%6 == 0 {
			nick = "null"
		}
		label := ""
		if i%2 == 0 {
			label = "Team B"
		}
		agent := "agt_new"
		if i%10 == 0 {
			agent = "null"
		}
		fmt.Fprintf(&b, "phn_%05d,%s,%s,%s\n", i, agent, nick, label)
	}
	return b.String()
}

func key() []string { return []string{"DIALNEXA_API_KEY=" + testKey} }

// TestMigrateThenUndo migrates 1,000 numbers, runs the undo plan the migration wrote, and
// checks the workspace is back as it was, number by number (labels aside where the API
// cannot empty them: those keep the new label, and the log names them).
func TestMigrateThenUndo(t *testing.T) {
	t.Parallel()
	const n = 1000
	ws := workspace(n)
	api, base := fakeAPI(t, ws, sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))

	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "run.csv", "--undo-plan", "undo.csv", "--base-url", base, "--rate", "0", "--workers", "8")
	if res.code != 0 {
		t.Fatalf("migration: exit %d\n%s", res.code, tail(res.stderr))
	}
	rows := readReport(t, readFile(t, dir, "run.csv"))
	beforeOf := map[string]sandbox.Number{}
	for _, num := range ws.Numbers {
		beforeOf[num.ID] = num
	}
	for _, r := range rows {
		b := beforeOf[r["id"]]
		if r["before_agent_id"] != val(b.AgentID) || r["before_nickname"] != val(b.Nickname) || r["before_label"] != val(b.Label) {
			t.Fatalf("%s: before columns %q/%q/%q, want %q/%q/%q", r["id"], r["before_agent_id"], r["before_nickname"], r["before_label"], val(b.AgentID), val(b.Nickname), val(b.Label))
		}
	}
	keptLabels := strings.Count(res.stderr, `"event":"undo_keeps_label"`)

	res = runBinary(t, dir, key(), "--plan", "undo.csv", "--report", "undo-run.csv", "--base-url", base, "--rate", "0", "--workers", "8")
	if res.code != 0 {
		t.Fatalf("undo: exit %d\n%s", res.code, tail(res.stderr))
	}
	kept := 0
	for _, b := range ws.Numbers {
		now, _ := api.Number(b.ID)
		if val(now.AgentID) != val(b.AgentID) || val(now.Nickname) != val(b.Nickname) {
			t.Errorf("%s: agent %q nickname %q after undo, want %q %q", b.ID, val(now.AgentID), val(now.Nickname), val(b.AgentID), val(b.Nickname))
		}
		if val(now.Label) != val(b.Label) {
			if val(b.Label) != "" {
				t.Errorf("%s: label %q after undo, want %q", b.ID, val(now.Label), val(b.Label))
			}
			kept++
		}
	}
	if kept != keptLabels || kept == 0 {
		t.Errorf("%d labels could not be emptied again; the log named %d", kept, keptLabels)
	}
}

// TestRerunSendsNothing: a finished plan run again costs no write.
func TestRerunSendsNothing(t *testing.T) {
	t.Parallel()
	const n = 300
	api, base := fakeAPI(t, workspace(n), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", migration(n))
	if res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "1.csv", "--base-url", base, "--rate", "0"); res.code != 0 {
		t.Fatalf("first run: exit %d\n%s", res.code, tail(res.stderr))
	}
	patches := len(api.Patches())
	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "2.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("second run: exit %d\n%s", res.code, tail(res.stderr))
	}
	if sent := len(api.Patches()) - patches; sent != 0 {
		t.Errorf("the second run sent %d PATCHes, want 0", sent)
	}
	for _, r := range readReport(t, readFile(t, dir, "2.csv")) {
		if r["outcome"] != "unchanged" {
			t.Errorf("%s: %s, want unchanged", r["id"], r["outcome"])
		}
	}
}

// TestMisspeltAgentStopsEverything: one unknown agent in row 700 of 1,000 refuses the
// plan before any write; with --skip-invalid only that row is held back.
func TestMisspeltAgentStopsEverything(t *testing.T) {
	t.Parallel()
	const n = 1000
	plan := migration(n)
	lines := strings.Split(plan, "\n")
	lines[700] = strings.Replace(lines[700], "agt_new", "agt_nwe", 1) // row 700, phn_00699, on plan line 701
	plan = strings.Join(lines, "\n")
	api, base := fakeAPI(t, workspace(n), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", plan)

	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != exitPlan {
		t.Fatalf("exit %d, want 65\n%s", res.code, tail(res.stderr))
	}
	if !strings.Contains(res.stderr, "line 701: agent_id agt_nwe is not an agent of this workspace") {
		t.Errorf("the message does not name the line and the agent:\n%s", tail(res.stderr))
	}
	if p := len(api.Patches()); p != 0 {
		t.Fatalf("%d PATCHes sent; want none", p)
	}

	res = runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "skip.csv", "--base-url", base, "--rate", "0", "--skip-invalid")
	if res.code != exitRowErrors {
		t.Fatalf("--skip-invalid: exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	for _, p := range api.Patches() {
		if p.ID == "phn_00699" {
			t.Error("the row with the misspelt agent was sent")
		}
	}
	out := outcomes(readReport(t, readFile(t, dir, "skip.csv")))
	if out["phn_00699"] != "invalid" {
		t.Errorf("row 700 is %s, want invalid", out["phn_00699"])
	}
}

// TestExportEditFeedBack: the export, edited on two rows and fed back as the plan, costs
// exactly two PATCHes.
func TestExportEditFeedBack(t *testing.T) {
	t.Parallel()
	const n = 250
	api, base := fakeAPI(t, workspace(n), sandbox.Options{})
	dir := t.TempDir()
	res := runBinary(t, dir, key(), "export", "--out", "numbers.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("export: exit %d\n%s", res.code, tail(res.stderr))
	}
	data := readFile(t, dir, "numbers.csv")
	if !strings.HasPrefix(data, "\uFEFFid,phone_number,agent_id,agent,nickname,label,status,country_code,type\n") {
		t.Fatalf("export header: %q", data[:80])
	}
	lines := strings.Split(data, "\n")
	if len(lines) != n+2 { // header, n rows, final empty string
		t.Fatalf("export has %d lines, want %d", len(lines), n+2)
	}
	if !strings.Contains(lines[1], ",'+1555") {
		t.Errorf("phone numbers are not neutralised: %s", lines[1])
	}
	// Edit two rows as a person would in a spreadsheet.
	lines[11] = strings.Replace(lines[11], "agt_old", "agt_other", 1) // phn_00010
	lines[20] = strings.Replace(lines[20], "Old 19", "Renamed", 1)
	writeFile(t, dir, "edited.csv", strings.Join(lines, "\n"))

	res = runBinary(t, dir, key(), "--plan", "edited.csv", "--report", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("feed back: exit %d\n%s", res.code, tail(res.stderr))
	}
	patches := api.Patches()
	if len(patches) != 2 {
		t.Fatalf("%d PATCHes, want exactly 2: %v", len(patches), patches)
	}
	if now, _ := api.Number("phn_00019"); val(now.Nickname) != "Renamed" {
		t.Errorf("phn_00019 nickname %q", val(now.Nickname))
	}

	// Filters pass through.
	res = runBinary(t, dir, key(), "export", "--out", "in.csv", "--country-code", "IN", "--type", "mobile", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("filtered export: exit %d\n%s", res.code, tail(res.stderr))
	}
	if got := strings.Count(readFile(t, dir, "in.csv"), ",IN,mobile"); got != (n+6)/7 {
		t.Errorf("filtered export has %d IN mobile rows, want %d", got, (n+6)/7)
	}
}

// TestSnapshotBudget: the snapshot of a 10,000-number workspace costs at most 101 reads,
// in both documented page shapes.
func TestSnapshotBudget(t *testing.T) {
	t.Parallel()
	const n = 10000
	for _, items := range []bool{false, true} {
		t.Run(fmt.Sprintf("items=%v", items), func(t *testing.T) {
			api, base := fakeAPI(t, workspace(n), sandbox.Options{ItemsShape: items})
			dir := t.TempDir()
			writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\n")
			res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0")
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, tail(res.stderr))
			}
			snap := findEvent(logEvents(t, res.stderr), "snapshot")
			if snap == nil || snap["numbers"] != float64(n) {
				t.Fatalf("snapshot event: %v", snap)
			}
			reads := api.Reads() - 1 // the agent list
			t.Logf("snapshot of %d numbers: %d list requests", n, reads)
			if reads > 101 {
				t.Errorf("the snapshot took %d reads, budget 101", reads)
			}
		})
	}
}

// TestDryRunAgainstWorkspace: reads only; each row says what it would do.
func TestDryRunAgainstWorkspace(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, workspace(10), sandbox.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id,nickname\nphn_00001,agt_new,\nphn_00002,agt_old,Old 2\nphn_99999,agt_new,\n")
	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--dry-run=server")
	if res.code != exitRowErrors {
		t.Fatalf("exit %d, want 3 (a number not in the workspace)\n%s", res.code, tail(res.stderr))
	}
	if p := len(api.Patches()); p != 0 {
		t.Errorf("%d PATCHes in a dry run", p)
	}
	rows := readReport(t, readFile(t, dir, "r.csv"))
	got := outcomes(rows)
	want := map[string]string{"phn_00001": "would_update", "phn_00002": "unchanged", "phn_99999": "not_found"}
	for id, o := range want {
		if got[id] != o {
			t.Errorf("%s: %s, want %s", id, got[id], o)
		}
	}
	for _, r := range rows {
		if r["id"] == "phn_00001" && r["before_agent_id"] != "agt_old" {
			t.Errorf("a server dry run must show the value before: %v", r)
		}
	}
}

// TestReadsDegrade: a workspace that refuses reads. A plain run goes on without the
// snapshot (a warning); --undo-plan and --dry-run=server need it: exit 78, no write.
func TestReadsDegrade(t *testing.T) {
	t.Parallel()
	noReads := refuseReads(http.StatusForbidden, "You do not have permission to access this resource")
	api, base := fakeAPI(t, workspace(5), sandbox.Options{Fault: noReads})
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id\nphn_00001,agt_new\nphn_00002,agt_new\n")

	res := runBinary(t, dir, key(), "--plan", "plan.csv", "--report", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", res.code, tail(res.stderr))
	}
	if !strings.Contains(res.stderr, `"level":"warn","event":"snapshot"`) || !strings.Contains(res.stderr, `"level":"warn","event":"agents"`) {
		t.Errorf("no warnings about the reads:\n%s", tail(res.stderr))
	}
	if p := len(api.Patches()); p != 2 {
		t.Errorf("%d PATCHes, want 2", p)
	}
	for _, args := range [][]string{{"--undo-plan", "undo.csv"}, {"--dry-run=server"}} {
		before := len(api.Patches())
		res := runBinary(t, dir, key(), append([]string{"--plan", "plan.csv", "--report", "r-" + args[0][2:6] + ".csv", "--base-url", base}, args...)...)
		if res.code != exitConfig {
			t.Errorf("%v: exit %d, want 78\n%s", args, res.code, tail(res.stderr))
		}
		if len(api.Patches()) != before {
			t.Errorf("%v: a write was sent", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "undo.csv")); err == nil {
		t.Error("an undo plan was written though the run refused to start")
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tail keeps the end of a long log for a failure message.
func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
