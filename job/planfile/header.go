package planfile

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"reassign/job"
	"reassign/job/cell"
)

// The fields a plan's columns can hold (docs/plan.md).
const (
	FieldID          = "id"
	FieldPhoneNumber = "phone_number"
	FieldAgentID     = "agent_id"
	FieldAgent       = "agent"
	FieldNickname    = "nickname"
	FieldLabel       = "label"
	// The values a row was reviewed against (a --dry-run=server report fed back).
	FieldBeforeAgentID  = "before_agent_id"
	FieldBeforeNickname = "before_nickname"
	FieldBeforeLabel    = "before_label"
)

// Fields lists the fields in the order messages name them.
var Fields = []string{FieldID, FieldPhoneNumber, FieldAgentID, FieldAgent, FieldNickname, FieldLabel,
	FieldBeforeAgentID, FieldBeforeNickname, FieldBeforeLabel}

// reviewFields are the columns of a reviewed plan: all three, or none.
var reviewFields = []string{FieldBeforeAgentID, FieldBeforeNickname, FieldBeforeLabel}

// aliases are the header names each field answers to, as headerKey gives them.
var aliases = map[string][]string{
	FieldID:          {"id", "phonenumberid", "numberid"},
	FieldPhoneNumber: {"phonenumber", "phone", "number", "e164", "did"},
	FieldAgentID:     {"agentid", "inboundagentid"},
	FieldAgent:       {"agent", "agentname", "inboundagent"},
	FieldNickname:    {"nickname"},
	FieldLabel:       {"label"},

	FieldBeforeAgentID:  {"beforeagentid"},
	FieldBeforeNickname: {"beforenickname"},
	FieldBeforeLabel:    {"beforelabel"},
}

// headerKey is how header names are compared: in Unicode NFC (a title saved on a Mac
// may come decomposed), case ignored, and spaces, '_', '-' and '.' ignored (Phone
// Number = phone_number = PhoneNumber, Agent-ID = agent_id, E.164 = e164).
func headerKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return unicode.ToLower(r)
	}, norm.NFC.String(s))
}

// ErrUsage marks a plan error that is the command line's: --columns or --ignore-columns
// naming a header the plan lacks.
var ErrUsage = errors.New("usage")

// Columns names a sheet's own header for some fields (--columns FIELD=HEADER,...): a
// field named here answers to that header only, not to its built-in names.
type Columns map[string]string

// ParseColumns reads --columns: FIELD=HEADER pairs separated by commas, FIELD one of
// Fields.
func ParseColumns(s string) (Columns, error) {
	c := Columns{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		field, header, ok := strings.Cut(pair, "=")
		field, header = strings.ToLower(strings.TrimSpace(field)), strings.TrimSpace(header)
		switch {
		case !ok || field == "" || header == "":
			return nil, fmt.Errorf("%q: want FIELD=HEADER", pair)
		case !slices.Contains(Fields, field):
			return nil, fmt.Errorf("%q: no field %s (the fields are %s)", pair, field, strings.Join(Fields, ", "))
		case c[field] != "":
			return nil, fmt.Errorf("field %s named twice", field)
		}
		c[field] = header
	}
	return c, nil
}

func (c Columns) String() string {
	var parts []string
	for _, f := range Fields {
		if h, ok := c[f]; ok {
			parts = append(parts, f+"="+h)
		}
	}
	return strings.Join(parts, ",")
}

// Titles are column titles a plan has and the job is told to ignore (--ignore-columns):
// a column whose title looks like a field's is refused unless it is mapped or named
// here.
type Titles []string

// ParseTitles reads --ignore-columns: titles separated by commas, a title holding a
// comma in double quotes, as in CSV ("Notes, old",Owner).
func ParseTitles(s string) (Titles, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(s))
	r.LazyQuotes, r.TrimLeadingSpace = true, true
	rec, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%q: one line of titles separated by commas", s)
	}
	var t Titles
	for _, title := range rec {
		if title = strings.TrimSpace(title); title != "" && !slices.Contains(t, title) {
			t = append(t, title)
		}
	}
	return t, nil
}

func (t Titles) String() string {
	out := make([]string, len(t))
	for i, title := range t {
		out[i] = title
		if strings.ContainsAny(title, `,"`) {
			out[i] = `"` + strings.ReplaceAll(title, `"`, `""`) + `"`
		}
	}
	return strings.Join(out, ",")
}

// KnownColumns are the columns of the job's own report and export that are not fields:
// a report or an export fed back as a plan keeps them, and the plan reader ignores them
// quietly. Every other column it does not read is named (Plan.Ignored), or refused when
// its title looks like a field's.
var KnownColumns = []string{
	"line", "outcome", "http_status", "attempts", "error", "result_agent_id", "result_nickname",
	"request_id", "duration_ms", "finished_at", // the report's
	"status", "country_code", "type", // the export's
}

// columnKind is what the job does with a column.
type columnKind uint8

const (
	columnRead    columnKind = iota // a field's
	columnOther                     // not read: named in a warning, the preview, the summary
	columnKnown                     // not read, quietly: one of KnownColumns
	columnIgnored                   // not read: --ignore-columns names it
	columnBlank                     // no title
)

// header is a plan's header row matched to the fields.
type header struct {
	names  []string       // each column's header as written, trimmed
	fields []string       // each column's field; "" for a column the job does not read
	kinds  []columnKind   // what the job does with each column
	at     map[string]int // field -> its column
	line   int
}

// reviewed reports whether the plan has the before_* columns.
func (h *header) reviewed() bool { return h.has(FieldBeforeAgentID) }

// byPhone reports whether the rows are keyed by phone number (no id column).
func (h *header) byPhone() bool {
	_, id := h.at[FieldID]
	return !id
}

func (h *header) has(field string) bool {
	_, ok := h.at[field]
	return ok
}

// changes are the fields that change a number: a plan needs one of them.
var changes = []string{FieldAgentID, FieldAgent, FieldNickname, FieldLabel}

// matchHeader matches a header row (its cells trimmed) to the fields. A header that
// cannot be read as a plan's is a *Error (65): a title with an invisible character, a
// title two fields claim, no key column, no column that changes anything, a column the
// job would ignore whose title looks like a field's. A --columns or --ignore-columns
// title it lacks is one that wraps ErrUsage (64).
func matchHeader(cells []string, line int, cols Columns, ignore Titles) (*header, error) {
	h, err := mapHeader(cells, line, cols, ignore)
	if err != nil {
		return nil, err
	}
	return h, h.check()
}

// mapHeader matches a header row to the fields, column by column (the workbook reader
// asks it which columns are planned): the first half of matchHeader, whose checks of
// the whole header it leaves out.
func mapHeader(cells []string, line int, cols Columns, ignore Titles) (*header, error) {
	h := &header{names: cells, fields: make([]string, len(cells)), kinds: make([]columnKind, len(cells)), at: map[string]int{}, line: line}
	if err := invisible(cells, line); err != nil {
		return nil, err
	}
	ignoreKeys := map[string]bool{}
	for _, t := range ignore {
		ignoreKeys[headerKey(t)] = false // true once a column has the title
	}
	for i, name := range cells {
		key := headerKey(name)
		claims := claimsOf(key, cols)
		switch _, ignored := ignoreKeys[key]; {
		case key == "":
			h.kinds[i] = columnBlank
			continue
		case ignored && len(claims) > 0 && cols[claims[0]] != "" && headerKey(cols[claims[0]]) == key:
			return nil, usageErr(line, "--columns %s=%s and --ignore-columns both name column %s: keep one", claims[0], cols[claims[0]], h.show(i))
		case ignored:
			ignoreKeys[key], h.kinds[i] = true, columnIgnored
			continue
		case len(claims) > 1:
			return nil, planErr(line, "header: %s is claimed by both %s and %s (name each with --columns)", h.show(i), claims[0], claims[1])
		case len(claims) == 0:
			h.kinds[i] = columnOther
			if slices.ContainsFunc(KnownColumns, func(k string) bool { return headerKey(k) == key }) {
				h.kinds[i] = columnKnown
			}
			continue
		}
		f := claims[0]
		if j, ok := h.at[f]; ok {
			if headerKey(cells[j]) == key {
				return nil, planErr(line, "header: column %s appears twice", h.show(i))
			}
			return nil, planErr(line, "header: columns %s and %s are both %s; keep one", h.show(j), h.show(i), f)
		}
		h.at[f], h.fields[i] = i, f
	}
	for _, f := range Fields {
		if named, ok := cols[f]; ok && !h.has(f) {
			return nil, usageErr(line, "--columns %s=%s: the plan has no such column (its header has: %s)", f, named, h.list())
		}
	}
	for _, t := range ignore {
		if !ignoreKeys[headerKey(t)] {
			return nil, usageErr(line, "--ignore-columns %s: the plan has no such column (its header has: %s)", quoteCell(t), h.list())
		}
	}
	return h, nil
}

// claimsOf lists the fields that claim a title (by its headerKey): a field --columns
// names answers to that title only, any other to its aliases.
func claimsOf(key string, cols Columns) []string {
	var claims []string
	for _, f := range Fields {
		if named, ok := cols[f]; ok {
			if headerKey(named) == key {
				claims = append(claims, f)
			}
		} else if slices.Contains(aliases[f], key) {
			claims = append(claims, f)
		}
	}
	return claims
}

// check refuses a header the job cannot run as a plan, or would read differently from
// the person who wrote it.
func (h *header) check() error {
	var missing []string
	for _, f := range reviewFields {
		if !h.has(f) {
			missing = append(missing, f)
		}
	}
	switch {
	case len(missing) > 0 && len(missing) < len(reviewFields):
		return planErr(h.line, "header: no %s column: a reviewed plan has all of %s (as a --dry-run=server report does), or none", strings.Join(missing, " or "), strings.Join(reviewFields, ", "))
	case !h.has(FieldID) && !h.has(FieldPhoneNumber):
		return planErr(h.line, "header: no id or phone number column (the header has: %s); the plan needs id or phone_number, and at least one of agent_id (or agent), nickname, label", h.list())
	case !slices.ContainsFunc(changes, h.has):
		field, title := FieldAgent, "Target agent"
		if alike := h.lookAlikes(); len(alike) > 0 {
			title = h.names[alike[0].column]
			field = cmp.Or(alike[0].field, field)
		}
		return planErr(h.line, "header: no column changes anything (the header has: %s); the plan needs at least one of agent_id, agent, nickname, label: name the sheet's own with --columns (e.g. --columns %s=%s)", h.list(), field, shellWord(title))
	}
	if alike := h.lookAlikes(); len(alike) > 0 {
		return planErr(h.line, "%s", lookAlikeReason(h, alike))
	}
	return nil
}

// usageErr is a plan error that is the command line's (exit 64).
func usageErr(line int, format string, args ...any) *Error {
	return &Error{Err: ErrUsage, Problems: []job.Problem{{Line: line, Reason: fmt.Sprintf(format, args...)}}}
}

// invisible refuses titles holding invisible format characters (a zero-width space, a
// joiner, a byte order mark): two titles that look the same would not be, and a column
// would silently not be the field it shows. The titles are shown escaped.
func invisible(cells []string, line int) error {
	var bad []string
	for _, c := range cells {
		if i := strings.IndexFunc(c, isFormat); i >= 0 {
			r, _ := utf8.DecodeRuneInString(c[i:])
			bad = append(bad, fmt.Sprintf("%s (%U)", job.QuoteCell(c), r))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return planErr(line, "header: an invisible character in the title of %s; type the title again without it", strings.Join(bad, ", "))
}

// isFormat reports an invisible format character (Unicode category Cf).
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// show names column i in a message: its header, quoted when it is not a plain word.
func (h *header) show(i int) string {
	name := h.names[i]
	switch {
	case name == "":
		return fmt.Sprintf("cell %d", i+1)
	case strings.IndexFunc(name, func(r rune) bool { return cell.IsControl(r) || isFormat(r) || r == ',' || r == '"' }) >= 0:
		return quoteCell(name) // a reason must stay on one line
	}
	return name
}

func (h *header) list() string {
	shown := make([]string, len(h.names))
	for i := range h.names {
		shown[i] = h.show(i)
	}
	return strings.Join(shown, ", ")
}

// ignored lists the titles of the columns the job does not read and names: every one
// but a field's, one of KnownColumns, or an untitled one.
func (h *header) ignored() []string {
	var out []string
	for i, name := range h.names {
		if h.kinds[i] == columnOther || h.kinds[i] == columnIgnored {
			out = append(out, name)
		}
	}
	return out
}

// known lists the titles of the columns of KnownColumns the plan has: not read, quietly.
func (h *header) known() []string {
	var out []string
	for i, name := range h.names {
		if h.kinds[i] == columnKnown {
			out = append(out, name)
		}
	}
	return out
}
