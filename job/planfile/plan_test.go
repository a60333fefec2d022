package planfile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"reassign/job"
	"reassign/job/planfile"
)

// openString serves an in-memory plan, as many times as it is asked.
func openString(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

// openOneByte serves a plan one byte per Read, so every peek and every multi-byte
// character crosses a read boundary.
func openOneByte(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(iotest.OneByteReader(bytes.NewReader(b))), nil
	}
}

func openFile(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

// got is one row as Each yields it.
type got struct {
	Row      job.Row
	Problems []job.Problem
}

func (g got) String() string { return fmt.Sprintf("%+v %v", g.Row, g.Problems) }

// each collects every row Each yields and checks it against what ReadPlan counted.
func each(t *testing.T, p *planfile.Plan) []got {
	t.Helper()
	return rowsOf(t, p.Each, p.Rows, p.Problems, p.Invalid)
}

// rowsOf collects every row that each yields, and checks it against the rows, problems
// and invalid rows counted before.
func rowsOf(t *testing.T, each job.Each, rows int, problems []job.Problem, invalid int) []got {
	t.Helper()
	var out []got
	var yielded []job.Problem
	bad := 0
	err := each(func(r job.Row, pr []job.Problem) error {
		if n := len(out); n > 0 && r.Line <= out[n-1].Row.Line {
			t.Errorf("Each: row on line %d after a row on line %d", r.Line, out[n-1].Row.Line)
		}
		for _, x := range pr {
			if x.Line != r.Line {
				t.Errorf("Each: row on line %d has a problem for line %d: %v", r.Line, x.Line, x)
			}
		}
		if len(pr) > 0 {
			bad++
		}
		yielded = append(yielded, pr...)
		out = append(out, got{r, pr})
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	if len(out) != rows {
		t.Errorf("Each yielded %d rows, ReadPlan counted %d", len(out), rows)
	}
	if bad != invalid {
		t.Errorf("Each yielded %d invalid rows, ReadPlan counted %d", bad, invalid)
	}
	if !equalProblems(yielded, problems) {
		t.Errorf("Each's problems differ from ReadPlan's:\n each: %q\n read: %q", yielded, problems)
	}
	return out
}

func equalProblems(a, b []job.Problem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustRead(t *testing.T, open func() (io.ReadCloser, error), opts planfile.Options) *planfile.Plan {
	t.Helper()
	p, _ := mustReadKeys(t, open, opts)
	return p
}

func mustReadKeys(t *testing.T, open func() (io.ReadCloser, error), opts planfile.Options) (*planfile.Plan, *planfile.Keys) {
	t.Helper()
	p, keys, err := planfile.Read(context.Background(), open, opts)
	if err != nil || keys == nil {
		t.Fatalf("ReadPlan: %v (keys %v)", err, keys)
	}
	return p, keys
}

func planError(t *testing.T, open func() (io.ReadCloser, error), opts planfile.Options) []job.Problem {
	t.Helper()
	p, keys, err := planfile.Read(context.Background(), open, opts)
	var pe *planfile.Error
	if !errors.As(err, &pe) {
		t.Fatalf("ReadPlan: want a *PlanError, got %v (plan %+v)", err, p)
	}
	if p != nil || keys != nil {
		t.Errorf("ReadPlan returned a plan or keys with its error: %+v %+v", p, keys)
	}
	return pe.Problems
}

func set(s string) job.Field { return job.Field{Raw: s} }

func null(s string) job.Field { return job.Field{Raw: s, Null: true} }

// The rows every exporter variant in testdata/plans holds, without their lines.
var variantRows = []job.Row{
	{ID: "PN_001", AgentID: set("agt_A1"), Nickname: set("Front desk"), Label: set("support")},
	{ID: "PN_002", AgentID: null("null"), Label: set("sales")},
	{ID: "PN-003", Nickname: set("Café Müller")},
	{ID: "PN_004", AgentID: set("agt_B2"), Nickname: set("Smith, John")},
	{ID: "PN_005"},
}

func TestReadPlanExporterVariants(t *testing.T) {
	tests := []struct {
		file    string
		lines   []int    // line of each of variantRows
		phones  []string // phone number of each, when the file has them beside the ids
		ignored []string
		extra   []got // invalid rows besides variantRows, by line
	}{
		{file: "plain.csv", lines: []int{2, 3, 4, 5, 6}},
		{file: "excel_csv_utf8.csv", lines: []int{2, 3, 4, 5, 6}},
		{file: "libreoffice_semicolon.csv", lines: []int{2, 3, 4, 5, 6}},
		{file: "tab.tsv", lines: []int{2, 3, 4, 5, 6}},
		{file: "spaces_and_case.csv", lines: []int{2, 3, 4, 5, 6}},
		// A dashboard export: its phone numbers beside the ids are read (to be checked
		// against them), status and country_code are the export's own, ignored quietly.
		{file: "extra_columns.csv", lines: []int{2, 3, 4, 5, 6}, phones: []string{"+912234567890", "+442071838750", "+14155550123", "+5511987654321", "+61290001234"}},
		{file: "blank_lines.csv", lines: []int{5, 8, 10, 12, 14}},
		{file: "multiline_cell.csv", lines: []int{2, 3, 7, 8, 9}, extra: []got{{
			Row:      job.Row{Line: 4, ID: "PN_009", Nickname: set("Front\ndesk\nsecond floor")},
			Problems: []job.Problem{{Line: 4, Reason: "nickname runs over 3 lines (a quote left open?)"}},
		}}},
	}
	for _, tt := range tests {
		path := filepath.Join("testdata", "plans", tt.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want []got
		for i, r := range variantRows {
			r.Line = tt.lines[i]
			if tt.phones != nil {
				r.PhoneNumber = tt.phones[i]
			}
			want = append(want, got{Row: r})
		}
		var wantProblems []job.Problem
		for _, x := range tt.extra {
			wantProblems = append(wantProblems, x.Problems...)
			at := 0
			for at < len(want) && want[at].Row.Line < x.Row.Line {
				at++
			}
			want = append(want[:at], append([]got{x}, want[at:]...)...)
		}
		opens := map[string]func() (io.ReadCloser, error){
			"file":       openFile(path),
			"one byte":   openOneByte(data),
			"half reads": func() (io.ReadCloser, error) { return io.NopCloser(iotest.HalfReader(bytes.NewReader(data))), nil },
		}
		for how, open := range opens {
			t.Run(tt.file+"/"+how, func(t *testing.T) {
				t.Parallel()
				p := mustRead(t, open, planfile.Options{})
				if p.Rows != len(want) || p.Invalid != len(tt.extra) {
					t.Errorf("Rows, Invalid = %d, %d; want %d, %d", p.Rows, p.Invalid, len(want), len(tt.extra))
				}
				if !equalProblems(p.Problems, wantProblems) {
					t.Errorf("Problems = %q, want %q", p.Problems, wantProblems)
				}
				if !reflect.DeepEqual(p.Ignored, tt.ignored) {
					t.Errorf("Ignored = %q, want %q", p.Ignored, tt.ignored)
				}
				rows := each(t, p)
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("rows:\n got %v\nwant %v", rows, want)
				}
			})
		}
	}
}

func TestReadPlanEmptyAndNull(t *testing.T) {
	const plan = "id,agent_id,nickname,label\n" +
		"p1,,,\n" + // 2: nothing sent
		"p2,null,null,x\n" + // 3
		"p3,NULL,Null,\n" + // 4
		"p4,  nUlL  ,\"null\",\n" + // 5: trimmed, quoted: still the token
		"p5,nullify,null-ish,nul\n" + // 6: not the token
		"p6,\"\",\"  \",\"\"\n" // 7: quoted empties are empty
	tests := []struct {
		name  string
		opts  planfile.Options
		extra string
		want  []job.Row
		probs []job.Problem
	}{
		{
			name: "default token",
			want: []job.Row{
				{Line: 2, ID: "p1"},
				{Line: 3, ID: "p2", AgentID: null("null"), Nickname: null("null"), Label: set("x")},
				{Line: 4, ID: "p3", AgentID: null("NULL"), Nickname: null("Null")},
				{Line: 5, ID: "p4", AgentID: null("nUlL"), Nickname: null("null")},
				{Line: 6, ID: "p5", AgentID: set("nullify"), Nickname: set("null-ish"), Label: set("nul")},
				{Line: 7, ID: "p6"},
			},
		},
		{
			name: "explicit null token is the default",
			opts: planfile.Options{NullToken: "null"},
			want: []job.Row{
				{Line: 2, ID: "p1"},
				{Line: 3, ID: "p2", AgentID: null("null"), Nickname: null("null"), Label: set("x")},
				{Line: 4, ID: "p3", AgentID: null("NULL"), Nickname: null("Null")},
				{Line: 5, ID: "p4", AgentID: null("nUlL"), Nickname: null("null")},
				{Line: 6, ID: "p5", AgentID: set("nullify"), Nickname: set("null-ish"), Label: set("nul")},
				{Line: 7, ID: "p6"},
			},
		},
		{
			name:  "custom token",
			opts:  planfile.Options{NullToken: "<Clear>"},
			extra: "p7,<CLEAR>,<clear>,\n", // 8
			want: []job.Row{
				{Line: 2, ID: "p1"},
				// "null" is now an ordinary string: a valid agent id, a nickname.
				{Line: 3, ID: "p2", AgentID: set("null"), Nickname: set("null"), Label: set("x")},
				{Line: 4, ID: "p3", AgentID: set("NULL"), Nickname: set("Null")},
				{Line: 5, ID: "p4", AgentID: set("nUlL"), Nickname: set("null")},
				{Line: 6, ID: "p5", AgentID: set("nullify"), Nickname: set("null-ish"), Label: set("nul")},
				{Line: 7, ID: "p6"},
				{Line: 8, ID: "p7", AgentID: null("<CLEAR>"), Nickname: null("<clear>")},
			},
		},
		{
			name:  "null label is invalid",
			extra: "p7,,,null\np8,,,NULL\n", // 8, 9
			want: []job.Row{
				{Line: 2, ID: "p1"},
				{Line: 3, ID: "p2", AgentID: null("null"), Nickname: null("null"), Label: set("x")},
				{Line: 4, ID: "p3", AgentID: null("NULL"), Nickname: null("Null")},
				{Line: 5, ID: "p4", AgentID: null("nUlL"), Nickname: null("null")},
				{Line: 6, ID: "p5", AgentID: set("nullify"), Nickname: set("null-ish"), Label: set("nul")},
				{Line: 7, ID: "p6"},
				{Line: 8, ID: "p7", Label: null("null")},
				{Line: 9, ID: "p8", Label: null("NULL")},
			},
			probs: []job.Problem{
				{Line: 8, Reason: "label cannot be null: the API takes no null label"},
				{Line: 9, Reason: "label cannot be NULL: the API takes no null label"},
			},
		},
		{
			name:  "custom token null label is invalid",
			opts:  planfile.Options{NullToken: "-"},
			extra: "p7,,,-\n",
			want: []job.Row{
				{Line: 2, ID: "p1"},
				{Line: 3, ID: "p2", AgentID: set("null"), Nickname: set("null"), Label: set("x")},
				{Line: 4, ID: "p3", AgentID: set("NULL"), Nickname: set("Null")},
				{Line: 5, ID: "p4", AgentID: set("nUlL"), Nickname: set("null")},
				{Line: 6, ID: "p5", AgentID: set("nullify"), Nickname: set("null-ish"), Label: set("nul")},
				{Line: 7, ID: "p6"},
				{Line: 8, ID: "p7", Label: null("-")},
			},
			probs: []job.Problem{{Line: 8, Reason: "label cannot be -: the API takes no null label"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustRead(t, openString(plan+tt.extra), tt.opts)
			if !equalProblems(p.Problems, tt.probs) {
				t.Errorf("Problems = %q, want %q", p.Problems, tt.probs)
			}
			rows := each(t, p)
			if len(rows) != len(tt.want) {
				t.Fatalf("%d rows, want %d: %v", len(rows), len(tt.want), rows)
			}
			for i, g := range rows {
				if g.Row != tt.want[i] {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, g.Row, tt.want[i])
				}
			}
		})
	}
}

func TestFieldAndRow(t *testing.T) {
	if (job.Field{}).Set() {
		t.Error("empty field is Set")
	}
	if !(job.Field{Raw: "null", Null: true}).Set() {
		t.Error("null field is not Set: a null must be sent")
	}
	if (job.Row{ID: "p1"}).HasChanges() {
		t.Error("row with no fields has changes")
	}
	for _, r := range []job.Row{
		{ID: "p1", AgentID: null("null")},
		{ID: "p1", Nickname: set("x")},
		{ID: "p1", Label: set("x")},
	} {
		if !r.HasChanges() {
			t.Errorf("%+v has no changes", r)
		}
	}
	if s := (job.Problem{Line: 7, Reason: "bad"}).String(); s != "line 7: bad" {
		t.Errorf("Problem.String = %q", s)
	}
	if s := (job.Problem{Reason: "bad"}).String(); s != "bad" {
		t.Errorf("Problem.String without line = %q", s)
	}
	pe := &planfile.Error{Problems: []job.Problem{{Line: 2, Reason: "a"}, {Line: 5, Reason: "b"}}}
	if s := pe.Error(); s != "line 2: a\nline 5: b" {
		t.Errorf("PlanError.Error = %q", s)
	}
}

const (
	notUTF8   = `not UTF-8 text (the file looks like a Windows-1252 or Latin-1 export); save the spreadsheet as "CSV UTF-8" and try again`
	bareQuote = `a " inside a cell that is not quoted (quote the whole cell and double the inner ", as "a ""b"" c")`
	afterQuot = `a quoted cell is followed by text before the next delimiter`
	noRows    = "the plan has a header but no rows"
	emptyPlan = "the plan is empty: it needs a header line naming an id or phone number column"
)

// TestReadPlanRefused covers plans that cannot be read at all: a *PlanError, no plan.
func TestReadPlanRefused(t *testing.T) {
	tests := []struct {
		name string
		plan string
		want []job.Problem
	}{
		{"empty file", "", []job.Problem{{Reason: emptyPlan}}},
		{"only a BOM", "\xef\xbb\xbf", []job.Problem{{Reason: emptyPlan}}},
		{"only blank lines", "\n\r\n  \n,,,\n\t\n", []job.Problem{{Reason: emptyPlan}}},
		{"header only", "id,agent_id\n", []job.Problem{{Reason: noRows}}},
		{"header only, no newline", "\xef\xbb\xbfid,label", []job.Problem{{Reason: noRows}}},
		{"header and blank rows", "id,agent_id\n\n,\n  ,  \n\n", []job.Problem{{Reason: noRows}}},
		{"no id column", "agent_id,nickname\nagt_1,x\n", []job.Problem{{Line: 1, Reason: noKey("agent_id, nickname")}}},
		{"no id column after blank lines", "\n\nstatus;Nickname\nactive;x\n", []job.Problem{{Line: 3, Reason: noKey("status, Nickname")}}},
		{"no id column, names with line ends", "\"a\nb\",,nick\x01\n", []job.Problem{{Line: 1, Reason: noKey(`"a\nb", cell 2, "nick\x01"`)}}},
		{"id column twice", "id,agent_id, ID \np1,a,p2\n", []job.Problem{{Line: 1, Reason: "header: column ID appears twice"}}},
		{"utf-16 LE", "\xff\xfei\x00d\x00\n\x00", []job.Problem{{
			Reason: `the plan is UTF-16 text (Excel's "Unicode Text"); save it as "CSV UTF-8" and try again`}}},
		{"utf-16 BE", "\xfe\xff\x00i\x00d\x00\n", []job.Problem{{
			Reason: `the plan is UTF-16 text (Excel's "Unicode Text"); save it as "CSV UTF-8" and try again`}}},
		{"latin-1 in a row", "id,nickname\np1,Cafe\np2,Caf\xe9\np3,Z\xfcrich\n", []job.Problem{{Line: 3, Reason: notUTF8}}},
		{"latin-1 in the header", "id,nick\xe9\np1,x\n", []job.Problem{{Line: 1, Reason: notUTF8}}},
		{"latin-1 on a cell's 2nd line", "id,nickname\np1,\"Front\nCaf\xe9\"\n", []job.Problem{{Line: 3, Reason: notUTF8}}},
		{"latin-1 after an earlier invalid row", "id,nickname\n../x,ok\np2,\x01\np3,Caf\xe9\n", []job.Problem{{Line: 4, Reason: notUTF8}}},
		{"latin-1 in a row with a bare quote", "id,nickname\np1,ok\np2,Caf\xe9 \"Bon\"\np3,ok\n", []job.Problem{{Line: 3, Reason: notUTF8}}},
		{"windows-1252 quotes", "id,nickname\np1,\x93Front desk\x94\n", []job.Problem{{Line: 2, Reason: notUTF8}}},
		{"truncated utf-8 at the end", "id,nickname\np1,Caf\xc3", []job.Problem{{Line: 2, Reason: notUTF8}}},
		{"old Mac line ends", "id,nickname\rp1,x\rp2,y\r", []job.Problem{{Line: 1,
			Reason: `lines end in a bare carriage return (old Mac format); save the spreadsheet as "CSV UTF-8" and try again`}}},
		{"unterminated quote swallows rows", "id,agent_id,nickname,label\np1,a,ok,\np2,agt_1,\"Front desk,support\np3,null,,sales\np4,,Reception,\n",
			[]job.Problem{{Line: 3, Reason: "a quoted cell opened on this line is not closed properly (the reader got lost at line 5); check the quotes"}}},
		{"unterminated quote on the last line", "id,nickname\np1,ok\np2,\"Front desk\n",
			[]job.Problem{{Line: 3, Reason: "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes"}}},
		{"unterminated quote on the last line, no newline", "id,nickname\np1,ok\np2,\"Front desk",
			[]job.Problem{{Line: 3, Reason: "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes"}}},
		{"unterminated quote on the last line, after blank lines", "id,nickname\np1,ok\n\n\r\n\np2,\"Front desk\n",
			[]job.Problem{{Line: 6, Reason: "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes"}}},
		{"unterminated quote on the last line, CRLF", "id,nickname\r\np1,ok\r\np2,\"Front desk\r\n",
			[]job.Problem{{Line: 3, Reason: "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes"}}},
		{"unterminated quote, blank lines after", "id,nickname\np1,ok\np2,\"Front desk\n\n\n",
			[]job.Problem{{Line: 3, Reason: "a quoted cell opened on this line is not closed properly (the reader got lost at line 5); check the quotes"}}},
		{"unterminated empty quote", "id,nickname\np1,\"",
			[]job.Problem{{Line: 2, Reason: "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes"}}},
		{"unterminated quote in the header", "\xef\xbb\xbf\"id\";\"nickname\np1;x\n",
			[]job.Problem{{Line: 1, Reason: "header: a quoted cell opened on this line is not closed properly (the reader got lost at line 2); check the quotes"}}},
		{"bare quote in the header", "id,nick\"name\np1,x\n", []job.Problem{{Line: 1, Reason: "header: " + bareQuote}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for how, open := range map[string]func() (io.ReadCloser, error){
				"string": openString(tt.plan), "one byte": openOneByte([]byte(tt.plan)),
			} {
				got := planError(t, open, planfile.Options{})
				if !equalProblems(got, tt.want) {
					t.Errorf("%s: problems\n got %q\nwant %q", how, got, tt.want)
				}
			}
		})
	}
}

func noKey(header string) string {
	return "header: no id or phone number column (the header has: " + header + "); the plan needs id or phone_number, and at least one of agent_id (or agent), nickname, label"
}

func TestReadPlanRefusedFiles(t *testing.T) {
	for file, want := range map[string][]job.Problem{
		"latin1.csv": {{Line: 3, Reason: notUTF8}},
		"utf16.csv":  {{Reason: `the plan is UTF-16 text (Excel's "Unicode Text"); save it as "CSV UTF-8" and try again`}},
		"unterminated_quote.csv": {{Line: 2,
			Reason: "a quoted cell opened on this line is not closed properly (the reader got lost at line 4); check the quotes"}},
	} {
		got := planError(t, openFile(filepath.Join("testdata", "plans", file)), planfile.Options{})
		if !equalProblems(got, want) {
			t.Errorf("%s: problems\n got %q\nwant %q", file, got, want)
		}
		if msg := (&planfile.Error{Problems: got}).Error(); file == "latin1.csv" && !strings.HasPrefix(msg, "line 3: ") || file != "unterminated_quote.csv" && !strings.Contains(msg, `"CSV UTF-8"`) {
			t.Errorf("%s: message %q does not name the line and CSV UTF-8", file, msg)
		}
	}
}

// TestReadPlanOddHeader: a column whose name holds a line end is named, quoted, in a
// one-line reason (and a header wrapped over two lines in its cell still names its
// field); a column with no title is not read, and is named once a row holds a value
// in it.
func TestReadPlanOddHeader(t *testing.T) {
	p := mustRead(t, openString("id,\"nick\nname\",\"to\ndo\",\n\np1,\x01,,x\n"), planfile.Options{})
	want := []job.Problem{{Line: 5, Reason: `"nick\nname" has a control character (U+0001)`}}
	if !equalProblems(p.Problems, want) {
		t.Errorf("Problems\n got %q\nwant %q", p.Problems, want)
	}
	if !reflect.DeepEqual(p.Ignored, []string{"to\ndo", "column 4 (no title)"}) {
		t.Errorf("Ignored = %q", p.Ignored)
	}
	each(t, p)
}

func TestReadPlanOpenError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := planfile.Read(context.Background(), func() (io.ReadCloser, error) { return nil, boom }, planfile.Options{})
	if !errors.Is(err, boom) {
		t.Errorf("ReadPlan: %v, want the open error", err)
	}
	_, _, err = planfile.Read(context.Background(), func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("id,nickname\np1,x\n"), iotest.ErrReader(boom))), nil
	}, planfile.Options{})
	var pe *planfile.Error
	if !errors.Is(err, boom) || !errors.As(err, &pe) || pe.Err != boom {
		t.Errorf("ReadPlan over a failing reader: %v, want an *Error whose cause is the read error", err)
	}
}

func idReason(id string) string {
	return fmt.Sprintf("id %s is not a phone number id (letters, digits, _ and -, at most 128)", strconv.Quote(id))
}

func agentReason(id string) string {
	return fmt.Sprintf("agent_id %s is not an agent id (letters, digits, _ and -, at most 128)", strconv.Quote(id))
}

// TestReadPlanRowProblems covers invalid rows: the plan reads, and every problem is
// listed with its line.
func TestReadPlanRowProblems(t *testing.T) {
	long := strings.Repeat("a", 128)
	tests := []struct {
		name string
		plan string // after the header "id,agent_id,nickname,label\n" (line 1)
		rows int
		want []job.Problem
	}{
		{"valid", "p1,agt_1,x,y\n" + long + "," + long + ",,\nA-z_09,,,\n", 3, nil},
		{"id ..", "..,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("..")}}},
		{"id with /", "p/1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("p/1")}}},
		{"id with ?", "p1?x=1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("p1?x=1")}}},
		{"id with %", "p%2F1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("p%2F1")}}},
		{"id with a space", "p 1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("p 1")}}},
		{"id with a dot", "p.1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("p.1")}}},
		{"id non-ASCII letter", "pé1,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason("pé1")}}},
		{"id with NUL", "p\x001,,,\n", 1, []job.Problem{
			{Line: 2, Reason: "id has a control character (U+0000)"}, {Line: 2, Reason: idReason("p\x001")}}},
		{"id of 129", long + "b,,,\n", 1, []job.Problem{{Line: 2, Reason: idReason(long[:40] + "…")}}},
		{"id empty", ",agt_1,,\n", 1, []job.Problem{{Line: 2, Reason: "id is empty"}}},
		{"id is the null token", "null,,,\n", 1, nil},
		{"agent ..", "p1,..,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason("..")}}},
		{"agent with /", "p1,agt/1,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason("agt/1")}}},
		{"agent with ?", "p1,agt?1,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason("agt?1")}}},
		{"agent with %", "p1,agt%1,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason("agt%1")}}},
		{"agent with a space", "p1,agt 1,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason("agt 1")}}},
		{"agent with NUL", "p1,agt\x00,,\n", 1, []job.Problem{
			{Line: 2, Reason: "agent_id has a control character (U+0000)"}, {Line: 2, Reason: agentReason("agt\x00")}}},
		{"agent of 129", "p1," + long + "b,,\n", 1, []job.Problem{{Line: 2, Reason: agentReason(long[:40] + "…")}}},
		{"nickname of 255", "p1,," + strings.Repeat("n", 255) + ",\n", 1, nil},
		{"nickname of 256", "p1,," + strings.Repeat("n", 256) + ",\n", 1, []job.Problem{{Line: 2, Reason: "nickname is 256 characters, at most 255"}}},
		{"nickname of 255 Devanagari", "p1,," + strings.Repeat("क", 255) + ",\n", 1, nil},
		{"nickname of 256 Devanagari", "p1,," + strings.Repeat("क", 256) + ",\n", 1, []job.Problem{{Line: 2, Reason: "nickname is 256 characters, at most 255"}}},
		{"nickname of 255 emoji", "p1,," + strings.Repeat("😀", 255) + ",\n", 1, nil},
		{"nickname of 255 and spaces", "p1,,  " + strings.Repeat("n", 255) + "  ,\n", 1, nil},
		{"control in nickname", "p1,,a\x01b,\n", 1, []job.Problem{{Line: 2, Reason: "nickname has a control character (U+0001)"}}},
		{"tab in nickname", "p1,,a\tb,\n", 1, []job.Problem{{Line: 2, Reason: "nickname has a control character (U+0009)"}}},
		{"DEL in label", "p1,,,a\x7fb\n", 1, []job.Problem{{Line: 2, Reason: "label has a control character (U+007F)"}}},
		{"C1 control in label", "p1,,,a\u0085b\n", 1, []job.Problem{{Line: 2, Reason: "label has a control character (U+0085)"}}},
		{"escape in id", "p\x1b1,,,\n", 1, []job.Problem{{Line: 2, Reason: "id has a control character (U+001B)"}, {Line: 2, Reason: idReason("p\x1b1")}}},
		{"CR inside a cell", "p1,,a\rb,\n", 1, []job.Problem{{Line: 2, Reason: "nickname has a control character (U+000D)"}}},
		{"newline inside a quoted cell", "p1,,\"a\nb\",\np2,,,\n", 2, []job.Problem{{Line: 2, Reason: "nickname runs over 2 lines (a quote left open?)"}}},
		{"controls in several cells", "p1,\x02,\x03,\n", 1, []job.Problem{
			{Line: 2, Reason: "agent_id has a control character (U+0002)"},
			{Line: 2, Reason: "nickname has a control character (U+0003)"},
			{Line: 2, Reason: agentReason("\x02")}}},
		{"more cells than the header", "p1,a,b,c,d\np2,a,b,c\n", 2, []job.Problem{{Line: 2, Reason: "5 cells, but the header has 4"}}},
		{"more cells, the extra one empty", "p1,a,b,c,\n", 1, []job.Problem{{Line: 2, Reason: "5 cells, but the header has 4"}}},
		{"control in an extra cell", "p1,a,b,c,\x01\n", 1, []job.Problem{
			{Line: 2, Reason: "5 cells, but the header has 4"}, {Line: 2, Reason: "cell 5 has a control character (U+0001)"}}},
		{"fewer cells read as empty", "p1\np2,agt_1\n", 2, nil},
		{"bare quote", "p1,,Front \"desk\",\np2,,,\n", 2, []job.Problem{{Line: 2, Reason: bareQuote}}},
		{"bare quote in the first cell", "p\"1,,,\np2,,,\n", 2, []job.Problem{{Line: 2, Reason: bareQuote}}},
		{"text after a closing quote", "p1,,\"Front\" desk,\np2,,,\n", 2, []job.Problem{{Line: 2, Reason: afterQuot}}},
		{"text after a closing quote on the last line", "p1,,,\n\n\np2,,\"Front\"x", 2, []job.Problem{{Line: 5, Reason: afterQuot}}},
		{"text after a closing quote on the last line, CRLF", "p1,,,\r\n\r\np2,,\"Front\"x\r\n", 2, []job.Problem{{Line: 4, Reason: afterQuot}}},
		{"text after a closing quote, then blank lines", "p1,,\"Front\"x\n\n\n", 1, []job.Problem{{Line: 2, Reason: afterQuot}}},
		{"text after a closing quote in the first cell", "\"p1\"x,,,\np2,,,\n", 2, []job.Problem{{Line: 2, Reason: afterQuot}}},
		{"space before a quote", "p1, \"Front desk\",,\n", 1, []job.Problem{{Line: 2, Reason: bareQuote}}},
		{"duplicate ids", "p1,,,\np2,,,\np1,,,\np3,,,\np2,,,\np1,,,\n", 6, []job.Problem{
			{Line: 2, Reason: "id p1 is also on lines 4, 7"},
			{Line: 3, Reason: "id p2 is also on line 6"},
			{Line: 4, Reason: "id p1 is also on lines 2, 7"},
			{Line: 6, Reason: "id p2 is also on line 3"},
			{Line: 7, Reason: "id p1 is also on lines 2, 4"}}},
		{"an id five times", "p1,,,\np1,,,\np2,,,\np1,,,\np1,,,\np1,,,\n", 6, []job.Problem{
			{Line: 2, Reason: "id p1 is also on line 3 (and 3 more lines)"},
			{Line: 3, Reason: "id p1 is also on line 2 (and 3 more lines)"},
			{Line: 5, Reason: "id p1 is also on line 2 (and 3 more lines)"},
			{Line: 6, Reason: "id p1 is also on line 2 (and 3 more lines)"},
			{Line: 7, Reason: "id p1 is also on line 2 (and 3 more lines)"}}},
		{"an id four times", "p1,,,\np1,,,\np1,,,\np1,,,\n", 4, []job.Problem{
			{Line: 2, Reason: "id p1 is also on lines 3, 4, 5"},
			{Line: 3, Reason: "id p1 is also on lines 2, 4, 5"},
			{Line: 4, Reason: "id p1 is also on lines 2, 3, 5"},
			{Line: 5, Reason: "id p1 is also on lines 2, 3, 4"}}},
		{"duplicate after trimming", "p1,,,\n  p1  ,,,\n", 2, []job.Problem{
			{Line: 2, Reason: "id p1 is also on line 3"}, {Line: 3, Reason: "id p1 is also on line 2"}}},
		{"ids differ in case", "p1,,,\nP1,,,\n", 2, nil},
		{"duplicate invalid ids", "a/b,,,\na/b,,,\n", 2, []job.Problem{
			{Line: 2, Reason: idReason("a/b")}, {Line: 2, Reason: `id "a/b" is also on line 3`},
			{Line: 3, Reason: idReason("a/b")}, {Line: 3, Reason: `id "a/b" is also on line 2`}}},
		{"duplicate ids with a line end", "\"a\nb\",,,\n\"a\nb\",,,\n", 2, []job.Problem{
			{Line: 2, Reason: "id runs over 2 lines (a quote left open?)"}, {Line: 2, Reason: idReason("a\nb")}, {Line: 2, Reason: `id "a\nb" is also on line 4`},
			{Line: 4, Reason: "id runs over 2 lines (a quote left open?)"}, {Line: 4, Reason: idReason("a\nb")}, {Line: 4, Reason: `id "a\nb" is also on line 2`}}},
		{"duplicates across blank lines and a multi-line cell", "p1,,\"a\nb\",\n\n,,,\np1,,,\n", 2, []job.Problem{
			{Line: 2, Reason: "nickname runs over 2 lines (a quote left open?)"}, {Line: 2, Reason: "id p1 is also on line 6"},
			{Line: 6, Reason: "id p1 is also on line 2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustRead(t, openString("id,agent_id,nickname,label\n"+tt.plan), planfile.Options{})
			if p.Rows != tt.rows {
				t.Errorf("Rows = %d, want %d", p.Rows, tt.rows)
			}
			if !equalProblems(p.Problems, tt.want) {
				t.Errorf("Problems\n got %q\nwant %q", p.Problems, tt.want)
			}
			lines := map[int]bool{}
			for _, x := range tt.want {
				lines[x.Line] = true
			}
			if p.Invalid != len(lines) {
				t.Errorf("Invalid = %d, want %d", p.Invalid, len(lines))
			}
			each(t, p)
		})
	}
}

// TestReadPlanAllProblemsAtOnce reads a plan with many kinds of invalid rows: every
// problem is listed, in plan order, with the plan's own line numbers.
func TestReadPlanAllProblemsAtOnce(t *testing.T) {
	p := mustRead(t, openFile("testdata/plans/invalid_rows.csv"), planfile.Options{})
	want := []job.Problem{
		{Line: 2, Reason: "id PN_001 is also on lines 4, 12"},
		{Line: 3, Reason: agentReason("agt/../x")},
		{Line: 4, Reason: "id PN_001 is also on lines 2, 12"},
		{Line: 5, Reason: idReason("../etc")},
		{Line: 6, Reason: "label cannot be NULL: the API takes no null label"},
		{Line: 7, Reason: bareQuote},
		{Line: 8, Reason: "5 cells, but the header has 4"},
		{Line: 10, Reason: "id is empty"},
		{Line: 11, Reason: "nickname has a control character (U+0009)"},
		{Line: 12, Reason: "id PN_001 is also on lines 2, 4"},
	}
	if !equalProblems(p.Problems, want) {
		t.Errorf("Problems\n got %q\nwant %q", p.Problems, want)
	}
	if p.Rows != 11 || p.Invalid != 10 {
		t.Errorf("Rows, Invalid = %d, %d; want 11, 10", p.Rows, p.Invalid)
	}
	rows := each(t, p)
	var lines []int
	for _, g := range rows {
		lines = append(lines, g.Row.Line)
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
	if r := rows[4].Row; r.Nickname != set(`Front "A" desk`) || r.Label != null("NULL") {
		t.Errorf("line 6: %+v", r)
	}
	if r := rows[7].Row; r != (job.Row{Line: 9, ID: "PN_006", AgentID: set("agt_B2")}) || len(rows[7].Problems) != 0 {
		t.Errorf("line 9 (fewer cells): %v", rows[7])
	}
	msg := (&planfile.Error{Problems: p.Problems}).Error()
	if !strings.HasPrefix(msg, "line 2: id PN_001 is also on lines 4, 12\nline 3: ") || strings.Count(msg, "\n") != len(want)-1 {
		t.Errorf("PlanError text:\n%s", msg)
	}
}

// TestPlanEach checks that Each re-reads the plan, yields the same rows every time, and
// stops calling back on the first error.
func TestPlanEach(t *testing.T) {
	data, err := os.ReadFile("testdata/plans/invalid_rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	open := func() (io.ReadCloser, error) {
		opens++
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	p := mustRead(t, open, planfile.Options{})
	first := each(t, p)
	second := each(t, p)
	// ReadPlan reads twice here: the plan has duplicate ids, whose rows it reads again.
	if opens != 4 {
		t.Errorf("plan opened %d times for ReadPlan and two Each, want 4", opens)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("2nd Each differs:\n%v\n%v", first, second)
	}
	if !reflect.DeepEqual(p.Ignored, []string(nil)) {
		t.Errorf("Ignored = %q", p.Ignored)
	}

	stop := errors.New("stop")
	calls := 0
	err = p.Each(func(r job.Row, _ []job.Problem) error {
		calls++
		if r.Line == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Each = %v after %d calls, want stop after 3", err, calls)
	}

	boom := errors.New("boom")
	opens2 := 0
	p2 := mustRead(t, func() (io.ReadCloser, error) {
		if opens2++; opens2 > 2 {
			return nil, boom
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}, planfile.Options{})
	if err := p2.Each(func(job.Row, []job.Problem) error { return nil }); !errors.Is(err, boom) || err.Error() != "read plan: boom" {
		t.Errorf("Each with a failing open = %q, want boom, said once: \"read plan: boom\"", err)
	}
}

// TestPlanEachStopsReading: once fn fails, Each reads no further into the file.
func TestPlanEachStopsReading(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,nickname\n")
	for i := range 50_000 {
		fmt.Fprintf(&b, "p%d,n\n", i)
	}
	data := b.String()
	var read int64
	p := mustRead(t, func() (io.ReadCloser, error) {
		read = 0
		return io.NopCloser(&countingReader{r: strings.NewReader(data), n: &read}), nil
	}, planfile.Options{})
	stop := errors.New("stop")
	if err := p.Each(func(job.Row, []job.Problem) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Each = %v, want stop", err)
	}
	if read > int64(len(data))/4 {
		t.Errorf("Each read %d of %d bytes after its callback stopped it on the first row", read, len(data))
	}
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// TestPlanEachDuplicatesNeedReadPlan: a duplicate's problem is known only once the
// whole plan is read, and Each reports it on the row itself, first occurrence included.
func TestPlanEachDuplicates(t *testing.T) {
	p := mustRead(t, openString("id,nickname\np1,a\np2,b\np1,c\n"), planfile.Options{})
	rows := each(t, p)
	want := []got{
		{job.Row{Line: 2, ID: "p1", Nickname: set("a")}, []job.Problem{{Line: 2, Reason: "id p1 is also on line 4"}}},
		{job.Row{Line: 3, ID: "p2", Nickname: set("b")}, nil},
		{job.Row{Line: 4, ID: "p1", Nickname: set("c")}, []job.Problem{{Line: 4, Reason: "id p1 is also on line 2"}}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n got %v\nwant %v", rows, want)
	}
}

// TestReadPlanLarge reads a plan bigger than every read buffer, with a multi-line cell
// and a duplicate far apart, and checks the lines stay physical.
func TestReadPlanLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfid;agent_id;nickname\r\n")
	line := 1
	for i := range 20000 {
		line++
		switch i {
		case 100:
			fmt.Fprintf(&b, "p%d;agt_1;\"two\r\nlines\"\r\n", i)
			line++
		case 5000:
			b.WriteString("\r\n")
			continue
		default:
			fmt.Fprintf(&b, "p%d;agt_1;Désk %d\r\n", i, i)
		}
	}
	b.WriteString("p7;;\r\n")
	line++
	p := mustRead(t, openString(b.String()), planfile.Options{})
	want := []job.Problem{
		{Line: 9, Reason: "id p7 is also on line " + strconv.Itoa(line)},
		{Line: 102, Reason: "nickname runs over 2 lines (a quote left open?)"},
		{Line: line, Reason: "id p7 is also on line 9"},
	}
	if !equalProblems(p.Problems, want) || p.Rows != 20000 {
		t.Errorf("Rows %d, Problems %q\nwant 20000, %q", p.Rows, p.Problems, want)
	}
	rows := each(t, p)
	if last := rows[len(rows)-1].Row; last.Line != line || last.ID != "p7" {
		t.Errorf("last row %+v, want p7 on line %d", last, line)
	}
	// rows[10000] is p10001: p5000 was a blank line; the cell on line 102 took two.
	if r := rows[10000].Row; r.ID != "p10001" || r.Line != 10001+3 || r.Nickname != set("Désk 10001") {
		t.Errorf("row 10000: %+v", r)
	}
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }) >= 0
}

// FuzzReadPlan feeds arbitrary bytes, CSV or workbook, through Read, then through a
// job.Resolver that found nothing in the workspace (Check and Each).
func FuzzReadPlan(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed plans: %v", err)
	}
	workbooks, _ := filepath.Glob(filepath.Join("testdata", "xlsx", "*.xls*"))
	files = append(files, workbooks...)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		inRange := func(what string, x job.Problem) {
			if x.Line < 0 || x.Line > lines {
				t.Fatalf("%s: problem on line %d of a %d-line plan: %v", what, x.Line, lines, x)
			}
		}
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		p, _, err := planfile.Read(context.Background(), open, planfile.Options{})
		if err != nil {
			var pe *planfile.Error
			if !errors.As(err, &pe) {
				t.Fatalf("ReadPlan of bytes in memory: %v, want a *PlanError", err)
			}
			if p != nil || len(pe.Problems) == 0 {
				t.Fatalf("ReadPlan: plan %v, error %q", p, pe)
			}
			for _, x := range pe.Problems {
				inRange("PlanError", x)
				if strings.ContainsAny(x.Reason, "\r\n") || x.Reason == "" {
					t.Fatalf("reason %q is not one line", x.Reason)
				}
			}
			return
		}
		// As a run whose reads found nothing: rows that need them are invalid.
		r := job.NewResolver(&job.Workspace{})
		found, err := r.Check(context.Background(), p.Each, p.AgentRows())
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		all, bad := job.Collate(p.Problems, found)
		if p.Rows < 1 || p.Invalid < 0 || p.Invalid > bad || bad > p.Rows {
			t.Fatalf("Rows %d, Invalid %d as read, %d resolved", p.Rows, p.Invalid, bad)
		}
		for i, x := range all {
			if strings.ContainsAny(x.Reason, "\r\n") || x.Reason == "" {
				t.Fatalf("reason %q is not one line", x.Reason)
			}
			if x.Line < 1 {
				t.Fatalf("row problem without a line: %v", x)
			}
			inRange("Problems", x)
			if i > 0 && x.Line < all[i-1].Line {
				t.Fatalf("problems out of order: %v", all)
			}
		}
		var problems []job.Problem
		n, last, invalid := 0, 0, 0
		err = r.Each(p.Each)(func(r job.Row, pr []job.Problem) error {
			n++
			if r.Line <= last {
				t.Fatalf("row on line %d after line %d", r.Line, last)
			}
			last = r.Line
			if r.Line > lines {
				t.Fatalf("row on line %d of a %d-line plan", r.Line, lines)
			}
			for _, x := range pr {
				if x.Line != r.Line {
					t.Fatalf("row on line %d has a problem for line %d", r.Line, x.Line)
				}
			}
			problems = append(problems, pr...)
			if len(pr) > 0 {
				invalid++
				return nil
			}
			// A row with no problem must be safe to send.
			if !validID.MatchString(r.ID) {
				t.Fatalf("valid row with id %q", r.ID)
			}
			if r.AgentID.Set() && !r.AgentID.Null && !validID.MatchString(r.AgentID.Raw) {
				t.Fatalf("valid row with agent_id %q", r.AgentID.Raw)
			}
			if r.Label.Null {
				t.Fatalf("valid row with a null label")
			}
			if n := utf8.RuneCountInString(r.Nickname.Raw); n > planfile.MaxNicknameLen {
				t.Fatalf("valid row with a nickname of %d", n)
			}
			for _, c := range []string{r.ID, r.AgentID.Raw, r.Nickname.Raw, r.Label.Raw} {
				if !utf8.ValidString(c) || hasControl(c) || c != strings.TrimSpace(c) {
					t.Fatalf("valid row with cell %q", c)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Each after a successful ReadPlan: %v", err)
		}
		if n != p.Rows || invalid != bad {
			t.Fatalf("Each yielded %d rows, %d invalid; ReadPlan and Check counted %d, %d", n, invalid, p.Rows, bad)
		}
		if !equalProblems(problems, all) {
			t.Fatalf("Each's problems differ from ReadPlan's and Check's:\n each: %q\n read: %q", problems, all)
		}
	})
}

// BenchmarkReadPlan is one validating pass over a plan as exported by a spreadsheet,
// followed by the runner's pass (Each); b.N is the plan's rows.
//
//	go test ./job -run '^$' -bench ReadPlan -benchtime 200000x -benchmem
func BenchmarkReadPlan(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("id,phone_number,agent_id,nickname,label\r\n")
	for i := range b.N {
		fmt.Fprintf(&buf, "phn_%09d,+1555%07d,agt_%02d,Line %d,\r\n", i, i, i%10, i)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	b.ReportAllocs()
	b.ResetTimer()
	p, _, err := planfile.Read(context.Background(), open, planfile.Options{})
	if err != nil || p.Rows != b.N || p.Invalid != 0 {
		b.Fatalf("ReadPlan: %v, %d rows, %d invalid", err, p.Rows, p.Invalid)
	}
	n := 0
	if err := p.Each(func(job.Row, []job.Problem) error { n++; return nil }); err != nil || n != b.N {
		b.Fatalf("Each: %v, %d rows", err, n)
	}
}

// TestReadPlanMarkedCells: cells the job wrote with its ' read back exactly; the same
// text typed without the ' reads as it always did.
func TestReadPlanMarkedCells(t *testing.T) {
	plan := "id,agent_id,nickname,label\n" +
		"p1,'null,'null,'NULL\n" + // 2: the word, not the token
		"p2,,' padded ,'x \n" + // 3: spaces kept
		"p3,,'two\\nlines,'tab\\there\n" + // 4: control characters the job wrote
		"p4,,''=x,'=y\n" + // 5: a value that starts with ', and a formula
		"p5,,'Tis,null\n" + // 6: a ' that marks nothing; the token in a label
		"'p6,,two\\nlines,\n" // 7: the id marks nothing; an unmarked \n is just text
	p := mustRead(t, openString(plan), planfile.Options{})
	want := []got{
		{Row: job.Row{Line: 2, ID: "p1", AgentID: set("null"), Nickname: set("null"), Label: set("NULL")}},
		{Row: job.Row{Line: 3, ID: "p2", Nickname: set(" padded "), Label: set("x ")}},
		{Row: job.Row{Line: 4, ID: "p3", Nickname: set("two\nlines"), Label: set("tab\there")}},
		{Row: job.Row{Line: 5, ID: "p4", Nickname: set("'=x"), Label: set("=y")}},
		{Row: job.Row{Line: 6, ID: "p5", Nickname: set("'Tis"), Label: null("null")},
			Problems: []job.Problem{{Line: 6, Reason: "label cannot be null: the API takes no null label"}}},
		{Row: job.Row{Line: 7, ID: "'p6", Nickname: set(`two\nlines`)},
			Problems: []job.Problem{{Line: 7, Reason: idReason("'p6")}}},
	}
	if rows := each(t, p); !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n got %v\nwant %v", rows, want)
	}
}

// TestReadPlanManyDuplicates: an id dragged down a whole column costs one short
// problem a row, not a list of every other line: linear, not quadratic.
func TestReadPlanManyDuplicates(t *testing.T) {
	for _, n := range []int{2_000, 50_000} {
		var b strings.Builder
		b.WriteString("id,agent_id\np_other,agt_1\n")
		for range n {
			b.WriteString("phn_x,agt_1\n")
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := mustRead(t, openString(b.String()), planfile.Options{})
		runtime.ReadMemStats(&after)
		if p.Invalid != n || len(p.Problems) != n {
			t.Fatalf("%d copies: %d invalid, %d problems", n, p.Invalid, len(p.Problems))
		}
		size := 0
		for _, x := range p.Problems {
			size += len(x.Reason)
			if len(x.Reason) > 80 {
				t.Fatalf("%d copies: a problem of %d bytes: %.200s", n, len(x.Reason), x.Reason)
			}
		}
		if want := fmt.Sprintf("id phn_x is also on line 3 (and %s more lines)", thousands(n-2)); p.Problems[n-1].Reason != want {
			t.Errorf("last problem %q, want %q", p.Problems[n-1].Reason, want)
		}
		if p.Problems[0].Reason != fmt.Sprintf("id phn_x is also on line 4 (and %s more lines)", thousands(n-2)) {
			t.Errorf("first problem %q", p.Problems[0].Reason)
		}
		// The plan is n short lines; reading it, duplicates and all, allocates a few
		// hundred bytes a row, not a row's worth per other row.
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%d copies: problems %d bytes, %d bytes allocated", n, size, alloc)
		if perRow := alloc / uint64(n); perRow > 2000 {
			t.Errorf("%d copies: %d bytes allocated a row", n, perRow)
		}
		rows := each(t, p)
		if len(rows) != n+1 {
			t.Errorf("Each: %d rows", len(rows))
		}
	}
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// endless is a reader that never ends: a byte, over and over.
type endless struct {
	b    byte
	read *int64
}

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	*e.read += int64(len(p))
	return len(p), nil
}

// TestReadPlanBounds: what is not a plan (an endless stream, a line of hundreds of
// megabytes, a quote that never closes) is refused once it passes the bound, having read
// little more than the bound; a cell over its bound makes its row invalid.
func TestReadPlanBounds(t *testing.T) {
	const rowErr = "a row of more than 1.0 MiB, the most a plan row may hold (a quote left open, or not a plan?)"
	cases := []struct {
		name string
		head string
		fill byte
		want job.Problem
	}{
		{"zeros", "", 0, job.Problem{Line: 1, Reason: rowErr}},
		{"one endless line after the header", "id,nickname\np1,x\n", 'a', job.Problem{Line: 3, Reason: rowErr}},
		{"commas only", "id,nickname\n", ',', job.Problem{Line: 2, Reason: rowErr}},
		{"a quote never closed", "id,nickname\np1,\"", '\n', job.Problem{Line: 2, Reason: rowErr}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var read int64
			open := func() (io.ReadCloser, error) {
				return io.NopCloser(io.MultiReader(strings.NewReader(c.head), endless{c.fill, &read})), nil
			}
			problems := planError(t, open, planfile.Options{})
			if len(problems) != 1 || problems[0].Reason != c.want.Reason || problems[0].Line > c.want.Line {
				t.Errorf("problems %q, want %q", problems, c.want)
			}
			if read > 3<<20 {
				t.Errorf("read %d bytes of an endless stream", read)
			}
		})
	}

	long := strings.Repeat("x", planfile.MaxCell+1)
	p := mustRead(t, openString("id,nickname\np1,"+long+"\np2,ok\n"), planfile.Options{})
	want := []job.Problem{{Line: 2, Reason: "nickname is 65,537 bytes, more than the 64 KiB a plan cell may hold"}}
	if !equalProblems(p.Problems, want) || p.Rows != 2 {
		t.Errorf("a long cell: rows %d, problems %q, want %q", p.Rows, p.Problems, want)
	}
	rows := each(t, p)
	if rows[1].Row.ID != "p2" || rows[0].Row.Nickname.Raw != "" {
		t.Errorf("rows %v", rows)
	}
	// A row just under the bound is a row.
	fit := strings.Repeat("y,", (planfile.MaxRow-100)/2)
	p = mustRead(t, openString("id,nickname\np1,x,"+fit+"\n"), planfile.Options{})
	if p.Rows != 1 {
		t.Errorf("a row under the bound: %d rows", p.Rows)
	}
}

// TestReadPlanStopsWithContext: a read that ctx ends returns ctx's error, not a plan
// problem, and reads no further.
func TestReadPlanStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var b strings.Builder
	b.WriteString("id,label\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "p%d,x\n", i)
	}
	opens := 0
	open := func() (io.ReadCloser, error) {
		opens++
		cancel()
		return io.NopCloser(strings.NewReader(b.String())), nil
	}
	_, _, err := planfile.Read(ctx, open, planfile.Options{})
	var pe *planfile.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &pe) {
		t.Errorf("Read = %v, want context.Canceled and no *Error", err)
	}
}
