package planfile

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// The bounds on a workbook (docs/plan.md, "Workbook bounds"). Each is far above what a plan of
// 200,000 rows needs: a report of 22 columns and that many rows, saved by LibreOffice,
// has a sheet of 184 MiB and shared strings of 58 MiB (a million strings, 23 MiB of
// text); saved by openpyxl, which keeps the text in the sheet, a sheet of 244 MiB.
// Together they keep a workbook that is small on disk and huge unpacked from taking
// the job's memory, or its time. A bigger plan is saved as CSV.
const (
	maxDirectory   = 2 << 20   // bytes of the zip's directory read: some 25,000 parts
	maxIndexPart   = 16 << 20  // bytes of the workbook's list of sheets, or of a list of its parts
	maxSheetPart   = 512 << 20 // bytes of the sheet read, unpacked
	maxStringsPart = 256 << 20 // bytes of the shared strings, unpacked, formatting and all
	maxStringsText = 64 << 20  // bytes of text the shared strings hold
	maxStrings     = 5_000_000 // shared strings: a different one in each cell of 200,000 rows of 22 columns
	maxToken       = MaxRow    // bytes of one piece of XML: a tag, or a text between two tags
	maxDepth       = 64        // elements open at once
)

// The bounds reads stop at.
var (
	errDirectory    = errors.New("directory too large")
	errTokenTooLong = errors.New("token too long")
	errPartTooLarge = errors.New("part too large")
)

// bookFile is the workbook's file as archive/zip reads it. Every read fails once ctx
// has ended, so that a signal abandons a workbook wherever its reading is (inflating
// reads the file 4 KiB at a time); and while budget is not negative, reads stop
// after budget bytes (the zip's directory, read when the workbook opens).
type bookFile struct {
	ctx    context.Context
	r      io.ReaderAt
	budget int64
}

func (f *bookFile) ReadAt(b []byte, off int64) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	if f.budget >= 0 {
		if int64(len(b)) > f.budget {
			return 0, errDirectory
		}
		f.budget -= int64(len(b))
	}
	return f.r.ReadAt(b, off)
}

// workbook is an opened .xlsx: its parts by name.
type workbook struct {
	ctx   context.Context
	parts map[string]*zip.File // by name in lower case: part names ignore case
}

// openWorkbook opens the zip in r (size bytes), reading at most maxDirectory bytes of
// its directory.
func openWorkbook(ctx context.Context, r io.ReaderAt, size int64) (*workbook, error) {
	f := &bookFile{ctx: ctx, r: r, budget: maxDirectory + 128<<10} // and the search for its end
	zr, err := zip.NewReader(f, size)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("read plan: %w", ctx.Err())
	case errors.Is(err, errDirectory):
		return nil, planErr(0, "the workbook's zip directory is more than %s, the most the job reads of one (a workbook of that many parts is not a plan); save the plan as CSV", sizeText(maxDirectory))
	case err != nil && !errors.Is(err, zip.ErrInsecurePath): // names are only looked up, never written to
		return nil, planErr(0, "the plan is not a workbook Excel or LibreOffice can open as .xlsx (%v); save it again as .xlsx, or as CSV UTF-8", err)
	}
	f.budget = -1
	wb := &workbook{ctx: ctx, parts: make(map[string]*zip.File, len(zr.File))}
	for _, zf := range zr.File {
		name := strings.ToLower(strings.TrimPrefix(zf.Name, "/"))
		if _, dup := wb.parts[name]; !dup {
			wb.parts[name] = zf
		}
	}
	return wb, nil
}

// has reports whether the workbook holds the part name.
func (wb *workbook) has(name string) bool {
	_, ok := wb.parts[strings.ToLower(name)]
	return ok
}

// open opens the part name for reading as XML, refusing one that unpacks to more than
// limit bytes; what names it in messages.
func (wb *workbook) open(name, what string, limit int64) (*xmlPart, error) {
	zf, ok := wb.parts[strings.ToLower(name)]
	if !ok {
		return nil, damagedBook("it has no %s (%s)", what, name)
	}
	p := &xmlPart{name: zf.Name, what: what, size: int64(zf.UncompressedSize64), limit: limit, ctx: wb.ctx}
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, p.tooLarge()
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, p.fail(err)
	}
	p.rc, p.br = rc, bufio.NewReaderSize(rc, 64<<10)
	p.d = xml.NewDecoder(p)
	return p, nil
}

// damagedBook is a workbook whose parts do not make a workbook.
func damagedBook(format string, args ...any) *Error { return damagedAt(0, format, args...) }

// damagedAt is a workbook whose sheet, at line, cannot be what a spreadsheet shows.
func damagedAt(line int, format string, args ...any) *Error {
	return planErr(line, "the workbook is damaged (%s); open it in a spreadsheet and save it again", fmt.Sprintf(format, args...))
}

// xmlPart is one part of a workbook read as XML tokens, within bounds: no more bytes
// than limit (whatever the zip declares; archive/zip also stops at what it declares),
// no token longer than maxToken bytes, so that encoding/xml never builds a giant one
// (a cell of 300 MB, 900 MB of blanks), and no more than maxDepth elements open. Only
// local names count, so that the namespaces of strict OOXML read as well.
type xmlPart struct {
	name, what string // the part's name in the zip, and what it is, for messages
	size       int64  // its unpacked size, as the zip declares it
	limit      int64  // the bytes it may unpack to
	ctx        context.Context

	rc     io.ReadCloser
	br     *bufio.Reader
	d      *xml.Decoder
	read   int64    // bytes read so far
	tok    int      // bytes read since the current token began
	tokens int      // tokens read so far
	over   error    // the bound that stopped the reading
	path   []string // local names of the elements open
}

// ReadByte is what the XML decoder reads through, a byte at a time.
func (p *xmlPart) ReadByte() (byte, error) {
	switch {
	case p.tok >= maxToken:
		p.over = errTokenTooLong
		return 0, p.over
	case p.read >= p.limit:
		p.over = errPartTooLarge
		return 0, p.over
	}
	b, err := p.br.ReadByte()
	if err == nil {
		p.tok++
		p.read++
	}
	return b, err
}

// Read is there for xml.NewDecoder's signature: the decoder reads through ReadByte.
func (p *xmlPart) Read(b []byte) (int, error) {
	for i := range b {
		c, err := p.ReadByte()
		if err != nil {
			return i, err
		}
		b[i] = c
	}
	return len(b), nil
}

func (p *xmlPart) close() error { return p.rc.Close() }

// next returns the next element start or end, or text, with path updated: after a
// start it ends with that element, after an end it no longer does. Comments,
// processing instructions and directives are passed over. The text is valid until
// the next call.
func (p *xmlPart) next() (xml.Token, error) {
	for {
		if p.tokens++; p.tokens%1024 == 0 && p.ctx.Err() != nil {
			// Also checked at each read of the file, but a few kilobytes of it can
			// unpack to megabytes of small elements.
			return nil, fmt.Errorf("read plan: %w", p.ctx.Err())
		}
		p.tok = 0
		t, err := p.d.RawToken()
		if errors.Is(err, io.EOF) && p.over == nil && p.ctx.Err() == nil {
			if len(p.path) > 0 {
				return nil, damagedBook("%s ends inside <%s>", p.name, p.path[len(p.path)-1])
			}
			return nil, io.EOF
		}
		if err != nil || p.over != nil {
			return nil, p.fail(err) // a text cut short by a bound comes back before the error
		}
		switch t := t.(type) {
		case xml.StartElement:
			if len(p.path) >= maxDepth {
				return nil, p.fail(fmt.Errorf("more than %d elements nested", maxDepth))
			}
			p.path = append(p.path, t.Name.Local)
			return t, nil
		case xml.EndElement:
			switch {
			case len(p.path) == 0:
				return nil, p.fail(fmt.Errorf("line %d: </%s> closes nothing", p.line(), t.Name.Local))
			case p.path[len(p.path)-1] != t.Name.Local:
				return nil, p.fail(fmt.Errorf("line %d: <%s> closed by </%s>", p.line(), p.path[len(p.path)-1], t.Name.Local))
			}
			p.path = p.path[:len(p.path)-1]
			return t, nil
		case xml.CharData:
			return t, nil
		}
	}
}

// in reports whether the innermost open elements are names, outermost first.
func (p *xmlPart) in(names ...string) bool {
	if len(p.path) < len(names) {
		return false
	}
	for i, n := range p.path[len(p.path)-len(names):] {
		if n != names[i] {
			return false
		}
	}
	return true
}

func (p *xmlPart) line() int {
	line, _ := p.d.InputPos()
	return line
}

// fail is the plan's error for err, met reading the part: a bound, ctx's end, or a
// part that is not XML.
func (p *xmlPart) fail(err error) error {
	switch {
	case p.ctx.Err() != nil:
		return fmt.Errorf("read plan: %w", p.ctx.Err())
	case p.over == errTokenTooLong:
		return planErr(0, "the workbook's part %s (its %s, %s unpacked) holds more than %s in one piece (a cell's text, or blanks between cells): more than a plan row may hold (not a plan?)", p.name, p.what, sizeText(p.size), sizeText(maxToken))
	case p.over != nil:
		return p.tooLarge()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%s ends early", p.name)
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrAlgorithm):
		err = fmt.Errorf("%s: %v", p.name, err)
	default:
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			err = fmt.Errorf("%s is not XML: line %d: %s", p.name, se.Line, se.Msg)
		} else {
			err = fmt.Errorf("%s: %v", p.name, err)
		}
	}
	return damagedBook("%v", err)
}

func (p *xmlPart) tooLarge() error {
	return planErr(0, "the workbook's part %s (its %s) unpacks to %s, more than the %s the job reads of one; save the plan as CSV", p.name, p.what, sizeText(max(p.size, p.read)), sizeText(p.limit))
}

// attr returns the value of the attribute whose local name is name.
func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// relationship is one entry of a part's list of parts it refers to.
type relationship struct {
	kind   string // the last word of its type: worksheet, sharedStrings, officeDocument...
	target string // the part's name in the zip
}

// relsOf reads the relationships of the part name (its _rels/NAME.rels), by id; a part
// without any has none.
func (wb *workbook) relsOf(name string) (map[string]relationship, error) {
	dir, file := path.Split(name)
	relsName := dir + "_rels/" + file + ".rels"
	rels := map[string]relationship{}
	if !wb.has(relsName) {
		return rels, nil
	}
	p, err := wb.open(relsName, "list of parts", maxIndexPart)
	if err != nil {
		return nil, err
	}
	defer p.close()
	for {
		t, err := p.next()
		if errors.Is(err, io.EOF) {
			return rels, nil
		}
		if err != nil {
			return nil, err
		}
		start, ok := t.(xml.StartElement)
		if !ok || !p.in("Relationships", "Relationship") {
			continue
		}
		id, _ := attr(start, "Id")
		typ, _ := attr(start, "Type")
		target, _ := attr(start, "Target")
		if mode, _ := attr(start, "TargetMode"); mode == "External" || id == "" {
			continue
		}
		if strings.HasPrefix(target, "/") {
			target = path.Clean(target[1:]) // from the package's root
		} else {
			target = path.Join(dir, target) // from the referring part's folder
		}
		rels[id] = relationship{kind: typ[strings.LastIndex(typ, "/")+1:], target: target}
	}
}

// sheetInfo is one sheet of a workbook, as its list of sheets gives it.
type sheetInfo struct {
	name  string
	state string // "" or visible, hidden, veryHidden
	kind  string // from its relationship: worksheet, chartsheet, dialogsheet...
	part  string
}

func (s sheetInfo) hidden() bool { return s.state == "hidden" || s.state == "veryHidden" }

// contents reads the workbook's list of sheets, in order, and where its shared strings
// are ("" for none).
func (wb *workbook) contents() (sheets []sheetInfo, sharedStrings string, err error) {
	root, err := wb.relsOf("")
	if err != nil {
		return nil, "", err
	}
	book := "xl/workbook.xml"
	for _, r := range root {
		if r.kind == "officeDocument" {
			book = r.target
		}
	}
	switch {
	case strings.HasSuffix(strings.ToLower(book), ".bin"):
		return nil, "", planErr(0, "the plan is an Excel binary workbook (.xlsb); save it as .xlsx or as CSV UTF-8")
	case !wb.has(book):
		return nil, "", planErr(0, "the plan is not a workbook Excel or LibreOffice can open as .xlsx (a zip without %s); save it again as .xlsx, or as CSV UTF-8", book)
	}
	rels, err := wb.relsOf(book)
	if err != nil {
		return nil, "", err
	}
	for _, r := range rels {
		if r.kind == "sharedStrings" {
			sharedStrings = r.target
		}
	}
	if sharedStrings == "" && wb.has("xl/sharedStrings.xml") {
		sharedStrings = "xl/sharedStrings.xml"
	}
	p, err := wb.open(book, "list of sheets", maxIndexPart)
	if err != nil {
		return nil, "", err
	}
	defer p.close()
	for {
		t, err := p.next()
		if errors.Is(err, io.EOF) {
			return sheets, sharedStrings, nil
		}
		if err != nil {
			return nil, "", err
		}
		start, ok := t.(xml.StartElement)
		if !ok || !p.in("workbook", "sheets", "sheet") {
			continue
		}
		s := sheetInfo{}
		s.name, _ = attr(start, "name")
		s.state, _ = attr(start, "state")
		id, _ := attr(start, "id") // r:id, whatever the prefix
		if r, ok := rels[id]; ok {
			s.kind, s.part = r.kind, r.target
		}
		sheets = append(sheets, s)
	}
}

// sharedStrings are a workbook's shared strings, kept compactly: their text one after
// another, in chunks (so that growing never copies it), and where each ends.
type sharedStrings struct {
	chunks [][]byte
	ends   []uint32
	size   int // bytes of text
}

const textChunk = 1 << 20

// count is how many strings there are.
func (s *sharedStrings) count() int { return len(s.ends) }

// appendTo appends string i to dst.
func (s *sharedStrings) appendTo(dst []byte, i int) []byte {
	start, end := 0, int(s.ends[i])
	if i > 0 {
		start = int(s.ends[i-1])
	}
	for at := start; at < end; {
		c, off := at/textChunk, at%textChunk
		n := min(end-at, textChunk-off)
		dst = append(dst, s.chunks[c][off:off+n]...)
		at += n
	}
	return dst
}

// add appends text to the string being read.
func (s *sharedStrings) add(text []byte) {
	for len(text) > 0 {
		if len(s.chunks) == 0 || len(s.chunks[len(s.chunks)-1]) == textChunk {
			s.chunks = append(s.chunks, make([]byte, 0, textChunk))
		}
		last := &s.chunks[len(s.chunks)-1]
		n := min(len(text), textChunk-len(*last))
		*last = append(*last, text[:n]...)
		text = text[n:]
		s.size += n
	}
}

// readSharedStrings reads the shared strings part: each si's text (its t, or the t of
// each of its runs r; never the phonetic guide rPh), as Excel shows it.
func readSharedStrings(p *xmlPart) (*sharedStrings, error) {
	s := &sharedStrings{}
	var buf []byte
	for {
		t, err := p.next()
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if p.in("sst", "si") && len(s.ends) >= maxStrings {
				return nil, planErr(0, "the workbook's part %s (its %s, %s unpacked) holds more than %s strings, the most the job reads; save the plan as CSV", p.name, p.what, sizeText(p.size), humanize.Comma(maxStrings))
			}
		case xml.EndElement:
			if t.Name.Local == "si" && p.in("sst") {
				s.ends = append(s.ends, uint32(s.size))
			}
		case xml.CharData:
			if !p.in("si", "t") && !p.in("si", "r", "t") {
				continue
			}
			buf = unescapeX(append(buf[:0], t...))
			if s.size+len(buf) > maxStringsText {
				return nil, planErr(0, "the workbook's part %s (its %s, %s unpacked) holds more than %s of text, the most the job reads; save the plan as CSV", p.name, p.what, sizeText(p.size), sizeText(maxStringsText))
			}
			s.add(buf)
		}
	}
}

// unescapeX decodes, in place, the _xHHHH_ escapes a workbook writes for characters
// XML cannot hold (a carriage return is _x000D_, a literal "_x" is _x005F_x): UTF-16
// code units, a pair of them for a character past U+FFFF.
func unescapeX(b []byte) []byte {
	if !bytes.Contains(b, []byte("_x")) {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); {
		u, ok := escapeAt(b, i)
		if !ok {
			out = append(out, b[i])
			i++
			continue
		}
		i += 7
		r := rune(u)
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
			if u2, ok := escapeAt(b, i); ok && u < 0xdc00 {
				if pair := utf16.DecodeRune(rune(u), rune(u2)); pair != utf8.RuneError {
					r = pair
					i += 7
				}
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// escapeAt reads an _xHHHH_ escape at b[i:].
func escapeAt(b []byte, i int) (uint16, bool) {
	if i+7 > len(b) || b[i] != '_' || b[i+1] != 'x' || b[i+6] != '_' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
	return uint16(v), err == nil
}
