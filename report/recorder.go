package report

import (
	"errors"

	"github.com/rs/zerolog"

	"reassign/job"
)

// Recorder writes what a run does: each result's line in the report, and the undo plan:
// for each number the run is about to change, ahead of the change, the plan row that
// puts it back. Record is called from the runner's one collecting goroutine, WriteAhead
// from its one feeding goroutine; the two write different files.
type Recorder struct {
	out, undoOut *Output
	report       *Writer
	undo         *UndoWriter // nil without an undo plan
	log          zerolog.Logger
	sink         *LogSink // the log lines, flushed with the report
}

// NewRecorder writes the headers of the report to out (after a BOM for a file) and, if
// undoOut is not nil, of the undo plan, whose emptied fields are written as nullToken.
// Flush writes out sink's lines with the report's.
func NewRecorder(out, undoOut *Output, nullToken string, log zerolog.Logger, sink *LogSink) (*Recorder, error) {
	r := &Recorder{out: out, undoOut: undoOut, log: log, sink: sink}
	var err error
	if r.report, err = NewWriter(out, out.f != nil, nullToken); err != nil {
		return nil, err
	}
	if undoOut != nil {
		if r.undo, err = NewUndoWriter(undoOut, nullToken); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Record writes one result to the report.
func (r *Recorder) Record(res job.Result) error { return r.report.Write(res) }

// WriteAhead writes the undo plan's rows for results about to be sent and syncs them to
// disk, so that a change the API accepted is in the undo plan whatever happens next
// (a kill, a full disk). A row whose PATCH then never goes out restores what is already
// there. Rows whose number the snapshot did not hold have no undo row.
func (r *Recorder) WriteAhead(batch []job.Result) error {
	for _, res := range batch {
		if res.Before == nil {
			continue
		}
		kept, err := r.undo.Write(res.Row, *res.Before)
		if err != nil {
			return err
		}
		if kept {
			r.log.Warn().Str("event", "undo_keeps_label").Int("line", res.Row.Line).Str("id", res.Row.ID).
				Msg("the label was empty before and the API takes no null label: the undo plan keeps the new label")
		}
	}
	if err := r.undo.Flush(); err != nil {
		return err
	}
	return r.undoOut.Sync()
}

// Undoing reports whether the run keeps an undo plan (WriteAhead is then needed).
func (r *Recorder) Undoing() bool { return r.undo != nil }

// Flush writes out what Record buffered, and the log lines held.
func (r *Recorder) Flush() error {
	err := r.report.Flush()
	if r.sink != nil {
		err = errors.Join(err, r.sink.Flush())
	}
	return err
}

// Close writes out what is still buffered: the report's lines, the undo plan's and the
// log's. As gzip.Writer's, it leaves the files open: they are the Outputs' to sync and
// close.
func (r *Recorder) Close() error {
	var undoErr error
	if r.undo != nil {
		undoErr = r.undo.Flush()
	}
	return errors.Join(r.Flush(), undoErr)
}
