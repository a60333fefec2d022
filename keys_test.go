package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"reassign/job/sandbox"
)

// abs is a file of the repository, for a run in another directory.
func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanByPhoneWithNames runs samples/plan-by-phone.csv (the team's own headers,
// numbers in several spellings, agents by name, by id and in Japanese) against the
// sandbox: first --dry-run=server, which shows the resolved ids, then live; the report
// holds the ids and the phone numbers, and fed back as a plan it is keyed by id and
// costs no write.
func TestPlanByPhoneWithNames(t *testing.T) {
	t.Parallel()
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	dir := t.TempDir()
	plan := abs(t, "samples/plan-by-phone.csv")
	res := runBinary(t, dir, key(), "--plan", plan, "--report", "preview.csv", "--base-url", base, "--dry-run=server")
	if res.code != 0 || len(api.Patches()) != 0 {
		t.Fatalf("--dry-run=server: exit %d, %d PATCHes\n%s", res.code, len(api.Patches()), tail(res.stderr))
	}
	want := map[string][2]string{ // id -> agent_id, phone_number
		"phn_f7w2kx5mb9qz": {"agt_billing", "+912234567890"},
		"phn_k3p8vd2nq7ra": {"agt_sales_emea", "+442071838750"},
		"phn_m9x4tb6wz2ce": {"agt_sales_emea", "+14155550123"},
		"phn_q2w8ej5rt1yb": {"agt_sales_latam", "+5511987654321"},
		"phn_r5t7yu2io8pl": {"agt_support_tier2", "+61290001234"},
		"phn_b8v3nm5kq1xs": {"agt_billing", "+33144556677"},
		"phn_t1y5ui9op3as": {"agent_2g7Xy3tY53gRlp", "+81312345678"},
		"phn_d4f6gh8jk2lz": {"null", "+4930123456"},
	}
	check := func(name, outcome string) {
		rows := readReport(t, readFile(t, dir, name))
		if len(rows) != len(want) {
			t.Fatalf("%s: %d rows, want %d", name, len(rows), len(want))
		}
		for _, r := range rows {
			w, ok := want[r["id"]]
			if !ok || r["agent_id"] != w[0] || r["phone_number"] != "'"+w[1] || r["outcome"] != outcome {
				t.Errorf("%s: line %s: id %q agent_id %q phone_number %q %s; want %v %s", name, r["line"], r["id"], r["agent_id"], r["phone_number"], r["outcome"], w, outcome)
			}
		}
	}
	check("preview.csv", "would_update")

	res = runBinary(t, dir, key(), "--plan", plan, "--report", "run.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("run: exit %d\n%s", res.code, tail(res.stderr))
	}
	check("run.csv", "updated")
	if n, _ := api.Number("phn_t1y5ui9op3as"); val(n.AgentID) != "agent_2g7Xy3tY53gRlp" || val(n.Nickname) != "東京 受付" {
		t.Errorf("phn_t1y5ui9op3as: %+v", n)
	}
	if n, _ := api.Number("phn_d4f6gh8jk2lz"); n.AgentID != nil {
		t.Errorf("null did not detach phn_d4f6gh8jk2lz: %q", val(n.AgentID))
	}

	patches := len(api.Patches())
	res = runBinary(t, dir, key(), "--plan", "run.csv", "--report", "again.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 || len(api.Patches()) != patches {
		t.Errorf("the report fed back as a plan: exit %d, %d PATCHes\n%s", res.code, len(api.Patches())-patches, tail(res.stderr))
	}
	if strings.Contains(res.stderr, "plan keyed by phone number") {
		t.Errorf("the report fed back is keyed by id, yet the log says otherwise")
	}
}

// TestPlanWorkbook runs samples/plan.xlsx (numbers typed as numbers and shown as
// 9.12E+11) against the sandbox, from the file and from stdin; and the sheet of a
// LibreOffice workbook that --sheet and --columns name.
func TestPlanWorkbook(t *testing.T) {
	t.Parallel()
	_, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	dir := t.TempDir()
	plan := abs(t, "samples/plan.xlsx")
	res := runBinary(t, dir, key(), "--plan", plan, "--report", "r.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, tail(res.stderr))
	}
	rows := readReport(t, readFile(t, dir, "r.csv"))
	lines := map[string]string{}
	for _, r := range rows {
		lines[r["line"]] = r["id"] + " " + r["agent_id"] + " " + r["outcome"]
	}
	want := map[string]string{
		"2": "phn_f7w2kx5mb9qz agt_billing updated",
		"3": "phn_k3p8vd2nq7ra agt_sales_emea updated",
		"4": "phn_m9x4tb6wz2ce agt_sales_emea updated",
		"5": "phn_r5t7yu2io8pl agt_support_tier2 updated",
		"6": "phn_t1y5ui9op3as agent_2g7Xy3tY53gRlp updated",
	}
	if !equalMaps(lines, want) {
		t.Errorf("report lines %v, want %v", lines, want)
	}
	res = runBinaryStdin(t, dir, key(), plan, "--plan", "-", "--report", "stdin.csv", "--base-url", base, "--rate", "0")
	if res.code != 0 || len(readReport(t, readFile(t, dir, "stdin.csv"))) != 5 {
		t.Errorf("the workbook on stdin: exit %d\n%s", res.code, tail(res.stderr))
	}

	// The German sheet: one number in two spellings, refused with both lines.
	res = runBinary(t, dir, key(), "--plan", abs(t, "job/planfile/testdata/xlsx/libreoffice.xlsx"), "--sheet", "Rufnummern",
		"--columns", "phone_number=Rufnummer,agent=Ziel-Agent,nickname=Anzeigename", "--report", "de.csv", "--base-url", base)
	if res.code != exitPlan || !strings.Contains(res.stderr, "line 2: phone number +4930123456 is also on line 3") {
		t.Errorf("--sheet Rufnummern: exit %d, want 65 naming both lines\n%s", res.code, tail(res.stderr))
	}
}

// TestPlanFormsRefused: each bad input of a plan keyed by phone number, naming agents,
// or from a workbook: its message, its exit code, and no write. A plan refused for its
// rows keeps its report (every row, the invalid ones with why); one refused as a whole
// writes none.
func TestPlanFormsRefused(t *testing.T) {
	t.Parallel()
	noReads := refuseReads(http.StatusForbidden, "You do not have permission to access this resource")
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{})
	_, refusing := fakeAPI(t, sandbox.Demo(), sandbox.Options{Fault: noReads})
	dir := t.TempDir()
	writeFile(t, dir, "text.xlsx", "phone,agent\n+44 20 7183 8750,Billing\n")
	good := writeFile(t, dir, "good.csv", "phone,agent\n+44 20 7183 8750,Billing\n")
	cases := []struct {
		name, plan string // plan: the file's content, or a path when it starts with /
		args       []string
		code       int
		says       string
		rows       bool // refused for its rows: the report is kept
	}{
		{name: "scientific notation", plan: "Phone,Agent\n4.47911E+11,Billing\n", code: 65,
			says: `line 2: phone number \"4.47911E+11\" is in scientific notation: its last digits were lost`, rows: true},
		{name: "not a number of the workspace", plan: "Phone,Agent\n+1 202 555 0199,Billing\n", code: 65,
			says: "line 2: phone number +12025550199 is not a number of this workspace", rows: true},
		{name: "no country code", plan: "Phone,Agent\n020 7183 8750,Billing\n", code: 65,
			says: "line 2: phone number \\\"020 7183 8750\\\" has no country code", rows: true},
		{name: "one number twice", plan: "Phone,Agent\n+1 415 555 0123,Billing\n14155550123,Billing\n", code: 65,
			says: "line 3: phone number +14155550123 is also on line 2", rows: true},
		{name: "a name two agents share", plan: "Phone,Agent\n+44 20 7183 8750,Support\n", code: 65,
			says: `line 2: agent \"Support\" is ambiguous: agt_support_tier1, agt_support_tier2; use the id`, rows: true},
		{name: "an unknown name", plan: "id,Agent\nphn_k3p8vd2nq7ra,Sales EMAE\n", code: 65,
			says: `line 2: agent \"Sales EMAE\" is not an agent of this workspace (did you mean \"Sales EMEA\"?)`, rows: true},
		{name: "agent and agent_id that differ", plan: "id,agent,agent_id\nphn_k3p8vd2nq7ra,Sales EMEA,agt_billing\n", code: 65, rows: true,
			says: `line 2: agent_id agt_billing is \"Billing\", but agent says \"Sales EMEA\": keep one`},
		{name: "an id and another number", plan: "id,phone,nickname\nphn_k3p8vd2nq7ra,+1 415 555 0123,x\n", code: 65, rows: true,
			says: "line 2: id phn_k3p8vd2nq7ra is +442071838750, but phone_number says +14155550123: keep one"},
		{name: "bare digits another number ends in", plan: "Phone,Agent\n2071838750,Billing\n", code: 65, rows: true,
			says: "+442071838750 ends in those digits"},
		{name: "a fractional part", plan: "Phone,Agent\n44791112345.6,Billing\n", code: 65, rows: true,
			says: `line 2: phone number \"44791112345.6\" has a fractional part`},
		{name: "an id in another case", plan: "id,Agent\nphn_k3p8vd2nq7ra,AGT_BILLING\n", code: 65, rows: true,
			says: `did you mean agt_billing? ids are case-sensitive`},
		{name: "nothing to change", plan: "id,Target Agent\nphn_k3p8vd2nq7ra,Billing\n", code: 65,
			says: "header: no column changes anything (the header has: id, Target Agent)"},
		{name: "a look-alike column", plan: "Phone,Nickname,New Agent\n+44 20 7183 8750,x,Billing\n", code: 65,
			says: `header: column \"New Agent\" looks like a field, but the job would not read it`},
		{name: "an invisible character in a title", plan: "\u200bid,agent_id\nphn_k3p8vd2nq7ra,agt_billing\n", code: 65,
			says: `an invisible character in the title of \"\\u200bid\" (U+200B)`},
		{name: "--ignore-columns names a header the plan lacks", plan: "id,Agent\nphn_k3p8vd2nq7ra,Billing\n", args: []string{"--ignore-columns", "Notes"}, code: 64,
			says: `--ignore-columns \"Notes\": the plan has no such column`},
		{name: "a header two fields claim", plan: "id,Label\nphn_k3p8vd2nq7ra,x\n", args: []string{"--columns", "nickname=Label"}, code: 65,
			says: "header: Label is claimed by both nickname and label"},
		{name: "--columns names an unknown field", plan: "id,x\nphn_k3p8vd2nq7ra,x\n", args: []string{"--columns", "telefon=Nummer"}, code: 64,
			says: "no field telefon"},
		{name: "--columns names a header the plan lacks", plan: "id,Agent\nphn_k3p8vd2nq7ra,Billing\n", args: []string{"--columns", "agent=Ziel-Agent"}, code: 64,
			says: "--columns agent=Ziel-Agent: the plan has no such column (its header has: id, Agent)"},
		{name: "--sheet names no sheet", plan: abs(t, "samples/plan.xlsx"), args: []string{"--sheet", "Plan"}, code: 65,
			says: `--sheet \"Plan\": the workbook has no such sheet (its sheets: Numbers)`},
		{name: "a file named .xlsx that is not a workbook", plan: filepath.Join(dir, "text.xlsx"), code: 65,
			says: "the plan is named .xlsx but is not a workbook"},
		{name: "an old .xls", plan: abs(t, "job/planfile/testdata/xlsx/old.xls"), code: 65,
			says: "the plan is an old Excel workbook (.xls)"},
		{name: "--no-snapshot", plan: good, args: []string{"--no-snapshot"}, code: 64,
			says: "--no-snapshot: a plan keyed by phone number needs the workspace's reads"},
		{name: "reads that fail", plan: good, args: []string{"--base-url", refusing}, code: 78,
			says: "a plan keyed by phone number needs them, nothing was sent"},
		{name: "offline, with shards", plan: good, args: []string{"--dry-run", "--shards", "2"}, code: 64,
			says: "--shards: a plan keyed by phone number is split by the ids of its numbers"},
		{name: "offline", plan: good, args: []string{"--dry-run"}, code: 0,
			says: "offline dry run: a plan keyed by phone number is checked for spelling only"},
		{name: "offline, names", plan: "id,Agent\nphn_k3p8vd2nq7ra,Nobody\n", args: []string{"--dry-run"}, code: 0,
			says: "offline dry run: a plan naming agents in an agent column is checked for spelling only"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := c.plan
			if !strings.HasPrefix(plan, "/") {
				plan = writeFile(t, dir, "plan.csv", plan)
			}
			report := filepath.Join(dir, fmt.Sprintf("r%d.csv", i))
			args := append([]string{"--plan", plan, "--report", report, "--base-url", base}, c.args...)
			res := runBinary(t, dir, key(), args...)
			if res.code != c.code || !strings.Contains(res.stderr+res.stdout, c.says) {
				t.Errorf("exit %d, want %d saying %q\n%s", res.code, c.code, c.says, tail(res.stderr))
			}
			if p := api.Patches(); len(p) != 0 {
				t.Fatalf("a write was sent: %v", p)
			}
			if _, err := os.Stat(report); (err == nil) != (c.code == 0 || c.rows) {
				t.Errorf("exit %d, and the report exists: %v", res.code, err == nil)
			}
		})
	}
}

// TestSignalWhileResolving: a SIGTERM while the workspace is read, for a plan keyed by
// phone number, records every row not_attempted and exits 75, as for any plan.
func TestSignalWhileResolving(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			once.Do(func() { close(arrived) })
			<-release
		}
		return false
	}
	api, base := fakeAPI(t, sandbox.Demo(), sandbox.Options{Fault: hold})
	defer close(release)
	dir := t.TempDir()
	cmd, stderr := startBinary(t, dir, key(), "--plan", abs(t, "samples/plan-by-phone.csv"), "--report", "r.csv", "--base-url", base)
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the job never read the workspace")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitTemp {
		t.Fatalf("exit %d, want 75\n%s", code, tail(stderr.String()))
	}
	rows := readReport(t, readFile(t, dir, "r.csv"))
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	for _, r := range rows {
		if r["outcome"] != "not_attempted" || r["phone_number"] == "" {
			t.Errorf("line %s: %s, phone %q; want not_attempted with its number", r["line"], r["outcome"], r["phone_number"])
		}
	}
	if p := api.Patches(); len(p) != 0 {
		t.Errorf("a write was sent: %v", p)
	}
}
