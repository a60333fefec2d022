package report_test

import (
	"slices"
	"testing"

	"reassign/job/planfile"
	"reassign/report"
)

// TestOwnColumnsAreKnown: every column of the report and the export is a field the plan
// reader reads or one it ignores quietly, so that a report or an export fed back as a
// plan is neither refused for a column that looks like a field (result_agent_id) nor
// named as a column a person wrote.
func TestOwnColumnsAreKnown(t *testing.T) {
	t.Parallel()
	for _, cols := range [][]string{report.Columns, report.ExportColumns} {
		for _, c := range cols {
			if !slices.Contains(planfile.Fields, c) && !slices.Contains(planfile.KnownColumns, c) {
				t.Errorf("column %s is neither a field nor one of planfile.KnownColumns", c)
			}
		}
	}
}
