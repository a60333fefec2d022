package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// rehearse runs the built program against the sandbox kept in dir's rehearsal.json and
// fails the test unless it exits want.
func rehearse(t *testing.T, dir string, want int, args ...string) execResult {
	t.Helper()
	res := runBinary(t, dir, nil, append(args, "--sandbox", "--sandbox-state", "rehearsal.json", "--rate", "0", "--log-format", "json")...)
	if res.code != want {
		t.Fatalf("%v: exit %d, want %d\n%s", args, res.code, want, tail(res.stderr))
	}
	return res
}

// readCSV reads a CSV file of dir (BOM or not) as its header and its rows.
func readCSV(t *testing.T, dir, name string) (header []string, rows [][]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(readFile(t, dir, name), "\uFEFF"))).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	return recs[0], recs[1:]
}

// exportByID reads an export as each number's cells by column name.
func exportByID(t *testing.T, dir, name string) map[string]map[string]string {
	t.Helper()
	header, rows := readCSV(t, dir, name)
	out := map[string]map[string]string{}
	for _, r := range rows {
		m := map[string]string{}
		for i, h := range header {
			m[h] = r[i]
		}
		out[m["id"]] = m
	}
	return out
}

// outcomesOf is each report row's outcome by id, and the ids per outcome.
func outcomesOf(t *testing.T, dir, name string) (map[string]string, map[string][]string) {
	t.Helper()
	byOutcome := map[string][]string{}
	out := outcomes(readReport(t, readFile(t, dir, name)))
	for id, o := range out {
		byOutcome[o] = append(byOutcome[o], id)
	}
	for _, ids := range byOutcome {
		slices.Sort(ids)
	}
	return out, byOutcome
}

// The rows the rehearsal edits in the export, as a person would in a spreadsheet.
const (
	agentByID   = "phn_k3p8vd2nq7ra" // agt_support_tier1 → agt_sales_emea, typed as an id
	agentByName = "phn_h6n1cz9uf4dk" // agt_support_tier2 → "Ventas LATAM" (agt_sales_latam), typed as a name
	nickname    = "phn_f7w2kx5mb9qz" // "Old Mumbai Line" → "Mumbai Sales"
	nickCleared = "phn_r5t7yu2io8pl" // "Sydney Support" → null
	detached    = "phn_t1y5ui9op3as" // agt_sales_emea → null
	newLabel    = "phn_q2w8ej5rt1yb" // no label → "Rehearsal": the API cannot empty it again
)

// editExport writes edited.csv: the export with the rows above changed. Agents are
// given by id on one row and by name on another: in an agent column beside agent_id
// when the export has one (clearing the other cell of the row), else in the agent_id
// column renamed agent, which takes an id or a name.
func editExport(t *testing.T, dir string) {
	t.Helper()
	header, rows := readCSV(t, dir, "before.csv")
	col := func(name string) int { return slices.Index(header, name) }
	agent := col("agent")
	if agent < 0 {
		agent = col("agent_id")
		header[agent] = "agent"
	}
	set := func(r []string, byName bool, value string) {
		if i := col("agent_id"); i >= 0 && i != agent {
			r[i] = ""
			if !byName {
				r[i], value = value, ""
			}
		}
		r[agent] = value
	}
	for _, r := range rows {
		switch r[col("id")] {
		case agentByID:
			set(r, false, "agt_sales_emea")
		case agentByName:
			set(r, true, "Ventas LATAM")
		case detached:
			set(r, false, "null")
		case nickname:
			r[col("nickname")] = "Mumbai Sales"
		case nickCleared:
			r[col("nickname")] = "null"
		case newLabel:
			r[col("label")] = "Rehearsal"
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	w.WriteAll(rows)
	writeFile(t, dir, "edited.csv", b.String())
}

// TestRehearsal rehearses a migration with the real commands on one sandbox state:
// export → edit → dry run against the workspace → run with an undo plan → verify →
// the undo plan run as a plan → verify (the plan no longer holds; the undo plan does),
// and the workspace at the end is the one at the start, field for field, but for the
// label the API cannot empty again (which the run's log names).
func TestRehearsal(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "rehearsal.json")
	edited := []string{agentByID, agentByName, detached, nickCleared, nickname, newLabel}
	slices.Sort(edited)

	// 1. The export creates the state (the demo workspace) and writes it as a plan.
	res := rehearse(t, dir, 0, "export", "--out", "before.csv")
	if ev := findEvent(logEvents(t, res.stderr), "sandbox"); ev["created"] != true || ev["numbers"] != float64(9) {
		t.Errorf("the first command does not say it created the state: %v", ev)
	}
	seeded, err := os.ReadFile(state)
	if err != nil || !bytes.Contains(seeded, []byte(`"format": "reassign sandbox state"`)) {
		t.Fatalf("no sandbox state after the first command: %v\n%s", err, seeded)
	}
	// untouched fails the test if the state file was replaced since stat.
	untouched := func(stat os.FileInfo, by string) {
		t.Helper()
		if now, err := os.Stat(state); err != nil || !os.SameFile(now, stat) {
			t.Errorf("%s replaced the state file (%v); a command that changes nothing leaves it be", by, err)
		}
	}
	stat, _ := os.Stat(state)

	// 2. A person edits the export.
	editExport(t, dir)

	// 3. The dry run against the workspace finds exactly the edited rows to write, and
	// changes nothing, the state file included.
	rehearse(t, dir, 0, "--plan", "edited.csv", "--dry-run=server", "--report", "dry.csv")
	if _, got := outcomesOf(t, dir, "dry.csv"); !reflect.DeepEqual(got["would_update"], edited) || len(got["unchanged"]) != 3 {
		t.Errorf("dry run: %v; want %v to be would_update and the 3 others unchanged", got, edited)
	}
	untouched(stat, "the dry run")

	// 4. The run writes them and keeps an undo plan; the state is saved.
	res = rehearse(t, dir, 0, "--plan", "edited.csv", "--report", "run.csv", "--undo-plan", "undo.csv")
	if _, got := outcomesOf(t, dir, "run.csv"); !reflect.DeepEqual(got["updated"], edited) || len(got["unchanged"]) != 3 {
		t.Errorf("run: %v; want %v updated and the 3 others unchanged", got, edited)
	}
	evs := logEvents(t, res.stderr)
	if findEvent(evs, "sandbox_state") == nil {
		t.Error("the run does not say it saved the state")
	}
	if ev := findEvent(evs, "undo_keeps_label"); ev == nil || ev["id"] != newLabel {
		t.Errorf("the log does not name the label the undo plan keeps: %v", ev)
	}
	afterRun, _ := os.ReadFile(state)
	if bytes.Equal(afterRun, seeded) {
		t.Fatal("the run did not change the state")
	}

	// 5. Verify, in a new process, sees the workspace the run left.
	stat, _ = os.Stat(state)
	rehearse(t, dir, 0, "verify", "--plan", "edited.csv", "--report", "verify-1.csv")
	untouched(stat, "verify")
	if _, got := outcomesOf(t, dir, "verify-1.csv"); len(got["matches"]) != 9 {
		t.Errorf("verify after the run: %v; want all 9 matches", got)
	}

	// 6. The undo plan, run as a plan, puts the numbers back.
	rehearse(t, dir, 0, "--plan", "undo.csv", "--report", "undo-run.csv")

	// 7. The migration's plan no longer holds where it changed something the undo
	// could put back; the undo plan holds everywhere.
	rehearse(t, dir, exitRowErrors, "verify", "--plan", "edited.csv", "--report", "verify-2.csv")
	wantDiffers := slices.DeleteFunc(slices.Clone(edited), func(id string) bool { return id == newLabel })
	if _, got := outcomesOf(t, dir, "verify-2.csv"); !reflect.DeepEqual(got["differs"], wantDiffers) || len(got["matches"]) != 4 {
		t.Errorf("verify of the plan after the undo: %v; want %v to differ and the 4 others match", got, wantDiffers)
	}
	rehearse(t, dir, 0, "verify", "--plan", "undo.csv", "--report", "verify-3.csv")

	// 8. The workspace at the end is the one at the start, but for the kept label.
	stat, _ = os.Stat(state)
	rehearse(t, dir, 0, "export", "--out", "after.csv")
	untouched(stat, "export")
	before, after := exportByID(t, dir, "before.csv"), exportByID(t, dir, "after.csv")
	if len(after) != len(before) {
		t.Fatalf("%d numbers after, %d before", len(after), len(before))
	}
	for id, b := range before {
		want := maps.Clone(b)
		if id == newLabel {
			want["label"] = "Rehearsal"
		}
		if !reflect.DeepEqual(after[id], want) {
			t.Errorf("%s after the rehearsal:\n%v\nwant\n%v", id, after[id], want)
		}
	}
	var seededDoc, endDoc struct{ Agents []map[string]any }
	json.Unmarshal(seeded, &seededDoc)
	final, _ := os.ReadFile(state)
	json.Unmarshal(final, &endDoc)
	if len(endDoc.Agents) != 7 || !reflect.DeepEqual(endDoc.Agents, seededDoc.Agents) {
		t.Errorf("the agents changed: %v, want %v", endDoc.Agents, seededDoc.Agents)
	}
	for _, name := range files(t, dir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("a write beside the state was left behind: %s", name)
		}
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSandboxStateRefused: the state flags go with --sandbox; a file that is not a state
// is refused and left as it was; --sandbox-numbers seeds a new state and cannot reseed
// one; the environment variable names the state as the flag does.
func TestSandboxStateRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "plan.csv", "id,agent_id\nphn_k3p8vd2nq7ra,agt_sales_emea\n")
	writeFile(t, dir, "notes.json", `{"owner":"ops"}`)
	cases := []struct {
		name   string
		env    []string
		args   []string
		want   int
		stderr string
	}{
		{"state without --sandbox", nil, []string{"--plan", "plan.csv", "--sandbox-state", "s.json"}, exitUsage, "--sandbox-state (or $REASSIGN_SANDBOX_STATE) keeps the sandbox's workspace: it goes with --sandbox only"},
		{"state from the environment without --sandbox", []string{"REASSIGN_SANDBOX_STATE=s.json"}, []string{"export", "--out", "x.csv"}, exitUsage, "goes with --sandbox only"},
		{"numbers without --sandbox", nil, []string{"verify", "--plan", "plan.csv", "--sandbox-numbers", "50"}, exitUsage, "--sandbox-numbers seeds the sandbox's workspace: it goes with --sandbox only"},
		{"too many numbers", nil, []string{"--plan", "plan.csv", "--sandbox", "--sandbox-numbers", "100001"}, exitUsage, "--sandbox-numbers must be between 1 and 100000"},
		{"not a state", nil, []string{"--plan", "plan.csv", "--sandbox", "--sandbox-state", "notes.json"}, exitConfig, `sandbox state notes.json: is not a sandbox state`},
		{"the plan as the state", nil, []string{"--plan", "plan.csv", "--sandbox", "--sandbox-state", "plan.csv"}, exitUsage, `--sandbox-state names the same file as --plan (plan.csv)`},
		{"the report as the state", nil, []string{"--plan", "plan.csv", "--sandbox", "--sandbox-state", "r.csv"}, exitUsage, `names the same file as --sandbox-state (r.csv)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--log-format", "json")
			if tc.args[0] != "export" { // export takes no --report
				args = append(args, "--report", "r.csv")
			}
			res := runBinary(t, dir, tc.env, args...)
			if res.code != tc.want || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d with %q\n%s", res.code, tc.want, tc.stderr, res.stderr)
			}
		})
	}
	if got := files(t, dir); !reflect.DeepEqual(got, []string{"notes.json", "plan.csv"}) {
		t.Errorf("the folder holds %v: a refused command wrote something", got)
	}
	if readFile(t, dir, "notes.json") != `{"owner":"ops"}` || !strings.HasPrefix(readFile(t, dir, "plan.csv"), "id,agent_id\n") {
		t.Error("a file named as the state was changed")
	}

	// --sandbox-numbers seeds a new state; said again it is fine, another count is not.
	env := []string{"REASSIGN_SANDBOX_STATE=big.json"}
	seed := func(n string, want int, out string) execResult {
		t.Helper()
		res := runBinary(t, dir, env, "export", "--sandbox", "--sandbox-numbers", n, "--out", out, "--rate", "0", "--log-format", "json")
		if res.code != want {
			t.Fatalf("--sandbox-numbers %s: exit %d, want %d\n%s", n, res.code, want, tail(res.stderr))
		}
		return res
	}
	seed("300", 0, "big-1.csv")
	if _, rows := readCSV(t, dir, "big-1.csv"); len(rows) != 300 {
		t.Errorf("the seeded state exports %d numbers, want 300", len(rows))
	}
	seed("300", 0, "big-2.csv")
	if readFile(t, dir, "big-1.csv") != readFile(t, dir, "big-2.csv") {
		t.Error("the same state exported twice differs")
	}
	if res := seed("50", exitUsage, "big-3.csv"); !strings.Contains(res.stderr, "seeded with --sandbox-numbers 300") {
		t.Errorf("the refusal does not say how the state was seeded:\n%s", res.stderr)
	}
}

// TestSampleWithState: the sample plan shows the same outcomes against a new state as
// against the sandbox without one (the demo's rules come with the state); run again on
// that state, what it updated is unchanged, and the refused rows are refused again.
func TestSampleWithState(t *testing.T) {
	dir := t.TempDir()
	plan, _ := filepath.Abs("samples/plan.csv")
	res := runBinary(t, dir, nil, "--sandbox", "--plan", plan, "--report", "plain.csv", "--rate", "0")
	if res.code != exitRowErrors {
		t.Fatalf("without a state: exit %d, want 3\n%s", res.code, tail(res.stderr))
	}
	rehearse(t, dir, exitRowErrors, "--plan", plan, "--report", "first.csv")
	plain, _ := outcomesOf(t, dir, "plain.csv")
	first, byOutcome := outcomesOf(t, dir, "first.csv")
	if !reflect.DeepEqual(first, plain) {
		t.Errorf("with a new state: %v\nwithout: %v", first, plain)
	}
	rehearse(t, dir, exitRowErrors, "--plan", plan, "--report", "second.csv")
	second, _ := outcomesOf(t, dir, "second.csv")
	for id, o := range first {
		want := o
		if o == "updated" {
			want = "unchanged"
		}
		if second[id] != want {
			t.Errorf("%s on the second run: %s, want %s", id, second[id], want)
		}
	}
	if len(byOutcome["updated"]) == 0 || len(byOutcome["not_found"]) == 0 || len(byOutcome["rejected"]) == 0 {
		t.Errorf("the sample shows %v", byOutcome)
	}
}
