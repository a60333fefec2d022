package job_test

import (
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"reassign/job"
)

// TestOutcomeClasses: each outcome's class, as the exit codes and the log levels use
// them; every outcome a run or verify records is in the table.
func TestOutcomeClasses(t *testing.T) {
	t.Parallel()
	const (
		info = zerolog.InfoLevel
		warn = zerolog.WarnLevel
		errs = zerolog.ErrorLevel
	)
	cases := map[job.Outcome]struct {
		success, rowError, needsFix bool
		level                       zerolog.Level
	}{
		job.Updated:      {success: true, level: info},
		job.WouldUpdate:  {success: true, level: info},
		job.Unchanged:    {success: true, level: info},
		job.Skipped:      {success: true, level: info},
		job.Matches:      {success: true, level: info},
		job.NotFound:     {rowError: true, needsFix: true, level: warn},
		job.Rejected:     {rowError: true, needsFix: true, level: warn},
		job.Forbidden:    {rowError: true, needsFix: true, level: warn},
		job.Invalid:      {needsFix: true, level: warn},
		job.Conflict:     {needsFix: true, level: warn},
		job.Differs:      {needsFix: true, level: warn},
		job.Unauthorized: {level: errs},
		job.Failed:       {level: errs},
		job.NotAttempted: {level: info},
		job.RolledBack:   {level: warn},
	}
	for o, want := range cases {
		if got := o.Success(); got != want.success {
			t.Errorf("%s.Success() = %v", o, got)
		}
		if got := o.RowError(); got != want.rowError {
			t.Errorf("%s.RowError() = %v", o, got)
		}
		if got := o.NeedsFix(); got != want.needsFix {
			t.Errorf("%s.NeedsFix() = %v", o, got)
		}
		if got := o.Level(); got != want.level {
			t.Errorf("%s.Level() = %v, want %v", o, got, want.level)
		}
	}
	for _, list := range [][]job.Outcome{job.RunOutcomes, job.VerifyOutcomes} {
		for _, o := range list {
			if _, ok := cases[o]; !ok {
				t.Errorf("%s has no class in this table", o)
			}
		}
	}
}

func TestSummaryCount(t *testing.T) {
	t.Parallel()
	s := job.Summary{Counts: map[job.Outcome]int{job.Updated: 5, job.NotFound: 2, job.Conflict: 1, job.Failed: 3}}
	if got := s.Count(job.Outcome.NeedsFix); got != 3 {
		t.Errorf("Count(NeedsFix) = %d, want 3", got)
	}
	if got := s.Count(job.Outcome.Success); got != 5 {
		t.Errorf("Count(Success) = %d, want 5", got)
	}
}

// TestSummaryStopWith: the first reason to stop stays.
func TestSummaryStopWith(t *testing.T) {
	t.Parallel()
	var s job.Summary
	s.StopWith(job.StopKeyRefused, job.ErrKeyRefused)
	s.StopWith(job.StopOutputFailed, errors.New("write report: closed"))
	if s.Stop != job.StopKeyRefused || !errors.Is(s.Stopped, job.ErrKeyRefused) {
		t.Errorf("Stop %v, Stopped %v; want the refused key kept", s.Stop, s.Stopped)
	}
}
