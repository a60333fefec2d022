package job

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"reassign/job/dialnexa"
)

// agentName is how display names are compared: case ignored, runs of white space as one
// space, none at the ends.
func agentName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// agentIndex finds the workspace's agents by id and by display name.
type agentIndex struct {
	ids    map[string]bool
	byName map[string][]string // agentName -> ids, in the order GET /agents gave them
	names  map[string]string   // agentName -> the name as the workspace spells it
}

func newAgentIndex(agents []dialnexa.Agent) *agentIndex {
	x := &agentIndex{ids: map[string]bool{}, byName: map[string][]string{}, names: map[string]string{}}
	for _, a := range agents {
		x.ids[a.ID] = true
		if n := agentName(a.Name); n != "" {
			x.byName[n] = append(x.byName[n], a.ID)
			if _, ok := x.names[n]; !ok {
				x.names[n] = strings.Join(strings.Fields(a.Name), " ")
			}
		}
	}
	return x
}

// resolve finds the agent a plan's agent cell names: an id of the workspace as it is,
// else a display name that exactly one agent has. reason says why it cannot.
func (x *agentIndex) resolve(cell string) (id, reason string) {
	if x.ids[cell] {
		return cell, ""
	}
	n := agentName(cell)
	switch ids := x.byName[n]; len(ids) {
	case 1:
		return ids[0], ""
	case 0:
		reason = fmt.Sprintf("agent %s is not an agent of this workspace", QuoteCell(cell))
		if near := x.closest(n); len(near) > 0 {
			reason += fmt.Sprintf(" (did you mean %s?)", orList(near))
		}
		return "", reason
	default:
		return "", fmt.Sprintf("agent %s is ambiguous: %s; use the id", QuoteCell(cell), strings.Join(ids, ", "))
	}
}

// closest returns up to three names near n: a few edits away, or holding it whole.
func (x *agentIndex) closest(n string) []string {
	type near struct {
		name string
		d    int
	}
	var found []near
	for cand := range x.byName {
		d := editDistance(n, cand)
		if d <= max(2, len([]rune(n))/3) || len(n) >= 3 && (strings.Contains(cand, n) || strings.Contains(n, cand)) {
			found = append(found, near{x.names[cand], d})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		return found[i].d < found[j].d || found[i].d == found[j].d && found[i].name < found[j].name
	})
	var out []string
	for _, f := range found[:min(3, len(found))] {
		out = append(out, f.name)
	}
	return out
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

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// ListAgents reads the workspace's agents (one GET /agents, on rt's limiter and retry
// policy, as every read), for `reassign agents`.
func ListAgents(ctx context.Context, rd Lister, rt *Retrier) ([]dialnexa.Agent, error) {
	return readAgents(ctx, rd, rt)
}
