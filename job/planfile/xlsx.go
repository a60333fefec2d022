package planfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xuri/excelize/v2"
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
	f    *excelize.File
	rows *excelize.Rows
	line int
}

// openXLSX opens the workbook in in (a file is read where it is; anything else is read
// whole) and the sheet named sheet, or the first.
func openXLSX(in io.Reader, sheet string) (_ *xlsxRecords, err error) {
	defer damaged(0, &err)
	opts := excelize.Options{RawCellValue: true, UnzipSizeLimit: MaxSpool}
	var f *excelize.File
	if file, ok := in.(*os.File); ok {
		f, err = excelize.OpenFile(file.Name(), opts)
	} else {
		f, err = excelize.OpenReader(in, opts)
	}
	if err != nil {
		return nil, planErr(0, "the plan is not a workbook Excel or LibreOffice can open as .xlsx (%v); save it again as .xlsx, or as CSV UTF-8", err)
	}
	if sheet == "" {
		sheet = f.GetSheetName(0)
	} else if idx, _ := f.GetSheetIndex(sheet); idx < 0 {
		f.Close()
		return nil, planErr(0, "--sheet %s: the workbook has no such sheet (its sheets: %s)", quoteCell(sheet), strings.Join(f.GetSheetList(), ", "))
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, planErr(0, "read sheet %s: %v", quoteCell(sheet), err)
	}
	return &xlsxRecords{f: f, rows: rows}, nil
}

// next returns the next row of the sheet; the sheet's empty rows come back with no
// cells.
func (x *xlsxRecords) next() (_ []string, _ rowMeta, err error) {
	defer damaged(x.line+1, &err)
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, rowMeta{}, planErr(x.line+1, "read the sheet: %v", err)
		}
		return nil, rowMeta{}, io.EOF
	}
	x.line++ // Next steps one row of the sheet at a time, empty ones included
	cells, err := x.rows.Columns()
	if err != nil {
		return nil, rowMeta{}, planErr(x.line, "read the sheet: %v", err)
	}
	size := 0
	for _, c := range cells {
		size += len(c)
	}
	if size > MaxRow {
		return nil, rowMeta{}, rowTooLong(x.line)
	}
	return cells, rowMeta{line: x.line}, nil
}

// damaged turns a panic of the workbook library over a damaged file into the plan's
// error: a bad plan is a message and exit 65, never a crash.
func damaged(line int, err *error) {
	if r := recover(); r != nil {
		*err = planErr(line, "the workbook is damaged (%v); open it in a spreadsheet and save it again", r)
	}
}

func (x *xlsxRecords) lineBreak(column, _ string) string {
	return column + " has a line break (Alt+Enter in the cell)"
}

func (x *xlsxRecords) beyond(cells, width int) string {
	col, _ := excelize.ColumnNumberToName(cells)
	return fmt.Sprintf("column %s holds a value, but the header has %d columns", col, width)
}

func (x *xlsxRecords) close() error {
	return errors.Join(x.rows.Close(), x.f.Close())
}

// openRecords reads what open returns as a workbook or as CSV, by its first bytes. A
// name ending in .xlsx must be a workbook.
func openRecords(rc io.ReadCloser, opts Options) (records, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	head, _ := br.Peek(len(oleMagic))
	workbookName := strings.HasSuffix(strings.ToLower(opts.Name), ".xlsx")
	switch {
	case bytes.HasPrefix(head, zipMagic):
		var in io.Reader = br
		if f, ok := rc.(*os.File); ok {
			in = f // excelize reads a file where it is, anything else whole
		}
		return openXLSX(in, opts.Sheet)
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
