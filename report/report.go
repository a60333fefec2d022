// Package report writes what a run did: the report (one CSV line per plan row), the undo
// plan, the export, and the files they go to; and reads reports back for --resume.
// Every CSV it writes escapes its cells as the plan reader expects (cell.Escape).
package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"reassign/job"
	"reassign/job/cell"
)

// Columns are the report's columns, in order (docs/report.md, "Columns"); the before_*
// values are empty when the run took no snapshot; agent is the planned agent's name,
// where it is known.
var Columns = []string{
	"line", "id", "agent_id", "nickname", "label", "outcome", "http_status", "attempts",
	"error", "result_agent_id", "result_nickname", "phone_number", "request_id",
	"duration_ms", "finished_at", "before_agent_id", "before_nickname", "before_label",
	"agent",
}

// BOM makes Excel read the file as UTF-8.
const BOM = "\uFEFF"

// Writer writes one CSV line per result. Flush pushes the lines to the file: the runner
// calls it when no other row is waiting, at most every 50 ms, so that a run killed
// half-way leaves on disk every row it recorded but the last moment's. It is not safe
// for concurrent use: the runner calls it from one goroutine.
type Writer struct {
	cw        *csv.Writer
	rec       []string
	nullToken string
}

// NewWriter writes the header (after a BOM when bom is set, as for a file) and returns
// the writer. Its cells are escaped for a plan reader with nullToken (cell.Escape):
// no cell holds a raw control character or runs as a formula, and the planned cells
// read back as planned.
func NewWriter(w io.Writer, bom bool, nullToken string) (*Writer, error) {
	if bom {
		if _, err := io.WriteString(w, BOM); err != nil {
			return nil, err
		}
	}
	rw := &Writer{cw: csv.NewWriter(w), rec: make([]string, len(Columns)), nullToken: nullToken}
	if err := rw.cw.Write(Columns); err != nil {
		return nil, err
	}
	rw.cw.Flush()
	return rw, rw.cw.Error()
}

// Flush writes the buffered lines out.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// Write records one row; Flush writes it out.
func (w *Writer) Write(r job.Result) error {
	status := ""
	if r.Status != 0 {
		status = strconv.Itoa(r.Status)
	}
	finished := ""
	if !r.Finished.IsZero() {
		finished = r.Finished.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	rec := w.rec
	rec[0] = strconv.Itoa(r.Row.Line)
	rec[1] = r.Row.ID
	rec[5] = string(r.Outcome)
	rec[6] = status
	rec[7] = strconv.Itoa(r.Attempts)
	rec[8] = r.Error
	rec[9] = r.Number.AgentID
	rec[10] = r.Number.Nickname
	rec[11] = r.Number.PhoneNumber // the answer's, else the plan's (keyed by phone number)
	if rec[11] == "" {
		rec[11] = r.Row.PhoneNumber
	}
	rec[12] = r.RequestID
	rec[13] = strconv.FormatInt(r.Duration.Milliseconds(), 10)
	rec[14] = finished
	rec[15], rec[16], rec[17] = "", "", ""
	if b := r.Before; b != nil {
		rec[15], rec[16], rec[17] = b.AgentID, b.Nickname, b.Label
	}
	// The agent's name, as the workspace has it, or as the plan wrote it where it did
	// not resolve: fed back as a plan it names the same agent as agent_id, or leaves
	// the name to be resolved.
	rec[18] = r.Row.AgentName
	for i := range rec {
		rec[i] = cell.Escape(rec[i], w.nullToken)
	}
	// The planned cells keep their null token as written, so that --resume reads them
	// back as the plan row they were.
	rec[2] = cell.EscapeField(r.Row.AgentID, w.nullToken)
	rec[3] = cell.EscapeField(r.Row.Nickname, w.nullToken)
	rec[4] = cell.EscapeField(r.Row.Label, w.nullToken)
	return w.cw.Write(rec)
}

// DefaultName is the report file name used when none is given.
func DefaultName(now time.Time) string {
	return "reassign-report-" + now.UTC().Format("20060102T150405Z") + ".csv"
}
