package job

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"reassign/job/dialnexa"
)

// testWorkspace has four agents (two share a name) and four numbers, one phone number
// listed under two ids; its snapshot finds numbers by phone number spelt as given, and
// knows that +442071838750 ends in the digits a plan wrote as 2071838750.
func testWorkspace() *Workspace {
	s := newSnapshot(func(phone string) string { return phone }, 0)
	for _, n := range [][2]string{{"phn_1", "+441614960000"}, {"phn_2", "+4930123456"}, {"phn_3", "+4930123456"},
		{"phn_uk", "+442071838750"}, {"phn_eg", "+2071838750"}} {
		s.add(n[0], NumberState{}, n[1])
	}
	s.addEnding("+2071838750", "+442071838750")
	s.addEnding("+7183875099", "+447183875099")
	return &Workspace{Snapshot: s, Agents: []dialnexa.Agent{
		{ID: "agt_emea", Name: "Sales EMEA"}, {ID: "agt_k2m4", Name: "Support"}, {ID: "agt_p7q1", Name: "support"},
		{ID: "agt_billing", Name: "Billing"}, {ID: "agt_quiet"},
	}}
}

// TestResolverResolve: what a row becomes, and why not, with the workspace read, with
// its reads failed, and with it not read at all.
func TestResolverResolve(t *testing.T) {
	t.Parallel()
	set := func(s string) Field { return Field{Raw: s} }
	null := Field{Raw: "NULL", Null: true}
	read, failed, offline := NewResolver(testWorkspace()), NewResolver(&Workspace{}), NewResolver(nil)
	cases := []struct {
		name    string
		r       *Resolver
		in, out Row
		reasons []string
		missing bool // the problems say the workspace lacks what the row names
	}{
		{name: "phone number", r: read, in: Row{PhoneNumber: "+441614960000"}, out: Row{ID: "phn_1", PhoneNumber: "+441614960000"}},
		{name: "phone number not in the workspace", r: read, in: Row{PhoneNumber: "+12025550199"}, out: Row{PhoneNumber: "+12025550199"},
			reasons: []string{"phone number +12025550199 is not a number of this workspace"}, missing: true},
		{name: "phone number on two numbers", r: read, in: Row{PhoneNumber: "+4930123456"}, out: Row{PhoneNumber: "+4930123456"},
			reasons: []string{"phone number +4930123456 is on 2 numbers of this workspace (phn_2, phn_3); use the id"}},
		// Bare digits a spreadsheet left of 020 7183 8750 (its 0 dropped) read as +20...:
		// a number of the workspace, but so is +44 20 7183 8750, which ends in them.
		{name: "bare digits another number ends in", r: read, in: Row{PhoneNumber: "+2071838750", PhoneBare: true}, out: Row{PhoneNumber: "+2071838750", PhoneBare: true},
			reasons: []string{"phone number 2071838750, written without + or 00, was read as +2071838750, but the workspace also has +442071838750, which ends in those digits: write the number with + and its country code"}},
		{name: "the same with a +", r: read, in: Row{PhoneNumber: "+2071838750"}, out: Row{ID: "phn_eg", PhoneNumber: "+2071838750"}},
		{name: "bare digits only another number ends in", r: read, in: Row{PhoneNumber: "+7183875099", PhoneBare: true}, out: Row{PhoneNumber: "+7183875099", PhoneBare: true},
			reasons: []string{"phone number +7183875099 is not a number of this workspace; +447183875099 ends in those digits (did the spreadsheet drop the country code?): write the number with + and its country code"}},
		{name: "bare digits no other number ends in", r: read, in: Row{PhoneNumber: "+441614960000", PhoneBare: true}, out: Row{ID: "phn_1", PhoneNumber: "+441614960000", PhoneBare: true}},
		{name: "id and its phone number", r: read, in: Row{ID: "phn_1", PhoneNumber: "+441614960000"}, out: Row{ID: "phn_1", PhoneNumber: "+441614960000"}},
		{name: "id and another number", r: read, in: Row{ID: "phn_1", PhoneNumber: "+442071838750"}, out: Row{ID: "phn_1", PhoneNumber: "+442071838750"},
			reasons: []string{"id phn_1 is +441614960000, but phone_number says +442071838750: keep one"}},
		{name: "an id the workspace lacks, beside a phone number: its 404 tells", r: read, in: Row{ID: "phn_9", PhoneNumber: "+442071838750"}, out: Row{ID: "phn_9", PhoneNumber: "+442071838750"}},

		{name: "agent by name", r: read, in: Row{ID: "phn_1", Agent: set("sales  emea")}, out: Row{ID: "phn_1", AgentID: set("agt_emea"), Agent: set("sales  emea"), AgentName: "Sales EMEA"}},
		{name: "agent by id", r: read, in: Row{ID: "phn_1", Agent: set("agt_k2m4")}, out: Row{ID: "phn_1", AgentID: set("agt_k2m4"), Agent: set("agt_k2m4"), AgentName: "Support"}},
		{name: "agent detached", r: read, in: Row{ID: "phn_1", Agent: null}, out: Row{ID: "phn_1", AgentID: null, Agent: null}},
		{name: "agent name two agents share", r: read, in: Row{ID: "phn_1", Agent: set("Support")}, out: Row{ID: "phn_1", Agent: set("Support"), AgentName: "Support"},
			reasons: []string{`agent "Support" is ambiguous: agt_k2m4, agt_p7q1; use the id`}},
		{name: "agent_id of the workspace", r: read, in: Row{ID: "phn_1", AgentID: set("agt_emea")}, out: Row{ID: "phn_1", AgentID: set("agt_emea"), AgentName: "Sales EMEA"}},
		{name: "agent_id not of the workspace", r: read, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")},
			reasons: []string{"agent_id agt_nope is not an agent of this workspace"}, missing: true},
		{name: "agent_id in another case", r: read, in: Row{ID: "phn_1", AgentID: set("AGT_EMEA")}, out: Row{ID: "phn_1", AgentID: set("AGT_EMEA")},
			reasons: []string{"agent_id AGT_EMEA is not an agent of this workspace (did you mean agt_emea? ids are case-sensitive)"}},
		{name: "agent_id malformed: the reader's problem", r: read, in: Row{ID: "phn_1", AgentID: set("agt nope")}, out: Row{ID: "phn_1", AgentID: set("agt nope")}},
		{name: "both unknown", r: read, in: Row{Line: 7, PhoneNumber: "+12025550199", Agent: set("Nobody")}, out: Row{Line: 7, PhoneNumber: "+12025550199", Agent: set("Nobody"), AgentName: "Nobody"},
			reasons: []string{"phone number +12025550199 is not a number of this workspace", `agent "Nobody" is not an agent of this workspace`}, missing: true},

		// agent_id and agent side by side (an export edited, or fed back).
		{name: "agent_id and its name", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set(" billing ")},
			out: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set(" billing "), AgentName: "Billing"}},
		{name: "agent_id and itself", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("agt_billing")},
			out: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("agt_billing"), AgentName: "Billing"}},
		{name: "agent_id and a name two agents share", r: read, in: Row{ID: "phn_1", AgentID: set("agt_p7q1"), Agent: set("Support")},
			out: Row{ID: "phn_1", AgentID: set("agt_p7q1"), Agent: set("Support"), AgentName: "support"}},
		{name: "agent_id and another agent's name", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA")},
			out:     Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA"), AgentName: "Sales EMEA"},
			reasons: []string{`agent_id agt_billing is "Billing", but agent says "Sales EMEA": keep one`}},
		{name: "agent_id and another agent's id", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("agt_emea")},
			out:     Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("agt_emea"), AgentName: "agt_emea"},
			reasons: []string{`agent_id agt_billing is "Billing", but agent says "agt_emea": keep one`}},
		{name: "agent_id and itself in another case", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("AGT_BILLING")},
			out:     Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("AGT_BILLING"), AgentName: "AGT_BILLING"},
			reasons: []string{`agent_id agt_billing is "Billing", but agent says "AGT_BILLING": keep one (ids are case-sensitive)`}},
		{name: "agent_id of an agent with no name", r: read, in: Row{ID: "phn_1", AgentID: set("agt_quiet"), Agent: set("Quiet")},
			out:     Row{ID: "phn_1", AgentID: set("agt_quiet"), Agent: set("Quiet"), AgentName: "Quiet"},
			reasons: []string{`agent_id agt_quiet has no name, but agent says "Quiet": keep one`}},
		{name: "agent_id unknown beside a name", r: read, in: Row{ID: "phn_1", AgentID: set("agt_nope"), Agent: set("Billing")},
			out:     Row{ID: "phn_1", AgentID: set("agt_nope"), Agent: set("Billing"), AgentName: "Billing"},
			reasons: []string{"agent_id agt_nope is not an agent of this workspace"}, missing: true},
		{name: "both detach", r: read, in: Row{ID: "phn_1", AgentID: null, Agent: Field{Raw: "null", Null: true}},
			out: Row{ID: "phn_1", AgentID: null, Agent: Field{Raw: "null", Null: true}}},
		{name: "agent_id detaches, agent names one", r: read, in: Row{ID: "phn_1", AgentID: null, Agent: set("Billing")},
			out:     Row{ID: "phn_1", AgentID: null, Agent: set("Billing"), AgentName: "Billing"},
			reasons: []string{`agent_id is NULL (detach the agent), but agent says "Billing": keep one`}},
		{name: "agent detaches, agent_id names one", r: read, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: null},
			out:     Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: null, AgentName: "NULL"},
			reasons: []string{`agent_id agt_billing is "Billing", but agent is NULL (detach the agent): keep one`}},
		{name: "agent_id empty, agent by name", r: read, in: Row{ID: "phn_1", Agent: set("Billing")},
			out: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Billing"), AgentName: "Billing"}},

		{name: "reads failed: phone number and agent name", r: failed, in: Row{PhoneNumber: "+441614960000", Agent: set("Sales EMEA")},
			out: Row{PhoneNumber: "+441614960000", Agent: set("Sales EMEA"), AgentName: "Sales EMEA"},
			reasons: []string{
				"phone number +441614960000: the workspace's numbers were not read, so its id is not known",
				`agent "Sales EMEA": the workspace's agents were not read, so its id is not known`,
			}},
		{name: "reads failed: agent_id unchecked", r: failed, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")}},
		{name: "reads failed: agent_id and agent not compared", r: failed, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA"), PhoneNumber: "+1999"},
			out: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA"), AgentName: "Sales EMEA", PhoneNumber: "+1999"}},

		// Not read: a name stays a name, never an agent_id (Pending says so).
		{name: "not read: as written", r: offline, in: Row{PhoneNumber: "+12025550199", Agent: set("Nobody")},
			out: Row{PhoneNumber: "+12025550199", Agent: set("Nobody"), AgentName: "Nobody"}},
		{name: "not read: agent_id as written", r: offline, in: Row{ID: "phn_1", AgentID: set("agt_nope")}, out: Row{ID: "phn_1", AgentID: set("agt_nope")}},
		{name: "not read: detached", r: offline, in: Row{ID: "phn_1", Agent: null}, out: Row{ID: "phn_1", AgentID: null, Agent: null}},
		{name: "not read: agent_id and agent not compared", r: offline, in: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA")},
			out: Row{ID: "phn_1", AgentID: set("agt_billing"), Agent: set("Sales EMEA"), AgentName: "Sales EMEA"}},
	}
	for _, c := range cases {
		for range 2 { // the second time from what the resolver remembers
			out, problems := c.r.Resolve(c.in)
			var reasons []string
			for _, p := range problems {
				if p.Line != c.in.Line {
					t.Errorf("%s: problem for line %d, the row is on %d", c.name, p.Line, c.in.Line)
				}
				if p.Missing != c.missing {
					t.Errorf("%s: %q Missing = %v, want %v", c.name, p.Reason, p.Missing, c.missing)
				}
				reasons = append(reasons, p.Reason)
			}
			if out != c.out || !reflect.DeepEqual(reasons, c.reasons) {
				t.Errorf("%s:\n got %+v %q\nwant %+v %q", c.name, out, reasons, c.out, c.reasons)
			}
		}
	}
}

// TestPending: what an offline dry run says the run resolves, for a row not resolved.
func TestPending(t *testing.T) {
	t.Parallel()
	cases := []struct {
		row  Row
		want string
	}{
		{Row{ID: "phn_1", Agent: Field{Raw: "Sales EMEA"}}, `agent "Sales EMEA" (resolved at the run)`},
		{Row{PhoneNumber: "+442071838750", Agent: Field{Raw: "Sales EMEA"}}, `phone number +442071838750, agent "Sales EMEA" (resolved at the run)`},
		{Row{PhoneNumber: "+442071838750", Nickname: Field{Raw: "x"}}, `phone number +442071838750 (resolved at the run)`},
		{Row{ID: "phn_1", AgentID: Field{Raw: "agt_1"}, Agent: Field{Raw: "Sales"}}, ""},
		{Row{ID: "phn_1", PhoneNumber: "+442071838750"}, ""},
	}
	for _, c := range cases {
		if got := Pending(c.row); got != c.want {
			t.Errorf("Pending(%+v) = %q, want %q", c.row, got, c.want)
		}
	}
}

// TestGroup: the reasons many rows share, most rows first; a row with one reason twice
// is one row.
func TestGroup(t *testing.T) {
	t.Parallel()
	var problems []Problem
	for line := 2; line < 12; line++ {
		problems = append(problems, Problem{Line: line, Reason: `agent "Sales" is not an agent of this workspace`, Missing: true})
		if line%2 == 0 {
			problems = append(problems, Problem{Line: line, Reason: "nickname is 300 characters, at most 255"},
				Problem{Line: line, Reason: "nickname is 300 characters, at most 255"})
		}
	}
	problems = append(problems, Problem{Line: 20, Reason: "label cannot be null"})
	got := Group(problems, 3, 10)
	want := []ProblemGroup{{`agent "Sales" is not an agent of this workspace`, 10}, {"nickname is 300 characters, at most 255", 5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Group = %v, want %v", got, want)
	}
	if got := Group(problems, 3, 1); !reflect.DeepEqual(got, want[:1]) {
		t.Errorf("Group at most 1 = %v", got)
	}
	if n := MissingRows(problems); n != 10 {
		t.Errorf("MissingRows = %d, want 10", n)
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
	want := []Problem{{Line: 3, Reason: "agent_id agt_nope is not an agent of this workspace", Missing: true}}

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
	want := []Problem{read[0], {Line: 2, Reason: `agent "Nobody" is not an agent of this workspace`, Missing: true}}
	if err != nil || !reflect.DeepEqual(got, want) || read[:2][1] != (Problem{}) {
		t.Errorf("Each: %v %q, want %q, the reader's list untouched (%q)", err, got, want, read[:2])
	}
}

func TestCollate(t *testing.T) {
	t.Parallel()
	first := []Problem{{Line: 2, Reason: "a"}, {Line: 5, Reason: "b"}, {Line: 5, Reason: "c"}}
	second := []Problem{{Line: 1, Reason: "d"}, {Line: 5, Reason: "e"}, {Line: 9, Reason: "f"}}
	all, rows := Collate(first, second)
	want := []Problem{{1, "d", false}, {2, "a", false}, {5, "b", false}, {5, "c", false}, {5, "e", false}, {9, "f", false}}
	if !reflect.DeepEqual(all, want) || rows != 4 {
		t.Errorf("Collate = %v, %d rows; want %v, 4", all, rows, want)
	}
	if first[0].Reason != "a" || len(first) != 3 {
		t.Errorf("Collate changed its first list: %v", first)
	}
}
