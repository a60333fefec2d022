package planfile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"reassign/job"
	"reassign/job/cell"
)

// The fields a plan's columns can hold (README, "The plan").
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

// headerKey is how header names are compared: case ignored, and spaces, '_', '-' and
// '.' ignored (Phone Number = phone_number = PhoneNumber, Agent-ID = agent_id, E.164 =
// e164).
func headerKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// ErrUsage marks a plan error that is the command line's: --columns naming a header the
// plan lacks.
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

// header is a plan's header row matched to the fields.
type header struct {
	names  []string       // each column's header as written, trimmed
	fields []string       // each column's field; "" for a column the job does not read
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

// matchHeader matches a header row (its cells trimmed) to the fields. A header that
// cannot be read as a plan's is a *Error (65); a --columns header it lacks, one that
// wraps ErrUsage (64).
func matchHeader(cells []string, line int, cols Columns) (*header, error) {
	h := &header{names: cells, fields: make([]string, len(cells)), at: map[string]int{}, line: line}
	for i, name := range cells {
		key := headerKey(name)
		if key == "" {
			continue // an empty name maps to no field
		}
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
		switch {
		case len(claims) > 1:
			return nil, planErr(line, "header: %s is claimed by both %s and %s (name each with --columns)", h.show(i), claims[0], claims[1])
		case len(claims) == 0:
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
			return nil, &Error{Err: ErrUsage, Problems: []job.Problem{{Line: line,
				Reason: fmt.Sprintf("--columns %s=%s: the plan has no such column (its header has: %s)", f, named, h.list())}}}
		}
	}
	var missing []string
	for _, f := range reviewFields {
		if !h.has(f) {
			missing = append(missing, f)
		}
	}
	switch {
	case len(missing) > 0 && len(missing) < len(reviewFields):
		return nil, planErr(line, "header: no %s column: a reviewed plan has all of %s (as a --dry-run=server report does), or none", strings.Join(missing, " or "), strings.Join(reviewFields, ", "))
	case h.has(FieldAgent) && h.has(FieldAgentID):
		return nil, planErr(line, "header: both %s and %s columns; keep one (agent takes an agent's id or its name)", h.show(h.at[FieldAgentID]), h.show(h.at[FieldAgent]))
	case !h.has(FieldID) && !h.has(FieldPhoneNumber):
		return nil, planErr(line, "header: no id or phone number column (the header has: %s); the plan needs id or phone_number, and at least one of agent_id (or agent), nickname, label", h.list())
	}
	return h, nil
}

// show names column i in a message: its header, quoted when it is not a plain word.
func (h *header) show(i int) string {
	name := h.names[i]
	switch {
	case name == "":
		return fmt.Sprintf("cell %d", i+1)
	case strings.IndexFunc(name, func(r rune) bool { return cell.IsControl(r) || r == ',' || r == '"' }) >= 0:
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

// ignored lists the header names of the columns the job does not read; a phone_number
// column beside an id is one of them.
func (h *header) ignored() []string {
	var out []string
	for i, name := range h.names {
		if name != "" && (h.fields[i] == "" || h.fields[i] == FieldPhoneNumber && !h.byPhone()) {
			out = append(out, name)
		}
	}
	return out
}
