package html

import (
	"bytes"
	"flag"
	"fmt"
	stdhtml "html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with what the page renders now")

// smallRun is a run of a few rows: each kind of outcome, a hostile nickname, a
// cleared nickname, a row a wave found differing and one an atomic run put back.
func smallRun() []job.Result {
	at := func(s int) time.Time { return genStart.Add(time.Duration(s) * time.Second) }
	before := func(a, n, l string) *job.NumberState { return &job.NumberState{AgentID: a, Nickname: n, Label: l} }
	row := func(line int, id, agent, nick, label string) job.Row {
		f := func(s string) job.Field { return job.Field{Raw: s, Null: s == "null"} }
		return job.Row{Line: line, ID: id, AgentID: f(agent), Nickname: f(nick), Label: f(label)}
	}
	updated := func(r job.Row, phone string, s int, b *job.NumberState) job.Result {
		nick := r.Nickname.Raw
		if r.Nickname.Null {
			nick = ""
		}
		return job.Result{Row: r, Outcome: job.Updated, Status: 200, Attempts: 1, RequestID: "req_" + r.ID[4:], Duration: 80 * time.Millisecond,
			Number: dialnexa.PhoneNumber{ID: r.ID, PhoneNumber: phone, AgentID: r.AgentID.Raw, Nickname: nick}, Finished: at(s), Before: b}
	}
	r2 := row(2, "phn_f7w2kx5mb9qz", "agt_support_tier1", "Mumbai Support", "Support - Mumbai")
	r3 := row(3, "phn_k3p8vd2nq7ra", "agt_sales_emea", `<img src=x onerror=alert(1)>`, "")
	r4 := row(4, "phn_zz00000000nf", "agt_sales_emea", "", "")
	r5 := row(5, "phn_q2w8ej5rt1yb", "agt_sales_latam", "null", "Vendas - Brasil")
	r6 := row(6, "phn_m4n6bv8cx0zl", "agt_outbound", "", "")
	r7 := row(7, "phn_r5t7yu2io8pl", "", "", "")
	r8 := row(8, "phn_h1j3kl5zx7cv", "agt_billing", "", "")
	return []job.Result{
		{Row: r7, Outcome: job.Unchanged, Finished: at(0), Before: before("agt_support_tier1", "Sydney Support", "Support - Sydney")},
		updated(r3, "+442071838750", 0, before("agt_support_tier1", "", "Support - London")),
		updated(r2, "+912234567890", 1, before("agt_billing", "Old Mumbai Line", "")),
		{Row: r4, Outcome: job.NotFound, Status: 404, Attempts: 1, Error: "Phone number not found", RequestID: "req_nf", Finished: at(1), Before: nil},
		updated(r5, "+5511987654321", 2, before("agt_sales_latam", "São Paulo", "")),
		{Row: r6, Outcome: job.Rejected, Status: 400, Attempts: 1, Error: "agent agt_outbound cannot take inbound numbers", RequestID: "req_rj", Finished: at(2),
			Before: before("agt_billing", "", "")},
		updated(r8, "+14155550100", 3, before("agt_sales_emea", "", "")),
		// The wave's check of row 5, then the rollback of row 8.
		{Row: r5, Outcome: job.Differs, Error: "agent_id is agt_billing, planned agt_sales_latam", Finished: at(4),
			Number: dialnexa.PhoneNumber{AgentID: "agt_billing"}, Before: before("agt_sales_latam", "São Paulo", "")},
		{Row: r8, Outcome: rolledBack, Status: 200, Attempts: 1, Finished: at(5), Before: before("agt_sales_emea", "", "")},
	}
}

// smallMeta is what a live run knows of itself.
func smallMeta() Meta {
	tl := report.NewTimeline(genStart)
	for s, n := range []int{2, 2, 2, 1, 1, 1} {
		for range n {
			tl.Row(genStart.Add(time.Duration(s) * time.Second))
		}
	}
	tl.Throttled(genStart.Add(time.Second))
	return Meta{
		Command: "run", Plan: "plan <migration>.csv", BaseURL: "https://api.dialnexa.com/v1", Version: "v1.4.0",
		Started: genStart, Elapsed: 6200 * time.Millisecond, ExitCodes: []int{3}, Waves: "1,10%,100%",
		Reports: []string{"report.csv"}, Timeline: tl, Generated: genStart.Add(7 * time.Second),
		Agents: map[string]string{"agt_support_tier1": "Support Tier 1", "agt_sales_emea": "Sales EMEA", "agt_billing": "Billing"},
	}
}

// TestGolden holds the page of a small run to testdata/*.golden: refresh with
// go test ./report/html -run TestGolden -update, and read the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		meta Meta
	}{
		{"live-run", smallMeta()},
		{"report-only", Meta{Reports: []string{"report.csv"}, Generated: genStart.Add(time.Hour),
			Unknown: "A report does not record them: give each report's summary file (written with --summary) beside it."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			csvPath := writeReport(t, t.TempDir(), "report.csv", smallRun())
			var buf bytes.Buffer
			if _, err := Render(&buf, c.meta, Files("null", csvPath)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("the page differs from %s (run with -update and read the diff):\n%s", golden, firstDiff(buf.String(), string(want)))
			}
		})
	}
}

// firstDiff shows the first line where got and want part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// TestRenderCounts: a row's later line wins in the counts, and the stats say so.
func TestRenderCounts(t *testing.T) {
	t.Parallel()
	csvPath := writeReport(t, t.TempDir(), "report.csv", smallRun())
	var buf bytes.Buffer
	st, err := Render(&buf, Meta{}, Files("null", csvPath))
	if err != nil {
		t.Fatal(err)
	}
	want := map[job.Outcome]int{job.Updated: 2, job.Unchanged: 1, job.NotFound: 1, job.Rejected: 1, job.Differs: 1, rolledBack: 1}
	if st.Rows != 7 || st.Lines != 9 || st.Attention != 3 || len(st.Counts) != len(want) {
		t.Fatalf("stats %+v, want 7 rows, 9 lines, 3 needing attention, counts %v", st, want)
	}
	for o, n := range want {
		if st.Counts[o] != n {
			t.Errorf("%s: %d, want %d", o, st.Counts[o], n)
		}
	}
	for _, frag := range []string{`data-count="updated">2<`, `data-count="rolled_back">1<`, `data-count="differs">1<`} {
		if !strings.Contains(buf.String(), frag) {
			t.Errorf("the page lacks %s", frag)
		}
	}
	if strings.Contains(buf.String(), `<dt>Values before</dt>`) {
		t.Error("the page says the values before the run are not known, but the report holds them")
	}
}

// retryRun is a pod's report and its retry's, which resumed it: the retry records as
// skipped the row the pod updated, a minute later. Their names sort the retry first.
func retryRun(t testing.TB, dir string) (retry, pod string) {
	first := smallRun()[:3] // lines 7, 3, 2
	again := make([]job.Result, len(first))
	for i, r := range first {
		r.Outcome, r.Status, r.Attempts, r.Finished = job.Skipped, 0, 0, r.Finished.Add(time.Minute)
		again[i] = r
	}
	return writeReport(t, dir, "pod-0-a.csv", again), writeReport(t, dir, "pod-0-b.csv", first)
}

// TestLaterLineWinsByTime: of two lines for a row in different reports, the one that
// finished later wins, whichever file was read first.
func TestLaterLineWinsByTime(t *testing.T) {
	t.Parallel()
	retry, pod := retryRun(t, t.TempDir())
	st, err := Render(io.Discard, Meta{}, Files("null", retry, pod))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 3 || st.Lines != 6 || st.Counts[job.Skipped] != 3 || len(st.Counts) != 1 {
		t.Errorf("stats %+v, want 3 rows, 6 lines, all skipped", st)
	}
}

// TestHostileValuesStayText renders values built to break out of the page, in the run's
// facts and in the rows: none becomes markup, a script or a comment.
func TestHostileValuesStayText(t *testing.T) {
	t.Parallel()
	evil := `</script><script>alert(1)</script><img src=x onerror=alert(2)><!--`
	results := smallRun()
	for i := range results {
		results[i].Row.ID += evil
		results[i].Error = evil
		results[i].Number.PhoneNumber = evil + "\u2028"
		results[i].RequestID = evil
		results[i].Row.Nickname = job.Field{Raw: evil}
	}
	csvPath := writeReport(t, t.TempDir(), "report.csv", results)
	m := smallMeta()
	m.Plan, m.BaseURL, m.Version, m.Waves, m.Reports = evil, evil, evil, evil, []string{evil}
	m.Agents = map[string]string{"agt_sales_emea": evil}
	var buf bytes.Buffer
	if _, err := Render(&buf, m, Files("null", csvPath)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for frag, want := range map[string]int{"<script": 2, "</script": 2, "<img": 0, "<!--": 0, "\u2028": 0, "onerror=alert(2)>": 0} {
		if n := strings.Count(page, frag); n != want {
			t.Errorf("%q occurs %d times, want %d", frag, n, want)
		}
	}
	if !strings.Contains(page, "&lt;/script&gt;&lt;script&gt;alert(1)") {
		t.Error("the plan's name is not shown as text")
	}
}

// TestPageLoadsNothing: the Content-Security-Policy allows the page's own script and
// style by their hashes, and nothing else; outside the data, nothing names a URL.
func TestPageLoadsNothing(t *testing.T) {
	t.Parallel()
	csvPath := writeReport(t, t.TempDir(), "report.csv", smallRun())
	var buf bytes.Buffer
	if _, err := Render(&buf, smallMeta(), Files("null", csvPath)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	want := "default-src 'none'; script-src '" + hash(pageJS) + "'; style-src '" + hash(pageCSS) + "'; base-uri 'none'; form-action 'none'"
	if m == nil || stdhtml.UnescapeString(m[1]) != want {
		t.Errorf("Content-Security-Policy %q, want %q", m, want)
	}
	if !strings.Contains(page, "<script>"+pageJS+"</script>") || !strings.Contains(page, "<style>"+pageCSS+"</style>") {
		t.Error("the script or the style is not inline exactly as hashed")
	}
	start, end := strings.Index(page, islandOpen), strings.Index(page, "}</script>")
	markup := page[:start] + page[end:]
	for _, attr := range []string{"src=", "href=\"http", "href=\"//", "url(", "@import", "<link", "<img"} {
		if strings.Contains(markup, attr) {
			t.Errorf("the page holds %q", attr)
		}
	}
}

// TestThrottledWithoutTimeline: summary files that count their 429s but do not say when
// give the count beside the rows per second.
func TestThrottledWithoutTimeline(t *testing.T) {
	t.Parallel()
	csvPath := writeReport(t, t.TempDir(), "report.csv", smallRun())
	n := int64(1234)
	var buf bytes.Buffer
	if _, err := Render(&buf, Meta{Throttled: &n}, Files("null", csvPath)); err != nil {
		t.Fatal(err)
	}
	if want := "1,234 answers 429 (too many requests) in all; when they came is not known"; !strings.Contains(buf.String(), want) {
		t.Errorf("the page lacks %q", want)
	}
}

// TestAgentNamesFromValidRows: the report's agent column names the agent of agent_id on
// a valid row; an invalid row's may hold what the plan said beside it, and names nothing.
func TestAgentNamesFromValidRows(t *testing.T) {
	t.Parallel()
	lines := []report.Line{
		{Line: 2, ID: "phn_1", AgentID: job.Field{Raw: "agt_billing"}, Agent: "Billing", Outcome: job.Updated},
		{Line: 3, ID: "phn_2", AgentID: job.Field{Raw: "agt_billing"}, Agent: "Sales EMEA", Outcome: job.Invalid,
			Error: `agent_id agt_billing is "Billing", but agent says "Sales EMEA": keep one`},
	}
	src := func(each func(report.Line) error) error {
		for _, l := range lines {
			if err := each(l); err != nil {
				return err
			}
		}
		return nil
	}
	tl, err := tallyLines(Meta{}, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.agents["agt_billing"]; got != "Billing" {
		t.Errorf("agt_billing is named %q, want Billing", got)
	}
}
