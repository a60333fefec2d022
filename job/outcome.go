package job

import (
	"errors"
	"maps"
	"math"
	"time"

	"github.com/rs/zerolog"

	"reassign/job/dialnexa"
)

// Outcome is what happened to one plan row.
type Outcome string

// The outcomes a report records (docs/report.md, "Outcomes").
const (
	Updated      Outcome = "updated"
	WouldUpdate  Outcome = "would_update"
	Unchanged    Outcome = "unchanged"
	NotFound     Outcome = "not_found"
	Rejected     Outcome = "rejected"
	Forbidden    Outcome = "forbidden"
	Unauthorized Outcome = "unauthorized"
	Failed       Outcome = "failed"
	Invalid      Outcome = "invalid"
	Skipped      Outcome = "skipped"
	NotAttempted Outcome = "not_attempted"
	// Conflict: the number moved since the plan was reviewed (Row.Reviewed); not sent.
	Conflict Outcome = "conflict"
	// Matches and Differs are what Verify finds: the number holds every planned value,
	// or not.
	Matches Outcome = "matches"
	Differs Outcome = "differs"
	// RolledBack: an atomic run put the number back as it was before the run (a second
	// line of the row).
	RolledBack Outcome = "rolled_back"
)

// RunOutcomes lists every outcome of a run, in the order summaries show them.
var RunOutcomes = []Outcome{Updated, WouldUpdate, Unchanged, Skipped, RolledBack, Conflict, Differs, NotFound, Rejected, Forbidden, Invalid, Unauthorized, Failed, NotAttempted}

// VerifyOutcomes lists every outcome of Verify, in the order summaries show them.
var VerifyOutcomes = []Outcome{Matches, Differs, NotFound, Invalid, NotAttempted}

// Success reports a row that asks nothing more of anyone: it is as planned, or the plan
// asked nothing of it (updated, would_update, unchanged, skipped, matches). A run whose
// rows all succeed exits 0.
func (o Outcome) Success() bool {
	switch o {
	case Updated, WouldUpdate, Unchanged, Skipped, Matches:
		return true
	}
	return false
}

// RowError reports a row the API refused for that row alone (not_found, rejected,
// forbidden): --max-errors counts them.
func (o Outcome) RowError() bool {
	switch o {
	case NotFound, Rejected, Forbidden:
		return true
	}
	return false
}

// NeedsFix reports a row that sending again will not help: a person must change the
// plan or look at the workspace (a row error, invalid, conflict, differs). A run with
// one exits 3.
func (o Outcome) NeedsFix() bool {
	switch o {
	case Invalid, Conflict, Differs:
		return true
	}
	return o.RowError()
}

// Level is the level of the row's log event: error for a row that failed or a key the
// API refused, warn for a row that needs a fix or was put back, info for the rest.
func (o Outcome) Level() zerolog.Level {
	switch {
	case o == Failed, o == Unauthorized:
		return zerolog.ErrorLevel
	case o.NeedsFix(), o == RolledBack:
		return zerolog.WarnLevel
	}
	return zerolog.InfoLevel
}

// Result is one row's record: the row as planned and what the API did with it.
type Result struct {
	Row       Row
	Outcome   Outcome
	Status    int // the last answer's HTTP status; 0 when none came
	Attempts  int // requests sent for the row
	Error     string
	Number    dialnexa.PhoneNumber // from the answer to a successful PATCH
	RequestID string
	Duration  time.Duration
	Finished  time.Time
	Body      []byte // the JSON body sent, or that would be sent
	// Before is the number's state before the run, from the snapshot; nil when the run
	// took none or the number was not in it.
	Before *NumberState

	// earlier is, on a row's second line (a gate's differs, a rollback), the outcome of
	// the line before it: the summary counts the later one instead.
	earlier Outcome
	// wave is the wave the row was sent in, from 1, in a run that checks its waves (or
	// an atomic one); 0 otherwise.
	wave int
}

// Again reports a row's later line (a gate's differs, a rollback's outcome): the row
// was recorded before, and this line supersedes that one.
func (r Result) Again() bool { return r.earlier != "" }

// Earlier is, on a row's later line, the outcome of the line it supersedes; "" on a
// row's first line.
func (r Result) Earlier() Outcome { return r.earlier }

// Why a run stopped sending before the end of the plan, in words (Summary.Stopped).
var (
	ErrKeyRefused = errors.New("the API refused the key")
	ErrMaxErrors  = errors.New("stopped after --max-errors rows not found, rejected or forbidden")
)

// Stop is why a run stopped sending before the end of its plan, other than a signal: a
// signal can come on top of a stop (Ctrl-C while the rows in flight after a refused key
// finish), so Summary.Interrupted says it apart.
type Stop uint8

const (
	NotStopped Stop = iota
	// StopKeyRefused: the API refused the key (a 401, or 403 on each of the run's first
	// five answers).
	StopKeyRefused
	// StopMaxErrors: --max-errors rows were not_found, rejected or forbidden.
	StopMaxErrors
	// StopOutputFailed: a file the run writes (the report, the undo plan) could not be
	// written.
	StopOutputFailed
	// StopGate: a wave's gate failed (a row failed, too many row errors, a number not
	// holding what was written), or an atomic run's check did.
	StopGate
)

// Rollback is what an atomic run did to put back the numbers it changed.
type Rollback uint8

const (
	// NoRollback: the run did not roll back.
	NoRollback Rollback = iota
	// RollbackComplete: every number the run changed is back (rolled_back, or unchanged:
	// already as before).
	RollbackComplete
	// RollbackPartial: some numbers could not be put back (a write failed, someone
	// changed them since, the run was interrupted): the undo plan finishes the job.
	RollbackPartial
)

// stopCause is a Stop with the error that says it.
type stopCause struct {
	kind Stop
	err  error
}

// Summary counts a run's outcomes and says why it stopped early, if it did.
type Summary struct {
	Counts map[Outcome]int
	// Order lists the outcomes this kind of run records (RunOutcomes, VerifyOutcomes),
	// in the order summaries show them; nil means RunOutcomes.
	Order       []Outcome
	Rows        int
	Elapsed     time.Duration
	Interrupted bool // the caller's context ended the run (a signal)
	// Stop is why the run stopped sending before the end of its plan, if it did (set
	// with StopWith); Stopped says it in words: ErrKeyRefused, ErrMaxErrors, the
	// failed gate ("wave 2 gate: 1 row does not hold what was written") or the error of
	// the file that could not be written.
	Stop    Stop
	Stopped error
	// Withheld counts the not_attempted rows that were held back on purpose (Limit,
	// Declined): they are no reason to run again.
	Withheld int
	// Rollback says whether an atomic run put its numbers back, and whether all of them;
	// NotBack counts those it could not.
	Rollback Rollback
	NotBack  int
}

// Outcomes is the outcomes this kind of run records, in the order summaries show them.
func (s Summary) Outcomes() []Outcome {
	if s.Order == nil {
		return RunOutcomes
	}
	return s.Order
}

// StopWith records why the run stopped sending: kind, and err to say it. The first
// reason stays: a later one (the report that could not be closed after a refused key)
// is dropped.
func (s *Summary) StopWith(kind Stop, err error) {
	if s.Stop == NotStopped {
		s.Stop, s.Stopped = kind, err
	}
}

// RowsPerSecond is the pace of the run so far, to one decimal.
func (s Summary) RowsPerSecond() float64 {
	if secs := s.Elapsed.Seconds(); secs > 0 {
		return math.Round(float64(s.Rows)/secs*10) / 10
	}
	return 0
}

// Count is how many rows have an outcome of the class (Outcome.NeedsFix, ...).
func (s Summary) Count(class func(Outcome) bool) int {
	n := 0
	for o, c := range s.Counts {
		if class(o) {
			n += c
		}
	}
	return n
}

func (s Summary) clone() Summary {
	c := s
	c.Counts = maps.Clone(s.Counts)
	return c
}
