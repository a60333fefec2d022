package job

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func plannedAs(s string) Field { return Field{Raw: s} }
func plannedNull() Field       { return Field{Raw: "null", Null: true} }

func TestMoved(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		row  Row
		now  NumberState
		want string
	}{
		{"not reviewed", Row{AgentID: plannedAs("agt_b")}, NumberState{AgentID: "agt_x"}, ""},
		{"still as reviewed", Row{AgentID: plannedAs("agt_b"), Reviewed: new(NumberState{AgentID: "agt_a"})}, NumberState{AgentID: "agt_a"}, ""},
		{"agent moved", Row{AgentID: plannedAs("agt_c"), Reviewed: new(NumberState{AgentID: "agt_a"})}, NumberState{AgentID: "agt_b"},
			"agent_id changed since the plan was reviewed: was agt_a, now agt_b"},
		{"moved to the planned value", Row{AgentID: plannedAs("agt_b"), Reviewed: new(NumberState{AgentID: "agt_a"})}, NumberState{AgentID: "agt_b"}, ""},
		{"a field the row does not send moved", Row{AgentID: plannedAs("agt_b"), Reviewed: new(NumberState{AgentID: "agt_a", Nickname: "Old"})},
			NumberState{AgentID: "agt_a", Nickname: "Someone else's"}, ""},
		{"empty when reviewed, set since", Row{AgentID: plannedAs("agt_b"), Reviewed: new(NumberState{})}, NumberState{AgentID: "agt_x"},
			"agent_id changed since the plan was reviewed: was (none), now agt_x"},
		{"emptied since", Row{Nickname: plannedNull(), Reviewed: new(NumberState{Nickname: "Paris Support"})}, NumberState{Nickname: "Paris"},
			`nickname changed since the plan was reviewed: was "Paris Support", now Paris`},
		{"two fields", Row{AgentID: plannedAs("agt_b"), Label: plannedAs("Team B"), Reviewed: new(NumberState{AgentID: "agt_a", Label: "Team A"})},
			NumberState{AgentID: "agt_c", Label: ""},
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
	t.Parallel()
	cases := []struct {
		name string
		row  Row
		now  NumberState
		want string
	}{
		{"holds all", Row{AgentID: plannedAs("agt_a"), Nickname: plannedNull()}, NumberState{AgentID: "agt_a"}, ""},
		{"nothing planned", Row{}, NumberState{AgentID: "agt_a"}, ""},
		{"agent", Row{AgentID: plannedAs("agt_y")}, NumberState{AgentID: "agt_x"}, "agent_id is agt_x, planned agt_y"},
		{"detached planned", Row{AgentID: plannedNull()}, NumberState{AgentID: "agt_x"}, "agent_id is agt_x, planned (none)"},
		{"each field", Row{AgentID: plannedAs("agt_y"), Nickname: plannedAs("New"), Label: plannedAs("Team B")}, NumberState{Nickname: "Old name", Label: "Team A"},
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

// TestUndo: the row that puts back what a row changes, reviewed against what it wrote;
// a label empty before stays as written.
func TestUndo(t *testing.T) {
	t.Parallel()
	before := NumberState{AgentID: "agt_a", Nickname: "", Label: "Team A"}
	cases := []struct {
		name      string
		row       Row
		before    NumberState
		undo      Row
		keptLabel bool
	}{
		{"every field", Row{ID: "phn_1", AgentID: plannedAs("agt_b"), Nickname: plannedAs("New"), Label: plannedAs("Team B")}, before,
			Row{ID: "phn_1", AgentID: plannedAs("agt_a"), Nickname: Field{Raw: "NULL", Null: true}, Label: plannedAs("Team A"),
				Reviewed: &NumberState{AgentID: "agt_b", Nickname: "New", Label: "Team B"}}, false},
		{"a null planned, a field not sent", Row{ID: "phn_1", AgentID: plannedNull()}, before,
			Row{ID: "phn_1", AgentID: plannedAs("agt_a"), Reviewed: &NumberState{AgentID: "", Nickname: "", Label: "Team A"}}, false},
		{"a label empty before", Row{ID: "phn_1", Label: plannedAs("Team B")}, NumberState{AgentID: "agt_a"},
			Row{ID: "phn_1", Reviewed: &NumberState{AgentID: "agt_a", Label: "Team B"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			undo, kept := Undo(tc.row, tc.before, "NULL")
			if !reflect.DeepEqual(undo, tc.undo) || kept != tc.keptLabel {
				t.Errorf("Undo = %+v (reviewed %+v), kept label %v\nwant   %+v (reviewed %+v), %v", undo, undo.Reviewed, kept, tc.undo, tc.undo.Reviewed, tc.keptLabel)
			}
			// Run on the number as the row left it, the undo row writes; on the number as
			// it was, it has nothing to do; on a number moved since, it is a conflict.
			wrote := Written(tc.row, tc.before)
			if !undo.HasChanges() {
				return
			}
			if NoOp(undo, wrote) || Moved(undo, wrote) != "" || !NoOp(undo, tc.before) {
				t.Errorf("the undo row does not put back %+v from %+v", tc.before, wrote)
			}
			moved := wrote
			moved.AgentID = "agt_someone_else"
			if Moved(undo, moved) == "" && undo.AgentID.Set() {
				t.Errorf("the undo row would overwrite a number moved since: %+v", moved)
			}
		})
	}
}

func TestPreviewString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p    Preview
		want string
	}{
		{Preview{Writes: 1204, Agents: 1180, Nicknames: 96, Labels: 12, AsPlanned: 37},
			"write 1,204 numbers: 1,180 agent changes, 96 nickname changes, 12 label changes; 37 rows already as planned"},
		{Preview{Writes: 1, Agents: 1, AsPlanned: 1, Conflicts: 2, Held: 1_000_000, Skipped: 1, Invalid: 3},
			"write 1 number: 1 agent change, 0 nickname changes, 0 label changes; 1 row already as planned; 2 conflicts; 1,000,000 rows held back by --limit; 1 row skipped (--resume); 3 invalid rows"},
		// The columns the run does not read, named before a person says yes.
		{Preview{Writes: 2, Agents: 2, Ignored: []string{"Notes"}},
			"write 2 numbers: 2 agent changes, 0 nickname changes, 0 label changes; 0 rows already as planned; not read: column Notes"},
		{Preview{Writes: 2, Nicknames: 2, Ignored: []string{"Notes", "Owner, old", "column 7 (no title)"}},
			`write 2 numbers: 0 agent changes, 2 nickname changes, 0 label changes; 0 rows already as planned; not read: columns Notes, "Owner, old", column 7 (no title)`},
		{Preview{Writes: 1204, Agents: 1204, Waves: []int{1, 121, 1204}, Atomic: true},
			"write 1,204 numbers: 1,204 agent changes, 0 nickname changes, 0 label changes; 0 rows already as planned; " +
				"in 3 waves (1, 121, 1,204 numbers by the end of each), each re-read and checked before the next; " +
				"atomic: if a check fails, every number written is put back"},
	}
	for _, tc := range cases {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// TestRefuse: a plan refused for its rows still records each of them, nothing sent:
// invalid with why, as planned, or not_attempted because of the others.
func TestRefuse(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)
	snap := newSnapshot(nil, 0)
	snap.add("phn_2", NumberState{AgentID: "agt_a"}, "")
	r := &Runner{Now: func() time.Time { return at }, Snapshot: snap}
	rows := func(fn func(Row, []Problem) error) error {
		for _, x := range []struct {
			row      Row
			problems []Problem
		}{
			{Row{Line: 2, ID: "phn_1", Agent: Field{Raw: "Sales"}}, []Problem{{Line: 2, Reason: `agent "Sales" is not an agent of this workspace`}}},
			{Row{Line: 3, ID: "phn_2", AgentID: Field{Raw: "agt_a"}}, nil},
			{Row{Line: 4, ID: "phn_3", AgentID: Field{Raw: "agt_b"}}, nil},
		} {
			if err := fn(x.row, x.problems); err != nil {
				return err
			}
		}
		return nil
	}
	var got []string
	err := r.Refuse(rows, func(res Result) error {
		if !res.Finished.Equal(at) {
			t.Errorf("line %d: finished %v", res.Row.Line, res.Finished)
		}
		got = append(got, fmt.Sprintf("%d %s %s %v", res.Row.Line, res.Outcome, res.Error, res.Before != nil))
		return nil
	})
	want := []string{
		`2 invalid agent "Sales" is not an agent of this workspace false`,
		"3 unchanged already as planned true",
		"4 not_attempted not sent: other rows of the plan are invalid false",
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Refuse: %v\n got %q\nwant %q", err, got, want)
	}
}
