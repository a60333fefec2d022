package planfile_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
	"reassign/job/planfile"
	"reassign/job/sandbox"
)

func TestNormalisePhone(t *testing.T) {
	const sci = "is in scientific notation: its last digits were lost when the spreadsheet saved it; format the column as Text and type the numbers again, or give the .xlsx itself"
	const noCC = "has no country code (write it as +<country code> and the number, e.g. +44 161 496 0000)"
	const notPhone = "is not a phone number (+ and 8 to 15 digits, e.g. +44 161 496 0000)"
	const frac = "has a fractional part: a phone number has none (a program or a spreadsheet changed it); format the column as Text and type the numbers again, or give the .xlsx itself"
	cases := []struct{ in, want, err string }{
		{"+44 161 496 0000", "+441614960000", ""},
		{"+1 (212) 555-0100", "+12125550100", ""},
		{"+61.3.9555.0100", "+61395550100", ""},
		{"0049 30 1234567", "+49301234567", ""},
		{"00 49 (30) 123-45-67", "+49301234567", ""},
		{"447911123456", "+447911123456", ""}, // the + a spreadsheet dropped
		{"  +447911123456  ", "+447911123456", ""},
		{"+44\u00a07911 123456", "+447911123456", ""}, // a no-break space, as sheets paste
		{"447911123456.0", "+447911123456", ""},       // a whole number kept as a float
		{"+44 (0) 20 7183 8750", "+442071838750", ""}, // the trunk 0, not dialled from abroad
		{"+44(0)20 7183 8750", "+442071838750", ""},
		{"0044 ( 0 ) 161 496 0000", "+441614960000", ""},
		{"44791112345.6", "", frac}, // not 447911123456: the dot is no separator
		{"447911123456.25", "", frac},
		{"+12345678", "+12345678", ""},               // 8 digits
		{"+123456789012345", "+123456789012345", ""}, // 15 digits
		{"4.47911E+11", "", sci},
		{"4.47911e11", "", sci},
		{"4,47911E+11", "", sci},
		{"4E+11", "", sci},
		{"0161 496 0000", "", noCC},
		{"07911 123456", "", noCC},
		{"+1234567", "", notPhone},          // 7 digits
		{"+1234567890123456", "", notPhone}, // 16 digits
		{"+0441614960000", "", notPhone},
		{"00", "", notPhone},
		{"+", "", notPhone},
		{"", "", notPhone},
		{"+44 161 496 0000 ext 12", "", notPhone},
		{"+44/161/4960000", "", notPhone},
		{"+44+161", "", notPhone},
		{"tel:+441614960000", "", notPhone},
		{"+٤٤١٦١٤٩٦٠٠٠٠", "", notPhone}, // digits of another script are not guessed at
		{"12.50", "", notPhone},
	}
	for _, c := range cases {
		got, err := planfile.NormalisePhone(c.in)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != c.want || msg != c.err {
			t.Errorf("NormalisePhone(%q) = %q, %q; want %q, %q", c.in, got, msg, c.want, c.err)
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// FuzzNormalisePhone: whatever the input, the result is + and 8 to 15 digits or an
// error; it is stable; and the spellings ops use of one number all give that number.
func FuzzNormalisePhone(f *testing.F) {
	for _, s := range []string{"+44 161 496 0000", "+1 (212) 555-0100", "+61.3.9555.0100", "0049301234567", "447911123456", "4.47911E+11", "0161 496 0000", "447911123456.0"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, sep uint8) {
		got, err := planfile.NormalisePhone(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalisePhone(%q) = %q with error %v", s, got, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("NormalisePhone(%q) = %q, not + and 8 to 15 digits", s, got)
		}
		if again, err := planfile.NormalisePhone(got); again != got || err != nil {
			t.Fatalf("NormalisePhone(%q) = %q, %v; want it unchanged", got, again, err)
		}
		// The same number spelt with separators, or with 00 for +, is the same number.
		seps := []string{" ", "-", ".", "(", ")", "\u00a0"}
		var b strings.Builder
		b.WriteString("00")
		for i, r := range got[1:] {
			b.WriteRune(r)
			if i%3 == 1 {
				b.WriteString(seps[(int(sep)+i)%len(seps)])
			}
		}
		if spelt, err := planfile.NormalisePhone(b.String()); spelt != got || err != nil {
			t.Fatalf("NormalisePhone(%q) = %q, %v; want %q", b.String(), spelt, err, got)
		}
	})
}

// TestHeaders: how a header row is matched to the fields, which columns it leaves out
// and says so, and which it refuses: a plan means what its author meant.
func TestHeaders(t *testing.T) {
	const cafe, cafeNFD = "Caf\u00e9", "Cafe\u0301"
	cases := []struct {
		name, header, row, columns, ignore string
		want                               job.Row // the row as read (nothing resolved)
		ignored, known                     []string
		err                                string
		usage                              bool
	}{
		{name: "ids, as the export writes", header: "id,phone_number,agent_id,agent,nickname,label,status,country_code,type", row: "phn_a,+44 20 7183 8750,agt_c,Sales,d,e,active,GB,local",
			known: []string{"status", "country_code", "type"},
			want:  job.Row{ID: "phn_a", PhoneNumber: "+442071838750", AgentID: set("agt_c"), Agent: set("Sales"), Nickname: set("d"), Label: set("e")}},
		{name: "case, spaces and separators", header: "Number ID,Phone Number,Agent-ID,Nick.Name,LABEL", row: "phn_a,+44 20 7183 8750,agt_c,d,e",
			want: job.Row{ID: "phn_a", PhoneNumber: "+442071838750", AgentID: set("agt_c"), Nickname: set("d"), Label: set("e")}},
		{name: "keyed by phone, agent by name", header: "Phone,Agent Name,Nickname,Label,Status", row: "+44 20 7183 8750,Sales EMEA,d,e,x",
			known: []string{"Status"}, want: job.Row{PhoneNumber: "+442071838750", Agent: set("Sales EMEA"), Nickname: set("d"), Label: set("e")}},
		{name: "bare digits", header: "Phone,Nickname", row: "442071838750,d",
			want: job.Row{PhoneNumber: "+442071838750", PhoneBare: true, Nickname: set("d")}},
		{name: "e164 and inbound agent", header: "E.164,Inbound Agent,x", row: "+44 20 7183 8750,agt_c,y",
			ignored: []string{"x"}, want: job.Row{PhoneNumber: "+442071838750", Agent: set("agt_c")}},
		{name: "did and camel case", header: "DID,AgentName,PhoneNumberID", row: "+44 20 7183 8750,agt_c,phn_a",
			want: job.Row{ID: "phn_a", PhoneNumber: "+442071838750", Agent: set("agt_c")}},
		{name: "the sheet's own titles", header: "Rufnummer,Ziel-Agent,Anzeigename,Etikett", row: "+44 20 7183 8750,agt_c,d,e",
			columns: "phone_number=Rufnummer,agent=ziel agent,nickname=Anzeigename,label=Etikett",
			want:    job.Row{PhoneNumber: "+442071838750", Agent: set("agt_c"), Nickname: set("d"), Label: set("e")}},
		{name: "--columns takes a field from its alias; the alias left is ignored as told", header: "Phone,Number,agent_id", row: "+1 999,+44 20 7183 8750,agt_c",
			columns: "phone_number=Number", ignore: "Phone", ignored: []string{"Phone"}, want: job.Row{PhoneNumber: "+442071838750", AgentID: set("agt_c")}},
		{name: "a title in another Unicode form (NFD, as a Mac saves it)", header: "Phone," + cafeNFD, row: "+44 20 7183 8750,d", columns: "nickname=" + cafe,
			want: job.Row{PhoneNumber: "+442071838750", Nickname: set("d")}},
		{name: "other columns are named; the report's own are not", header: "id,nickname,Notes,Owner,outcome,error,result_agent_id,http_status", row: "phn_a,d,n,o,updated,,agt_x,200",
			ignored: []string{"Notes", "Owner"}, known: []string{"outcome", "error", "result_agent_id", "http_status"}, want: job.Row{ID: "phn_a", Nickname: set("d")}},
		{name: "a look-alike told to be ignored", header: "id,nickname,New Agent,\"Notes, old\"", row: "phn_a,d,agt_x,n", ignore: `New Agent,"Notes, old"`,
			ignored: []string{"New Agent", "Notes, old"}, want: job.Row{ID: "phn_a", Nickname: set("d")}},
		{name: "an untitled column holding a value", header: "id,nickname,", row: "phn_a,d,x",
			ignored: []string{"column 3 (no title)"}, want: job.Row{ID: "phn_a", Nickname: set("d")}},

		{name: "no key", header: "Agent,Nickname",
			err: "line 1: header: no id or phone number column (the header has: Agent, Nickname); the plan needs id or phone_number, and at least one of agent_id (or agent), nickname, label"},
		{name: "nothing to change", header: "Phone Number", row: "+44 20 7183 8750",
			err: "line 1: header: no column changes anything (the header has: Phone Number); the plan needs at least one of agent_id, agent, nickname, label: name the sheet's own with --columns (e.g. --columns agent='Target agent')"},
		{name: "nothing to change: the column that would", header: "id,Target Agent", row: "phn_a,agt_x",
			err: "line 1: header: no column changes anything (the header has: id, Target Agent); the plan needs at least one of agent_id, agent, nickname, label: name the sheet's own with --columns (e.g. --columns agent='Target Agent')"},
		{name: "nothing to change: only reviewed values", header: "id,before_agent_id,before_nickname,before_label,status", row: "phn_a,,,,x",
			err: "line 1: header: no column changes anything (the header has: id, before_agent_id, before_nickname, before_label, status); the plan needs at least one of agent_id, agent, nickname, label: name the sheet's own with --columns (e.g. --columns agent='Target agent')"},
		{name: "a look-alike", header: "id,nickname,New Agent", row: "phn_a,d,agt_x",
			err: `line 1: header: column "New Agent" looks like a field, but the job would not read it; map it (--columns agent='New Agent') or say it is to be ignored (--ignore-columns 'New Agent')`},
		{name: "look-alikes: words, near misses", header: "id,label,Agent Nmae,Label (new),Nickanme,Customer Name,PhoneNumbr,Notes,Owner", row: "phn_a,l,x,y,z,w,v,n,o",
			err: `line 1: header: columns "Agent Nmae", "Label (new)", "Nickanme", "Customer Name", "PhoneNumbr" look like fields, but the job would not read them; ` +
				`map each (--columns agent='Agent Nmae',label='Label (new)',nickname=Nickanme,FIELD='Customer Name',phone_number=PhoneNumbr) ` +
				`or say they are to be ignored (--ignore-columns 'Agent Nmae','Label (new)',Nickanme,'Customer Name',PhoneNumbr)`},
		{name: "a look-alike with a comma and a quote", header: "id,nickname,\"Agent, Bob's\"", row: "phn_a,d,x",
			err: `line 1: header: column "Agent, Bob's" looks like a field, but the job would not read it; map it (--columns agent="Agent, Bob's") or say it is to be ignored (--ignore-columns "\"Agent, Bob's\"")`},
		{name: "an alias --columns took over, left unnamed", header: "Phone,Number,agent_id", row: "+1 999,+44 20 7183 8750,agt_c", columns: "phone_number=Number",
			err: `line 1: header: column "Phone" looks like a field, but the job would not read it; map it (--columns phone_number=Phone) or say it is to be ignored (--ignore-columns Phone)`},
		{name: "an invisible character in a title", header: "\u200bid,nickname", row: "phn_a,d",
			err: `line 1: header: an invisible character in the title of "\u200bid" (U+200B); type the title again without it`},
		{name: "one field twice", header: "Phone,Number", err: "line 1: header: columns Phone and Number are both phone_number; keep one"},
		{name: "a header two fields claim", header: "id,Label", columns: "nickname=Label",
			err: "line 1: header: Label is claimed by both nickname and label (name each with --columns)"},
		{name: "--columns names a header the plan lacks", header: "Phone,Agent", columns: "agent=Ziel-Agent", usage: true,
			err: "line 1: --columns agent=Ziel-Agent: the plan has no such column (its header has: Phone, Agent)"},
		{name: "--ignore-columns names a header the plan lacks", header: "Phone,Agent", ignore: "Notes", usage: true,
			err: `line 1: --ignore-columns "Notes": the plan has no such column (its header has: Phone, Agent)`},
		{name: "--columns and --ignore-columns name one column", header: "Phone,Ziel", columns: "agent=Ziel", ignore: "ziel", usage: true,
			err: "line 1: --columns agent=Ziel and --ignore-columns both name column Ziel: keep one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols, err := planfile.ParseColumns(c.columns)
			if err != nil {
				t.Fatal(err)
			}
			ignore, err := planfile.ParseTitles(c.ignore)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := planfile.Read(context.Background(), openString(c.header+"\n"+c.row+"\n"), planfile.Options{Columns: cols, IgnoreColumns: ignore})
			if c.err != "" {
				var pe *planfile.Error
				if !errors.As(err, &pe) || pe.Error() != c.err || errors.Is(err, planfile.ErrUsage) != c.usage {
					t.Fatalf("Read = %v (usage %v)\nwant %v (usage %v)", err, errors.Is(err, planfile.ErrUsage), c.err, c.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Line = 2
			if rows := each(t, p); len(rows) != 1 || rows[0].Row != want || len(rows[0].Problems) > 0 {
				t.Errorf("rows %v, want %+v", rows, want)
			}
			if !reflect.DeepEqual(p.Ignored, c.ignored) || !reflect.DeepEqual(p.Known, c.known) {
				t.Errorf("Ignored, Known = %q, %q; want %q, %q", p.Ignored, p.Known, c.ignored, c.known)
			}
		})
	}
}

// TestLookAlikeTitles: the titles that look like a field's, and common ones that do not.
func TestLookAlikeTitles(t *testing.T) {
	alike := []string{"New Agent", "TargetAgent", "Targetagent", "target_agent", "Agnet", "Agent Nmae", "Label (new)", "Lable",
		"Nickanme", "nick", "Customer Name", "Name", "Phones", "Telephone", "Mobile phone", "Number (old)", "Nummer",
		"PhoneNumbr", "Inbound Agnt", "DID (old)", "E.164 new", "Agents"}
	plain := []string{"Notes", "Owner", "Comment", "Team", "Region", "Country", "Date", "Same", "Lane", "Priority", "Ticket ID",
		"Anzeigename", "Management", "Urgent", "Event", "Agenda", "Table", "Cost centre"}
	for _, titles := range [][]string{alike, plain} {
		for _, title := range titles {
			_, _, err := planfile.Read(context.Background(), openString("id,nickname,\""+title+"\"\nphn_a,x,y\n"), planfile.Options{})
			if got := err != nil && strings.Contains(err.Error(), "looks like a field"); got != (&titles[0] == &alike[0]) {
				t.Errorf("%q: refused as a look-alike %v (%v)", title, got, err)
			}
		}
	}
}

func TestParseTitles(t *testing.T) {
	got, err := planfile.ParseTitles(` New Agent ,"Notes, old",Owner,Owner,, `)
	want := planfile.Titles{"New Agent", "Notes, old", "Owner"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTitles = %q, %v; want %q", got, err, want)
	}
	if got.String() != `New Agent,"Notes, old",Owner` {
		t.Errorf("String = %q", got.String())
	}
	if again, _ := planfile.ParseTitles(got.String()); !reflect.DeepEqual(again, got) {
		t.Errorf("ParseTitles(String) = %q", again)
	}
	if _, err := planfile.ParseTitles("a\nb"); err == nil {
		t.Error("two lines of titles: no error")
	}
}

func TestParseColumns(t *testing.T) {
	got, err := planfile.ParseColumns(" phone_number = Rufnummer , Agent=Ziel-Agent,nickname=Anzeige=Name,")
	want := planfile.Columns{"phone_number": "Rufnummer", "agent": "Ziel-Agent", "nickname": "Anzeige=Name"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseColumns = %v, %v; want %v", got, err, want)
	}
	if got.String() != "phone_number=Rufnummer,agent=Ziel-Agent,nickname=Anzeige=Name" {
		t.Errorf("String = %q", got.String())
	}
	for in, msg := range map[string]string{
		"telefon=Nummer":    `"telefon=Nummer": no field telefon (the fields are id, phone_number, agent_id, agent, nickname, label, before_agent_id, before_nickname, before_label)`,
		"agent":             `"agent": want FIELD=HEADER`,
		"agent=":            `"agent=": want FIELD=HEADER`,
		"agent=A,agent=B":   "field agent named twice",
		"phone_number=A,=B": `"=B": want FIELD=HEADER`,
	} {
		if _, err := planfile.ParseColumns(in); err == nil || err.Error() != msg {
			t.Errorf("ParseColumns(%q) = %v, want %q", in, err, msg)
		}
	}
}

// TestKeys: what the workspace reads learn of a plan's keys, whichever way the rows
// spell them; the spelling the snapshot keeps for the run does not keep the keys.
func TestKeys(t *testing.T) {
	_, keys := mustReadKeys(t, openString("id,nickname\nphn_a,x\nphn_b,y\n"), planfile.Options{})
	for id, want := range map[string]bool{"phn_a": true, "phn_b": true, "phn_c": false, "": false} {
		if keys.Keep(id, "+442071838750") != want {
			t.Errorf("keyed by id: Keep(%q) = %v", id, !want)
		}
	}
	if keys.PhoneKey() != nil {
		t.Error("keyed by id: a PhoneKey")
	}

	_, keys = mustReadKeys(t, openString("phone,nickname\n+44 20 7183 8750,x\n"), planfile.Options{})
	for phone, want := range map[string]bool{"+442071838750": true, "0044 (20) 7183-8750": true, "+442071838751": false, "not a number": false} {
		if keys.Keep("phn_a", phone) != want {
			t.Errorf("keyed by phone number: Keep(%q) = %v", phone, !want)
		}
	}
	phoneKey := keys.PhoneKey()
	if got := phoneKey("0044 (20) 7183-8750"); got != "+442071838750" || phoneKey("x") != "" {
		t.Errorf("PhoneKey = %q, %q", got, phoneKey("x"))
	}
	held := weak.Make(keys)
	keys = nil
	runtime.GC()
	if held.Value() != nil {
		t.Error("the PhoneKey function holds the keys")
	}
	runtime.KeepAlive(phoneKey)
}

// workspaceOf reads ws through the real client, as a run does, for the plan p with keys.
func workspaceOf(t *testing.T, ws sandbox.Workspace, p *planfile.Plan, keys *planfile.Keys) *job.Workspace {
	t.Helper()
	srv := httptest.NewServer(sandbox.New(ws, sandbox.Options{Key: testKey}))
	t.Cleanup(srv.Close)
	client, err := dialnexa.NewClient(srv.Client(), srv.URL+"/v1", testKey, "test")
	if err != nil {
		t.Fatal(err)
	}
	rt := &pace.Retrier{Gate: pace.NewGate(0, 1, time.Now), MaxAttempts: 1,
		Sleep: pace.SleepContext, Rand: rand.Int64N, Log: zerolog.Nop()}
	got, err := job.ReadWorkspace(context.Background(), client, rt, job.WorkspaceReads{
		Keep: keys.Keep, PhoneKey: keys.PhoneKey(), NoPhoneIndex: !keys.ByPhone(), EndsIn: keys.EndsIn, Parallel: 2, NeededBy: p.Needs()})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func demoWithAgents() sandbox.Workspace {
	ws := sandbox.Demo()
	ws.Agents = append(ws.Agents, "agt_sales_apac", "agt_k2m4", "agt_p7q1")
	ws.AgentNames["agt_sales_apac"] = "Sales APAC"
	ws.AgentNames["agt_k2m4"] = "Front Desk"
	ws.AgentNames["agt_p7q1"] = "front  desk"
	// The workspace lists one number twice, under two ids.
	ws.Numbers = append(ws.Numbers, sandbox.Number{ID: "phn_twice", PhoneNumber: "+4930123456", Status: "active"})
	return ws
}

// TestResolve: a plan keyed by phone number, naming agents, resolved against the
// workspace: ids in the rows, every row that does not resolve a problem with its line.
func TestResolve(t *testing.T) {
	plan := "Phone,Agent,Nickname\n" +
		"+44 20 7183 8750,sales   EMEA,A\n" + // 2
		"+1 (415) 555-0123,agt_billing,B\n" + // 3: an id in the agent column
		"5511987654321,null,C\n" + // 4: the null token detaches
		"+61.2.9000.1234,東京 受付,D\n" + // 5
		"+33 1 44 55 66 77,Support,E\n" + // 6: two agents are named Support
		"+81 3 1234 5678,Sales APC,F\n" + // 7: a typo
		"+91 98765 43210,Front Desk,G\n" + // 8: two names that differ in case and spaces
		"+1 202 555 0199,Billing,H\n" + // 9: not a number of this workspace
		"+49 30 123456,Billing,I\n" + // 10: listed twice by the workspace
		"4.47911E+11,Billing,J\n" + // 11
		"+91 22 3456 7890,Nobody At All,K\n" + // 12: nothing near
		"0091 22 3456 7890,Billing,L\n" // 13: the number of line 12 again
	p, keys := mustReadKeys(t, openString(plan), planfile.Options{})
	if p.Needs() != "a plan keyed by phone number" {
		t.Errorf("Needs = %q", p.Needs())
	}
	before := []job.Problem{
		{Line: 11, Reason: `phone number "4.47911E+11" is in scientific notation: its last digits were lost when the spreadsheet saved it; format the column as Text and type the numbers again, or give the .xlsx itself`},
		{Line: 12, Reason: "phone number +912234567890 is also on line 13"},
		{Line: 13, Reason: "phone number +912234567890 is also on line 12"},
	}
	if !equalProblems(p.Problems, before) {
		t.Fatalf("as read:\n got %q\nwant %q", p.Problems, before)
	}
	r := job.NewResolver(workspaceOf(t, demoWithAgents(), p, keys))
	found, err := r.Check(context.Background(), p.Each, p.AgentRows())
	if err != nil {
		t.Fatal(err)
	}
	problems, invalid := job.Collate(p.Problems, found)
	want := []job.Problem{
		{Line: 6, Reason: `agent "Support" is ambiguous: agt_support_tier1, agt_support_tier2; use the id`},
		{Line: 7, Reason: `agent "Sales APC" is not an agent of this workspace (did you mean "Sales APAC"?)`, Missing: true},
		{Line: 8, Reason: `agent "Front Desk" is ambiguous: agt_k2m4, agt_p7q1; use the id`},
		{Line: 9, Reason: "phone number +12025550199 is not a number of this workspace", Missing: true},
		{Line: 10, Reason: "phone number +4930123456 is on 2 numbers of this workspace (phn_d4f6gh8jk2lz, phn_twice); use the id"},
		before[0],
		{Line: 12, Reason: before[1].Reason},
		{Line: 12, Reason: `agent "Nobody At All" is not an agent of this workspace`, Missing: true},
		before[2],
	}
	if !equalProblems(problems, want) || invalid != 8 {
		t.Errorf("resolved (%d invalid):\n got %q\nwant %q", invalid, problems, want)
	}
	rows := rowsOf(t, r.Each(p.Each), p.Rows, problems, invalid)
	resolved := map[int]job.Row{
		2: {Line: 2, ID: "phn_k3p8vd2nq7ra", PhoneNumber: "+442071838750", AgentID: set("agt_sales_emea"), Agent: set("sales   EMEA"), AgentName: "Sales EMEA", Nickname: set("A")},
		3: {Line: 3, ID: "phn_m9x4tb6wz2ce", PhoneNumber: "+14155550123", AgentID: set("agt_billing"), Agent: set("agt_billing"), AgentName: "Billing", Nickname: set("B")},
		4: {Line: 4, ID: "phn_q2w8ej5rt1yb", PhoneNumber: "+5511987654321", PhoneBare: true, AgentID: null("null"), Agent: null("null"), Nickname: set("C")},
		5: {Line: 5, ID: "phn_r5t7yu2io8pl", PhoneNumber: "+61290001234", AgentID: set("agent_2g7Xy3tY53gRlp"), Agent: set("東京 受付"), AgentName: "東京 受付", Nickname: set("D")},
	}
	for _, g := range rows {
		if w, ok := resolved[g.Row.Line]; ok && (g.Row != w || len(g.Problems) > 0) {
			t.Errorf("line %d: %+v %v, want %+v", g.Row.Line, g.Row, g.Problems, w)
		}
	}
}

// TestNumbersAsPeopleSeeThem: bare digits whose country code may be another number's
// area code (a spreadsheet dropped the 0 of 020 7183 8750: 2071838750 reads as +20...),
// and a phone number beside an id that is another number.
func TestNumbersAsPeopleSeeThem(t *testing.T) {
	ws := sandbox.Demo() // +442071838750 is phn_k3p8vd2nq7ra
	ws.Numbers = append(ws.Numbers, sandbox.Number{ID: "phn_cairo", PhoneNumber: "+2071838750", Status: "active"})
	plan := "Phone,Nickname\n" +
		"2071838750,A\n" + // 2: +20 71838750, but +44 20 7183 8750 ends in it too
		"+20 7183 8750,B\n" + // 3: written with its +: Cairo
		"5511987654321,C\n" + // 4: bare digits no other number ends in
		"+44 (0) 20 7183 8751,D\n" // 5: not in the workspace, trunk or not
	p, keys := mustReadKeys(t, openString(plan), planfile.Options{})
	r := job.NewResolver(workspaceOf(t, ws, p, keys))
	found, err := r.Check(context.Background(), p.Each, p.AgentRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []job.Problem{
		{Line: 2, Reason: "phone number 2071838750, written without + or 00, was read as +2071838750, but the workspace also has +442071838750, which ends in those digits: write the number with + and its country code"},
		{Line: 5, Reason: "phone number +442071838751 is not a number of this workspace", Missing: true},
	}
	if !equalProblems(found, want) {
		t.Errorf("problems\n got %q\nwant %q", found, want)
	}
	// Only the longer number in the workspace: the digits name none, and it says which.
	ws = sandbox.Demo()
	p, keys = mustReadKeys(t, openString("Phone,Nickname\n2071838750,A\n"), planfile.Options{})
	found, _ = job.NewResolver(workspaceOf(t, ws, p, keys)).Check(context.Background(), p.Each, p.AgentRows())
	want = []job.Problem{{Line: 2, Reason: "phone number +2071838750 is not a number of this workspace; +442071838750 ends in those digits (did the spreadsheet drop the country code?): write the number with + and its country code"}}
	if !equalProblems(found, want) {
		t.Errorf("problems\n got %q\nwant %q", found, want)
	}

	// An id beside a phone number: they must be one number (the sample's export shape).
	p, keys = mustReadKeys(t, openString("id,phone_number,nickname\nphn_k3p8vd2nq7ra,+44 20 7183 8750,A\nphn_m9x4tb6wz2ce,+44 20 7183 8750,B\nphn_t1y5ui9op3as,,C\n"), planfile.Options{})
	if p.AgentRows() != nil || keys.PhoneKey() == nil || keys.ByPhone() {
		t.Errorf("a phone number beside ids: every row is checked (sample %v), by the snapshot's phone numbers", p.AgentRows())
	}
	found, _ = job.NewResolver(workspaceOf(t, sandbox.Demo(), p, keys)).Check(context.Background(), p.Each, p.AgentRows())
	want = []job.Problem{{Line: 3, Reason: "id phn_m9x4tb6wz2ce is +14155550123, but phone_number says +442071838750: keep one"}}
	if !equalProblems(found, want) {
		t.Errorf("problems\n got %q\nwant %q", found, want)
	}
}

// TestAgentColumnsSideBySide: an export's agent_id and agent columns, edited either way
// or both; what needs the reads.
func TestAgentColumnsSideBySide(t *testing.T) {
	plan := "id,agent_id,agent,nickname\n" +
		"phn_k3p8vd2nq7ra,agt_billing,Billing,A\n" + // 2: as exported
		"phn_m9x4tb6wz2ce,agt_support_tier1,Support,B\n" + // 3: a name two agents share, beside the id: fine
		"phn_q2w8ej5rt1yb,agt_billing,Sales EMEA,C\n" + // 4: edited one, not the other
		"phn_r5t7yu2io8pl,null,NULL,D\n" + // 5: both detach
		"phn_b8v3nm5kq1xs,null,Billing,E\n" // 6: one detaches, one names
	p, keys := mustReadKeys(t, openString(plan), planfile.Options{})
	if p.Needs() != "" || !reflect.DeepEqual(p.Pairs(), []string{"agent_id and agent"}) {
		t.Errorf("Needs %q, Pairs %q: every row has its agent_id", p.Needs(), p.Pairs())
	}
	found, err := job.NewResolver(workspaceOf(t, sandbox.Demo(), p, keys)).Check(context.Background(), p.Each, p.AgentRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []job.Problem{
		{Line: 4, Reason: `agent_id agt_billing is "Billing", but agent says "Sales EMEA": keep one`},
		{Line: 6, Reason: `agent_id is null (detach the agent), but agent says "Billing": keep one`},
	}
	if !equalProblems(found, want) {
		t.Errorf("problems\n got %q\nwant %q", found, want)
	}
	// A row that names its agent by name only needs the reads.
	p = mustRead(t, openString("id,agent_id,agent\nphn_k3p8vd2nq7ra,,Billing\n"), planfile.Options{})
	if p.Needs() != "a plan naming agents in an agent column" {
		t.Errorf("Needs = %q", p.Needs())
	}
}

// TestResolveAgentIDs: a plan keyed by id is checked against the agents without
// reading it again when every agent it names exists.
func TestResolveAgentIDs(t *testing.T) {
	opens := 0
	data := "id,agent_id\nphn_k3p8vd2nq7ra,agt_billing\nphn_m9x4tb6wz2ce,agt_nope\n"
	open := func() (io.ReadCloser, error) { opens++; return io.NopCloser(strings.NewReader(data)), nil }
	p, keys := mustReadKeys(t, open, planfile.Options{})
	if p.Needs() != "" || keys.PhoneKey() != nil {
		t.Errorf("a plan keyed by id needs no resolution: %q", p.Needs())
	}
	found, err := job.NewResolver(workspaceOf(t, sandbox.Demo(), p, keys)).Check(context.Background(), p.Each, p.AgentRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []job.Problem{{Line: 3, Reason: "agent_id agt_nope is not an agent of this workspace", Missing: true}}
	if !equalProblems(found, want) {
		t.Errorf("problems %q, want %q", found, want)
	}
	data = "id,agent_id\nphn_k3p8vd2nq7ra,agt_billing\n"
	p = mustRead(t, open, planfile.Options{})
	n := opens
	r := job.NewResolver(&job.Workspace{Agents: []dialnexa.Agent{{ID: "agt_billing"}}})
	if found, err := r.Check(context.Background(), p.Each, p.AgentRows()); err != nil || opens != n || len(found) != 0 {
		t.Errorf("Check read the plan again (%d opens) or found problems: %v %q", opens-n, err, found)
	}
}

// TestUnresolved: rows that need the reads are invalid when the reads failed; when the
// workspace is not read at all (a plain --dry-run), they go as written, their spelling
// checked only, an agent's name kept as a name (never an agent_id).
func TestUnresolved(t *testing.T) {
	plan := "phone,agent\n+44 20 7183 8750,Sales EMEA\n"
	p := mustRead(t, openString(plan), planfile.Options{})
	rows := each(t, p)
	if want := (job.Row{Line: 2, PhoneNumber: "+442071838750", Agent: set("Sales EMEA")}); rows[0].Row != want || len(rows[0].Problems) > 0 {
		t.Errorf("as read: %v, want %+v", rows[0], want)
	}
	offline := job.NewResolver(nil)
	if found, err := offline.Check(context.Background(), p.Each, p.AgentRows()); err != nil || len(found) > 0 {
		t.Errorf("offline: %v %q, want no problem", err, found)
	}
	rows = rowsOf(t, offline.Each(p.Each), p.Rows, p.Problems, p.Invalid)
	if want := (job.Row{Line: 2, PhoneNumber: "+442071838750", Agent: set("Sales EMEA"), AgentName: "Sales EMEA"}); rows[0].Row != want {
		t.Errorf("offline: %v, want %+v", rows[0], want)
	}
	failed := job.NewResolver(&job.Workspace{})
	found, err := failed.Check(context.Background(), p.Each, p.AgentRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []job.Problem{
		{Line: 2, Reason: "phone number +442071838750: the workspace's numbers were not read, so its id is not known"},
		{Line: 2, Reason: `agent "Sales EMEA": the workspace's agents were not read, so its id is not known`},
	}
	if !equalProblems(found, want) {
		t.Errorf("problems %q, want %q", found, want)
	}
	rowsOf(t, failed.Each(p.Each), p.Rows, want, 1)
}

// TestReadWorkbook reads workbooks saved by openpyxl and by LibreOffice: cells as stored
// (a number shown as 4.42E+11 reads as its digits, a formula as its value), lines as the
// sheet's row numbers, empty rows skipped, the sheet and the headers the options name.
func TestReadWorkbook(t *testing.T) {
	cases := []struct {
		file    string
		opts    planfile.Options
		want    []job.Row
		ignored []string
	}{
		{file: "openpyxl.xlsx", want: []job.Row{
			{Line: 2, PhoneNumber: "+442071838750", PhoneBare: true, Agent: set("Sales EMEA"), Nickname: set("London Sales")},
			{Line: 4, PhoneNumber: "+14155550123", Agent: set("billing"), Nickname: set("SF  Billing"), Label: set("West")},
			{Line: 5, PhoneNumber: "+912234567890", PhoneBare: true, Agent: null("null")},
			{Line: 6, PhoneNumber: "+61290001234", Agent: set("Support"), Nickname: set("Sydney")},
		}},
		{file: "libreoffice.xlsx", want: []job.Row{
			{Line: 2, ID: "phn_k3p8vd2nq7ra", AgentID: set("agt_sales_emea"), Nickname: set("London Sales"), Label: set("EMEA")},
			{Line: 3, ID: "phn_m9x4tb6wz2ce", AgentID: set("agt_billing"), Nickname: set("SF")},
		}},
		{file: "libreoffice.xlsx", opts: planfile.Options{Sheet: "Rufnummern", Columns: planfile.Columns{"phone_number": "Rufnummer", "agent": "Ziel-Agent", "nickname": "Anzeigename"}},
			want: []job.Row{
				{Line: 2, PhoneNumber: "+4930123456", PhoneBare: true, Agent: set("Billing"), Nickname: set("Berlin Buchhaltung")},
				{Line: 3, PhoneNumber: "+4930123456", Agent: set("Billing"), Nickname: set("Berlin, doppelt")},
			}},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.opts.Sheet, func(t *testing.T) {
			path := "testdata/xlsx/" + c.file
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// From a file, and from a stream (stdin, spooled or not).
			for _, open := range []func() (io.ReadCloser, error){openFile(path), openString(string(data))} {
				p := mustRead(t, open, c.opts)
				var rows []job.Row
				for _, g := range each(t, p) {
					rows = append(rows, g.Row)
				}
				if !reflect.DeepEqual(rows, c.want) {
					t.Errorf("rows\n got %+v\nwant %+v", rows, c.want)
				}
				if c.opts.Sheet == "Rufnummern" && (p.Invalid != 2 || !strings.Contains(p.Problems[0].Reason, "phone number +4930123456 is also on line 3")) {
					t.Errorf("the same number twice, spelt two ways: %q", p.Problems)
				}
			}
		})
	}
}

func TestReadWorkbookRefused(t *testing.T) {
	cases := []struct {
		name string
		path string
		data string
		opts planfile.Options
		want string
	}{
		{name: "no such sheet", path: "testdata/xlsx/libreoffice.xlsx", opts: planfile.Options{Sheet: "Numbers"},
			want: `--sheet "Numbers": the workbook has no such sheet (its sheets: Plan, Rufnummern)`},
		{name: "an old .xls", path: "testdata/xlsx/old.xls", want: "the plan is an old Excel workbook (.xls); save it as .xlsx or as CSV UTF-8"},
		{name: "text named .xlsx", data: "id,agent_id\np1,a\n", opts: planfile.Options{Name: "plan.XLSX"},
			want: "the plan is named .xlsx but is not a workbook; save it from the spreadsheet as .xlsx, or name a CSV file .csv"},
		{name: "a zip that is no workbook", data: "PK\x03\x04 not really a zip", want: "the plan is not a workbook Excel or LibreOffice can open as .xlsx"},
		{name: "a password-protected workbook", data: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 ... E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00 ...",
			want: "the workbook is password-protected; save a copy without the password (File > Info > Protect Workbook in Excel) and give that"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open := openString(c.data)
			if c.path != "" {
				open = openFile(c.path)
			}
			got := planError(t, open, c.opts)
			if len(got) != 1 || !strings.HasPrefix(got[0].Reason, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}

const testKey = "key_test01:s3cr3t-value-0123456789"
