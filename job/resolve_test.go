package job

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"reassign/job/dialnexa"
)

// testWorkspace has three agents (two share a name) and three numbers, one phone number
// listed under two ids; its snapshot finds numbers by phone number spelt as given.
func testWorkspace() *Workspace {
	s := newSnapshot(func(phone string) string { return phone }, 0)
	for _, n := range [][2]string{{"phn_1", "+441614960000"}, {"phn_2", "+4930123456"}, {"phn_3", "+4930123456"}} {
		s.add(n[0], NumberState{}, n[1])
	}
	return &Workspace{Snapshot: s, Agents: []dialnexa.Agent{
		{ID: "agt_emea", Name: "Sales EMEA"}, {ID: "agt_k2m4", Name: "Support"}, {ID: "agt_p7q1", Name: "support"},
	}}
}

// TestResolverResolve: what a row becomes, and why not, with the workspace read, with
// its reads failed, and with it not read at all.
func TestResolverResolve(t *testing.T) {
	t.Parallel()
	set := func(s string) Field { return Field{Raw: s} }
	read, failed, offline := NewResolver(testWorkspace()), NewResolver(&Workspace{}), NewResolver(nil)
	cases := []struct {
		name    string
		r       *Resolver
		in, out Row
		reasons []string
	}{
		{name: "phone number", r: read, in: Row{PhoneNumber: "+441614960000"}, out: Row{ID: "phn_1", PhoneNumber: "+441614960000"}},
		{name: "phone number not in the workspace", r: read, in: Row{PhoneNumber: "+12025550199"}, out: Row{PhoneNumber: "+12025550199"},
			reasons: []string{"phone number +12025550199 is not a number of this workspace"}},
		{name: "phone number on two numbers", r: read, in: Row{PhoneNumber: "+4930123456"}, out: Row{PhoneNumber: "+4930123456"},
			reasons: []string{"phone number +4930123456 is on 2 numbers of this workspace (phn_2, phn_3); use the id"}},
		{name: "agent by name", r: read, in: Row{ID: "phn_1", Agent: set("sales  emea")}, out: Row{ID: "phn_1", AgentID: set("agt_emea"), Agent: set("sales  emea")}},
		{name: "agent by id", r: read, in: Row{ID: "phn_1", Agent: set("agt_k2m4")}, out: Row{ID: "phn_1", AgentID: set("agt_k2m4"), Agent: set("agt_k2m4")}},
		{name: "agent detached", r: read, in: Row{ID: "phn_1", Agent: Field{Raw: "NULL", Null: true}},
			out: Row{ID: "phn_1", AgentID: Field{Raw: "NULL", Null: true}, Agent: Field{Raw: "NULL", Null: true}}},
		{name: "agent name two agents share", r: read, in: Row{ID: "phn_1", Agent: set("Support")}, out: Row{ID: "phn_1", AgentID: set("Support"), Agent: set("Support")},
			reasons: []string{`agent "Support" is ambiguous: agt_k2m4, agt_p7q1; use the id`}},
		{name: "agent_id of the workspace", r: read, in: Row{ID: "phn_1", AgentID: set("agt_emea")}, out: Row{ID: "phn_1", AgentID: set("agt_emea")}},
		{name: "agent_id not of the workspace", r: read, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")},
			reasons: []string{"agent_id agt_nope is not an agent of this workspace"}},
		{name: "agent_id malformed: the reader's problem", r: read, in: Row{ID: "phn_1", AgentID: set("agt nope")}, out: Row{ID: "phn_1", AgentID: set("agt nope")}},
		{name: "both unknown", r: read, in: Row{Line: 7, PhoneNumber: "+12025550199", Agent: set("Nobody")}, out: Row{Line: 7, PhoneNumber: "+12025550199", AgentID: set("Nobody"), Agent: set("Nobody")},
			reasons: []string{"phone number +12025550199 is not a number of this workspace", `agent "Nobody" is not an agent of this workspace`}},

		{name: "reads failed: phone number and agent name", r: failed, in: Row{PhoneNumber: "+441614960000", Agent: set("Sales EMEA")},
			out: Row{PhoneNumber: "+441614960000", AgentID: set("Sales EMEA"), Agent: set("Sales EMEA")},
			reasons: []string{
				"phone number +441614960000: the workspace's numbers were not read, so its id is not known",
				`agent "Sales EMEA": the workspace's agents were not read, so its id is not known`,
			}},
		{name: "reads failed: agent_id unchecked", r: failed, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")}},

		{name: "not read: as written", r: offline, in: Row{PhoneNumber: "+12025550199", Agent: set("Nobody")},
			out: Row{PhoneNumber: "+12025550199", AgentID: set("Nobody"), Agent: set("Nobody")}},
		{name: "not read: agent_id as written", r: offline, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")}},
	}
	for _, c := range cases {
		for range 2 { // the second time from what the resolver remembers
			out, problems := c.r.Resolve(c.in)
			var reasons []string
			for _, p := range problems {
				if p.Line != c.in.Line {
					t.Errorf("%s: problem for line %d, the row is on %d", c.name, p.Line, c.in.Line)
				}
				reasons = append(reasons, p.Reason)
			}
			if out != c.out || !reflect.DeepEqual(reasons, c.reasons) {
				t.Errorf("%s:\n got %+v %q\nwant %+v %q", c.name, out, reasons, c.out, c.reasons)
			}
		}
	}
}

// rowsEach yields rows, counting how often it is read.
func rowsEach(reads *int, rows ...Row) Each {
	return func(fn func(Row, []Problem) error) error {
		*reads++
		for _, r := range rows {
			if err := fn(r, nil); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestResolverCheck: the plan is read again only when a row may not resolve; a sample
// of its agent cells that all resolve spares the read.
func TestResolverCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rows := []Row{{Line: 2, ID: "phn_1", AgentID: Field{Raw: "agt_emea"}}, {Line: 3, ID: "phn_2", AgentID: Field{Raw: "agt_nope"}}}
	want := []Problem{{Line: 3, Reason: "agent_id agt_nope is not an agent of this workspace"}}

	reads := 0
	found, err := NewResolver(testWorkspace()).Check(ctx, rowsEach(&reads, rows...), nil)
	if err != nil || !reflect.DeepEqual(found, want) || reads != 1 {
		t.Errorf("no sample: %v %q after %d reads, want %q after 1", err, found, reads, want)
	}
	reads = 0
	sample := []Row{{AgentID: Field{Raw: "agt_emea"}}, {AgentID: Field{Raw: "agt_nope"}}}
	found, err = NewResolver(testWorkspace()).Check(ctx, rowsEach(&reads, rows...), sample)
	if err != nil || !reflect.DeepEqual(found, want) || reads != 1 {
		t.Errorf("a sample row that does not resolve: %v %q after %d reads, want %q after 1", err, found, reads, want)
	}
	reads = 0
	found, err = NewResolver(testWorkspace()).Check(ctx, rowsEach(&reads, rows[0]), sample[:1])
	if err != nil || len(found) > 0 || reads != 0 {
		t.Errorf("a sample that resolves: %v %q after %d reads, want none after 0", err, found, reads)
	}
	found, err = NewResolver(nil).Check(ctx, rowsEach(&reads, rows...), nil)
	if err != nil || len(found) > 0 || reads != 0 {
		t.Errorf("nothing read: %v %q after %d reads, want none after 0", err, found, reads)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewResolver(testWorkspace()).Check(cancelled, rowsEach(&reads, rows...), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Check after the context ended: %v, want context.Canceled", err)
	}
}

// TestResolverEach: the rows resolved, the reader's problems first.
func TestResolverEach(t *testing.T) {
	t.Parallel()
	// The reader's list, with room after it that is not the resolver's to write in.
	read := append(make([]Problem, 0, 4), Problem{Line: 2, Reason: "id phn_1 is also on line 3"})
	each := func(fn func(Row, []Problem) error) error {
		return fn(Row{Line: 2, ID: "phn_1", Agent: Field{Raw: "Nobody"}}, read)
	}
	var got []Problem
	err := NewResolver(testWorkspace()).Each(each)(func(r Row, problems []Problem) error {
		got = append(got, problems...)
		return nil
	})
	want := []Problem{read[0], {Line: 2, Reason: `agent "Nobody" is not an agent of this workspace`}}
	if err != nil || !reflect.DeepEqual(got, want) || read[:2][1] != (Problem{}) {
		t.Errorf("Each: %v %q, want %q, the reader's list untouched (%q)", err, got, want, read[:2])
	}
}

func TestCollate(t *testing.T) {
	t.Parallel()
	first := []Problem{{Line: 2, Reason: "a"}, {Line: 5, Reason: "b"}, {Line: 5, Reason: "c"}}
	second := []Problem{{Line: 1, Reason: "d"}, {Line: 5, Reason: "e"}, {Line: 9, Reason: "f"}}
	all, rows := Collate(first, second)
	want := []Problem{{1, "d"}, {2, "a"}, {5, "b"}, {5, "c"}, {5, "e"}, {9, "f"}}
	if !reflect.DeepEqual(all, want) || rows != 4 {
		t.Errorf("Collate = %v, %d rows; want %v, 4", all, rows, want)
	}
	if first[0].Reason != "a" || len(first) != 3 {
		t.Errorf("Collate changed its first list: %v", first)
	}
}
