package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/dialnexa"
)

func result(line int, id, agent, nickname, label string, o job.Outcome) job.Result {
	return job.Result{
		Row:     job.Row{Line: line, ID: id, AgentID: job.Field{Raw: agent}, Nickname: job.Field{Raw: nickname}, Label: job.Field{Raw: label}},
		Outcome: o, Status: 200, Attempts: 1, Duration: 1500 * time.Microsecond,
		Finished: time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC),
	}
}

func TestWriterFlushWritesRowsOut(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w, err := NewWriter(&out, true, "null")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), BOM+strings.Join(Columns, ",")+"\n") {
		t.Fatalf("header: %q", out.String())
	}
	for i := 0; i < 3; i++ {
		before := out.Len()
		res := result(i+2, "phn_1", "agt_a", "Nick", "", job.Updated)
		res.Row.AgentName = "=Sales, EMEA" // the agent's name, last, escaped as any cell
		if err := w.Write(res); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.Len() == before {
			t.Fatalf("row %d was not written out by Flush", i)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2", "phn_1", "agt_a", "Nick", "", "updated", "200", "1", "", "", "", "", "", "1", "2026-11-27T03:15:00.000Z", "", "", "", "'=Sales, EMEA"}
	if strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Errorf("row:\n got %q\nwant %q", recs[1], want)
	}
}

func TestWriterWithoutBOM(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := NewWriter(&out, false, "null"); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(out.String(), BOM) {
		t.Error("stdout report must have no BOM")
	}
}

func TestWriterNeutralisesFormulaCells(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w, _ := NewWriter(&out, false, "null")
	r := result(2, "-phn", "agt_a", "=HYPERLINK(\"x\")", "@label", job.Rejected)
	r.Error = "+bad"
	w.Write(r)
	w.Flush()
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	row := recs[1]
	for i, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s starts with %q: %q", Columns[i], cell[0], cell)
		}
	}
}

func writeReport(t *testing.T, results ...job.Result) string {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, true, "null")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return out.String()
}

func row(id, agent, nickname, label string) job.Row {
	return job.Row{ID: id, AgentID: job.Field{Raw: agent}, Nickname: job.Field{Raw: nickname}, Label: job.Field{Raw: label}}
}

func TestReadAppliedRoundTrip(t *testing.T) {
	t.Parallel()
	data := writeReport(t,
		result(2, "phn_1", "agt_a", "=Sales", "", job.Updated),
		result(3, "phn_2", "null", "", "-L", job.Skipped),
		result(4, "phn_3", "agt_a", "x", "", job.Failed),
		result(5, "phn_4", "agt_a", "x", "", job.NotAttempted),
		result(6, "-phn_5", "agt_b", "", "", job.Updated),
	)
	a, err := ReadApplied(strings.NewReader(data), "null")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		row  job.Row
		want bool
	}{
		{row("phn_1", "agt_a", "=Sales", ""), true},   // neutralised cell read back as planned
		{row("phn_1", "agt_b", "=Sales", ""), false},  // planned differently now
		{row("phn_1", "agt_a", "'=Sales", ""), false}, // the quote is not part of the plan
		{row("phn_2", "null", "", "-L"), true},        // skipped counts as done
		{row("phn_3", "agt_a", "x", ""), false},       // failed runs again
		{row("phn_4", "agt_a", "x", ""), false},       // not attempted runs again
		{row("-phn_5", "agt_b", "", ""), true},        // neutralised id
		{row("phn_9", "agt_a", "", ""), false},        // never seen
	}
	for _, c := range cases {
		if got := a.Has(c.row); got != c.want {
			t.Errorf("Has(%+v) = %v, want %v", c.row, got, c.want)
		}
	}
	if a.Len() != 3 {
		t.Errorf("Len = %d, want 3", a.Len())
	}
}

// TestReadAppliedLaterLineWins: a row's later line (a gate's differs, a rollback's
// rolled_back or unchanged) cancels its earlier updated; a later updated (a row sent
// again) counts.
func TestReadAppliedLaterLineWins(t *testing.T) {
	t.Parallel()
	data := writeReport(t,
		result(2, "phn_1", "agt_a", "", "", job.Updated),
		result(3, "phn_2", "agt_a", "", "", job.Updated),
		result(4, "phn_3", "agt_a", "", "", job.Updated),
		result(5, "phn_4", "agt_a", "", "", job.Failed),
		result(2, "phn_1", "agt_a", "", "", job.RolledBack),
		result(3, "phn_2", "agt_a", "", "", job.Differs),
		result(5, "phn_4", "agt_a", "", "", job.Unchanged),
		result(5, "phn_4", "agt_a", "", "", job.Updated),
	)
	a, err := ReadApplied(strings.NewReader(data), "null")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"phn_1": false, "phn_2": false, "phn_3": true, "phn_4": true} {
		if got := a.Has(row(id, "agt_a", "", "")); got != want {
			t.Errorf("%s: Has = %v, want %v", id, got, want)
		}
	}
}

func TestReadAppliedTornLastLine(t *testing.T) {
	t.Parallel()
	full := writeReport(t,
		result(2, "phn_1", "agt_a", "One", "", job.Updated),
		result(3, "phn_2", "agt_a", "Two, \"quoted\"", "", job.Updated),
	)
	// Cut the last line at every point: the first row stays done; the second is done
	// only if its line survived whole up to the outcome.
	lastStart := strings.LastIndex(strings.TrimSuffix(full, "\n"), "\n") + 1
	for cut := lastStart; cut < len(full); cut++ {
		a, err := ReadApplied(strings.NewReader(full[:cut]), "null")
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if !a.Has(row("phn_1", "agt_a", "One", "")) {
			t.Fatalf("cut at %d lost the first row", cut)
		}
		outcomeEnd := strings.Index(full[lastStart:], ",updated,") + lastStart + len(",updated")
		if a.Has(row("phn_2", "agt_a", "Two, \"quoted\"", "")) && cut < outcomeEnd {
			t.Errorf("cut at %d (%q) still counts the torn row as updated", cut, full[lastStart:cut])
		}
	}
}

func TestReadAppliedRefusesDamage(t *testing.T) {
	t.Parallel()
	good := writeReport(t, result(2, "phn_1", "agt_a", "One", "", job.Updated), result(3, "phn_2", "agt_a", "Two", "", job.Updated))
	lines := strings.SplitAfter(good, "\n")
	damaged := lines[0] + "2,phn_1,ag\"t_a,One\n" + lines[2]
	for name, in := range map[string]string{
		"empty":          "",
		"not a report":   "id,agent_id\nphn_1,agt_a\n",
		"damaged middle": damaged,
	} {
		if _, err := ReadApplied(strings.NewReader(in), "null"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestExportNamesAgents: the export's agent column holds each number's agent's name,
// beside its id (empty for no agent, or an agent with no name).
func TestExportNamesAgents(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	n, err := Export(&out, "null", map[string]string{"agt_b": "Billing", "agt_s": "Sales, EMEA"}, func(write func([]dialnexa.PhoneNumber) error) error {
		return write([]dialnexa.PhoneNumber{
			{ID: "phn_1", PhoneNumber: "+441614960000", AgentID: "agt_b"},
			{ID: "phn_2", PhoneNumber: "+441614960001", AgentID: "agt_s", Nickname: "x"},
			{ID: "phn_3", PhoneNumber: "+441614960002"},
			{ID: "phn_4", PhoneNumber: "+441614960003", AgentID: "agt_unnamed"},
		})
	})
	if err != nil || n != 4 {
		t.Fatalf("Export = %d, %v", n, err)
	}
	want := BOM + "id,phone_number,agent_id,agent,nickname,label,status,country_code,type\n" +
		"phn_1,'+441614960000,agt_b,Billing,,,,,\n" +
		"phn_2,'+441614960001,agt_s,\"Sales, EMEA\",x,,,,\n" +
		"phn_3,'+441614960002,,,,,,,\n" +
		"phn_4,'+441614960003,agt_unnamed,,,,,,\n"
	if out.String() != want {
		t.Errorf("export\n%s\nwant\n%s", out.String(), want)
	}
}
