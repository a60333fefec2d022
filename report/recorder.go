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
	sink         *LogSink // the log lines, flushed with the report
	closed       bool
}

// NewRecorder writes the headers of the report to out (after a BOM for a file) and, if
// undoOut is not nil, of the undo plan, whose emptied fields are written as nullToken.
// Flush writes out sink's lines with the report's.
func NewRecorder(out, undoOut *Output, nullToken string, log zerolog.Logger, sink *LogSink) (*Recorder, error) {
	r := &Recorder{out: out, undoOut: undoOut, log: log, sink: sink}
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

// Flush writes out what Record buffered, and the log lines held.
func (r *Recorder) Flush() error {
	err := r.report.Flush()
	if r.undo != nil {
		err = errors.Join(err, r.undo.Flush())
	}
	if r.sink != nil {
		err = errors.Join(err, r.sink.Flush())
	}
	return err
}

// Close flushes, then syncs and closes the files.
func (r *Recorder) Close() error {
	r.closed = true
	return errors.Join(r.Flush(), r.out.Close(), r.undoOut.Close())
}

// Abort removes the files of a run refused before its first row, unless Close was
// called: a report of nothing would only block the rerun.
func (r *Recorder) Abort() {
	if !r.closed {
		r.out.Remove()
		r.undoOut.Remove()
	}
}
