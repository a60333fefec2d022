package html

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/report"
)

// hostile nicknames: each must show as text and create nothing.
var hostile = []string{
	`<img src=x onerror=alert(1)>`,
	`</script><script>alert(2)</script>`,
	`" onmouseover="alert(3)`,
	`=HYPERLINK("http://example.invalid","x")`,
	`<!-- {{.}} -->`,
	"two\nlines \u2028 and \u2029",
}

var agents = []dialnexa.Agent{
	{ID: "agt_sales_emea", Name: "Sales EMEA"}, {ID: "agt_support_tier1", Name: "Support Tier 1"},
	{ID: "agt_billing", Name: "Billing"}, {ID: "agt_sales_latam", Name: "Sales LATAM"},
}

var genStart = time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)

// genResults is a run of n rows as the runner would record them, in the order they
// finish (not plan order), with a second line for some rows (a wave's differs, a
// rollback) after the first.
func genResults(n int) []job.Result {
	var out []job.Result
	var seconds []job.Result
	for k := range n {
		i := (k*7919 + 13) % n // finishing order is not plan order
		if n%7919 == 0 {
			i = k
		}
		row := job.Row{Line: i + 2, ID: fmt.Sprintf("phn_%012x", uint64(i)*2654435761%(1<<48)),
			AgentID: job.Field{Raw: agents[i%len(agents)].ID}, Nickname: job.Field{Raw: fmt.Sprintf("Line %d", i)}}
		switch {
		case i < len(hostile):
			row.Nickname = job.Field{Raw: hostile[i]}
		case i%37 == 0:
			row.Nickname = job.Field{Raw: "São Paulo Vendas"}
		case i%11 == 0:
			row.Nickname = job.Field{Raw: "null", Null: true}
		case i%13 == 0:
			row.Nickname = job.Field{}
		}
		if i%5 == 0 {
			row.Label = job.Field{Raw: "Support - London"}
		}
		before := &job.NumberState{AgentID: agents[(i+1)%len(agents)].ID, Nickname: fmt.Sprintf("Old %d", i), Label: "Legacy"}
		r := job.Result{Row: row, Outcome: job.Updated, Status: 200, Attempts: 1, Before: before,
			Number:    dialnexa.PhoneNumber{ID: row.ID, PhoneNumber: fmt.Sprintf("+4420794%05d", i), AgentID: row.AgentID.Raw, Nickname: row.Nickname.Raw},
			RequestID: fmt.Sprintf("req_%06d", i), Duration: time.Duration(40+i%60) * time.Millisecond,
			Finished: genStart.Add(time.Duration(k) * 50 * time.Millisecond)}
		switch i % 50 {
		case 1:
			r.Outcome, r.Status, r.Error, r.Number = job.Rejected, 400, "agent agt_billing cannot take inbound numbers", dialnexa.PhoneNumber{}
		case 2:
			r.Outcome, r.Status, r.Error, r.Number = job.NotFound, 404, "Phone number not found", dialnexa.PhoneNumber{}
		case 3:
			r.Outcome, r.Status, r.Attempts, r.Error, r.Number = job.Failed, 503, 5, "503 Service Unavailable after 5 attempts", dialnexa.PhoneNumber{}
		case 4:
			r.Outcome, r.Status, r.Attempts, r.Number = job.Unchanged, 0, 0, dialnexa.PhoneNumber{}
		case 5:
			r.Outcome, r.Status, r.Attempts, r.Error, r.Number = job.Conflict, 0, 0, "agent_id changed since the plan was reviewed: was agt_a, now agt_b", dialnexa.PhoneNumber{}
		case 6:
			r.Outcome, r.Status, r.Attempts, r.Error, r.Number = job.NotAttempted, 0, 0, "--limit reached", dialnexa.PhoneNumber{}
		case 7:
			r.Outcome, r.Status, r.Error, r.Number = job.Forbidden, 403, "Forbidden", dialnexa.PhoneNumber{}
		}
		out = append(out, r)
		if r.Outcome == job.Updated && i%97 == 0 {
			second := r
			second.Finished = r.Finished.Add(time.Minute)
			if i%2 == 0 {
				second.Outcome, second.Error = job.Differs, "agent_id is agt_billing, planned "+row.AgentID.Raw
			} else {
				second.Outcome, second.Error = rolledBack, ""
			}
			seconds = append(seconds, second)
		}
	}
	return append(out, seconds...)
}

// writeReport writes results as the run's report file and returns its path.
func writeReport(t testing.TB, dir, name string, results []job.Result) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := report.NewWriter(f, true, "null")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// csvRow is what a test expects of a plan row, read from a report with encoding/csv
// alone: its last line wins.
type csvRow struct {
	line                 int
	outcome, phone, nick string
	lines                int
}

// readCSV reads a report the plain way, to check the page against.
func readCSV(t testing.TB, paths ...string) (rows map[int]*csvRow, counts map[string]int) {
	t.Helper()
	rows = map[int]*csvRow{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(report.BOM)))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, rec := range recs[1:] {
			var line int
			fmt.Sscan(rec[col["line"]], &line)
			r := rows[line]
			if r == nil {
				r = &csvRow{line: line}
				rows[line] = r
			}
			r.outcome, r.phone, r.nick = rec[col["outcome"]], strings.TrimPrefix(rec[col["phone_number"]], "'"), rec[col["nickname"]]
			r.lines++
		}
	}
	counts = map[string]int{}
	for _, r := range rows {
		counts[r.outcome]++
	}
	return rows, counts
}
