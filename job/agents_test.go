package job

import (
	"testing"

	"reassign/job/dialnexa"
)

// TestAgentNames: an agent cell is an id of the workspace, or a name exactly one agent
// has (case and runs of spaces ignored, compared in NFC); a cell that could be two
// agents (an id and another's name, an id in another case and another's name) is
// none; otherwise the reason names the candidates, each written so that it resolves.
func TestAgentNames(t *testing.T) {
	x := newAgentIndex([]dialnexa.Agent{
		{ID: "agt_apac", Name: "Sales APAC"},
		{ID: "agt_emea", Name: "Sales  EMEA"},
		{ID: "agt_k2m4", Name: "Support"},
		{ID: "agt_p7q1", Name: "support"},
		{ID: "agt_jp", Name: "東京 受付"},
		{ID: "agt_de", Name: "Ziel-Agent Süd"},
		{ID: "agt_noname"},
		{ID: "Billing", Name: "Accounts"},
		{ID: "agt_billing", Name: "Billing"},
		{ID: "agt_cafe", Name: "Caf\u00e9 Müller"},               // as most systems write it (NFC)
		{ID: "agt_c", Name: "Cats"},                              //
		{ID: "agt_d", Name: "agt_c"},                             // a name that is another agent's id
		{ID: "agt_1", Name: "One"}, {ID: "agt_2", Name: "agt_1"}, // the pair
	})
	cases := []struct {
		cell, id, reason string
		missing          bool
	}{
		{"agt_apac", "agt_apac", "", false},
		{"Sales APAC", "agt_apac", "", false},
		{"  sales   apac ", "agt_apac", "", false},
		{"SALES EMEA", "agt_emea", "", false},
		{"東京　受付", "agt_jp", "", false}, // an ideographic space is a space
		{"ziel-agent süd", "agt_de", "", false},
		{"agt_noname", "agt_noname", "", false},
		{"Accounts", "Billing", "", false},
		{"Cafe\u0301 Mu\u0308ller", "agt_cafe", "", false}, // saved on a Mac (NFD)
		{"Billing", "", `agent "Billing" is both the id of Billing and the name of agt_billing; use an agent_id column to say which`, false},
		{"billing", "", `agent "billing" is the name of agt_billing, and also the id Billing in another case (ids are case-sensitive); use the id`, false},
		{"agt_1", "", `agent "agt_1" is both the id of agt_1 and the name of agt_2; use an agent_id column to say which`, false},
		{"AGT_1", "", `agent "AGT_1" is the name of agt_2, and also the id agt_1 in another case (ids are case-sensitive); use the id`, false},
		{"AGT_APAC", "", `agent "AGT_APAC" is not an agent of this workspace (did you mean agt_apac? ids are case-sensitive)`, false},
		{"Support", "", `agent "Support" is ambiguous: agt_k2m4, agt_p7q1; use the id`, false},
		{"Sales APC", "", `agent "Sales APC" is not an agent of this workspace (did you mean "Sales APAC"?)`, true},
		{"Sales", "", `agent "Sales" is not an agent of this workspace (did you mean "Sales APAC" or "Sales EMEA"?)`, true},
		// The name two agents share is offered as their ids: the name alone would not do.
		{"Suport", "", `agent "Suport" is not an agent of this workspace (did you mean "agt_k2m4" or "agt_p7q1"?)`, true},
		// agt_c, the name of agt_d, is agt_c's id: agt_d is offered by its id; so is
		// agt_2, whose name is agt_1's id.
		{"agt_cx", "", `agent "agt_cx" is not an agent of this workspace (did you mean "agt_d" or "agt_2"?)`, true},
		{"東京", "", `agent "東京" is not an agent of this workspace (did you mean "東京 受付"?)`, true},
		{"Marketing", "", `agent "Marketing" is not an agent of this workspace`, true},
	}
	for _, c := range cases {
		id, reason, missing := x.resolve(c.cell)
		if id != c.id || reason != c.reason || missing != c.missing {
			t.Errorf("resolve(%q) = %q, %q, %v; want %q, %q, %v", c.cell, id, reason, missing, c.id, c.reason, c.missing)
		}
	}
}
