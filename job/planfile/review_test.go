package planfile_test

import (
	"reflect"
	"strings"
	"testing"

	"reassign/job"
	"reassign/job/planfile"
)

// TestReadPlanReviewed: a plan with before_agent_id, before_nickname and before_label
// (a --dry-run=server report fed back) gives every row the values it was reviewed
// against, cells taken as written ("" is empty, the null token is not special), and
// validated as the others are.
func TestReadPlanReviewed(t *testing.T) {
	report := "\ufeffline,id,agent_id,nickname,label,outcome,before_agent_id,before_nickname,before_label\n" +
		"2,phn_1,agt_b,New,,would_update,agt_a,Old,'=Team\n" +
		"3,phn_2,null,,,would_update,,,\n" +
		"4,phn_3,agt_b,,,would_update,agt a," + strings.Repeat("n", 256) + ",\n" +
		"5,phn_4,agt_b,,,would_update,null,null,\n"
	p := mustRead(t, openString(report), planfile.Options{})
	if !p.Reviewed {
		t.Fatal("Reviewed is not set")
	}
	rows := each(t, p)
	want := []*job.NumberState{
		{AgentID: "agt_a", Nickname: "Old", Label: "=Team"},
		{},
		{AgentID: "agt a", Nickname: strings.Repeat("n", 256)},
		{AgentID: "null", Nickname: "null"},
	}
	for i, w := range want {
		if !reflect.DeepEqual(rows[i].Row.Reviewed, w) {
			t.Errorf("line %d: reviewed %+v, want %+v", rows[i].Row.Line, rows[i].Row.Reviewed, w)
		}
	}
	wantProblems := []job.Problem{
		{Line: 4, Reason: `before_agent_id "agt a" is not an agent id (letters, digits, _ and -, at most 128)`},
		{Line: 4, Reason: "before_nickname is 256 characters, at most 255"},
	}
	if !equalProblems(p.Problems, wantProblems) {
		t.Errorf("problems\n got %q\nwant %q", p.Problems, wantProblems)
	}

	plain := mustRead(t, openString("id,agent_id\nphn_1,agt_b\n"), planfile.Options{})
	if plain.Reviewed || each(t, plain)[0].Row.Reviewed != nil {
		t.Error("a plan without before_* columns is taken as reviewed")
	}
}

// TestReadPlanReviewedHeader: before_* columns come all three or not at all.
func TestReadPlanReviewedHeader(t *testing.T) {
	got := planError(t, openString("id,agent_id,before_agent_id\nphn_1,agt_b,agt_a\n"), planfile.Options{})
	want := []job.Problem{{Line: 1, Reason: "header: no before_nickname or before_label column: a reviewed plan has all of before_agent_id, before_nickname, before_label (as a --dry-run=server report does), or none"}}
	if !equalProblems(got, want) {
		t.Errorf("problems\n got %q\nwant %q", got, want)
	}
}
