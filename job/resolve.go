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
// found; it also checks that an agent_id is an agent of the workspace. A row it cannot
// resolve keeps what it named (its agent cell, as written, in AgentID) and gets the
// reasons as problems.
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
type answer struct{ id, reason string }

// maxAnswers bounds the agent cells a Resolver remembers.
const maxAnswers = 10000

// NewResolver returns a resolver over ws, what the reads before the first write found. A
// part of ws that could not be read (nil) is not checked, but a row that needs it is
// invalid. A nil ws is a workspace not read at all (an offline dry run, --no-snapshot,
// reads cut short by a signal): rows then go as written, their spelling checked only by
// the reader.
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

// Resolve gives row the ids its phone number and its agent cell stand for, with the
// problems that keep it from them (none for a row that resolves, or that names nothing
// to resolve).
func (r *Resolver) Resolve(row Row) (Row, []Problem) {
	var problems []Problem
	fail := func(reason string) {
		problems = append(problems, Problem{Line: row.Line, Reason: reason})
	}
	if row.PhoneNumber != "" && row.ID == "" {
		if id, reason := r.number(row.PhoneNumber); reason != "" {
			fail(reason)
		} else {
			row.ID = id
		}
	}
	switch a := row.Agent; {
	case a.Set() && !row.AgentID.Set():
		row.AgentID = a // as written, unless it resolves
		if !a.Null {
			if id, reason := r.agent(agentCell{a.Raw, true}); reason != "" {
				fail(reason)
			} else {
				row.AgentID.Raw = id
			}
		}
	case row.AgentID.Set() && !row.AgentID.Null:
		if _, reason := r.agent(agentCell{row.AgentID.Raw, false}); reason != "" {
			fail(reason)
		}
	}
	return row, problems
}

// number finds the id of the number with this phone number (as the reader spells it).
func (r *Resolver) number(phone string) (id, reason string) {
	if !r.read {
		return "", "" // as written: nothing to look it up in
	}
	switch ids := r.numbers.IDsOf(phone); {
	case r.numbers == nil:
		return "", fmt.Sprintf("phone number %s: the workspace's numbers were not read, so its id is not known", phone)
	case len(ids) == 0:
		return "", fmt.Sprintf("phone number %s is not a number of this workspace", phone)
	case len(ids) > 1:
		return "", fmt.Sprintf("phone number %s is on %d numbers of this workspace (%s); use the id", phone, len(ids), strings.Join(ids, ", "))
	default:
		return ids[0], ""
	}
}

// agent resolves one agent cell: an agent_id column's must be an agent of the
// workspace; an agent column's may also be an agent's name.
func (r *Resolver) agent(c agentCell) (id, reason string) {
	if ans, ok := r.answers[c]; ok {
		return ans.id, ans.reason
	}
	switch {
	case !r.read:
		return c.text, "" // as written: nothing to look it up in
	case r.agents == nil && c.byName:
		reason = fmt.Sprintf("agent %s: the workspace's agents were not read, so its id is not known", QuoteCell(c.text))
	case r.agents == nil:
		id = c.text // unchecked: the run goes on without the agent check
	case c.byName:
		id, reason = r.agents.resolve(c.text)
	case !ValidID(c.text) || r.agents.ids[c.text]:
		id = c.text // a malformed id is a problem of its own, the reader's
	default:
		reason = fmt.Sprintf("agent_id %s is not an agent of this workspace", c.text)
	}
	if len(r.answers) < maxAnswers {
		r.answers[agentCell{strings.Clone(c.text), c.byName}] = answer{id, reason}
	}
	return id, reason
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
