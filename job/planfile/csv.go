package planfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// csvRecords reads a CSV plan from an encoding/csv reader we own: it detects the
// delimiter, checks the encoding, bounds rows and cells, and keeps the physical line
// numbers that gocsv would lose.
type csvRecords struct {
	r        *csv.Reader
	utf8     *utf8Lines // what the csv.Reader reads, checked
	lastLine int        // the line where the last record read ends
	header   bool       // a row with text has been read: the header
}

func newCSVRecords(br *bufio.Reader) (*csvRecords, error) {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, planErr(0, `the plan is UTF-16 text (Excel's "Unicode Text"); save it as "CSV UTF-8" and try again`)
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	}
	delim, err := detectDelimiter(br)
	if err != nil {
		return nil, err
	}
	u := &utf8Lines{r: br, line: 1}
	r := csv.NewReader(u)
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvRecords{r: r, utf8: u}, nil
}

func (c *csvRecords) close() error { return nil }

// A line break in a CSV cell comes from quotes, most often one left open.
func (c *csvRecords) lineBreak(column string, cell string) string {
	return fmt.Sprintf("%s runs over %d lines (a quote left open?)", column, strings.Count(cell, "\n")+1)
}

func (c *csvRecords) beyond(cells, width int) string {
	return fmt.Sprintf("%d cells, but the header has %d", cells, width)
}

// detectDelimiter picks `,`, `;` or tab: whichever occurs most often, outside quotes,
// in the first non-blank line.
func detectDelimiter(br *bufio.Reader) (rune, error) {
	peek, err := br.Peek(br.Size())
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, err
	}
	counts := map[rune]int{}
	inQuote, seen := false, false
	for _, c := range string(peek) {
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' && seen {
			break
		}
		if c == ',' || c == ';' || c == '\t' {
			counts[c]++
		}
		if !unicode.IsSpace(c) {
			seen = true
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best, nil
}

// next reads the next record, within the bounds of a plan row: a row of more than
// MaxRow bytes ends the reading (a *Error). A record encoding/csv cannot split is unread too, unless the reader lost
// track of the rows (a quote never closed), which ends the reading.
func (c *csvRecords) next() ([]string, rowMeta, error) {
	start := c.r.InputOffset()
	c.utf8.recStart = start
	rec, err := c.r.Read()
	if c.utf8.badLine > 0 {
		// Checked before anything else: the bytes read so far, this record's and a
		// little more, hold text that is not UTF-8, and the whole file is refused.
		return nil, rowMeta{}, notUTF8(c.utf8.badLine)
	}
	if errors.Is(err, errRowTooLong) || err == nil && c.r.InputOffset()-start > MaxRow {
		return nil, rowMeta{}, rowTooLong(c.lastLine + 1)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		c.lastLine = pe.Line
		reason, lost := c.parseReason(pe)
		if lost {
			// A quote left open swallows the lines after it: which rows they held
			// cannot be known, so the plan as a whole is refused.
			if !c.header {
				reason = "header: " + reason
			}
			return nil, rowMeta{}, planErr(pe.StartLine, "%s", reason)
		}
		return nil, rowMeta{line: pe.StartLine, problems: []string{reason}, unread: true}, nil
	}
	if err != nil {
		return nil, rowMeta{}, err
	}
	// Only now: FieldPos panics when a parse error left no field behind.
	line, _ := c.r.FieldPos(0)
	c.lastLine = line
	text := false
	for _, cell := range rec {
		c.lastLine += strings.Count(cell, "\n")
		text = text || strings.TrimSpace(cell) != ""
	}
	if text && !c.header {
		c.header = true
		if strings.ContainsRune(strings.Join(rec, ""), '\r') {
			return nil, rowMeta{}, planErr(line, `lines end in a bare carriage return (old Mac format); save the spreadsheet as "CSV UTF-8" and try again`)
		}
	}
	return rec, rowMeta{line: line}, nil
}

// utf8Lines passes the plan's bytes through and remembers the first line holding
// bytes that are not UTF-8. It sees every byte, whether or not the csv.Reader can make a
// record of it (a bad byte in a row with a stray quote is still found), and it sees
// them once, however the bytes are split between reads.
// It also knows where the last line starts, which tells a quote left open at the end of
// the file from a stray one (see parseReason).
type utf8Lines struct {
	r       io.Reader
	line    int    // line of the next byte, from 1
	carry   []byte // the start of a character cut by the end of the last read
	badLine int    // first line with bytes that are not UTF-8; 0 while none

	n                   int64 // bytes read
	lineStart, prevLine int64 // offsets where the current and the previous line start
	end                 bool  // the underlying reader has nothing more
	// recStart is where the record being read starts: the reading stops once that
	// record runs far past MaxRow, before encoding/csv has buffered it all.
	recStart int64
}

// rowSlack is what the csv.Reader may have read past the record it returns.
const rowSlack = 64 << 10

func (u *utf8Lines) Read(p []byte) (int, error) {
	if u.n-u.recStart > MaxRow+rowSlack {
		return 0, errRowTooLong
	}
	n, err := u.r.Read(p)
	if u.badLine == 0 {
		u.check(p[:n], err != nil)
	}
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		u.prevLine, u.lineStart = u.lineStart, u.n+int64(i)
	}
	u.n += int64(n)
	u.end = u.end || err != nil
	return n, err
}

// lastLineLen is the length in bytes of the file's last line, its line end included,
// once the whole file is read; -1 before.
func (u *utf8Lines) lastLineLen() int64 {
	switch {
	case !u.end:
		return -1
	case u.lineStart == u.n: // the file ends with a line end
		return u.n - u.prevLine
	default:
		return u.n - u.lineStart
	}
}

// atEOF reports whether r has consumed every byte of the file.
func (u *utf8Lines) atEOF(r *csv.Reader) bool {
	return u.end && r.InputOffset() == u.n
}

func (u *utf8Lines) check(b []byte, end bool) {
	if len(u.carry) > 0 {
		b = append(u.carry, b...)
		u.carry = nil
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '\n' {
				u.line++
			}
			i++
			continue
		}
		if !end && !utf8.FullRune(b[i:]) {
			u.carry = append([]byte(nil), b[i:]...)
			return
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			u.badLine = u.line
			return
		}
		i += size
	}
}

func notUTF8(line int) *Error {
	return planErr(line, `not UTF-8 text (the file looks like a Windows-1252 or Latin-1 export); save the spreadsheet as "CSV UTF-8" and try again`)
}

// parseReason says why encoding/csv could not read a record, and whether the reader
// lost track of the rows (a quote never closed).
func (c *csvRecords) parseReason(pe *csv.ParseError) (reason string, lost bool) {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a " inside a cell that is not quoted (quote the whole cell and double the inner ", as "a ""b"" c")`, false
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		return fmt.Sprintf("a quoted cell opened on this line is not closed properly (the reader got lost at line %d); check the quotes", pe.Line), true
	case errors.Is(pe.Err, csv.ErrQuote) && c.utf8.atEOF(c.r) && int64(pe.Column) >= c.utf8.lastLineLen():
		// The error is on the file's last line. encoding/csv gives a quote that is
		// still open at the end of the file the column just past the end of that
		// line; a closing quote followed by text, the column of that quote, which
		// has at least one byte after it.
		return "a quoted cell opened on this line is never closed (the file ends inside it); check the quotes", true
	case errors.Is(pe.Err, csv.ErrQuote):
		return `a quoted cell is followed by text before the next delimiter`, false
	default:
		return pe.Err.Error(), false
	}
}
