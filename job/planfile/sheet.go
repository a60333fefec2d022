package planfile

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// The most rows and columns a sheet has (Excel's).
const (
	maxSheetRows = 1 << 20
	maxSheetCols = 1 << 14
)

// sheetRows streams the rows of a sheet's part: each row's cells as stored (a shared
// string as its text, a number as its digits, a formula as its cached value), in one
// pass that also reads what the sheet says after its rows (merged cells). A sheet the
// job would read differently from how a spreadsheet shows it is refused: rows out of
// order, a shared string that is not there, merged cells over a planned column.
type sheetRows struct {
	p       *xmlPart
	strings *sharedStrings
	columns Columns // --columns, to know the planned columns as the header reader does

	row     int      // the number of the row read last
	col     int      // the column of the cell read last in it
	text    []byte   // the row's cells' text, one after another
	ends    []int    // where each column's text ends in text (by column, 0-based)
	cells   []string // the row as next returns it
	cell    cellXML  // the cell being read
	header  *header  // the plan's header row, once read
	rowsEnd bool     // the sheet's rows (sheetData) are behind
	done    bool     // the whole sheet is read
	merged  int      // merged ranges over planned columns
	problem *Error   // the first of them
}

// cellXML is what one c element holds.
type cellXML struct {
	ref, typ string
	v, is    []byte // its v text; its inline string's text (is/t, is/r/t)
	inlined  bool   // it has an is element
}

// next returns the next row that has cells, with its number; io.EOF after the last.
func (s *sheetRows) next() ([]string, int, error) {
	for !s.done {
		t, err := s.p.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.row, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if err := s.start(t); err != nil {
				return nil, s.row, err
			}
		case xml.EndElement:
			switch {
			case t.Name.Local == "c" && s.p.in("sheetData", "row"):
				if err := s.endCell(); err != nil {
					return nil, s.row, err
				}
			case t.Name.Local == "row" && s.p.in("sheetData"):
				if cells := s.endRow(); len(cells) > 0 {
					return cells, s.row, nil
				}
			case t.Name.Local == "sheetData":
				s.rowsEnd = true
			}
		case xml.CharData:
			s.addText(t)
			if len(s.text)+len(s.cell.v)+len(s.cell.is) > MaxRow {
				return nil, s.row, rowTooLong(s.row)
			}
		}
	}
	s.done = true
	if s.problem != nil {
		if s.merged > 1 {
			s.problem.Problems[0].Reason += fmt.Sprintf(" (and %d more merged ranges over planned columns)", s.merged-1)
		}
		return nil, s.row, s.problem
	}
	return nil, s.row, io.EOF
}

func (s *sheetRows) start(t xml.StartElement) error {
	switch {
	case t.Name.Local == "row" && s.p.in("sheetData", "row"):
		n := s.row + 1
		if r, ok := attr(t, "r"); ok {
			v, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil || v < 1 || v > maxSheetRows {
				return damagedAt(s.row+1, "row number %s is not a row of a sheet", quoteCell(r))
			}
			n = v
		}
		switch {
		case n == s.row:
			return damagedAt(n, "row %d appears twice", n)
		case n < s.row:
			return damagedAt(n, "row %d comes after row %d", n, s.row)
		}
		s.row, s.col = n, 0
		s.text, s.ends = s.text[:0], s.ends[:0]
	case t.Name.Local == "c" && s.p.in("row", "c"):
		s.cell = cellXML{v: s.cell.v[:0], is: s.cell.is[:0]}
		s.cell.ref, _ = attr(t, "r")
		s.cell.typ, _ = attr(t, "t")
	case t.Name.Local == "is" && s.p.in("c", "is"):
		s.cell.inlined = true
	case t.Name.Local == "mergeCell" && s.p.in("mergeCells", "mergeCell"):
		ref, _ := attr(t, "ref")
		return s.checkMerge(ref)
	}
	return nil
}

// addText adds text to the cell being read, where it is a value.
func (s *sheetRows) addText(t xml.CharData) {
	switch {
	case s.p.in("c", "v"):
		s.cell.v = append(s.cell.v, t...)
	case s.p.in("c", "is", "t"), s.p.in("c", "is", "r", "t"):
		s.cell.is = append(s.cell.is, t...)
	}
}

// endCell puts the cell just read in its column: its value as stored, what a
// spreadsheet shows without the formatting.
func (s *sheetRows) endCell() error {
	c := &s.cell
	col := s.col + 1
	if c.ref != "" {
		cc, row, ok := parseRef(c.ref)
		switch {
		case !ok:
			return damagedAt(s.row, "cell reference %s is not a cell", quoteCell(c.ref))
		case row != s.row:
			return damagedAt(s.row, "cell %s is in row %d", c.ref, s.row)
		}
		col = cc
	}
	switch {
	case col > maxSheetCols:
		return damagedAt(s.row, "row %d has a cell past the last column", s.row)
	case col <= s.col:
		return damagedAt(s.row, "cell %s comes after %s", cellName(col, s.row), cellName(s.col, s.row))
	}
	s.col = col
	for len(s.ends) < col-1 {
		s.ends = append(s.ends, len(s.text)) // the empty cells before it
	}
	switch {
	case c.typ == "s":
		if len(c.v) == 0 {
			break // a cell with a format and no text
		}
		v := string(c.v)
		i, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			return damagedAt(s.row, "cell %s refers to shared string %s, which is not a number", cellName(col, s.row), quoteCell(v))
		case i < 0 || i >= s.strings.count():
			return damagedAt(s.row, "cell %s refers to shared string %d, but the workbook has %s", cellName(col, s.row), i, humanize.Comma(int64(s.strings.count())))
		}
		s.text = s.strings.appendTo(s.text, i)
	case c.typ == "inlineStr" && c.inlined:
		s.text = append(s.text, unescapeX(c.is)...)
	case c.typ == "inlineStr", c.typ == "str":
		s.text = append(s.text, unescapeX(c.v)...)
	case c.typ == "" || c.typ == "n":
		s.text = append(s.text, numberText(c.v)...)
	default: // b (0 or 1), e (#N/A), d (an ISO 8601 date): as stored
		s.text = append(s.text, c.v...)
	}
	s.ends = append(s.ends, len(s.text))
	if len(s.text) > MaxRow {
		return rowTooLong(s.row)
	}
	return nil
}

// endRow returns the row just read, without its empty cells at the end.
func (s *sheetRows) endRow() []string {
	n := len(s.ends)
	for n > 0 && s.ends[n-1] == s.cellStart(n-1) {
		n--
	}
	if n == 0 {
		return nil
	}
	text := string(s.text[:s.ends[n-1]])
	s.cells = s.cells[:0]
	for i := range n {
		s.cells = append(s.cells, text[s.cellStart(i):s.ends[i]])
	}
	if s.header == nil {
		s.readHeader()
	}
	return s.cells
}

// cellStart is where column i's text starts in the row's.
func (s *sheetRows) cellStart(i int) int {
	if i == 0 {
		return 0
	}
	return s.ends[i-1]
}

// readHeader matches the sheet's first row with text to the fields, as the plan's
// header: merged cells are refused where they cover the columns it plans.
func (s *sheetRows) readHeader() {
	names := make([]string, len(s.cells))
	blank := true
	for i, c := range s.cells {
		names[i] = strings.TrimSpace(c)
		blank = blank && names[i] == ""
	}
	if blank {
		return
	}
	h, err := mapHeader(names, s.row, s.columns, nil)
	if err != nil {
		h = &header{line: s.row} // the plan is refused for its header: no column is planned
	}
	s.header = h
}

// checkMerge refuses a merged range whose hidden cells (all but its first) lie below
// the header in a planned column: a spreadsheet shows its value on every row of the
// range, but the file stores it in the first cell only, so the other rows would be
// read empty.
func (s *sheetRows) checkMerge(ref string) error {
	from, to, _ := strings.Cut(ref, ":")
	c1, r1, ok1 := parseRef(from)
	c2, r2, ok2 := parseRef(to)
	if to == "" {
		c2, r2, ok2 = c1, r1, ok1 // a range of one cell
	}
	c1, c2 = min(c1, c2), max(c1, c2)
	r1, r2 = min(r1, r2), max(r1, r2)
	switch {
	case !ok1 || !ok2:
		return damagedAt(0, "merged range %s is not a range of cells", quoteCell(ref))
	case !s.rowsEnd:
		return damagedAt(0, "merged cells %s come before the sheet's rows", ref)
	}
	if s.header == nil || r2 <= s.header.line {
		return nil
	}
	for i, f := range s.header.fields {
		col := i + 1
		if f == "" || col < c1 || col > c2 || col == c1 && r2 == r1 {
			continue
		}
		s.merged++
		if s.problem == nil {
			s.problem = planErr(r1, "merged cells %s cover the %s column: a spreadsheet shows their one value on each of their rows, but stores it in the first cell only; unmerge them and fill each row in", ref, s.header.show(i))
		}
		return nil
	}
	return nil
}

// numberText is a numeric cell's value as the plan reads it: a whole number below 10^15
// (which a double holds exactly) as its digits however the file writes it
// (4.4207183875E11, as Java-based exports do), anything else as stored.
func numberText(v []byte) []byte {
	if !bytes.ContainsAny(v, ".eE") {
		return v
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1e15 {
		return v
	}
	return strconv.AppendInt(nil, int64(f), 10)
}

// parseRef reads a cell reference such as B7 (its letters in either case): its column
// and row, from 1.
func parseRef(ref string) (col, row int, ok bool) {
	letters := 0
	for ; letters < len(ref) && letters < 4; letters++ {
		c := ref[letters] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
	}
	digits := ref[letters:]
	if letters == 0 || col > maxSheetCols || digits == "" || digits[0] < '0' || digits[0] > '9' {
		return 0, 0, false
	}
	row, err := strconv.Atoi(digits)
	if err != nil || row < 1 || row > maxSheetRows {
		return 0, 0, false
	}
	return col, row, true
}

// columnName names column n (from 1) as a spreadsheet does: A, Z, AA, XFD.
func columnName(n int) string {
	var b []byte
	for ; n > 0; n = (n - 1) / 26 {
		b = append([]byte{byte('A' + (n-1)%26)}, b...)
	}
	return string(b)
}

func cellName(col, row int) string { return columnName(col) + strconv.Itoa(row) }
