package job

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Resolver turns a plan row that names its number by phone number (Row.PhoneNumber) or
// its agent in an agent column (Row.Agent: an agent's id or its display name) into one
// holding the ids (Row.ID, Row.AgentID), through what the reads before the first write
// found; it also checks that an agent_id is an agent of the workspace, and that the
// columns that name one thing twice agree (agent_id and agent, id and phone_number). A
// row it cannot resolve keeps what it named (an agent column's cell stays in Agent,
// never in AgentID) and gets the reasons as problems. Row.AgentName gets the agent's
// display name where it is known.
//
// A Resolver remembers the agent cells it has looked up; it is not safe for concurrent
// use.
type Resolver struct {
	read    bool        // the workspace was read (see NewResolver)
	agents  *agentIndex // nil: the agents could not be read
	numbers *Snapshot   // nil: the numbers could not be read
	answers map[agentCell]answer
}

// agentCell is an agent cell as a row names it: in an agent_id column (an id), or in an
// agent column (an id or a name).
type agentCell struct {
	text   string
	byName bool
}

// answer is what an agent cell resolved to: the agent's id, or why not.
type answer struct {
	id, reason string
	missing    bool
}

// maxAnswers bounds the agent cells a Resolver remembers.
const maxAnswers = 10000

// NewResolver returns a resolver over ws, what the reads before the first write found. A
// part of ws that could not be read (nil) is not checked, but a row that needs it is
// invalid. A nil ws is a workspace not read at all (an offline dry run, --no-snapshot,
// reads cut short by a signal): rows then go as written, their spelling checked only by
// the reader, an agent column's name left to be resolved at the run (Pending).
func NewResolver(ws *Workspace) *Resolver {
	r := &Resolver{answers: map[agentCell]answer{}}
	if ws == nil {
		return r
	}
	r.read, r.numbers = true, ws.Snapshot
	if ws.Agents != nil {
		r.agents = newAgentIndex(ws.Agents)
	}
	return r
}

// Checks says which of the checks that need the workspace this resolver makes: whether
// the agents and the numbers were read. Without them, agent names are not resolved and
// columns naming one thing twice are not checked against each other.
func (r *Resolver) Checks() (agents, numbers bool) {
	return r.agents != nil, r.read && r.numbers != nil
}

// Resolve gives row the ids its phone number and its agent cell stand for, with the
// problems that keep it from them (none for a row that resolves, or that names nothing
// to resolve).
func (r *Resolver) Resolve(row Row) (Row, []Problem) {
	var problems []Problem
	fail := func(reason string, missing bool) {
		problems = append(problems, Problem{Line: row.Line, Reason: reason, Missing: missing})
	}
	switch {
	case row.PhoneNumber == "":
	case row.ID == "":
		if id, reason, missing := r.number(row.PhoneNumber, row.PhoneBare); reason != "" {
			fail(reason, missing)
		} else {
			row.ID = id
		}
	default:
		if reason := r.samePhone(row.ID, row.PhoneNumber); reason != "" {
			fail(reason, false)
		}
	}
	a, id := row.Agent, row.AgentID
	switch {
	case !a.Set():
		if id.Set() && !id.Null {
			if _, reason, missing := r.agent(agentCell{id.Raw, false}); reason != "" {
				fail(reason, missing)
			}
			row.AgentName = r.nameOf(id.Raw)
		}
	case a.Null && !id.Set():
		row.AgentID = a // detaches: nothing to look up
	case !id.Set():
		row.AgentName = a.Raw // as written, unless it resolves
		if !r.read {
			return row, problems // resolved at the run (Pending)
		}
		if got, reason, missing := r.agent(agentCell{a.Raw, true}); reason != "" {
			fail(reason, missing)
		} else {
			row.AgentID, row.AgentName = Field{Raw: got}, r.nameOf(got)
		}
	default:
		if reason, missing := r.agree(&row); reason != "" {
			fail(reason, missing)
		}
	}
	return row, problems
}

// agree checks a row with both an agent_id and an agent cell: they must name the same
// agent (the agent cell its id or its name), or both detach it. Without the agents it
// is not checked and the row goes by its agent_id.
func (r *Resolver) agree(row *Row) (reason string, missing bool) {
	a, id := row.Agent, row.AgentID
	row.AgentName = a.Raw
	switch {
	case a.Null && id.Null:
		row.AgentName = ""
		return "", false
	case id.Null:
		return fmt.Sprintf("agent_id is %s (detach the agent), but agent says %s: keep one", id.Raw, QuoteCell(a.Raw)), false
	case a.Null:
		return fmt.Sprintf("agent_id %s%s, but agent is %s (detach the agent): keep one", id.Raw, r.isNamed(id.Raw), a.Raw), false
	case r.agents == nil || !ValidID(id.Raw):
		return "", false // unchecked (the log says so), or the reader's problem
	}
	if _, reason, missing := r.agent(agentCell{id.Raw, false}); reason != "" {
		return reason, missing
	}
	if !r.agents.agrees(id.Raw, a.Raw) {
		reason = fmt.Sprintf("agent_id %s%s, but agent says %s: keep one", id.Raw, r.isNamed(id.Raw), QuoteCell(a.Raw))
		if strings.EqualFold(a.Raw, id.Raw) {
			reason += " (ids are case-sensitive)"
		}
		return reason, false
	}
	row.AgentName = r.nameOf(id.Raw)
	return "", false
}

// isNamed says in a message what agent id is called: ` is "Billing"`, or that it has no
// name.
func (r *Resolver) isNamed(id string) string {
	if name := r.nameOf(id); name != "" {
		return " is " + QuoteCell(name)
	}
	if r.agents != nil && r.agents.has(id) {
		return " has no name"
	}
	return ""
}

// nameOf is the display name of agent id, "" when it has none or is not known.
func (r *Resolver) nameOf(id string) string {
	if r.agents == nil {
		return ""
	}
	return r.agents.ids[id]
}

// number finds the id of the number with this phone number (as the reader spells it).
// bare says it was written as bare digits: when the workspace also has a longer number
// ending in those digits, the country code read from them may be another number's area
// code, and the row is refused rather than guessed.
func (r *Resolver) number(phone string, bare bool) (id, reason string, missing bool) {
	if !r.read {
		return "", "", false // as written: nothing to look it up in
	}
	if r.numbers == nil {
		return "", fmt.Sprintf("phone number %s: the workspace's numbers were not read, so its id is not known", phone), false
	}
	var longer []string
	if bare {
		longer = r.numbers.Endings(phone)
	}
	switch ids := r.numbers.IDsOf(phone); {
	case len(ids) > 1:
		return "", fmt.Sprintf("phone number %s is on %d numbers of this workspace (%s); use the id", phone, len(ids), strings.Join(ids, ", ")), false
	case len(ids) == 1 && len(longer) > 0:
		return "", fmt.Sprintf("phone number %s, written without + or 00, was read as %s, but the workspace also has %s, which ends in those digits: write the number with + and its country code",
			phone[1:], phone, strings.Join(longer, ", ")), false
	case len(ids) == 1:
		return ids[0], "", false
	case len(longer) > 0:
		return "", fmt.Sprintf("phone number %s is not a number of this workspace; %s ends in those digits (did the spreadsheet drop the country code?): write the number with + and its country code",
			phone, strings.Join(longer, ", ")), false
	}
	return "", fmt.Sprintf("phone number %s is not a number of this workspace", phone), true
}

// samePhone checks a row keyed by id that also names a phone number: the number with
// that id must have it. Without the numbers, or for an id the snapshot does not hold
// (the row will meet its 404), it is not checked.
func (r *Resolver) samePhone(id, phone string) string {
	if !r.read {
		return ""
	}
	has, ok := r.numbers.PhoneOf(id)
	if !ok || has == phone {
		return ""
	}
	return fmt.Sprintf("id %s is %s, but phone_number says %s: keep one", id, has, phone)
}

// agent resolves one agent cell: an agent_id column's must be an agent of the
// workspace; an agent column's may also be an agent's name.
func (r *Resolver) agent(c agentCell) (id, reason string, missing bool) {
	if ans, ok := r.answers[c]; ok {
		return ans.id, ans.reason, ans.missing
	}
	switch {
	case !r.read:
		return c.text, "", false // as written: nothing to look it up in
	case r.agents == nil && c.byName:
		reason = fmt.Sprintf("agent %s: the workspace's agents were not read, so its id is not known", QuoteCell(c.text))
	case r.agents == nil:
		id = c.text // unchecked: the run goes on without the agent check
	case c.byName:
		id, reason, missing = r.agents.resolve(c.text)
	case !ValidID(c.text) || r.agents.has(c.text):
		id = c.text // a malformed id is a problem of its own, the reader's
	case len(r.agents.otherCase(c.text)) > 0:
		reason = fmt.Sprintf("agent_id %s is not an agent of this workspace (did you mean %s? ids are case-sensitive)", c.text, strings.Join(r.agents.otherCase(c.text), " or "))
	default:
		reason, missing = fmt.Sprintf("agent_id %s is not an agent of this workspace", c.text), true
	}
	if len(r.answers) < maxAnswers {
		r.answers[agentCell{strings.Clone(c.text), c.byName}] = answer{id, reason, missing}
	}
	return id, reason, missing
}

// Pending says what of row only the workspace resolves, for a row that went unresolved
// because the workspace was not read (an offline dry run): `agent "Sales EMEA"
// (resolved at the run)`; "" when it names nothing so.
func Pending(row Row) string {
	var parts []string
	if row.ID == "" && row.PhoneNumber != "" {
		parts = append(parts, "phone number "+row.PhoneNumber)
	}
	if row.Agent.Set() && !row.AgentID.Set() {
		parts = append(parts, "agent "+QuoteCell(row.Agent.Raw))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ") + " (resolved at the run)"
}

// Each is each's rows resolved: every row with its problems, the reader's first.
func (r *Resolver) Each(each Each) Each {
	return func(fn func(Row, []Problem) error) error {
		return each(func(row Row, problems []Problem) error {
			row, more := r.Resolve(row)
			if len(more) > 0 {
				problems = append(slices.Clip(problems), more...)
			}
			return fn(row, problems)
		})
	}
}

// Check resolves every row that each yields, and returns the problems resolution finds,
// in plan order. sample, when not nil, stands for the plan: a row for each distinct way
// its rows name what resolution looks up (a plan keyed by id, with few distinct agent
// cells, is one; its reader says so). When every row of sample resolves, so does every
// row of the plan, and each is not read. Check stops with ctx's error when ctx ends.
func (r *Resolver) Check(ctx context.Context, each Each, sample []Row) ([]Problem, error) {
	if !r.read {
		return nil, nil
	}
	if sample != nil {
		fine := true
		for _, row := range sample {
			_, problems := r.Resolve(row)
			fine = fine && len(problems) == 0
		}
		if fine {
			return nil, nil
		}
	}
	var found []Problem
	err := each(func(row Row, _ []Problem) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read plan: %w", err)
		}
		_, problems := r.Resolve(row)
		found = append(found, problems...)
		return nil
	})
	return found, err
}

// Collate merges the problems two passes over a plan found, each list in plan order,
// into one in plan order (on one line, the first pass's first), and counts the rows
// they are about.
func Collate(first, second []Problem) (all []Problem, rows int) {
	all = append(slices.Clip(first), second...)
	slices.SortStableFunc(all, func(a, b Problem) int { return a.Line - b.Line })
	last := -1
	for _, p := range all {
		if p.Line != last {
			rows++
			last = p.Line
		}
	}
	return all, rows
}

// ProblemGroup is a reason several rows share, and how many rows.
type ProblemGroup struct {
	Reason string
	Rows   int
}

// Group returns the reasons that at least least rows share, most rows first (ties in
// the order the reasons first appear), at most most of them: what the end of a long
// list of problems says once ("248 rows: agent "Sales" is not an agent of this
// workspace").
func Group(problems []Problem, least, most int) []ProblemGroup {
	type tally struct {
		rows, first, last int
	}
	seen := map[string]*tally{}
	for i, p := range problems {
		t := seen[p.Reason]
		if t == nil {
			t = &tally{first: i, last: -1}
			seen[p.Reason] = t
		}
		if p.Line != t.last || p.Line == 0 {
			t.rows++
			t.last = p.Line
		}
	}
	var groups []ProblemGroup
	for reason, t := range seen {
		if t.rows >= least {
			groups = append(groups, ProblemGroup{reason, t.rows})
		}
	}
	slices.SortFunc(groups, func(a, b ProblemGroup) int {
		if a.Rows != b.Rows {
			return b.Rows - a.Rows
		}
		return seen[a.Reason].first - seen[b.Reason].first
	})
	return groups[:min(most, len(groups))]
}

// MissingRows counts the rows whose problems say they name an agent or a number the
// workspace does not have (Problem.Missing).
func MissingRows(problems []Problem) int {
	n, last := 0, -1
	for _, p := range problems {
		if p.Missing && p.Line != last {
			n++
			last = p.Line
		}
	}
	return n
}

// ValidID reports whether s matches ^[A-Za-z0-9_-]{1,128}$, what an id or an agent_id
// must be: both go into a URL or a body.
func ValidID(s string) bool {
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

// QuoteCell shows a plan cell in a problem's reason: quoted, with control characters
// escaped, cut short.
func QuoteCell(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}
