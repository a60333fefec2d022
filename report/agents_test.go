package report

import (
	"strings"
	"testing"

	"reassign/job/dialnexa"
)

// TestWriteAgents: a BOM only when asked, inbound as yes, no or nothing, and every cell
// escaped as the job's CSVs escape them (for the null token given).
func TestWriteAgents(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	agents := []dialnexa.Agent{
		{ID: "agt_a", Name: "Sales EMEA", Inbound: &yes},
		{ID: "agt_b", Name: "-1 dialer", Inbound: &no},
		{ID: "agt_c", Name: "NONE"},
		{ID: "agt_d", Name: " padded "},
	}
	cases := []struct {
		bom       bool
		nullToken string
		want      string
	}{
		{false, "null", "id,name,inbound\nagt_a,Sales EMEA,yes\nagt_b,'-1 dialer,no\nagt_c,NONE,\nagt_d,' padded ,\n"},
		{true, "none", BOM + "id,name,inbound\nagt_a,Sales EMEA,yes\nagt_b,'-1 dialer,no\nagt_c,'NONE,\nagt_d,' padded ,\n"},
	}
	for _, c := range cases {
		var b strings.Builder
		if err := WriteAgents(&b, c.bom, agents, c.nullToken); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("bom %v, null token %q:\n%q\nwant\n%q", c.bom, c.nullToken, b.String(), c.want)
		}
	}
}
