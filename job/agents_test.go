package job

import (
	"testing"

	"reassign/job/dialnexa"
)

// TestAgentNames: an agent cell is an id of the workspace, or a name exactly one agent
// has (case and runs of spaces ignored); otherwise the reason names the candidates.
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
	})
	cases := []struct{ cell, id, reason string }{
		{"agt_apac", "agt_apac", ""},
		{"Sales APAC", "agt_apac", ""},
		{"  sales   apac ", "agt_apac", ""},
		{"SALES EMEA", "agt_emea", ""},
		{"東京　受付", "agt_jp", ""}, // an ideographic space is a space
		{"ziel-agent süd", "agt_de", ""},
		{"agt_noname", "agt_noname", ""},
		{"Billing", "Billing", ""}, // an id before a name
		{"billing", "agt_billing", ""},
		{"AGT_APAC", "", `agent "AGT_APAC" is not an agent of this workspace`}, // ids are exact
		{"Support", "", `agent "Support" is ambiguous: agt_k2m4, agt_p7q1; use the id`},
		{"Sales APC", "", `agent "Sales APC" is not an agent of this workspace (did you mean "Sales APAC"?)`},
		{"Sales", "", `agent "Sales" is not an agent of this workspace (did you mean "Sales APAC" or "Sales EMEA"?)`},
		{"Suport", "", `agent "Suport" is not an agent of this workspace (did you mean "Support"?)`},
		{"東京", "", `agent "東京" is not an agent of this workspace (did you mean "東京 受付"?)`},
		{"Marketing", "", `agent "Marketing" is not an agent of this workspace`},
	}
	for _, c := range cases {
		id, reason := x.resolve(c.cell)
		if id != c.id || reason != c.reason {
			t.Errorf("resolve(%q) = %q, %q; want %q, %q", c.cell, id, reason, c.id, c.reason)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"sales apac", "sales apc", 1}, {"東京", "東京都", 1}, {"kitten", "sitting", 3}} {
		if d := editDistance(c.a, c.b); d != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
}
