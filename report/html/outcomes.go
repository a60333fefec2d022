package html

import (
	"cmp"
	"slices"

	"reassign/job"
)

// rolledBack is the outcome of a number an atomic run put back. It is spelt here until
// job names it; the page shows any outcome a report holds.
const rolledBack job.Outcome = "rolled_back"

// outcomeOrder is the order of the counts and filters: done, then put back, then what
// needs a look, then what was not sent.
var outcomeOrder = []job.Outcome{
	job.Updated, job.WouldUpdate, job.Unchanged, job.Skipped, job.Matches, rolledBack,
	job.Conflict, job.Differs, job.NotFound, job.Rejected, job.Forbidden, job.Invalid,
	job.Unauthorized, job.Failed, job.NotAttempted,
}

// needsAttention lists the outcomes of rows a person must look at: the change is not
// in place, and running the plan again will not put it there by itself (failed aside:
// a rerun may, but someone decides when). unauthorized is among them: the key was
// refused on that row.
var needsAttention = []job.Outcome{
	job.Failed, job.Rejected, job.Forbidden, job.NotFound, job.Conflict, job.Invalid, job.Differs, job.Unauthorized,
}

// outcomeClass is the colour family of an outcome on the page: ok, back (put back),
// bad (failed: try again), warn (needs a look), idle (not sent, or unknown).
func outcomeClass(o job.Outcome) string {
	switch o {
	case job.Updated, job.WouldUpdate, job.Unchanged, job.Skipped, job.Matches:
		return "ok"
	case rolledBack:
		return "back"
	case job.Failed, job.Unauthorized:
		return "bad"
	}
	if slices.Contains(needsAttention, o) {
		return "warn"
	}
	return "idle"
}

// sortOutcomes orders outcomes as outcomeOrder, unknown ones after them by name.
func sortOutcomes(os []job.Outcome) {
	rank := func(o job.Outcome) int {
		if i := slices.Index(outcomeOrder, o); i >= 0 {
			return i
		}
		return len(outcomeOrder)
	}
	slices.SortFunc(os, func(a, b job.Outcome) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
}
