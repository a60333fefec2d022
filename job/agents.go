package job

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"reassign/job/dialnexa"
	"reassign/job/pace"
	"reassign/job/suggest"
)

// ReadAgents reads the workspace's agents (GET /agents) on rt, retried as any read.
func ReadAgents(ctx context.Context, rd Lister, rt *pace.Retrier) ([]dialnexa.Agent, error) {
	return readAgents(ctx, rd, rt)
}

// AgentNames gives the agents' display names by id (those with a name).
func AgentNames(agents []dialnexa.Agent) map[string]string {
	names := make(map[string]string, len(agents))
	for _, a := range agents {
		if a.Name != "" {
			names[a.ID] = a.Name
		}
	}
	return names
}

// agentName is how display names are compared: in Unicode NFC (a name typed on a Mac
// may come decomposed, é as e and a combining accent), case ignored, runs of white
// space as one space, none at the ends.
func agentName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFC.String(s))), " ")
}

// agentIndex finds the workspace's agents by id and by display name.
type agentIndex struct {
	ids    map[string]string   // id -> its display name as the workspace spells it ("" for none)
	folded map[string][]string // id in lower case -> the ids that are it in some case
	byName map[string][]string // agentName -> ids, in the order GET /agents gave them
	names  map[string]string   // agentName -> the name as the workspace spells it
}

func newAgentIndex(agents []dialnexa.Agent) *agentIndex {
	x := &agentIndex{ids: map[string]string{}, folded: map[string][]string{}, byName: map[string][]string{}, names: map[string]string{}}
	for _, a := range agents {
		if _, seen := x.ids[a.ID]; !seen {
			x.folded[strings.ToLower(a.ID)] = append(x.folded[strings.ToLower(a.ID)], a.ID)
		}
		x.ids[a.ID] = a.Name
		if n := agentName(a.Name); n != "" {
			x.byName[n] = append(x.byName[n], a.ID)
			if _, ok := x.names[n]; !ok {
				x.names[n] = strings.Join(strings.Fields(a.Name), " ")
			}
		}
	}
	return x
}

// has reports whether id is exactly an id of the workspace's agents.
func (x *agentIndex) has(id string) bool {
	_, ok := x.ids[id]
	return ok
}

// otherCase returns the ids that are s in another case (ids are compared exactly, so
// AGT_1 is not agt_1), not s itself.
func (x *agentIndex) otherCase(s string) []string {
	var out []string
	for _, id := range x.folded[strings.ToLower(s)] {
		if id != s {
			out = append(out, id)
		}
	}
	return out
}

// resolve finds the agent a plan's agent cell names: an id of the workspace, or a
// display name that exactly one agent has. A cell that could be two agents (one's id
// and another's name, or an id in another case and another's name) is none of them.
// reason says why it resolves to none; missing says the workspace has no agent by that
// id or name.
func (x *agentIndex) resolve(cell string) (id, reason string, missing bool) {
	named := x.byName[agentName(cell)]
	if x.has(cell) {
		if other := without(named, cell); len(other) > 0 {
			return "", fmt.Sprintf("agent %s is both the id of %s and the name of %s; use an agent_id column to say which", QuoteCell(cell), cell, strings.Join(other, ", ")), false
		}
		return cell, "", false
	}
	folded := x.otherCase(cell)
	switch {
	case len(named) == 1 && len(without(folded, named[0])) == 0:
		return named[0], "", false
	case len(named) == 1:
		return "", fmt.Sprintf("agent %s is the name of %s, and also the id %s in another case (ids are case-sensitive); use the id", QuoteCell(cell), named[0], strings.Join(folded, ", ")), false
	case len(named) > 1:
		return "", fmt.Sprintf("agent %s is ambiguous: %s; use the id", QuoteCell(cell), strings.Join(named, ", ")), false
	case len(folded) > 0:
		return "", fmt.Sprintf("agent %s is not an agent of this workspace (did you mean %s? ids are case-sensitive)", QuoteCell(cell), strings.Join(folded, " or ")), false
	}
	reason = fmt.Sprintf("agent %s is not an agent of this workspace", QuoteCell(cell))
	near := x.closest(agentName(cell))
	if len(near) > 0 {
		reason += fmt.Sprintf(" (did you mean %s?)", orList(near))
	}
	return "", reason, true
}

// agrees reports whether an agent column's cell names the agent id: its id, or its
// name (compared as names are).
func (x *agentIndex) agrees(id, cell string) bool {
	if cell == id {
		return true
	}
	name := x.ids[id]
	return name != "" && agentName(name) == agentName(cell)
}

// without is ids less id.
func without(ids []string, id string) []string {
	var out []string
	for _, s := range ids {
		if s != id {
			out = append(out, s)
		}
	}
	return out
}

// closest returns up to three ways to write the agents whose names are near n (a few
// edits away, or holding it whole), each one that resolves to its agent: the name, or,
// where the name would not resolve to it alone (a name two agents share, or one that
// is another agent's id), the agent's id.
func (x *agentIndex) closest(n string) []string {
	type near struct {
		name string
		d    int
	}
	var found []near
	for cand := range x.byName {
		d := suggest.Distance(n, cand)
		if d <= max(2, len([]rune(n))/3) || len(n) >= 3 && (strings.Contains(cand, n) || strings.Contains(n, cand)) {
			found = append(found, near{cand, d})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		return found[i].d < found[j].d || found[i].d == found[j].d && x.names[found[i].name] < x.names[found[j].name]
	})
	var out []string
	for _, f := range found {
		name, ids := x.names[f.name], x.byName[f.name]
		if got, reason, _ := x.resolve(name); reason == "" && len(ids) == 1 && got == ids[0] {
			out = append(out, name)
		} else {
			out = append(out, ids...)
		}
	}
	return out[:min(3, len(out))]
}

// orList writes names as "a", "a" or "b", "a", "b" or "c".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = QuoteCell(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// ListAgents reads the workspace's agents (one GET /agents, on rt's limiter and retry
// policy, as every read), for `reassign agents`.
func ListAgents(ctx context.Context, rd Lister, rt *pace.Retrier) ([]dialnexa.Agent, error) {
	return readAgents(ctx, rd, rt)
}
