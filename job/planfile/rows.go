package planfile

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dustin/go-humanize"

	"reassign/job/cell"
)

// records is a plan file as rows of cells: CSV as spreadsheets save it, or a sheet of a
// workbook. Everything after (the header, blank rows, checks, decoding) is shared.
type records interface {
	// next returns the next row's cells as written (valid until the following call) and
	// the line where it starts (a workbook's row number); a row whose cells could not
	// be read comes back unread, with the reason; io.EOF after the last row. An error
	// that ends the reading is a *Error.
	next() ([]string, rowMeta, error)
	// lineBreak says what a line break in a cell means in this format.
	lineBreak(column, cell string) string
	// beyond says what cells past the header's width are in this format.
	beyond(cells, width int) string
	close() error
}

// rowMeta is what is known of a row besides its cells.
type rowMeta struct {
	line     int      // where the row starts in the file (its row number in a sheet)
	problems []string // the reader's: bad quoting, too many cells, control characters
	unread   bool     // the cells could not be read
}

// rowReader reads a plan's rows from its records: it matches the header, skips blank
// rows and checks what every row must be whatever its fields.
type rowReader struct {
	src       records
	nullToken string
	h         *header
	rows      int
	done      bool
	untitled  map[int]bool // the columns with no title that hold a value on some row
}

// header reads up to the first row with text, and matches it to the fields.
func (d *rowReader) header(cols Columns, ignore Titles) (*header, error) {
	for {
		cells, m, err := d.src.next()
		if errors.Is(err, io.EOF) {
			return nil, planErr(0, "the plan is empty: it needs a header line naming an id or phone number column")
		}
		if err != nil {
			return nil, err
		}
		if m.unread {
			return nil, planErr(m.line, "header: %s", m.problems[0])
		}
		names := make([]string, len(cells))
		blank := true
		for i, c := range cells {
			names[i] = strings.TrimSpace(c)
			blank = blank && names[i] == ""
			if len(c) > MaxCell {
				return nil, planErr(m.line, "header: cell %d is %s, more than the %s a plan cell may hold", i+1, humanize.Comma(int64(len(c)))+" bytes", sizeText(MaxCell))
			}
		}
		if blank {
			continue
		}
		d.h, err = matchHeader(names, m.line, cols, ignore)
		return d.h, err
	}
}

// next returns the next row with text (its cells as written, no more than the header
// has), with what else is known of it; io.EOF after the last.
func (d *rowReader) next() ([]string, rowMeta, error) {
	width := len(d.h.names)
	for !d.done {
		cells, m, err := d.src.next()
		if errors.Is(err, io.EOF) {
			d.done = true
			break
		}
		if err != nil {
			return nil, rowMeta{}, err
		}
		if m.unread {
			d.rows++
			return nil, m, nil
		}
		blank := true
		for i, c := range cells {
			if len(c) > MaxCell {
				m.problems = append(m.problems, fmt.Sprintf("%s is %s, more than the %s a plan cell may hold", d.column(i), humanize.Comma(int64(len(c)))+" bytes", sizeText(MaxCell)))
				m.unread, blank = true, false
			} else if v, _ := cell.Unescape(c, d.nullToken); v != "" {
				blank = false
				if i < width && d.h.kinds[i] == columnBlank {
					d.untitled[i] = true // its cells are read by nobody: Plan.Ignored says so
				}
			}
		}
		if blank {
			continue
		}
		d.rows++
		if m.unread {
			return nil, m, nil
		}
		if len(cells) > width {
			m.problems = append(m.problems, d.src.beyond(len(cells), width))
		}
		for i, c := range cells {
			v, marked := cell.Unescape(c, d.nullToken)
			if marked {
				continue // the job wrote its control characters, escaped
			}
			switch j := strings.IndexFunc(v, cell.IsControl); {
			case j < 0:
			case strings.Contains(v, "\n"):
				m.problems = append(m.problems, d.src.lineBreak(d.column(i), v))
			default:
				m.problems = append(m.problems, fmt.Sprintf("%s has a control character (%U)", d.column(i), []rune(v[j:])[0]))
			}
		}
		return cells[:min(len(cells), width)], m, nil
	}
	return nil, rowMeta{}, io.EOF
}

// column names column i in a message: its header, or its place past the header.
func (d *rowReader) column(i int) string {
	if i < len(d.h.names) && d.h.names[i] != "" {
		return d.h.show(i)
	}
	return fmt.Sprintf("cell %d", i+1)
}

// batchRows and batchBytes bound what planBatch hands gocsv at a time.
const (
	batchRows  = 256
	batchBytes = 1 << 20
)

// planBatch is gocsv's Decoder for the next rows of a plan: each GetCSVRows returns the
// header (the fields, "" for the columns the job does not read) and up to batchRows
// rows (none once the plan is read to the end), and meta holds what else is known of
// each of those rows. The storage is reused from one batch to the next: gocsv has
// copied the cells out by then.
type planBatch struct {
	d     *rowReader
	rows  [][]string
	cells []string // backs rows
	meta  []rowMeta
	err   error // met after the rows of this batch: returned by the next call
}

func (b *planBatch) GetCSVRows() ([][]string, error) {
	if b.err != nil {
		return nil, b.err
	}
	b.rows, b.cells, b.meta = append(b.rows[:0], b.d.h.fields), b.cells[:0], b.meta[:0]
	size := 0
	for len(b.meta) < batchRows && size < batchBytes {
		rec, m, err := b.d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(b.meta) == 0 {
				return nil, err
			}
			b.err = err // the rows before it still count
			break
		}
		at := len(b.cells)
		b.cells = append(b.cells, rec...)
		for _, c := range rec {
			size += len(c)
		}
		b.rows = append(b.rows, b.cells[at:len(b.cells):len(b.cells)])
		b.meta = append(b.meta, m)
	}
	return b.rows, nil
}
