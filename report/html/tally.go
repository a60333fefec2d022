package html

import (
	"maps"
	"slices"
	"time"

	"reassign/job"
	"reassign/report"
)

// tally is what the first pass over the lines learns: each row's last outcome, whether
// the run knew the values before it, the agents' names, when rows finished.
type tally struct {
	outcomes  []job.Outcome         // the distinct outcomes, in order of appearance
	final     map[int]last          // plan line -> the row's last line
	lines     int                   // report lines
	twice     int                   // lines after a row's first
	before    bool                  // some line holds a value before the run
	agents    map[string]string     // agent id -> name
	perSecond map[int64]int         // rows finished per Unix second (finished_at)
	first     time.Time             // the earliest finished_at
	last      time.Time             // the latest finished_at
	counts    map[job.Outcome]int   // per outcome, a row's last line only
	attention int                   // rows whose outcome is in needsAttention
	command   string                // judged from the outcomes
	seen      map[job.Outcome]uint8 // outcome -> index in outcomes
}

// last is a row's last line: its outcome (an index in tally.outcomes) and when it
// finished (Unix ms; 0 when the report does not say).
type last struct {
	outcome  uint8
	finished int64
}

// later reports whether a line that finished at finished comes after l: the one that
// finished later, or, where either time is not known, the one read later. A pod's
// retry, read before the pod it follows (file names sort by pod, not by time), still
// comes after it.
func (l last) later(finished int64) bool {
	return finished == 0 || l.finished == 0 || finished >= l.finished
}

// tallyLines reads the lines once.
func tallyLines(m Meta, src Source) (*tally, error) {
	t := &tally{final: map[int]last{}, agents: maps.Clone(m.Agents), perSecond: map[int64]int{},
		counts: map[job.Outcome]int{}, seen: map[job.Outcome]uint8{}}
	if t.agents == nil {
		t.agents = map[string]string{}
	}
	err := src(func(l report.Line) error {
		t.lines++
		this := last{outcome: t.index(l.Outcome)}
		if !l.Finished.IsZero() {
			this.finished = l.Finished.UnixMilli()
		}
		prev, again := t.final[l.Line]
		if again {
			t.twice++
		}
		if !again || prev.later(this.finished) {
			t.final[l.Line] = this
		}
		t.before = t.before || l.BeforeAgentID != "" || l.BeforeNickname != "" || l.BeforeLabel != ""
		// An invalid row's agent column may hold what the plan said beside its agent_id
		// (the two disagreed): only a valid row's names its agent.
		if l.Agent != "" && l.AgentID.Raw != "" && !l.AgentID.Null && l.Outcome != job.Invalid {
			t.agents[l.AgentID.Raw] = l.Agent
		}
		if !l.Finished.IsZero() {
			t.perSecond[l.Finished.Unix()]++
			if t.first.IsZero() || l.Finished.Before(t.first) {
				t.first = l.Finished
			}
			if l.Finished.After(t.last) {
				t.last = l.Finished
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range t.final {
		o := t.outcomes[l.outcome]
		t.counts[o]++
		if slices.Contains(needsAttention, o) {
			t.attention++
		}
	}
	t.command = judgeCommand(t.counts)
	return t, nil
}

// index is the outcome's index in t.outcomes; past 255 kinds (no report of the job's
// has them) the rest count as one.
func (t *tally) index(o job.Outcome) uint8 {
	i, ok := t.seen[o]
	if !ok && len(t.outcomes) >= 255 {
		o = "(other)"
		i, ok = t.seen[o]
	}
	if !ok {
		i = uint8(len(t.outcomes))
		t.seen[o] = i
		t.outcomes = append(t.outcomes, o)
	}
	return i
}

// judgeCommand is the command whose outcomes these are: only verify finds matches, only
// a dry run would update.
func judgeCommand(counts map[job.Outcome]int) string {
	switch {
	case counts[job.Matches] > 0:
		return "verify"
	case counts[job.WouldUpdate] > 0:
		return "dry run"
	}
	return "run"
}

// stats is what Render returns.
func (t *tally) stats() Stats {
	return Stats{Rows: len(t.final), Lines: t.lines, Counts: maps.Clone(t.counts), Attention: t.attention}
}

// kinds is the outcomes the rows have, in page order.
func (t *tally) kinds() []job.Outcome {
	kinds := slices.Collect(maps.Keys(t.counts))
	sortOutcomes(kinds)
	return kinds
}
