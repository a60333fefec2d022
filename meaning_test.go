package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"reassign/job/sandbox"
)

// namedWorkspace is workspace(n) with agents that have names: two share one (Support),
// one has none.
func namedWorkspace(n int) sandbox.Workspace {
	ws := workspace(n)
	ws.Agents = append(ws.Agents, "agt_sup1", "agt_sup2", "agt_billing")
	ws.AgentNames = map[string]string{"agt_old": "Old Team", "agt_new": "New Team", "agt_sup1": "Support", "agt_sup2": "Support",
		"agt_billing": "Billing"} // agt_other has no name
	for i := range ws.Numbers {
		if i%11 == 1 {
			ws.Numbers[i].AgentID = new("agt_sup1") // a name two agents share, beside its id
		}
		if i%13 == 2 {
			ws.Numbers[i].AgentID = new("agt_other") // no name
		}
	}
	return ws
}

// editCSV rewrites the rows of a CSV (header first) with edit and writes it to name.
func editCSV(t *testing.T, dir, data, name string, edit func(row map[string]string)) string {
	t.Helper()
	rows := readReport(t, data)
	header := strings.Split(strings.SplitN(strings.TrimPrefix(data, "\uFEFF"), "\n", 2)[0], ",")
	var b strings.Builder
	b.WriteString(strings.Join(header, ",") + "\n")
	for _, r := range rows {
		edit(r)
		cells := make([]string, len(header))
		for i, h := range header {
			cells[i] = r[h]
			if strings.ContainsAny(cells[i], ",\"\n") {
				cells[i] = `"` + strings.ReplaceAll(cells[i], `"`, `""`) + `"`
			}
		}
		b.WriteString(strings.Join(cells, ",") + "\n")
	}
	return writeFile(t, dir, name, b.String())
}

// TestExportEditedByName: the export names each agent beside its id. Fed back
// unchanged it means exactly what the workspace holds (no write); an agent changed by
// name with its id cleared is applied; one changed in one column but not the other is
// refused, with the report kept to fix it in.
func TestExportEditedByName(t *testing.T) {
	t.Parallel()
	const n = 60
	api, base := fakeAPI(t, namedWorkspace(n), sandbox.Options{})
	dir := t.TempDir()
	if res := runBinary(t, dir, key(), "export", "--out", "numbers.csv", "--base-url", base, "--rate", "0"); res.code != 0 {
		t.Fatalf("export: exit %d\n%s", res.code, tail(res.stderr))
	}
	data := readFile(t, dir, "numbers.csv")
	exported := readReport(t, data)
	for _, r := range exported {
		want := map[string]string{"": "", "agt_old": "Old Team", "agt_sup1": "Support", "agt_other": ""}[r["agent_id"]]
		if r["agent"] != want {
			t.Fatalf("%s: agent %q beside agent_id %q, want %q", r["id"], r["agent"], r["agent_id"], want)
		}
	}

	// Unchanged: every row as the workspace holds it, no write.
	res := runBinary(t, dir, key(), "--plan", "numbers.csv", "--report", "same.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 || len(api.Patches()) != 0 {
		t.Fatalf("fed back unchanged: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}
	for _, r := range readReport(t, readFile(t, dir, "same.csv")) {
		if r["outcome"] != "unchanged" {
			t.Errorf("fed back unchanged: line %s %s %s", r["line"], r["outcome"], r["error"])
		}
	}
	if ev := findEvent(logEvents(t, res.stderr), "ignored_columns"); ev != nil {
		t.Errorf("the export's own columns were named as ignored: %v", ev)
	}

	// By name, agent_id cleared: applied, to the agent of that name.
	edited := editCSV(t, dir, data, "by-name.csv", func(r map[string]string) {
		if r["id"] == "phn_00004" {
			r["agent_id"], r["agent"] = "", "billing"
		}
	})
	res = runBinary(t, dir, key(), "--plan", edited, "--report", "by-name.csv.report", "--base-url", base, "--rate", "0")
	if res.code != 0 || len(api.Patches()) != 1 {
		t.Fatalf("by name: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}
	if now, _ := api.Number("phn_00004"); val(now.AgentID) != "agt_billing" {
		t.Errorf("phn_00004 agent %q, want agt_billing", val(now.AgentID))
	}
	// Both columns, consistently: applied.
	edited = editCSV(t, dir, data, "both.csv", func(r map[string]string) {
		switch r["id"] {
		case "phn_00004": // as the run before left it
			r["agent_id"], r["agent"] = "agt_billing", "Billing"
		case "phn_00005":
			r["agent_id"], r["agent"] = "agt_new", "New Team"
		}
	})
	if res = runBinary(t, dir, key(), "--plan", edited, "--report", "both.report.csv", "--base-url", base, "--rate", "0"); res.code != 0 || len(api.Patches()) != 2 {
		t.Fatalf("both columns: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}

	// One column edited, the other left: refused, the report kept with the reason.
	edited = editCSV(t, dir, data, "mixed.csv", func(r map[string]string) {
		if r["id"] == "phn_00007" {
			r["agent"] = "Billing" // agent_id still agt_old
		}
	})
	res = runBinary(t, dir, key(), "--plan", edited, "--report", "mixed.report.csv", "--base-url", base, "--rate", "0")
	if res.code != exitPlan || len(api.Patches()) != 2 {
		t.Fatalf("mixed: exit %d, %d PATCHes, want 65 and no write\n%s", res.code, len(api.Patches())-2, tail(res.stderr))
	}
	const why = `agent_id agt_old is "Old Team", but agent says "Billing": keep one`
	for _, r := range readReport(t, readFile(t, dir, "mixed.report.csv")) {
		switch {
		case r["id"] == "phn_00007" && (r["outcome"] != "invalid" || r["error"] != why):
			t.Errorf("phn_00007: %s %q, want invalid %q", r["outcome"], r["error"], why)
		case r["id"] != "phn_00007" && r["outcome"] == "invalid":
			t.Errorf("%s: invalid %q", r["id"], r["error"])
		}
	}
}

// TestPlanColumnsRefusedOrNamed: a plan with nothing to change, or with a column that
// looks like a field the job would not read, is refused as a whole (65, no report); told
// which columns to ignore, it runs, and names every column it did not read (its log,
// its summary file), the report's and the export's own aside. verify reads the same.
func TestPlanColumnsRefusedOrNamed(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	dir := t.TempDir()
	refused := []struct{ name, plan, says string }{
		{"the column is titled its own way", "id,Target Agent\nphn_k3p8vd2nq7ra,Billing\n",
			`header: no column changes anything (the header has: id, Target Agent); the plan needs at least one of agent_id, agent, nickname, label: name the sheet's own with --columns (e.g. --columns agent='Target Agent')`},
		{"only phone numbers", "Phone Number\n+44 20 7183 8750\n", "header: no column changes anything (the header has: Phone Number)"},
		{"a look-alike", "Phone,Nickname,New Agent,Notes\n+44 20 7183 8750,x,Billing,n\n",
			`header: column "New Agent" looks like a field, but the job would not read it; map it (--columns agent='New Agent') or say it is to be ignored (--ignore-columns 'New Agent')`},
	}
	for i, c := range refused {
		plan := writeFile(t, dir, fmt.Sprintf("plan%d.csv", i), c.plan)
		for _, command := range [][]string{nil, {"verify"}} {
			report := filepath.Join(dir, fmt.Sprintf("r%d-%d.csv", i, len(command)))
			args := append(append(command, "--plan", plan, "--report", report, "--summary", report+".json"), against(base)...)
			res := runBinary(t, dir, key(), args...)
			if res.code != exitPlan || !strings.Contains(res.stderr, jsonText(c.says)) {
				t.Errorf("%s %v: exit %d, want 65 saying %s\n%s", c.name, command, res.code, c.says, tail(res.stderr))
			}
			if _, err := os.Stat(report); err == nil {
				t.Errorf("%s %v: a report was written for a plan refused as a whole", c.name, command)
			}
		}
	}

	plan := writeFile(t, dir, "told.csv", "Phone,Nickname,New Agent,Notes,status\n+44 20 7183 8750,x,Billing,n,active\n")
	for _, command := range [][]string{nil, {"verify"}} {
		name := fmt.Sprintf("told%d", len(command))
		args := append(append(command, "--plan", plan, "--report", name+".csv", "--summary", name+".json"), against(base)...)
		env := key()
		if command == nil {
			args = append(args, "--ignore-columns", "New Agent")
		} else {
			env = append(env, "REASSIGN_IGNORE_COLUMNS=New Agent") // verify reads it too
		}
		res := runBinary(t, dir, env, args...)
		if res.code != 0 { // the run sets the nickname; verify then finds it
			t.Fatalf("%v --ignore-columns: exit %d, want 0\n%s", command, res.code, tail(res.stderr))
		}
		ev := findEvent(logEvents(t, res.stderr), "ignored_columns")
		if ev == nil || ev["level"] != "warn" || fmt.Sprint(ev["columns"]) != "[New Agent Notes]" {
			t.Errorf("%v: the warning naming the columns not read: %v", command, ev)
		}
		var s struct {
			Ignored []string `json:"ignored_columns"`
		}
		if err := json.Unmarshal([]byte(readFile(t, dir, name+".json")), &s); err != nil || strings.Join(s.Ignored, "|") != "New Agent|Notes" {
			t.Errorf("%v: summary ignored_columns %q (%v), want New Agent, Notes", command, s.Ignored, err)
		}
	}
	if p := api.Patches(); len(p) != 1 {
		t.Errorf("%d PATCHes, want the one run's", len(p))
	}
}

// jsonText is s as it appears inside a JSON log line's string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestRowsRefusedKeepTheirReport: a plan refused for its rows writes its report, every
// row in it (the invalid ones with why, the others not sent); the end of the list
// groups the reason most rows share and asks whether the key is for the right
// workspace. verify reports the same rows invalid (exit 3).
func TestRowsRefusedKeepTheirReport(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,agent\n")
	ids := []string{"phn_f7w2kx5mb9qz", "phn_k3p8vd2nq7ra", "phn_m9x4tb6wz2ce", "phn_q2w8ej5rt1yb", "phn_h6n1cz9uf4dk", "phn_r5t7yu2io8pl", "phn_b8v3nm5kq1xs"}
	for i, id := range ids {
		agent := "Sales"
		if i == len(ids)-1 {
			agent = "Billing"
		}
		fmt.Fprintf(&b, "%s,%s\n", id, agent)
	}
	plan := writeFile(t, dir, "plan.csv", b.String())
	res := runBinary(t, dir, key(), "--plan", plan, "--report", "r.csv", "--undo-plan", "undo.csv", "--summary", "s.json", "--base-url", base)
	if res.code != exitPlan || len(api.Patches()) != 0 {
		t.Fatalf("exit %d, %d PATCHes; want 65 and none\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}
	for _, says := range []string{
		`"message":"6 rows: agent \"Sales\" is not an agent of this workspace (did you mean \"Sales EMEA\"?)"`,
		"6 of 7 rows name agents or numbers this workspace does not have: is the key for the right workspace (",
		"6 of 7 rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others); every row is in the report r.csv, the invalid ones with why",
	} {
		if !strings.Contains(res.stderr, says) {
			t.Errorf("the log does not say %s\n%s", says, tail(res.stderr))
		}
	}
	rows := readReport(t, readFile(t, dir, "r.csv"))
	got := map[string]int{}
	for _, r := range rows {
		got[r["outcome"]]++
		if r["outcome"] == "invalid" && (r["agent"] != "Sales" || r["agent_id"] != "") {
			t.Errorf("line %s: agent_id %q, agent %q: want the name as written, in agent", r["line"], r["agent_id"], r["agent"])
		}
	}
	if len(rows) != 7 || got["invalid"] != 6 || got["not_attempted"] != 1 {
		t.Errorf("report %v, want every row: 6 invalid, 1 not_attempted", got)
	}
	for _, name := range []string{"undo.csv", "s.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was left by a refused plan", name)
		}
	}

	res = runBinary(t, dir, key(), "verify", "--plan", plan, "--report", "v.csv", "--base-url", base)
	if res.code != exitRowErrors || strings.Count(readFile(t, dir, "v.csv"), ",invalid,") != 6 {
		t.Errorf("verify: exit %d, want 3 with the 6 rows invalid\n%s", res.code, tail(res.stderr))
	}
}

// TestOfflineDryRunKeepsNames: an offline dry run shows an agent's name as a name, to be
// resolved at the run: never in an agent_id cell or in the body's agent_id.
func TestOfflineDryRunKeepsNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", "Phone,Agent,Nickname\n+44 (0) 20 7183 8750,Sales EMEA,London\n")
	res := runBinary(t, dir, key(), "--plan", plan, "--report", "dry.csv", "--dry-run")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, tail(res.stderr))
	}
	rows := readReport(t, readFile(t, dir, "dry.csv"))
	const note = `phone number +442071838750, agent "Sales EMEA" (resolved at the run)`
	if len(rows) != 1 || rows[0]["agent_id"] != "" || rows[0]["agent"] != "Sales EMEA" || rows[0]["error"] != note || rows[0]["outcome"] != "would_update" {
		t.Errorf("report %v, want agent_id empty, agent Sales EMEA, error %q", rows, note)
	}
	ev := findEvent(logEvents(t, res.stderr), "row")
	if body := fmt.Sprint(ev["body"]); ev == nil || strings.Contains(body, "agent_id") || ev["error"] != note {
		t.Errorf("row event %v: the body must not hold the name as an agent_id", ev)
	}
}

// TestUncheckedWithoutReads: without the workspace's reads the columns that say one
// thing twice cannot be checked against each other: the run goes by agent_id and id, as
// an export fed back with --no-snapshot did, and the log says what went unchecked.
func TestUncheckedWithoutReads(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", "id,phone_number,agent_id,agent,nickname\nphn_k3p8vd2nq7ra,+1 415 555 0123,agt_billing,Sales EMEA,x\n")
	for i, args := range [][]string{{"--dry-run"}, {"--no-snapshot"}} {
		res := runBinary(t, dir, key(), append([]string{"--plan", plan, "--report", fmt.Sprintf("r%d.csv", i), "--base-url", base}, args...)...)
		ev := findEvent(logEvents(t, res.stderr), "unchecked")
		if res.code != 0 || ev == nil || fmt.Sprint(ev["pairs"]) != "[agent_id and agent id and phone_number]" {
			t.Errorf("%v: exit %d, unchecked %v\n%s", args, res.code, ev, tail(res.stderr))
		}
	}
	if p := api.Patches(); len(p) != 1 || p[0].Body != `{"agent_id":"agt_billing","nickname":"x"}` {
		t.Errorf("PATCHes %v, want the one --no-snapshot run's, by agent_id", p)
	}
}
