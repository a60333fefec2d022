package report

import (
	"fmt"
	"strings"
	"testing"

	"reassign/job"
)

// TestChangesCount: a field counts as changed when the row sends it and the number did
// not hold it, or what it held is not known; only updated (or would_update) rows count.
func TestChangesCount(t *testing.T) {
	t.Parallel()
	set := func(v string) job.Field { return job.Field{Raw: v} }
	null := job.Field{Raw: "null", Null: true}
	before := &job.NumberState{AgentID: "agt_a", Nickname: "Desk", Label: ""}
	var c Changes
	for _, res := range []job.Result{
		{Outcome: job.Updated, Row: job.Row{AgentID: set("agt_b")}, Before: before},                        // agent
		{Outcome: job.Updated, Row: job.Row{AgentID: set("agt_a"), Nickname: set("Desk")}, Before: before}, // nothing new
		{Outcome: job.Updated, Row: job.Row{AgentID: null, Label: set("Team")}, Before: before},            // detached, label
		{Outcome: job.Updated, Row: job.Row{Nickname: null}, Before: &job.NumberState{}},                   // already empty
		{Outcome: job.WouldUpdate, Row: job.Row{AgentID: set("agt_a"), Nickname: set("Desk")}},             // before not known
		{Outcome: job.WouldUpdate, Row: job.Row{Agent: set("Sales EMEA")}},                                 // a name offline: an agent change
		{Outcome: job.NotFound, Row: job.Row{AgentID: set("agt_b")}, Error: "404 Not Found"},
		{Outcome: job.Unchanged, Row: job.Row{AgentID: set("agt_a")}, Before: before},
	} {
		c.Add(res)
	}
	if c.Agents != 3 || c.Detached != 1 || c.Nicknames != 1 || c.Labels != 1 {
		t.Errorf("agents %d, detached %d, nicknames %d, labels %d; want 3, 1, 1, 1", c.Agents, c.Detached, c.Nicknames, c.Labels)
	}
	if top, rest := c.top(job.NotFound, 3); len(top) != 1 || top[0] != (reason{"404 Not Found", 1}) || rest != 0 {
		t.Errorf("not_found reasons %v, %d others", top, rest)
	}
}

// TestChangesReasonsBounded: however many distinct reasons rows fail with, at most
// maxReasons are kept per outcome; the rest are counted, and the end says how many rows
// failed for other reasons than those it names.
func TestChangesReasonsBounded(t *testing.T) {
	t.Parallel()
	var c Changes
	for range 5 {
		c.Add(job.Result{Outcome: job.Rejected, Error: "400 Bad Request: label is too long"})
	}
	for i := range 2 * maxReasons {
		c.Add(job.Result{Outcome: job.Rejected, Error: fmt.Sprintf("400 Bad Request: nickname %d is taken", i)})
	}
	if n := len(c.reasons[job.Rejected]); n != maxReasons {
		t.Errorf("%d reasons kept, want %d", n, maxReasons)
	}
	e := &Ending{Command: "run", Report: "r.csv", Changes: &c}
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Rejected: 2005}, Rows: 2005})
	words := strings.Join(e.Words(), "\n")
	if !strings.Contains(words, "2,005 rejected, most often: 400 Bad Request: label is too long (5); ") ||
		!strings.Contains(words, "; 1,998 rows for other reasons") {
		t.Errorf("the end in words:\n%s", words)
	}
}

// TestWordsShortenReasons: an API's long message is cut, so that the end stays a few
// lines.
func TestWordsShortenReasons(t *testing.T) {
	t.Parallel()
	var c Changes
	c.Add(job.Result{Outcome: job.Rejected, Error: "400 Bad Request: " + strings.Repeat("é", 500)})
	e := &Ending{Command: "run", Report: "r.csv", Changes: &c}
	e.Ran(job.Summary{Counts: map[job.Outcome]int{job.Rejected: 1}, Rows: 1})
	for _, line := range e.Words() {
		if n := len([]rune(line)); n > maxReasonLen+40 {
			t.Errorf("a line of %d characters: %q", n, line)
		}
	}
}
