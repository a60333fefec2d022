package report

import (
	"errors"

	"github.com/rs/zerolog"

	"reassign/job"
)

// Recorder writes what a run does: each result's line in the report and, for a number
// the run changed, the undo plan's row that puts it back. It is what the runner calls
// from its one collecting goroutine; it is not safe for concurrent use.
type Recorder struct {
	out, undoOut *Output
	report       *Writer
	undo         *UndoWriter // nil without an undo plan
	log          zerolog.Logger
}

// NewRecorder writes the headers of the report to out (after a BOM for a file) and, if
// undoOut is not nil, of the undo plan, whose emptied fields are written as nullToken.
func NewRecorder(out, undoOut *Output, nullToken string, log zerolog.Logger) (*Recorder, error) {
	r := &Recorder{out: out, undoOut: undoOut, log: log}
	var err error
	if r.report, err = NewWriter(out, out.f != nil); err != nil {
		return nil, err
	}
	if undoOut != nil {
		if r.undo, err = NewUndoWriter(undoOut, nullToken); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Record writes one result.
func (r *Recorder) Record(res job.Result) error {
	if err := r.report.Write(res); err != nil || r.undo == nil || res.Outcome != job.Updated || res.Before == nil {
		return err
	}
	kept, err := r.undo.Write(res.Row, *res.Before)
	if kept {
		r.log.Warn().Str("event", "undo_keeps_label").Int("line", res.Row.Line).Str("id", res.Row.ID).
			Msg("the label was empty before and the API takes no null label: the undo plan keeps the new label")
	}
	return err
}

// Flush writes out what Record buffered.
func (r *Recorder) Flush() error {
	err := r.report.Flush()
	if r.undo != nil {
		err = errors.Join(err, r.undo.Flush())
	}
	return err
}

// Close flushes, then syncs and closes the files.
func (r *Recorder) Close() error {
	return errors.Join(r.Flush(), r.out.Close(), r.undoOut.Close())
}
