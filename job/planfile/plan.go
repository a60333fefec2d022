// Package planfile reads a plan: a CSV file as spreadsheets export it, its header
// matched to the job's fields, every row validated with its line number before
// anything is sent. It also owns the cell escaping that every CSV the job writes uses,
// so that what the job writes reads back as written.
package planfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"reassign/job"
)

// MaxNicknameLen is the API's limit on a nickname, in Unicode code points.
const MaxNicknameLen = 255

// The bounds of what a plan may hold, far above any real plan: they keep a file that
// is not a plan (a device, a binary, a runaway quote) from taking the memory.
const (
	MaxCell = 64 << 10 // bytes of one cell
	MaxRow  = 1 << 20  // bytes of one row, its line breaks inside quotes included
)

// errRowTooLong is what utf8Lines returns once a row runs far past MaxRow.
var errRowTooLong = errors.New("row too long")

// validID reports whether s matches ^[A-Za-z0-9_-]{1,128}$, what an id or an agent_id
// must be: both go into a URL or a body.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Error is a plan that cannot be run: unreadable, or with invalid rows. It lists
// every problem found, in plan order.
type Error struct {
	Problems []job.Problem
	Err      error // the cause, when the file could not be opened or read
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "\n")
}

func (e *Error) Unwrap() error { return e.Err }

// readErr is a plan file that could not be opened or read.
func readErr(err error) *Error {
	return &Error{Problems: []job.Problem{{Reason: "read plan: " + err.Error()}}, Err: err}
}

// Options are the reader's settings.
type Options struct {
	NullToken string // cell text meaning JSON null, compared case-insensitively
	// AgentKnown, if set, says whether an agent id exists in the workspace; a row naming
	// one that does not is invalid.
	AgentKnown func(id string) bool
}

// Plan is a validated plan file. It keeps no rows in memory: Rows reads the file again,
// so a plan of a million rows costs the memory of its ids, not of its cells.
type Plan struct {
	open      func() (io.ReadCloser, error)
	opts      Options
	seed      maphash.Seed
	dups      map[string]dupLines // ids seen more than once
	firstLine map[uint64]int32    // id hash -> the first line with that hash
	agents    map[string]bool     // distinct agent ids planned; nil when over maxAgents

	// Rows is the number of data rows; Invalid how many of them are invalid.
	Rows, Invalid int
	// Ignored lists the header columns the job does not use.
	Ignored []string
	// Reviewed is set when the plan has before_agent_id, before_nickname and
	// before_label columns: every row carries the values it was reviewed against
	// (job.Row.Reviewed).
	Reviewed bool
	// Problems lists every invalid row's reasons, in plan order.
	Problems []job.Problem
}

// maxAgents bounds the distinct agent ids Read collects for CheckAgents.
const maxAgents = 10000

// dupLines is where an id that appears more than once is: its first lines (as many as a
// message lists) and how many lines in all. It is small whatever the count, so that a
// column filled by dragging one cell down costs one line of text a row, not a list.
type dupLines struct {
	first [maxListed + 1]int32
	n     int
}

// maxListed is how many other lines a duplicate's message names before it counts them.
const maxListed = 3

func (d *dupLines) add(line int) {
	if d.n < len(d.first) {
		d.first[d.n] = int32(line)
	}
	d.n++
}

// Read reads and validates the whole plan that open returns. A plan that cannot be
// parsed at all (encoding, header, quoting, a row over MaxRow bytes) is a *Error;
// invalid rows are listed in Plan.Problems for the caller to refuse or skip. It stops
// with ctx's error when ctx ends.
//
// It keeps 12 bytes an id, not the ids: duplicates are found by a 64-bit hash, and the
// rare hash shared by two ids is settled by reading those rows again.
func Read(ctx context.Context, open func() (io.ReadCloser, error), opts Options) (*Plan, error) {
	if opts.NullToken == "" {
		opts.NullToken = "null"
	}
	p := &Plan{open: open, opts: opts, seed: maphash.MakeSeed(), firstLine: map[uint64]int32{}, agents: map[string]bool{}}
	shared := map[uint64]bool{} // hashes seen on more than one row
	err := p.scan(ctx, func(r job.Row, problems []job.Problem) error {
		p.Rows++
		p.Problems = append(p.Problems, problems...)
		if a := r.AgentID; a.Set() && !a.Null && p.agents != nil && !p.agents[a.Raw] {
			if len(p.agents) >= maxAgents {
				p.agents = nil // too many to keep: CheckAgents reads the plan again
			} else {
				p.agents[strings.Clone(a.Raw)] = true
			}
		}
		if r.ID == "" {
			return nil
		}
		h := p.idHash(r.ID)
		if _, ok := p.firstLine[h]; ok {
			shared[h] = true
			return nil
		}
		p.firstLine[h] = int32(r.Line)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.dups = map[string]dupLines{}
	if len(shared) > 0 {
		// Which rows really share an id: only theirs are read again. Each of them gets
		// one problem, naming a line or two and a count, never every other line.
		type dupRow struct{ line, id int32 }
		var rows []dupRow
		var ids []string
		index := map[string]int32{}
		var seen []dupLines
		err := p.scan(ctx, func(r job.Row, _ []job.Problem) error {
			if r.ID == "" || !shared[p.idHash(r.ID)] {
				return nil
			}
			i, ok := index[r.ID]
			if !ok {
				i = int32(len(ids))
				ids = append(ids, strings.Clone(r.ID))
				index[ids[i]] = i
				seen = append(seen, dupLines{})
			}
			seen[i].add(r.Line)
			rows = append(rows, dupRow{int32(r.Line), i})
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i, d := range seen {
			if d.n > 1 {
				p.dups[ids[i]] = d
			}
		}
		for _, r := range rows {
			if reason := p.duplicateReason(job.Row{Line: int(r.line), ID: ids[r.id]}); reason != "" {
				p.Problems = append(p.Problems, job.Problem{Line: int(r.line), Reason: reason})
			}
		}
	}
	p.sortProblems()
	return p, nil
}

// sortProblems puts Problems in plan order and counts the invalid rows.
func (p *Plan) sortProblems() {
	sort.SliceStable(p.Problems, func(i, j int) bool { return p.Problems[i].Line < p.Problems[j].Line })
	invalid := map[int]bool{}
	for _, pr := range p.Problems {
		invalid[pr.Line] = true
	}
	p.Invalid = len(invalid)
}

// MayContain reports whether id may be one of the plan's ids: never false for one that
// is, rarely true for one that is not (it keeps 8 bytes an id, not the ids).
func (p *Plan) MayContain(id string) bool {
	_, ok := p.firstLine[p.idHash(id)]
	return ok
}

// DropIndex frees the memory behind MayContain, which then says false for every id.
func (p *Plan) DropIndex() { p.firstLine = nil }

func (p *Plan) idHash(id string) uint64 { return maphash.String(p.seed, id) }

// CheckAgents marks invalid every row naming an agent for which known is false, adding
// to Problems and Invalid. It reads the plan again only when such a row exists.
func (p *Plan) CheckAgents(known func(id string) bool) error {
	if p.agents != nil {
		unknown := false
		for a := range p.agents {
			unknown = unknown || !known(a)
		}
		if !unknown {
			return nil
		}
	}
	p.opts.AgentKnown = known
	var added []job.Problem
	err := p.scan(context.Background(), func(r job.Row, _ []job.Problem) error {
		if reason := p.agentReason(r); reason != "" {
			added = append(added, job.Problem{Line: r.Line, Reason: reason})
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Problems = append(p.Problems, added...)
	p.sortProblems()
	return nil
}

func (p *Plan) agentReason(r job.Row) string {
	a := r.AgentID
	if p.opts.AgentKnown == nil || !a.Set() || a.Null || !validID(a.Raw) || p.opts.AgentKnown(a.Raw) {
		return ""
	}
	return fmt.Sprintf("agent_id %s is not an agent of this workspace", a.Raw)
}

// Each calls fn for every plan row in order, with the row's problems (none for a valid
// row), reading the plan file again. It stops at the first error fn returns, and
// returns it. It takes no context: a run that is stopping still records every row, so
// it reads the plan to its end.
func (p *Plan) Each(fn func(job.Row, []job.Problem) error) error {
	return p.scan(context.Background(), func(r job.Row, problems []job.Problem) error {
		if reason := p.duplicateReason(r); reason != "" {
			problems = append(problems, job.Problem{Line: r.Line, Reason: reason})
		}
		return fn(r, problems)
	})
}

// duplicateReason says where else the row's id is: every other line when there are a
// few, else one of them and how many more.
func (p *Plan) duplicateReason(r job.Row) string {
	d, ok := p.dups[r.ID]
	if !ok {
		return ""
	}
	var others []string
	for _, l := range d.first[:min(d.n, len(d.first))] {
		if int(l) != r.Line && len(others) < maxListed {
			others = append(others, strconv.Itoa(int(l)))
		}
	}
	id := r.ID
	if !validID(id) {
		id = quoteCell(id) // it may hold a newline or a control character
	}
	switch {
	case d.n-1 > maxListed:
		return fmt.Sprintf("id %s is also on line %s (and %s more lines)", id, others[0], thousands(d.n-2))
	case len(others) == 1:
		return fmt.Sprintf("id %s is also on line %s", id, others[0])
	}
	return fmt.Sprintf("id %s is also on lines %s", id, strings.Join(others, ", "))
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// scan reads the plan once, calling fn for each data row with its own problems
// (duplicates aside). A *Error means the file as a whole is unusable.
func (p *Plan) scan(ctx context.Context, fn func(job.Row, []job.Problem) error) error {
	rc, err := p.open()
	if err != nil {
		return readErr(err)
	}
	defer rc.Close()
	dec, err := newPlanDecoder(rc, p.opts.NullToken)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return readErr(err)
	}
	// gocsv decodes the plan a batch at a time: its streaming forms hand over each row
	// through a channel and a reflected call, which cost more than the rest of the read.
	b := &planBatch{d: dec}
	var recs []planRecord
	for err == nil && !dec.done {
		if ctx.Err() != nil {
			return fmt.Errorf("read plan: %w", ctx.Err())
		}
		if err = gocsv.UnmarshalDecoder(b, &recs); err != nil {
			break
		}
		p.Reviewed = dec.reviewed
		for i, m := range b.meta {
			row, problems := p.toRow(recs[i], m)
			if ferr := fn(row, problems); ferr != nil {
				return ferr // the caller's own error, as it gave it
			}
		}
	}
	p.Ignored = dec.ignored()
	if err == nil && dec.rows == 0 {
		return &Error{Problems: []job.Problem{{Reason: "the plan has a header but no rows"}}}
	}
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return readErr(err)
	}
	return nil
}

// planRecord is what gocsv fills from one row.
type planRecord struct {
	ID       string `csv:"id"`
	AgentID  string `csv:"agent_id"`
	Nickname string `csv:"nickname"`
	Label    string `csv:"label"`
	// The values the row was reviewed against (a --dry-run=server report fed back).
	BeforeAgentID  string `csv:"before_agent_id"`
	BeforeNickname string `csv:"before_nickname"`
	BeforeLabel    string `csv:"before_label"`
}

// rowMeta is what the decoder knows of a row besides its cells.
type rowMeta struct {
	line     int      // where the row starts in the file
	problems []string // the reader's: too many cells, control characters, bad quoting
	unread   bool     // the row could not be split into cells
}

func (p *Plan) toRow(rec planRecord, m rowMeta) (job.Row, []job.Problem) {
	r := job.Row{Line: m.line}
	var problems []job.Problem
	add := func(format string, args ...any) {
		problems = append(problems, job.Problem{Line: m.line, Reason: fmt.Sprintf(format, args...)})
	}
	for _, reason := range m.problems {
		add("%s", reason)
	}
	if m.unread {
		// Its cells are unknown: checking them would only add noise ("id is empty").
		return r, problems
	}
	id, _ := Unescape(rec.ID, p.opts.NullToken)
	r.ID = id
	r.AgentID = ParseField(rec.AgentID, p.opts.NullToken)
	r.Nickname = ParseField(rec.Nickname, p.opts.NullToken)
	r.Label = ParseField(rec.Label, p.opts.NullToken)

	switch {
	case r.ID == "":
		add("id is empty")
	case !validID(r.ID):
		add("id %s is not a phone number id (letters, digits, _ and -, at most 128)", quoteCell(r.ID))
	}
	if a := r.AgentID; a.Set() && !a.Null && !validID(a.Raw) {
		add("agent_id %s is not an agent id (letters, digits, _ and -, at most 128)", quoteCell(a.Raw))
	}
	if reason := p.agentReason(r); reason != "" {
		add("%s", reason)
	}
	if n := utf8.RuneCountInString(r.Nickname.Raw); n > MaxNicknameLen && !r.Nickname.Null {
		add("nickname is %d characters, at most %d", n, MaxNicknameLen)
	}
	if r.Label.Null {
		add("label cannot be %s: the API takes no null label", r.Label.Raw)
	}
	if p.Reviewed {
		// As the report writes them: the values themselves, "" for none (no null token).
		value := func(c string) string { v, _ := Unescape(c, p.opts.NullToken); return v }
		b := job.Current{AgentID: value(rec.BeforeAgentID), Nickname: value(rec.BeforeNickname), Label: value(rec.BeforeLabel)}
		r.Reviewed = &b
		if b.AgentID != "" && !validID(b.AgentID) {
			add("before_agent_id %s is not an agent id (letters, digits, _ and -, at most 128)", quoteCell(b.AgentID))
		}
		if n := utf8.RuneCountInString(b.Nickname); n > MaxNicknameLen {
			add("before_nickname is %d characters, at most %d", n, MaxNicknameLen)
		}
	}
	return r, problems
}

// quoteCell shows a cell in a message: quoted, with control characters escaped, cut short.
func quoteCell(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

// planDecoder reads the rows that gocsv decodes (through planBatch) from an encoding/csv
// reader we own: it detects the delimiter, checks the encoding and the header, skips
// blank rows, trims cells and keeps the physical line numbers that gocsv would lose.
type planDecoder struct {
	r         *csv.Reader
	utf8      *utf8Lines // what the csv.Reader reads, checked
	nullToken string
	lastLine  int      // the line where the last record read ends
	width     int      // header cells
	names     []string // normalised header names
	known     []bool   // header cells the job reads
	rows      int
	done      bool
	// reviewed: the header has the before_* columns (all three)
	reviewed bool
}

// The columns the job reads; every other column is ignored.
var knownColumns = map[string]bool{"id": true, "agent_id": true, "nickname": true, "label": true,
	"before_agent_id": true, "before_nickname": true, "before_label": true}

// reviewColumns are the columns of a reviewed plan: all three, or none.
var reviewColumns = []string{"before_agent_id", "before_nickname", "before_label"}

func newPlanDecoder(in io.Reader, nullToken string) (*planDecoder, error) {
	br := bufio.NewReaderSize(in, 64<<10)
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
	return &planDecoder{r: r, utf8: u, nullToken: nullToken}, nil
}

func planErr(line int, format string, args ...any) *Error {
	return &Error{Problems: []job.Problem{{Line: line, Reason: fmt.Sprintf(format, args...)}}}
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

// read reads the next record, within the bounds of a plan row: a row of more than
// MaxRow bytes ends the reading (a *Error); each cell over MaxCell bytes is named in
// long.
func (d *planDecoder) read() (rec []string, long []string, err error) {
	start := d.r.InputOffset()
	d.utf8.recStart = start
	rec, err = d.r.Read()
	if d.utf8.badLine > 0 {
		// Checked before anything else: the bytes read so far, this record's and a
		// little more, hold text that is not UTF-8, and the whole file is refused.
		return nil, nil, notUTF8(d.utf8.badLine)
	}
	if errors.Is(err, errRowTooLong) || err == nil && d.r.InputOffset()-start > MaxRow {
		return nil, nil, planErr(d.lastLine+1, "a row of more than %s, the most a plan row may hold (a quote left open, or not a plan?)", sizeText(MaxRow))
	}
	if err != nil {
		return nil, nil, err
	}
	line, _ := d.r.FieldPos(0)
	d.lastLine = line
	for i, c := range rec {
		d.lastLine += strings.Count(c, "\n")
		if len(c) > MaxCell {
			long = append(long, fmt.Sprintf("%s is %s, more than the %s a plan cell may hold", d.column(i), sizeText(len(c)), sizeText(MaxCell)))
			rec[i] = ""
		}
	}
	return rec, long, nil
}

// next returns the next non-blank row's cells as written (the csv.Reader reuses them on
// the following call), with what else is known of the row; io.EOF after the last.
func (d *planDecoder) next() ([]string, rowMeta, error) {
	for !d.done {
		rec, long, err := d.read()
		if errors.Is(err, io.EOF) {
			d.done = true
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, rowMeta{}, err
			}
			d.lastLine = pe.Line
			reason, lost := d.parseReason(pe)
			if lost {
				// A quote left open swallows the lines after it: which rows they held
				// cannot be known, so the plan as a whole is refused.
				return nil, rowMeta{}, planErr(pe.StartLine, "%s", reason)
			}
			d.rows++
			return nil, rowMeta{line: pe.StartLine, problems: []string{reason}, unread: true}, nil
		}
		// Only now: FieldPos panics when a parse error left no field behind.
		line, _ := d.r.FieldPos(0)
		m := rowMeta{line: line, problems: long, unread: len(long) > 0}
		blank := true
		for _, c := range rec {
			if v, _ := Unescape(c, d.nullToken); v != "" {
				blank = false
				break
			}
		}
		if blank && !m.unread {
			continue
		}
		d.rows++
		if len(rec) > d.width {
			m.problems = append(m.problems, fmt.Sprintf("%d cells, but the header has %d", len(rec), d.width))
		}
		for i, c := range rec {
			v, marked := Unescape(c, d.nullToken)
			if marked {
				continue // the job wrote its control characters, escaped
			}
			switch j := strings.IndexFunc(v, isControl); {
			case j < 0:
			case strings.Contains(v, "\n"):
				m.problems = append(m.problems, fmt.Sprintf("%s runs over %d lines (a quote left open?)", d.column(i), strings.Count(v, "\n")+1))
			default:
				m.problems = append(m.problems, fmt.Sprintf("%s has a control character (%U)", d.column(i), []rune(v[j:])[0]))
			}
		}
		return rec[:min(len(rec), d.width)], m, nil
	}
	return nil, rowMeta{}, io.EOF
}

// sizeText writes a byte count as people read it: 64 KiB, 1 MiB, 1.5 MiB.
func sizeText(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(math.Round(float64(n)/(1<<20)*10)/10, 'f', -1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.Itoa((n+1<<10-1)>>10) + " KiB" // rounded up: over a bound reads as over
	}
	return strconv.Itoa(n) + " bytes"
}

func (d *planDecoder) column(i int) string {
	if i < len(d.names) && d.names[i] != "" {
		if strings.IndexFunc(d.names[i], isControl) >= 0 {
			return quoteCell(d.names[i]) // a reason must stay on one line
		}
		return d.names[i]
	}
	return fmt.Sprintf("cell %d", i+1)
}

func (d *planDecoder) header() ([]string, error) {
	for {
		rec, long, err := d.read()
		if len(long) > 0 {
			return nil, planErr(d.lastLine, "header: %s", long[0])
		}
		if errors.Is(err, io.EOF) {
			return nil, planErr(0, "the plan is empty: it needs a header line naming at least an id column")
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reason, _ := d.parseReason(pe)
				return nil, planErr(pe.StartLine, "header: %s", reason)
			}
			return nil, err
		}
		line, _ := d.r.FieldPos(0)
		names := make([]string, len(rec))
		blank := true
		for i, h := range rec {
			names[i] = strings.ToLower(strings.TrimSpace(h))
			if names[i] != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		if strings.ContainsRune(strings.Join(rec, ""), '\r') {
			return nil, planErr(line, `lines end in a bare carriage return (old Mac format); save the spreadsheet as "CSV UTF-8" and try again`)
		}
		d.width = len(names)
		d.names = names
		d.known = make([]bool, len(names))
		out := make([]string, len(names))
		seen := map[string]bool{}
		hasID := false
		for i, n := range names {
			if !knownColumns[n] {
				continue // an empty name maps to no field
			}
			if seen[n] {
				return nil, planErr(line, "header: column %s appears twice", n)
			}
			seen[n] = true
			d.known[i] = true
			out[i] = n
			hasID = hasID || n == "id"
		}
		if !hasID {
			shown := make([]string, len(names))
			for i := range names {
				shown[i] = d.column(i)
			}
			return nil, planErr(line, "header: no id column (the header has: %s); the plan needs id and at least one of agent_id, nickname, label", strings.Join(shown, ", "))
		}
		var missing []string
		for _, c := range reviewColumns {
			if !seen[c] {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 && len(missing) < len(reviewColumns) {
			return nil, planErr(line, "header: no %s column: a reviewed plan has all of %s (as a --dry-run=server report does), or none", strings.Join(missing, " or "), strings.Join(reviewColumns, ", "))
		}
		d.reviewed = len(missing) == 0
		return out, nil
	}
}

// Ignored returns the header names the job does not use.
func (d *planDecoder) ignored() []string {
	var out []string
	for i, n := range d.names {
		if !d.known[i] && n != "" {
			out = append(out, n)
		}
	}
	return out
}

// batchRows is how many rows planBatch hands gocsv at a time.
const batchRows = 256

// planBatch is gocsv's Decoder for the next rows of a plan: each GetCSVRows returns the
// header and up to batchRows rows (none once the plan is read to the end), and meta
// holds what else is known of each of those rows. The storage is reused from one batch
// to the next: gocsv has copied the cells out by then.
type planBatch struct {
	d      *planDecoder
	header []string // the columns the job reads, by name; "" for the others
	rows   [][]string
	cells  []string // backs rows
	meta   []rowMeta
	err    error // met after the rows of this batch: returned by the next call
}

func (b *planBatch) GetCSVRows() ([][]string, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.header == nil {
		h, err := b.d.header()
		if err != nil {
			return nil, err
		}
		b.header = h
	}
	b.rows, b.cells, b.meta = append(b.rows[:0], b.header), b.cells[:0], b.meta[:0]
	for len(b.meta) < batchRows {
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
		b.rows = append(b.rows, b.cells[at:len(b.cells):len(b.cells)])
		b.meta = append(b.meta, m)
	}
	return b.rows, nil
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
func (d *planDecoder) parseReason(pe *csv.ParseError) (reason string, lost bool) {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a " inside a cell that is not quoted (quote the whole cell and double the inner ", as "a ""b"" c")`, false
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		return fmt.Sprintf("a quoted cell opened on this line is not closed properly (the reader got lost at line %d); check the quotes", pe.Line), true
	case errors.Is(pe.Err, csv.ErrQuote) && d.utf8.atEOF(d.r) && int64(pe.Column) >= d.utf8.lastLineLen():
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
