// Package planfile reads a plan: a CSV file as spreadsheets export it, or a sheet of an
// .xlsx workbook; its header matched to the job's fields (their names and aliases, or
// the sheet's own titles), its rows keyed by id or by phone number, agents by id or by
// name; every row validated with its line number before anything is sent. It only
// reads: a row names its number and its agent as the plan spells them, and turning
// phone numbers and agent names into ids is the job's (job.Resolver). Its cells are read
// back as job/cell escapes them, so that what the job writes reads back as written.
package planfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/gocarina/gocsv"

	"reassign/job"
	"reassign/job/cell"
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

func rowTooLong(line int) *Error {
	return planErr(line, "a row of more than %s, the most a plan row may hold (a quote left open, or not a plan?)", sizeText(MaxRow))
}

// Error is a plan that cannot be run: unreadable, or with invalid rows. It lists
// every problem found, in plan order. An Err of ErrUsage makes it the command line's
// fault (--columns naming a header the plan lacks).
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

func planErr(line int, format string, args ...any) *Error {
	return &Error{Problems: []job.Problem{{Line: line, Reason: fmt.Sprintf(format, args...)}}}
}

// Options are the reader's settings.
type Options struct {
	NullToken string  // cell text meaning JSON null, compared case-insensitively
	Columns   Columns // --columns: the sheet's own headers for some fields
	// IgnoreColumns (--ignore-columns) are columns the job is told not to read: a
	// column whose title looks like a field's is refused unless mapped or named here.
	IgnoreColumns Titles
	Sheet         string // --sheet: the workbook's sheet to read; "" for the first
	// Name is the plan's name as given: one ending in .xlsx must be a workbook.
	Name string
}

// Plan is a validated plan file. It keeps no rows in memory: Each reads the file again,
// so a plan of a million rows costs the memory of its keys' hashes (Keys, for as long
// as the caller keeps them), not of its cells.
type Plan struct {
	open       func() (io.ReadCloser, error)
	opts       Options
	dups       map[string]dupLines // keys seen more than once
	agents     map[agentPair]bool  // distinct agent cells planned; nil when over maxAgents
	byPhone    bool                // rows keyed by phone number (no id column)
	hasPhone   bool                // a phone_number column beside the ids
	hasAgentID bool                // an agent_id column
	byName     bool                // an agent column: an agent's id or its name
	needsNames bool                // a row names its agent only in the agent column
	header     *header             // as the last read found it
	untitled   map[int]bool        // the untitled columns holding a value, as the last read found them

	// Rows is the number of data rows; Invalid how many of them are invalid as read
	// (resolving them against the workspace may find more).
	Rows, Invalid int
	// Ignored lists the titles of the columns the job does not read, to be named (a
	// warning, the preview, the summary): every column but a field's and one of
	// KnownColumns; an untitled column that holds a value is "column N (no title)".
	Ignored []string
	// Known lists the titles of the plan's columns of KnownColumns (a report's or an
	// export's), which the job does not read either, quietly.
	Known []string
	// Reviewed is set when the plan has before_agent_id, before_nickname and
	// before_label columns: every row carries the values it was reviewed against
	// (job.Row.Reviewed).
	Reviewed bool
	// Problems lists every invalid row's reasons as read, in plan order.
	Problems []job.Problem
	// Sheet is the workbook's sheet read; "" for a CSV plan.
	Sheet string

	book bookCache // what a pass over a workbook learns for the next
}

// maxAgents bounds the distinct agent cells Read collects (see AgentRows).
const maxAgents = 10000

// agentPair is a row's agent cells: its agent_id's and its agent's.
type agentPair struct{ agentID, agent job.Field }

// dupLines is where a key that appears more than once is: its first lines (as many as a
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

// Read reads and validates the whole plan that open returns, and returns it with its
// keys, for the workspace reads. A plan that cannot be parsed at all (encoding, header,
// quoting, a row over MaxRow bytes, a workbook that cannot be opened) is a *Error;
// invalid rows are listed in Plan.Problems for the caller to refuse or skip. It stops
// with ctx's error when ctx ends.
//
// It keeps 8 bytes a key (id or phone number), not the keys: duplicates are found by a
// 64-bit hash (Keys), and the rare hash shared by two keys is settled by reading those
// rows again.
func Read(ctx context.Context, open func() (io.ReadCloser, error), opts Options) (*Plan, *Keys, error) {
	if opts.NullToken == "" {
		opts.NullToken = "null"
	}
	p := &Plan{open: open, opts: opts, agents: map[agentPair]bool{}}
	keys := newKeys()
	shared := map[uint64]bool{} // hashes seen on more than one row
	err := p.scan(ctx, func(r job.Row, problems []job.Problem) error {
		p.Rows++
		p.Problems = append(p.Problems, problems...)
		p.noteAgents(r)
		if key := p.key(r); key != "" && keys.add(key) {
			shared[keys.hash(key)] = true
		}
		if r.PhoneBare {
			keys.addBare(r.PhoneNumber)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	keys.byPhone, keys.hasPhone = p.byPhone, p.hasPhone
	p.noteColumns()
	p.dups = map[string]dupLines{}
	var dupProblems []job.Problem
	if len(shared) > 0 {
		// Which rows really share a key: only theirs are read again. Each of them gets
		// one problem, naming a line or two and a count, never every other line.
		type dupRow struct{ line, key int32 }
		var rows []dupRow
		var dupKeys []string
		index := map[string]int32{}
		var seen []dupLines
		err := p.scan(ctx, func(r job.Row, _ []job.Problem) error {
			key := p.key(r)
			if key == "" || !shared[keys.hash(key)] {
				return nil
			}
			i, ok := index[key]
			if !ok {
				i = int32(len(dupKeys))
				dupKeys = append(dupKeys, strings.Clone(key))
				index[dupKeys[i]] = i
				seen = append(seen, dupLines{})
			}
			seen[i].add(r.Line)
			rows = append(rows, dupRow{int32(r.Line), i})
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		for i, d := range seen {
			if d.n > 1 {
				p.dups[dupKeys[i]] = d
			}
		}
		for _, r := range rows {
			if reason := p.duplicateReason(dupKeys[r.key], int(r.line)); reason != "" {
				dupProblems = append(dupProblems, job.Problem{Line: int(r.line), Reason: reason})
			}
		}
	}
	p.Problems, p.Invalid = job.Collate(p.Problems, dupProblems)
	return p, keys, nil
}

// noteAgents keeps what Needs and AgentRows say of the plan's agent cells: whether a
// row names its agent by name only, and the distinct pairs of agent cells.
func (p *Plan) noteAgents(r job.Row) {
	p.needsNames = p.needsNames || r.Agent.Set() && !r.Agent.Null && !r.AgentID.Set()
	pair := agentPair{r.AgentID, r.Agent}
	if !pair.agentID.Set() && !pair.agent.Set() || p.agents == nil || p.agents[pair] {
		return
	}
	if len(p.agents) >= maxAgents {
		p.agents = nil // too many to keep: AgentRows says so
		return
	}
	pair.agentID.Raw, pair.agent.Raw = strings.Clone(pair.agentID.Raw), strings.Clone(pair.agent.Raw)
	p.agents[pair] = true
}

// noteColumns lists the columns the plan has and the job does not read, once it is
// read: Ignored (an untitled one only when a row holds a value in it) and Known.
func (p *Plan) noteColumns() {
	p.Ignored, p.Known = p.header.ignored(), p.header.known()
	for i := range p.header.names {
		if p.untitled[i] {
			p.Ignored = append(p.Ignored, fmt.Sprintf("column %d (no title)", i+1))
		}
	}
}

// key is what identifies a row's number in the plan: its id, or its phone number.
func (p *Plan) key(r job.Row) string {
	if p.byPhone {
		return r.PhoneNumber
	}
	return r.ID
}

// Needs names what in the plan needs the workspace's reads (docs/plan.md: phone
// numbers and agent names are resolved through them), or "" when nothing does. An
// agent column beside an agent_id column needs them only on rows that leave the
// agent_id empty.
func (p *Plan) Needs() string {
	switch {
	case p.byPhone:
		return "a plan keyed by phone number"
	case p.needsNames:
		return "a plan naming agents in an agent column"
	}
	return ""
}

// Pairs names the columns of the plan that name one thing twice, which the workspace's
// reads check against each other (job.Resolver): "agent_id and agent", "id and
// phone_number"; none when it has no such pair.
func (p *Plan) Pairs() []string {
	var pairs []string
	if p.hasAgentID && p.byName {
		pairs = append(pairs, "agent_id and agent")
	}
	if p.hasPhone {
		pairs = append(pairs, "id and phone_number")
	}
	return pairs
}

// AgentRows stands for the plan's rows in job.Resolver.Check: for a plan keyed by id,
// one row for each distinct pair of agent cells (agent_id, agent) it holds, holding
// only those cells as Each yields them (none when no row names an agent). It is nil
// for a plan keyed by phone number, one with a phone_number column beside its ids
// (each row's number is checked), or one naming more than 10,000 distinct agents:
// only its rows themselves tell then.
func (p *Plan) AgentRows() []job.Row {
	if p.byPhone || p.hasPhone || p.agents == nil {
		return nil
	}
	rows := make([]job.Row, 0, len(p.agents))
	for a := range p.agents {
		rows = append(rows, job.Row{AgentID: a.agentID, Agent: a.agent})
	}
	return rows
}

// Each calls fn for every plan row in order, with the row's problems (none for a valid
// row), reading the plan file again. A row names its number and its agent as the plan
// does: by phone number (Row.PhoneNumber), in an agent column (Row.Agent), for a
// job.Resolver to turn into ids. It stops at the first error fn returns, and returns
// it. It takes no context: a run that is stopping still records every row, so it reads
// the plan to its end.
func (p *Plan) Each(fn func(job.Row, []job.Problem) error) error {
	return p.scan(context.Background(), func(r job.Row, problems []job.Problem) error {
		if reason := p.duplicateReason(p.key(r), r.Line); reason != "" {
			problems = append(problems, job.Problem{Line: r.Line, Reason: reason})
		}
		return fn(r, problems)
	})
}

// duplicateReason says where else the key on line is: every other line when there are
// a few, else one of them and how many more.
func (p *Plan) duplicateReason(key string, line int) string {
	d, ok := p.dups[key]
	if !ok {
		return ""
	}
	var others []string
	for _, l := range d.first[:min(d.n, len(d.first))] {
		if int(l) != line && len(others) < maxListed {
			others = append(others, strconv.Itoa(int(l)))
		}
	}
	what := "phone number " + key
	if !p.byPhone {
		what = "id " + key
		if !job.ValidID(key) {
			what = "id " + quoteCell(key) // it may hold a newline or a control character
		}
	}
	switch {
	case d.n-1 > maxListed:
		return fmt.Sprintf("%s is also on line %s (and %s more lines)", what, others[0], humanize.Comma(int64(d.n-2)))
	case len(others) == 1:
		return fmt.Sprintf("%s is also on line %s", what, others[0])
	}
	return fmt.Sprintf("%s is also on lines %s", what, strings.Join(others, ", "))
}

// scan reads the plan once, calling fn for each data row with its own problems
// (duplicates aside). A *Error means the file as a whole is unusable.
func (p *Plan) scan(ctx context.Context, fn func(job.Row, []job.Problem) error) error {
	rc, err := p.open()
	if err != nil {
		return readErr(err)
	}
	defer rc.Close()
	src, err := openRecords(ctx, rc, p.opts, &p.book)
	if err != nil {
		return asPlanError(err)
	}
	p.Sheet = p.book.sheet
	defer src.close()
	d := &rowReader{src: src, nullToken: p.opts.NullToken, untitled: map[int]bool{}}
	h, err := d.header(p.opts.Columns, p.opts.IgnoreColumns)
	if err != nil {
		return asPlanError(err)
	}
	p.byPhone, p.byName, p.Reviewed, p.header = h.byPhone(), h.has(FieldAgent), h.reviewed(), h
	p.hasPhone, p.hasAgentID, p.untitled = !p.byPhone && h.has(FieldPhoneNumber), h.has(FieldAgentID), d.untitled
	// gocsv decodes the plan a batch at a time: its streaming forms hand over each row
	// through a channel and a reflected call, which cost more than the rest of the read.
	b := &planBatch{d: d}
	var recs []planRecord
	for err == nil && !d.done {
		if ctx.Err() != nil {
			return fmt.Errorf("read plan: %w", ctx.Err())
		}
		if err = gocsv.UnmarshalDecoder(b, &recs); err != nil {
			break
		}
		for i, m := range b.meta {
			row, problems := p.toRow(recs[i], m)
			if ferr := fn(row, problems); ferr != nil {
				return ferr // the caller's own error, as it gave it
			}
		}
	}
	if err == nil && d.rows == 0 {
		return &Error{Problems: []job.Problem{{Reason: "the plan has a header but no rows"}}}
	}
	if err != nil {
		return asPlanError(err)
	}
	return nil
}

// asPlanError is err as a *Error: itself, or a read error; or the end of the context
// that stopped the reading.
func asPlanError(err error) error {
	var pe *Error
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return readErr(err)
}

// planRecord is what gocsv fills from one row.
type planRecord struct {
	ID          string `csv:"id"`
	PhoneNumber string `csv:"phone_number"`
	AgentID     string `csv:"agent_id"`
	Agent       string `csv:"agent"`
	Nickname    string `csv:"nickname"`
	Label       string `csv:"label"`
	// The values the row was reviewed against (a --dry-run=server report fed back).
	BeforeAgentID  string `csv:"before_agent_id"`
	BeforeNickname string `csv:"before_nickname"`
	BeforeLabel    string `csv:"before_label"`
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
	tok := p.opts.NullToken
	r.Nickname, r.Label = cell.ParseField(rec.Nickname, tok), cell.ParseField(rec.Label, tok)
	if p.byName {
		r.Agent = cell.ParseField(rec.Agent, tok) // an id or a name: a job.Resolver tells
	}
	if p.hasAgentID {
		r.AgentID = cell.ParseField(rec.AgentID, tok)
		if a := r.AgentID; a.Set() && !a.Null && !job.ValidID(a.Raw) {
			add("agent_id %s is not an agent id (letters, digits, _ and -, at most 128)", quoteCell(a.Raw))
		}
	}
	if p.byPhone || p.hasPhone {
		// Keyed by it, or beside an id, which it must then name (a job.Resolver checks).
		r.PhoneNumber, r.PhoneBare = p.phone(rec.PhoneNumber, add)
	}
	if !p.byPhone {
		r.ID, _ = cell.Unescape(rec.ID, tok)
		switch {
		case r.ID == "":
			add("id is empty")
		case !job.ValidID(r.ID):
			add("id %s is not a phone number id (letters, digits, _ and -, at most 128)", quoteCell(r.ID))
		}
	}
	if n := utf8.RuneCountInString(r.Nickname.Raw); n > MaxNicknameLen && !r.Nickname.Null {
		add("nickname is %d characters, at most %d", n, MaxNicknameLen)
	}
	if r.Label.Null {
		add("label cannot be %s: the API takes no null label", r.Label.Raw)
	}
	if p.Reviewed {
		// As the report writes them: the values themselves, "" for none (no null token).
		value := func(c string) string { v, _ := cell.Unescape(c, tok); return v }
		b := job.NumberState{AgentID: value(rec.BeforeAgentID), Nickname: value(rec.BeforeNickname), Label: value(rec.BeforeLabel)}
		r.Reviewed = &b
		if b.AgentID != "" && !job.ValidID(b.AgentID) {
			add("before_agent_id %s is not an agent id (letters, digits, _ and -, at most 128)", quoteCell(b.AgentID))
		}
		if n := utf8.RuneCountInString(b.Nickname); n > MaxNicknameLen {
			add("before_nickname is %d characters, at most %d", n, MaxNicknameLen)
		}
	}
	return r, problems
}

// phone reads a phone_number cell (+ and digits, and whether it was bare digits),
// adding its problem, if any, with add.
func (p *Plan) phone(c string, add func(format string, args ...any)) (string, bool) {
	text, _ := cell.Unescape(c, p.opts.NullToken)
	phone, bare, err := readPhone(text)
	switch {
	case text == "" && p.byPhone:
		add("phone number is empty")
	case text == "":
	case err != nil:
		add("phone number %s %v", quoteCell(text), err)
	default:
		return phone, bare && p.byPhone
	}
	return "", false
}

// quoteCell shows a cell in a message: quoted, with control characters escaped, cut short.
func quoteCell(s string) string { return job.QuoteCell(s) }

// sizeText writes a byte count as people read it: 64 KiB, 1.0 MiB, 512 MiB.
func sizeText[T int | int64](n T) string { return humanize.IBytes(uint64(n)) }
