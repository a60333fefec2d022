package planfile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// The first bytes of a workbook: an .xlsx is a zip; a password-protected one (or an old
// .xls) is an OLE2 compound file.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// xlsxRecords reads one sheet of a workbook, row by row, each cell as stored (a number
// as its digits, a formula as its cached value), never as displayed.
type xlsxRecords struct {
	rows *sheetRows
}

// bookCache is what the first pass over a workbook learns, for the passes after it
// (the plan is read to validate it, to send it and, when a person is asked first, to
// count what the question says): the sheet to read
// and the shared strings, read once. Each later pass opens the zip and streams the
// sheet alone.
type bookCache struct {
	sheet   string // the sheet read, as the workbook names it
	part    string // its part in the zip
	strings *sharedStrings
}

// openXLSX opens the workbook in in (a file is read where it is; anything else is read
// whole) and the sheet opts.Sheet names, or the first visible one. Reading stops with
// ctx's error when ctx ends.
func openXLSX(ctx context.Context, in io.Reader, opts Options, book *bookCache) (*xlsxRecords, error) {
	ra, size, err := readerAt(in)
	if err != nil {
		return nil, readErr(err)
	}
	wb, err := openWorkbook(ctx, ra, size)
	if err != nil {
		return nil, err
	}
	if book.part == "" {
		if err := book.fill(wb, opts.Sheet); err != nil {
			return nil, err
		}
	}
	p, err := wb.open(book.part, "sheet "+quoteCell(book.sheet), maxSheetPart)
	if err != nil {
		return nil, err
	}
	return &xlsxRecords{rows: &sheetRows{p: p, strings: book.strings, columns: opts.Columns}}, nil
}

// fill reads the workbook's list of sheets and its shared strings, and picks the sheet
// named sheet (case ignored, as a spreadsheet does), or the first visible one.
func (book *bookCache) fill(wb *workbook, sheet string) error {
	sheets, stringsPart, err := wb.contents()
	if err != nil {
		return err
	}
	s, err := pickSheet(sheets, sheet)
	if err != nil {
		return err
	}
	strs := &sharedStrings{}
	if stringsPart != "" && wb.has(stringsPart) {
		p, err := wb.open(stringsPart, "shared strings", maxStringsPart)
		if err != nil {
			return err
		}
		defer p.close()
		if strs, err = readSharedStrings(p); err != nil {
			return err
		}
	}
	*book = bookCache{sheet: s.name, part: s.part, strings: strs}
	return nil
}

// pickSheet finds the sheet named name; with no name, the first visible sheet of cells.
// A hidden sheet is read only when named: a person sees the visible ones.
func pickSheet(sheets []sheetInfo, name string) (sheetInfo, error) {
	if name == "" {
		for _, s := range sheets {
			if !s.hidden() && s.kind == "worksheet" {
				return s, nil
			}
		}
		if len(sheets) == 0 {
			return sheetInfo{}, damagedBook("it has no sheets")
		}
		return sheetInfo{}, planErr(0, "the workbook has no visible sheet of cells; name the plan's with --sheet (its sheets: %s)", sheetList(sheets))
	}
	for _, s := range sheets {
		if !strings.EqualFold(s.name, name) {
			continue
		}
		switch {
		case s.kind == "":
			return sheetInfo{}, damagedBook("sheet %s has no part", quoteCell(s.name))
		case s.kind != "worksheet":
			return sheetInfo{}, planErr(0, "--sheet %s: the sheet is a %s, not a sheet of cells", quoteCell(name), strings.TrimSuffix(s.kind, "sheet")+" sheet")
		}
		return s, nil
	}
	return sheetInfo{}, planErr(0, "--sheet %s: the workbook has no such sheet (its sheets: %s)", quoteCell(name), sheetList(sheets))
}

// sheetList names the sheets for a message, the hidden ones marked, the first 20.
func sheetList(sheets []sheetInfo) string {
	var names []string
	for i, s := range sheets {
		if i == 20 {
			names = append(names, fmt.Sprintf("and %d more", len(sheets)-i))
			break
		}
		name := s.name
		if s.hidden() {
			name += " (hidden)"
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// readerAt is how the zip reads the workbook: a file where it is, anything else read
// into memory (at most MaxSpool bytes, as a plan from a pipe).
func readerAt(in io.Reader) (io.ReaderAt, int64, error) {
	if f, ok := in.(*os.File); ok {
		st, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		return f, st.Size(), nil
	}
	data, err := io.ReadAll(io.LimitReader(in, MaxSpool+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > MaxSpool {
		return nil, 0, fmt.Errorf("the workbook is larger than %s", sizeText(MaxSpool))
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

// next returns the next row of the sheet that has cells.
func (x *xlsxRecords) next() ([]string, rowMeta, error) {
	cells, line, err := x.rows.next()
	if err != nil {
		return nil, rowMeta{}, err
	}
	return cells, rowMeta{line: line}, nil
}

func (x *xlsxRecords) lineBreak(column, _ string) string {
	return column + " has a line break (Alt+Enter in the cell)"
}

func (x *xlsxRecords) beyond(cells, width int) string {
	return fmt.Sprintf("column %s holds a value, but the header has %d columns", columnName(cells), width)
}

func (x *xlsxRecords) close() error { return x.rows.p.close() }

// openRecords reads what open returns as a workbook or as CSV, by its first bytes. A
// name ending in .xlsx must be a workbook; book keeps what a pass over a workbook
// learns for the next. A workbook's reading stops with ctx's error when ctx ends.
func openRecords(ctx context.Context, rc io.ReadCloser, opts Options, book *bookCache) (records, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	head, _ := br.Peek(len(oleMagic))
	workbookName := strings.HasSuffix(strings.ToLower(opts.Name), ".xlsx")
	switch {
	case bytes.HasPrefix(head, zipMagic):
		var in io.Reader = br
		if f, ok := rc.(*os.File); ok {
			in = f // read where it is, anything else whole
		}
		x, err := openXLSX(ctx, in, opts, book)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return x, nil
	case bytes.HasPrefix(head, oleMagic):
		if encrypted(br) {
			return nil, planErr(0, "the workbook is password-protected; save a copy without the password (File > Info > Protect Workbook in Excel) and give that")
		}
		return nil, planErr(0, "the plan is an old Excel workbook (.xls); save it as .xlsx or as CSV UTF-8")
	case workbookName:
		return nil, planErr(0, "the plan is named .xlsx but is not a workbook; save it from the spreadsheet as .xlsx, or name a CSV file .csv")
	}
	return newCSVRecords(br)
}

// encrypted reports whether an OLE2 file holds an encrypted workbook: one of its
// streams is named EncryptionInfo (in UTF-16, as OLE2 names are).
func encrypted(r io.Reader) bool {
	name := []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00")
	chunk := make([]byte, 64<<10)
	var window []byte
	for read := 0; read < MaxSpool; {
		n, err := r.Read(chunk)
		read += n
		window = append(window, chunk[:n]...)
		if bytes.Contains(window, name) {
			return true
		}
		if err != nil {
			return false
		}
		if keep := len(name) - 1; len(window) > keep {
			window = append(window[:0], window[len(window)-keep:]...) // the name may span two reads
		}
	}
	return false
}
