package planfile_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"reassign/job"
	"reassign/job/planfile"
	"reassign/job/planfile/xlsxtest"
)

// openBook serves the workbook of parts, as a file (as a run reads a plan).
func openBook(t *testing.T, parts []xlsxtest.Part) func() (io.ReadCloser, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.xlsx")
	if err := xlsxtest.WriteFile(path, parts); err != nil {
		t.Fatal(err)
	}
	return openFile(path)
}

// sheetOf is a workbook of one sheet, Plan, whose rows are data.
func sheetOf(data string) []xlsxtest.Part {
	return xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan", Data: data}}, nil)
}

// readRows reads a workbook plan offline and returns its rows.
func readRows(t *testing.T, open func() (io.ReadCloser, error), opts planfile.Options) (*planfile.Plan, []job.Row) {
	t.Helper()
	p := mustRead(t, open, opts)
	var rows []job.Row
	for _, g := range each(t, p) {
		rows = append(rows, g.Row)
	}
	return p, rows
}

// TestWorkbookHostile: a workbook of a few hundred kilobytes that unpacks to hundreds
// of megabytes is refused, naming the part and its size, having allocated a few
// megabytes: no 300 MB cell, 900 MB of blanks or 300 MB shared string is ever built.
// Not parallel: it counts the process's allocations.
func TestWorkbookHostile(t *testing.T) {
	header := xlsxtest.Row(1, "id", "agent_id")
	sheet := func(head, filler string, repeat int64, tail string) xlsxtest.Part {
		return xlsxtest.Part{Name: "xl/worksheets/sheet1.xml",
			Head: `<worksheet ` + xlsxtest.Main + `><sheetData>` + head, Filler: filler, Repeat: repeat, Tail: tail + `</sheetData></worksheet>`}
	}
	sharedStrings := func(cell string, size int64) []xlsxtest.Part {
		book := xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan", Data: header + `<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>` + cell + `</v></c></row>`}}, []string{"phn_1"})
		return xlsxtest.Replace(book, xlsxtest.Part{Name: "xl/sharedStrings.xml",
			Head: `<sst ` + xlsxtest.Main + `><si><t>phn_1</t></si><si><t>agt_1</t></si><si><t>`, Filler: "a", Repeat: size, Tail: `</t></si></sst>`})
	}
	const piece = "holds more than 1.0 MiB in one piece (a cell's text, or blanks between cells): more than a plan row may hold (not a plan?)"
	cases := []struct {
		name  string
		parts []xlsxtest.Part
		want  string
	}{
		{"a cell of 300 MB", xlsxtest.Replace(sheetOf(""), sheet(header+`<row r="2"><c r="A2" t="inlineStr"><is><t>phn_1</t></is></c><c r="B2" t="inlineStr"><is><t>`, "a", 300e6, `</t></is></c></row>`)),
			`the workbook's part xl/worksheets/sheet1.xml (its sheet "Plan", 286 MiB unpacked) ` + piece},
		{"900 MB of blanks between two rows", xlsxtest.Replace(sheetOf(""), sheet(header, " ", 900e6, xlsxtest.Row(2, "phn_1", "agt_1"))),
			`the workbook's part xl/worksheets/sheet1.xml (its sheet "Plan") unpacks to 858 MiB, more than the 512 MiB the job reads of one; save the plan as CSV`},
		{"100 MB of blanks between two rows", xlsxtest.Replace(sheetOf(""), sheet(header, " ", 100e6, xlsxtest.Row(2, "phn_1", "agt_1"))),
			`the workbook's part xl/worksheets/sheet1.xml (its sheet "Plan", 95 MiB unpacked) ` + piece},
		{"a shared string of 300 MB no cell refers to", sharedStrings("1", 300e6),
			`the workbook's part xl/sharedStrings.xml (its shared strings) unpacks to 286 MiB, more than the 256 MiB the job reads of one; save the plan as CSV`},
		{"a shared string of 300 MB a cell refers to", sharedStrings("2", 300e6),
			`the workbook's part xl/sharedStrings.xml (its shared strings) unpacks to 286 MiB, more than the 256 MiB the job reads of one; save the plan as CSV`},
		{"a shared string of 100 MB", sharedStrings("1", 100e6),
			`the workbook's part xl/sharedStrings.xml (its shared strings, 95 MiB unpacked) ` + piece},
		{"a tag of 300 MB", xlsxtest.Replace(sheetOf(""), sheet(header+`<row r="2" x="`, "a", 300e6, `"/>`)),
			`the workbook's part xl/worksheets/sheet1.xml (its sheet "Plan", 286 MiB unpacked) ` + piece},
		{"a sheet that unpacks past its bound", xlsxtest.Replace(sheetOf(""), sheet(header, "<x/>", 140e6, "")),
			`the workbook's part xl/worksheets/sheet1.xml (its sheet "Plan") unpacks to 534 MiB, more than the 512 MiB the job reads of one; save the plan as CSV`},
		{"a sheet that unpacks past what its zip says", xlsxtest.Replace(sheetOf(""), xlsxtest.Part{Name: "xl/worksheets/sheet1.xml",
			Head: `<worksheet ` + xlsxtest.Main + `><sheetData>` + header + xlsxtest.Row(2, "phn_1", "agt_1") + `</sheetData></worksheet>`, DeclaredSize: 100}),
			"the workbook is damaged (xl/worksheets/sheet1.xml: zip: not a valid zip file); open it in a spreadsheet and save it again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open := openBook(t, c.parts)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := planError(t, open, planfile.Options{})
			runtime.ReadMemStats(&after)
			if len(got) != 1 || !strings.HasPrefix(got[0].Reason, c.want) {
				t.Errorf("problems %q,\nwant %q", got, c.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("reading it allocated %d MiB, want at most 32", alloc>>20)
			}
		})
	}
}

// TestWorkbookSheets: the first visible sheet is read unless --sheet names one, hidden or
// not; the plan says which.
func TestWorkbookSheets(t *testing.T) {
	t.Parallel()
	hidden := xlsxtest.Row(1, "id", "agent_id") + xlsxtest.Row(2, "phn_old", "agt_old")
	visible := xlsxtest.Row(1, "id", "agent_id") + xlsxtest.Row(2, "phn_new", "agt_new")
	chart := xlsxtest.Replace(xlsxtest.Book([]xlsxtest.Sheet{{Name: "Chart"}, {Name: "Plan", Data: visible}}, nil),
		xlsxtest.Part{Name: "xl/_rels/workbook.xml.rels", Head: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="/xl/chartsheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/></Relationships>`})
	cases := []struct {
		name   string
		sheets []xlsxtest.Sheet
		parts  []xlsxtest.Part
		sheet  string
		want   string // the sheet read
		id     string // its row's id
		err    string
	}{
		{name: "the first sheet hidden", sheets: []xlsxtest.Sheet{{Name: "Old", State: "hidden", Data: hidden}, {Name: "Plan", Data: visible}},
			want: "Plan", id: "phn_new"},
		{name: "the first sheet very hidden", sheets: []xlsxtest.Sheet{{Name: "Old", State: "veryHidden", Data: hidden}, {Name: "Plan", Data: visible}},
			want: "Plan", id: "phn_new"},
		{name: "a hidden sheet named", sheets: []xlsxtest.Sheet{{Name: "Old", State: "hidden", Data: hidden}, {Name: "Plan", Data: visible}},
			sheet: "old", want: "Old", id: "phn_old"},
		{name: "a visible sheet named", sheets: []xlsxtest.Sheet{{Name: "Plan", Data: visible}, {Name: "Old", State: "visible", Data: hidden}},
			sheet: "Old", want: "Old", id: "phn_old"},
		{name: "the first sheet a chart", parts: chart, want: "Plan", id: "phn_new"},
		{name: "a chart named", parts: chart, sheet: "Chart", err: `--sheet "Chart": the sheet is a chart sheet, not a sheet of cells`},
		{name: "no visible sheet", sheets: []xlsxtest.Sheet{{Name: "Old", State: "hidden", Data: hidden}},
			err: "the workbook has no visible sheet of cells; name the plan's with --sheet (its sheets: Old (hidden))"},
		{name: "a zip of something else", parts: []xlsxtest.Part{{Name: "mimetype", Head: "application/vnd.oasis.opendocument.spreadsheet"}, {Name: "content.xml", Head: "<office:document-content/>"}},
			err: "the plan is not a workbook Excel or LibreOffice can open as .xlsx (a zip without xl/workbook.xml); save it again as .xlsx, or as CSV UTF-8"},
		{name: "a binary workbook", parts: []xlsxtest.Part{{Name: "_rels/.rels", Head: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>`}, {Name: "xl/workbook.bin", Head: "\x83\x01\x00"}},
			err: "the plan is an Excel binary workbook (.xlsb); save it as .xlsx or as CSV UTF-8"},
		{name: "no such sheet", sheets: []xlsxtest.Sheet{{Name: "Old", State: "hidden", Data: hidden}, {Name: "Plan", Data: visible}},
			sheet: "New", err: `--sheet "New": the workbook has no such sheet (its sheets: Old (hidden), Plan)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			parts := c.parts
			if parts == nil {
				parts = xlsxtest.Book(c.sheets, nil)
			}
			open := openBook(t, parts)
			opts := planfile.Options{Sheet: c.sheet}
			if c.err != "" {
				if got := planError(t, open, opts); len(got) != 1 || got[0].Reason != c.err {
					t.Errorf("problems %q, want %q", got, c.err)
				}
				return
			}
			p, rows := readRows(t, open, opts)
			if p.Sheet != c.want || len(rows) != 1 || rows[0].ID != c.id {
				t.Errorf("sheet %q, rows %+v; want sheet %q, id %s", p.Sheet, rows, c.want, c.id)
			}
		})
	}
}

// TestWorkbookMerged: merged cells over a planned column below the header are refused,
// naming the range; elsewhere they are read as stored.
func TestWorkbookMerged(t *testing.T) {
	t.Parallel()
	rows := xlsxtest.Row(1, "id", "agent_id", "notes", "owner") + xlsxtest.Row(2, "phn_a", "agt_a", "see below", "") +
		xlsxtest.Row(3, "phn_b", "", "", "") + xlsxtest.Row(4, "phn_c", "", "", "")
	merged := func(refs ...string) string {
		s := `<mergeCells count="1">`
		for _, r := range refs {
			s += `<mergeCell ref="` + r + `"/>`
		}
		return s + `</mergeCells>`
	}
	refused := "merged cells B2:B4 cover the agent_id column: a spreadsheet shows their one value on each of their rows, but stores it in the first cell only; unmerge them and fill each row in"
	cases := []struct {
		name, after string
		want        []job.Problem
	}{
		{"a planned column", merged("B2:B4"), []job.Problem{{Line: 2, Reason: refused}}},
		{"written backwards", merged("B4:B2"), []job.Problem{{Line: 2, Reason: strings.Replace(refused, "B2:B4", "B4:B2", 1)}}},
		{"and others", merged("C2:C4", "B2:B4", "A3:A4"), []job.Problem{{Line: 2, Reason: refused + " (and 1 more merged ranges over planned columns)"}}},
		{"a row over a planned column", merged("A3:B3"), []job.Problem{{Line: 3, Reason: "merged cells A3:B3 cover the agent_id column: a spreadsheet shows their one value on each of their rows, but stores it in the first cell only; unmerge them and fill each row in"}}},
		{"ignored columns", merged("C2:D4"), nil},
		{"a planned cell over ignored ones", merged("B2:D2"), nil},
		{"the header row", merged("A1:D1"), nil},
		{"one cell", merged("B3"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := openBook(t, xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan", Data: rows, After: c.after}}, nil))
			if c.want != nil {
				if got := planError(t, open, planfile.Options{}); !equalProblems(got, c.want) {
					t.Errorf("problems %q,\n want %q", got, c.want)
				}
				return
			}
			if _, got := readRows(t, open, planfile.Options{}); len(got) != 3 || got[1].AgentID.Set() {
				t.Errorf("rows %+v, want three, the second with no agent", got)
			}
		})
	}
}

// TestWorkbookDamaged: a workbook whose cells or rows cannot be what a spreadsheet
// shows is refused, naming the cell or the row, never read as empty cells or lost rows.
func TestWorkbookDamaged(t *testing.T) {
	t.Parallel()
	header := xlsxtest.Row(1, "id", "agent_id")
	sharedCell := func(v string) string {
		return `<row r="2"><c r="A2" t="inlineStr"><is><t>phn_a</t></is></c><c r="B2" t="s"><v>` + v + `</v></c></row>`
	}
	damaged := func(what string) string {
		return "the workbook is damaged (" + what + "); open it in a spreadsheet and save it again"
	}
	cases := []struct {
		name, data string
		want       job.Problem
	}{
		{"a shared string out of range", sharedCell("2"), job.Problem{Line: 2, Reason: damaged("cell B2 refers to shared string 2, but the workbook has 2")}},
		{"a shared string index below 0", sharedCell("-1"), job.Problem{Line: 2, Reason: damaged("cell B2 refers to shared string -1, but the workbook has 2")}},
		{"a shared string index not a number", sharedCell("x1"), job.Problem{Line: 2, Reason: damaged(`cell B2 refers to shared string "x1", which is not a number`)}},
		{"a row twice", xlsxtest.Row(2, "phn_a", "agt_a") + xlsxtest.Row(2, "phn_b", "agt_b"), job.Problem{Line: 2, Reason: damaged("row 2 appears twice")}},
		{"rows backwards", xlsxtest.Row(3, "phn_a", "agt_a") + xlsxtest.Row(2, "phn_b", "agt_b"), job.Problem{Line: 2, Reason: damaged("row 2 comes after row 3")}},
		{"a row number that is none", `<row r="two"></row>`, job.Problem{Line: 2, Reason: damaged(`row number "two" is not a row of a sheet`)}},
		{"cells backwards", `<row r="2"><c r="B2" t="inlineStr"><is><t>agt_a</t></is></c><c r="A2" t="inlineStr"><is><t>phn_a</t></is></c></row>`,
			job.Problem{Line: 2, Reason: damaged("cell A2 comes after B2")}},
		{"a cell in another row", `<row r="2"><c r="A3" t="inlineStr"><is><t>phn_a</t></is></c></row>`, job.Problem{Line: 2, Reason: damaged("cell A3 is in row 2")}},
		{"a cell that is none", `<row r="2"><c r="2A"><v>1</v></c></row>`, job.Problem{Line: 2, Reason: damaged(`cell reference "2A" is not a cell`)}},
		{"a row without its end", `<row r="2"><c r="A2"><v>1</v></c>`, job.Problem{Reason: damaged("xl/worksheets/sheet1.xml: line 1: <row> closed by </sheetData>")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := openBook(t, xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan", Data: header + c.data}}, []string{"agt_a", "agt_b"}))
			if got := planError(t, open, planfile.Options{}); len(got) != 1 || got[0] != c.want {
				t.Errorf("problems %q,\n want %q", got, c.want)
			}
		})
	}
}

// TestWorkbookForms: the forms spreadsheet programs write a sheet in read alike: rows and
// cells with or without their numbers, shared strings plain or in formatted runs (a
// phonetic guide left out), inline strings, formulas' values, strict OOXML's
// namespaces, escaped characters, and numbers however they are written.
func TestWorkbookForms(t *testing.T) {
	t.Parallel()
	want := []job.Row{
		{Line: 2, PhoneNumber: "+442071838750", PhoneBare: true, Agent: set("Sales EMEA"), Nickname: set("London Sales")},
		{Line: 3, PhoneNumber: "+14155550123", Agent: set("billing"), Nickname: set("SF_x")},
		{Line: 5, PhoneNumber: "+912234567890", PhoneBare: true, Agent: set("Support"), Label: set("1")},
	}
	strict := `<x:worksheet xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main"><x:sheetData>` +
		`<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1" t="s"><x:v>2</x:v></x:c><x:c r="D1" t="s"><x:v>3</x:v></x:c></x:row>` +
		`<x:row r="2"><x:c r="A2"><x:v>4.4207183875E11</x:v></x:c><x:c r="B2" t="s"><x:v>4</x:v></x:c><x:c r="C2" t="s"><x:v>5</x:v></x:c></x:row>` +
		`<x:row><x:c t="inlineStr"><x:is><x:r><x:t>+1 415</x:t></x:r><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve"> 555 0123</x:t></x:r></x:is></x:c>` +
		`<x:c t="str"><x:f>LOWER("BILLING")</x:f><x:v>billing</x:v></x:c><x:c t="inlineStr"><x:is><x:t>SF_x005F_x</x:t></x:is></x:c></x:row>` +
		`<x:row r="4" spans="1:4"><x:c r="A4" s="3"/></x:row>` +
		`<x:row r="5"><x:c r="A5" t="n"><x:v>912234567890.0</x:v></x:c><x:c r="B5" t="s"><x:v>6</x:v></x:c><x:c r="D5" t="b"><x:v>1</x:v></x:c></x:row>` +
		`</x:sheetData></x:worksheet>`
	shared := `<sst xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main">` +
		`<si><t>Phone</t></si><si><t>Agent</t></si><si><t>Nickname</t></si><si><t>Label</t></si>` +
		`<si><r><t>Sales</t></r><r><rPr><i/></rPr><t xml:space="preserve"> EMEA</t></r><rPh sb="0" eb="1"><t>セールス</t></rPh></si>` +
		`<si><t>London_x0020_Sales</t></si><si><t>Support</t></si></sst>`
	parts := xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan"}}, []string{})
	parts = xlsxtest.Replace(parts, xlsxtest.Part{Name: "xl/worksheets/sheet1.xml", Head: strict})
	parts = xlsxtest.Replace(parts, xlsxtest.Part{Name: "xl/sharedStrings.xml", Head: shared})
	p, rows := readRows(t, openBook(t, parts), planfile.Options{})
	if !reflect.DeepEqual(rows, want) || p.Invalid != 0 {
		t.Errorf("rows\n got %+v\nwant %+v\nproblems %q", rows, want, p.Problems)
	}
}

// TestWorkbookNumbers: a numeric cell holding a whole number below 10^15 reads as its
// digits, however the file writes it; other numbers as written.
func TestWorkbookNumbers(t *testing.T) {
	t.Parallel()
	cases := []struct{ stored, phone, problem string }{
		{"447911123456", "+447911123456", ""},
		{"4.47911123456E11", "+447911123456", ""},
		{"4.4207183875E+11", "+442071838750", ""},
		{"4.4207183875e11", "+442071838750", ""},
		{"442071838750.0", "+442071838750", ""},
		{"4.47911E+11", "+447911000000", ""}, // the value itself, exact: no digits are lost in a workbook
		{"9.99999999999999E14", "+999999999999999", ""},
		{"1E+15", "", `phone number "1E+15" is in scientific notation`},
	}
	for _, c := range cases {
		t.Run(c.stored, func(t *testing.T) {
			t.Parallel()
			data := xlsxtest.Row(1, "phone", "agent_id") + `<row r="2"><c r="A2"><v>` + c.stored + `</v></c><c r="B2" t="inlineStr"><is><t>agt_a</t></is></c></row>`
			p, rows := readRows(t, openBook(t, sheetOf(data)), planfile.Options{})
			switch {
			case c.problem == "" && (len(rows) != 1 || rows[0].PhoneNumber != c.phone || p.Invalid != 0):
				t.Errorf("rows %+v, problems %q; want phone %s", rows, p.Problems, c.phone)
			case c.problem != "" && (p.Invalid != 1 || !strings.HasPrefix(p.Problems[0].Reason, c.problem)):
				t.Errorf("problems %q, want %q", p.Problems, c.problem)
			}
		})
	}
}

// countdown is a context that ends at its n-th Err call: a signal arriving while the
// plan is read, wherever the reading is.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestWorkbookStopsWithContext: a context that ends while a workbook is read stops the
// reading within a few reads of the file, with the context's error, not a plan's, even
// where the sheet holds no rows (50 MB of elements the sheet may hold).
func TestWorkbookStopsWithContext(t *testing.T) {
	t.Parallel()
	parts := xlsxtest.Replace(sheetOf(""), xlsxtest.Part{Name: "xl/worksheets/sheet1.xml",
		Head:   `<worksheet ` + xlsxtest.Main + `><sheetData>` + xlsxtest.Row(1, "id", "agent_id") + xlsxtest.Row(2, "phn_a", "agt_a") + `</sheetData><extLst>`,
		Filler: "<x/>", Repeat: 12_500_000, Tail: `</extLst></worksheet>`})
	open := openBook(t, parts)
	ctx := &countdown{Context: context.Background()}
	ctx.n.Store(100)
	p, _, err := planfile.Read(ctx, open, planfile.Options{})
	var pe *planfile.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &pe) || p != nil {
		t.Fatalf("Read: %v (plan %v), want the context's error", err, p)
	}
	if left := ctx.n.Load(); left < -5 {
		t.Errorf("Read asked the context %d times after it ended", -left)
	}
}

// TestWorkbookFixturesRead: the workbooks of testdata and the sample read as before,
// from a file and from memory (see TestReadWorkbook); here, the sheet each names.
func TestWorkbookFixturesRead(t *testing.T) {
	t.Parallel()
	for file, sheet := range map[string]string{"testdata/xlsx/openpyxl.xlsx": "Plan", "testdata/xlsx/libreoffice.xlsx": "Plan", "../../samples/plan.xlsx": "Numbers"} {
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}
		p, _ := readRows(t, openFile(file), planfile.Options{})
		if p.Sheet != sheet {
			t.Errorf("%s: sheet %q, want %q", file, p.Sheet, sheet)
		}
	}
}

// FuzzReadWorkbook feeds a workbook's sheet (its rows and what follows them) and its
// shared strings through Read and Each: a plan, or a *Error whose reasons are one line
// each; never a panic, and Each agreeing with Read.
func FuzzReadWorkbook(f *testing.F) {
	strs := xlsxtest.SharedStrings("id", "agent_id", "phn_a", "agt_a", "a_x000D_b")
	header := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`
	for _, seed := range [][3]string{
		{header + `<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>`, "", strs},
		{header + `<row><c t="inlineStr"><is><t>phn_b</t></is></c><c><v>4.4207183875E11</v></c></row>`, "", strs},
		{header + xlsxtest.Row(2, "phn_a", "agt_a") + xlsxtest.Row(3, "phn_b"), `<mergeCells><mergeCell ref="B2:B3"/></mergeCells>`, strs},
		{header + `<row r="3"><c r="B3" t="s"><v>9</v></c></row><row r="2"></row>`, "", strs},
		{header + `<row r="2"><c r="A2" t="s"><v>x</v></c><c r="B2" t="str"><f>1+1</f><v>2</v></c></row>`, "", strs},
		{header + `<row r="2"><c r="A2" t="inlineStr"><is><r><t>phn_</t></r><r><t>c</t></r><rPh><t>x</t></rPh></is></c><c r="B2" t="s"><v>4</v></c></row>`, "", strs},
		{`<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c><c r="C1" t="inlineStr"><is><t>agent</t></is></c></row>` +
			`<row r="5"><c r="A5"><v>447911123456</v></c><c r="C5" t="b"><v>1</v></c></row>`, `<mergeCells><mergeCell ref="A1:B1"/></mergeCells>`, ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, data, after, shared string) {
		parts := xlsxtest.Book([]xlsxtest.Sheet{{Name: "Old", State: "hidden"}, {Name: "Plan", Data: data, After: after}}, []string{})
		parts = xlsxtest.Replace(parts, xlsxtest.Part{Name: "xl/sharedStrings.xml", Head: shared})
		book, err := xlsxtest.Zip(parts)
		if err != nil {
			t.Fatal(err)
		}
		open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(book))), nil }
		p, _, err := planfile.Read(context.Background(), open, planfile.Options{})
		if err != nil {
			var pe *planfile.Error
			if !errors.As(err, &pe) || p != nil || len(pe.Problems) == 0 {
				t.Fatalf("Read: plan %v, error %v; want a *Error alone", p, err)
			}
			for _, x := range pe.Problems {
				if x.Reason == "" || strings.ContainsAny(x.Reason, "\r\n") || x.Line < 0 || x.Line > 1<<20 {
					t.Fatalf("problem %q", x)
				}
			}
			return
		}
		if p.Sheet != "Plan" {
			t.Fatalf("read sheet %q, want the visible one", p.Sheet)
		}
		for _, g := range each(t, p) {
			if g.Row.Line < 1 || g.Row.Line > 1<<20 {
				t.Fatalf("row on line %d", g.Row.Line)
			}
		}
	})
}
