package report

import (
	"encoding/csv"
	"io"

	"reassign/job"
	"reassign/job/cell"
	"reassign/job/dialnexa"
)

// UndoWriter writes --undo-plan: for each number the run changed, a plan row that puts
// back the values it had before (job.Undo). The plan is a reviewed plan: its before_*
// columns hold the values the run wrote, so that running it later puts a number back
// only where nobody changed it since. Flush writes out what is buffered, like the
// report's.
type UndoWriter struct {
	cw        *csv.Writer
	nullToken string
}

// UndoColumns are the undo plan's columns.
var UndoColumns = []string{"id", "agent_id", "nickname", "label", "before_agent_id", "before_nickname", "before_label"}

// NewUndoWriter writes the plan header; an emptied field is written as nullToken.
func NewUndoWriter(w io.Writer, nullToken string) (*UndoWriter, error) {
	u := &UndoWriter{cw: csv.NewWriter(w), nullToken: nullToken}
	u.cw.Write(UndoColumns)
	u.cw.Flush()
	return u, u.cw.Error()
}

// Write records the row that undoes row, given the number's state before it. Only the
// fields row sent are restored. keptLabel is true when the row set a label that was
// empty before: the API takes no null label, so the undo plan cannot clear it.
func (u *UndoWriter) Write(row job.Row, before job.NumberState) (keptLabel bool, err error) {
	undo, keptLabel := job.Undo(row, before, u.nullToken)
	wrote := undo.Reviewed
	rec := []string{
		cell.Escape(undo.ID, u.nullToken), cell.EscapeField(undo.AgentID, u.nullToken),
		cell.EscapeField(undo.Nickname, u.nullToken), cell.EscapeField(undo.Label, u.nullToken),
		// As the report writes its before_* cells: the values themselves, "" for none.
		cell.Escape(wrote.AgentID, u.nullToken), cell.Escape(wrote.Nickname, u.nullToken), cell.Escape(wrote.Label, u.nullToken),
	}
	return keptLabel, u.cw.Write(rec)
}

// Flush writes the buffered rows out.
func (u *UndoWriter) Flush() error {
	u.cw.Flush()
	return u.cw.Error()
}

// ExportColumns are the columns of `reassign export`: agent, beside agent_id, is the
// agent's name, so that a person may change either (and clear the other) or both.
var ExportColumns = []string{"id", "phone_number", "agent_id", "agent", "nickname", "label", "status", "country_code", "type"}

// ExportWriter writes the workspace as a plan-shaped CSV to edit in a spreadsheet.
type ExportWriter struct {
	cw        *csv.Writer
	nullToken string
	names     map[string]string
}

// NewExportWriter writes a BOM (for Excel) and the header. Its cells are escaped for a
// plan reader with nullToken, so that the export fed back as a plan means exactly what
// the workspace holds. names gives the agents' names by id (nil: none known).
func NewExportWriter(w io.Writer, nullToken string, names map[string]string) (*ExportWriter, error) {
	if _, err := io.WriteString(w, BOM); err != nil {
		return nil, err
	}
	e := &ExportWriter{cw: csv.NewWriter(w), nullToken: nullToken, names: names}
	e.cw.Write(ExportColumns)
	return e, e.cw.Error()
}

// Write adds one number, its cells escaped (cell.Escape).
func (e *ExportWriter) Write(n dialnexa.PhoneNumber) error {
	name := ""
	if n.AgentID != "" {
		name = e.names[n.AgentID]
	}
	rec := []string{n.ID, n.PhoneNumber, n.AgentID, name, n.Nickname, n.Label, n.Status, n.CountryCode, n.Type}
	for i := range rec {
		rec[i] = cell.Escape(rec[i], e.nullToken)
	}
	return e.cw.Write(rec)
}

// Export writes the numbers that each hands over to w as an export for a plan reader
// with nullToken, each agent named as names has it, and flushes them. It returns how
// many it wrote. An export that does not finish must leave no file behind (part of the
// workspace is not the workspace): the caller's Outputs keeps the file only once
// Export and Close succeed.
func Export(w io.Writer, nullToken string, names map[string]string, each func(write func([]dialnexa.PhoneNumber) error) error) (int, error) {
	ew, err := NewExportWriter(w, nullToken, names)
	if err != nil {
		return 0, err
	}
	n := 0
	err = each(func(ns []dialnexa.PhoneNumber) error {
		for _, num := range ns {
			if err := ew.Write(num); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, ew.Close()
}

// Close flushes what is buffered.
func (e *ExportWriter) Close() error {
	e.cw.Flush()
	return e.cw.Error()
}
