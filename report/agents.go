package report

import (
	"encoding/csv"
	"io"

	"reassign/job/cell"
	"reassign/job/dialnexa"
)

// AgentColumns are the columns of `reassign agents`.
var AgentColumns = []string{"id", "name", "inbound"}

// WriteAgents writes agents as CSV (AgentColumns), a BOM first when bom (a file, for
// Excel; stdout gets none). Cells are escaped as in every CSV the job writes
// (cell.Escape), so that a name copied into a plan reads back as itself. inbound is
// yes or no where the API says whether the agent takes inbound numbers, else empty.
func WriteAgents(w io.Writer, bom bool, agents []dialnexa.Agent, nullToken string) error {
	if bom {
		if _, err := io.WriteString(w, BOM); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.Write(AgentColumns)
	for _, a := range agents {
		inbound := ""
		switch {
		case a.Inbound == nil:
		case *a.Inbound:
			inbound = "yes"
		default:
			inbound = "no"
		}
		cw.Write([]string{cell.Escape(a.ID, nullToken), cell.Escape(a.Name, nullToken), inbound})
	}
	cw.Flush()
	return cw.Error()
}
