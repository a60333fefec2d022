package job

import (
	"testing"
)

func plannedAs(s string) Field      { return Field{Raw: s} }
func plannedNull() Field            { return Field{Raw: "null", Null: true} }
func reviewedAs(c Current) *Current { return &c }

func TestMoved(t *testing.T) {
	cases := []struct {
		name string
		row  Row
		now  Current
		want string
	}{
		{"not reviewed", Row{AgentID: plannedAs("agt_b")}, Current{AgentID: "agt_x"}, ""},
		{"still as reviewed", Row{AgentID: plannedAs("agt_b"), Reviewed: reviewedAs(Current{AgentID: "agt_a"})}, Current{AgentID: "agt_a"}, ""},
		{"agent moved", Row{AgentID: plannedAs("agt_c"), Reviewed: reviewedAs(Current{AgentID: "agt_a"})}, Current{AgentID: "agt_b"},
			"agent_id changed since the plan was reviewed: was agt_a, now agt_b"},
		{"moved to the planned value", Row{AgentID: plannedAs("agt_b"), Reviewed: reviewedAs(Current{AgentID: "agt_a"})}, Current{AgentID: "agt_b"}, ""},
		{"a field the row does not send moved", Row{AgentID: plannedAs("agt_b"), Reviewed: reviewedAs(Current{AgentID: "agt_a", Nickname: "Old"})},
			Current{AgentID: "agt_a", Nickname: "Someone else's"}, ""},
		{"empty when reviewed, set since", Row{AgentID: plannedAs("agt_b"), Reviewed: reviewedAs(Current{})}, Current{AgentID: "agt_x"},
			"agent_id changed since the plan was reviewed: was (none), now agt_x"},
		{"emptied since", Row{Nickname: plannedNull(), Reviewed: reviewedAs(Current{Nickname: "Paris Support"})}, Current{Nickname: "Paris"},
			`nickname changed since the plan was reviewed: was "Paris Support", now Paris`},
		{"two fields", Row{AgentID: plannedAs("agt_b"), Label: plannedAs("Team B"), Reviewed: reviewedAs(Current{AgentID: "agt_a", Label: "Team A"})},
			Current{AgentID: "agt_c", Label: ""},
			`agent_id changed since the plan was reviewed: was agt_a, now agt_c; label changed since the plan was reviewed: was "Team A", now (none)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Moved(tc.row, tc.now); got != tc.want {
				t.Errorf("Moved = %q\nwant    %q", got, tc.want)
			}
		})
	}
}

func TestDifferences(t *testing.T) {
	cases := []struct {
		name string
		row  Row
		now  Current
		want string
	}{
		{"holds all", Row{AgentID: plannedAs("agt_a"), Nickname: plannedNull()}, Current{AgentID: "agt_a"}, ""},
		{"nothing planned", Row{}, Current{AgentID: "agt_a"}, ""},
		{"agent", Row{AgentID: plannedAs("agt_y")}, Current{AgentID: "agt_x"}, "agent_id is agt_x, planned agt_y"},
		{"detached planned", Row{AgentID: plannedNull()}, Current{AgentID: "agt_x"}, "agent_id is agt_x, planned (none)"},
		{"each field", Row{AgentID: plannedAs("agt_y"), Nickname: plannedAs("New"), Label: plannedAs("Team B")}, Current{Nickname: "Old name", Label: "Team A"},
			`agent_id is (none), planned agt_y; nickname is "Old name", planned New; label is "Team A", planned "Team B"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Differences(tc.row, tc.now); got != tc.want {
				t.Errorf("Differences = %q\nwant          %q", got, tc.want)
			}
		})
	}
}

func TestPreviewString(t *testing.T) {
	cases := []struct {
		p    Preview
		want string
	}{
		{Preview{Writes: 1204, Agents: 1180, Nicknames: 96, Labels: 12, AsPlanned: 37},
			"write 1,204 numbers: 1,180 agent changes, 96 nickname changes, 12 label changes; 37 rows already as planned"},
		{Preview{Writes: 1, Agents: 1, AsPlanned: 1, Conflicts: 2, Held: 1_000_000, Skipped: 1, Invalid: 3},
			"write 1 number: 1 agent change, 0 nickname changes, 0 label changes; 1 row already as planned; 2 conflicts; 1,000,000 rows held back by --limit; 1 row skipped (--resume); 3 invalid rows"},
	}
	for _, tc := range cases {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
