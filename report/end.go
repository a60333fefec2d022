package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"reassign/job"
)

// Changes counts, from a run's results, what it changed (or, in a dry run, would
// change) and why the other rows did not change, for the end of the run in words. Add
// is called from one goroutine at a time (the runner's collector, through the record
// function); the counts are read once the run is over.
type Changes struct {
	// Among the rows updated (or would_update): rows that gave a number another agent,
	// took its agent away (null), changed its nickname, its label. A field counts when
	// the number did not hold the planned value before, or its value before is not known.
	Agents, Detached, Nicknames, Labels int

	reasons map[job.Outcome]map[string]int
	others  map[job.Outcome]int // rows whose reason was past maxReasons distinct ones
}

// count adds n to each change an updated row made: the fields it set to other values
// than the number held before (or held a value not known).
func (c *Changes) count(res job.Result, n int) {
	var b job.NumberState
	known := res.Before != nil
	if known {
		b = *res.Before
	}
	agent := res.Row.AgentID
	if !agent.Set() {
		agent = res.Row.Agent // a name an offline dry run leaves to the run to resolve
	}
	if changes(agent, b.AgentID, known) {
		if agent.Null {
			c.Detached += n
		} else {
			c.Agents += n
		}
	}
	if changes(res.Row.Nickname, b.Nickname, known) {
		c.Nicknames += n
	}
	if changes(res.Row.Label, b.Label, known) {
		c.Labels += n
	}
}

// maxReasons bounds the distinct reasons kept per outcome: the end names the most
// common few, and a plan whose every row fails differently must not fill the memory. A
// reason first met after that many others is counted among "other reasons".
const maxReasons = 1000

// maxReasonLen is where a reason is cut in the end's words (an API may say a lot).
const maxReasonLen = 160

// Add counts one result. A row's later line (a gate's differs, a rollback) supersedes
// its earlier one: what an updated row changed is no longer counted once it is put back.
func (c *Changes) Add(res job.Result) {
	if res.Earlier() == job.Updated && res.Outcome != job.Updated {
		c.count(res, -1)
	}
	switch res.Outcome {
	case job.Updated, job.WouldUpdate:
		c.count(res, 1)
	case job.NotFound, job.Rejected, job.Forbidden, job.Unauthorized, job.Failed, job.Invalid, job.Conflict, job.Differs:
		if c.reasons == nil {
			c.reasons, c.others = map[job.Outcome]map[string]int{}, map[job.Outcome]int{}
		}
		m := c.reasons[res.Outcome]
		if m == nil {
			m = map[string]int{}
			c.reasons[res.Outcome] = m
		}
		why := shorten(cmp.Or(res.Error, "no reason given"))
		if _, seen := m[why]; !seen && len(m) >= maxReasons {
			c.others[res.Outcome]++
			return
		}
		m[why]++
	}
}

// changes reports whether a planned field changes the number: it is sent, and the number
// did not hold its value (or what it held is not known).
func changes(f job.Field, before string, known bool) bool {
	switch {
	case !f.Set():
		return false
	case !known:
		return true
	case f.Null:
		return before != ""
	}
	return f.Raw != before
}

// reason is one reason rows did not change, and how many rows it holds for.
type reason struct {
	text string
	n    int
}

// top is the most common reasons of outcome, most common first (then in text order),
// at most n, and how many rows the others hold.
func (c *Changes) top(outcome job.Outcome, n int) (top []reason, rest int) {
	if c == nil {
		return nil, 0
	}
	for text, k := range c.reasons[outcome] {
		top = append(top, reason{text, k})
	}
	slices.SortFunc(top, func(a, b reason) int { return cmp.Or(b.n-a.n, strings.Compare(a.text, b.text)) })
	rest = c.others[outcome]
	if len(top) > n {
		for _, r := range top[n:] {
			rest += r.n
		}
		top = top[:n]
	}
	return top, rest
}

// Words is the end of a command in words, a line each, for the person who reads it
// (the last lines on a terminal; the message of the summary event in JSON logs): what
// changed, what did not and why (the most common reasons), where its files are, and
// what to run next. A run that a person declined at the question ends in one line.
func (e *Ending) Words() []string {
	s := e.Summary
	if s == nil {
		s = &job.Summary{}
	}
	if e.Declined {
		return []string{fmt.Sprintf("Nothing was sent: the answer was no. The report lists the %s that needed a write as not_attempted: %s.",
			rows(s.Withheld), where(e.Report))}
	}
	lines := []string{e.headline(s)}
	if not := e.notChanged(s); not != "" {
		lines = append(lines, not)
	}
	for _, o := range s.Outcomes() {
		lines = append(lines, e.reasons(o, s.Counts[o])...)
	}
	lines = append(lines, e.files())
	for _, n := range e.Next {
		if n.Command == "" {
			lines = append(lines, n.Why+".")
			continue
		}
		lines = append(lines, n.Why+": "+n.Command)
	}
	return lines
}

// headline says what changed, or would change, or what verify found, and how the
// command ended.
func (e *Ending) headline(s *job.Summary) string {
	c := e.Changes
	if c == nil {
		c = &Changes{}
	}
	var b strings.Builder
	in := ""
	if e.Sandbox {
		in = " in the sandbox"
	}
	switch {
	case e.Command == "verify":
		b.WriteString("Verify" + in + ": ")
		fmt.Fprintf(&b, "%s %s what the plan says", numbers(s.Counts[job.Matches]), verb(s.Counts[job.Matches], "holds", "hold"))
		if n := s.Counts[job.Differs]; n > 0 {
			fmt.Fprintf(&b, "; %s %s", humanize.Comma(int64(n)), verb(n, "differs", "differ"))
		}
	case e.DryRun != "":
		b.WriteString("Dry run" + in + ", nothing was sent: ")
		b.WriteString(changed(c, s.Counts[job.WouldUpdate], true))
	default:
		if e.Sandbox {
			b.WriteString("In the sandbox: ")
		}
		if s.Rollback == job.RollbackComplete {
			b.WriteString("every number the run changed was put back as it was; nothing of the plan is applied")
		} else {
			b.WriteString(changed(c, s.Counts[job.Updated], false))
		}
	}
	switch {
	case s.Interrupted:
		b.WriteString("; then the run was interrupted")
	case s.Rollback != job.NoRollback && s.Stopped != nil:
		b.WriteString("; the run was rolled back because " + s.Stopped.Error())
	case s.Stopped != nil:
		b.WriteString("; then the run stopped: " + s.Stopped.Error())
	}
	if s.Rollback == job.RollbackPartial {
		fmt.Fprintf(&b, "; %s could not be put back: the workspace is partly changed", numbers(s.NotBack))
	}
	fmt.Fprintf(&b, " (exit %d).", e.ExitCode)
	line := b.String()
	return strings.ToUpper(line[:1]) + line[1:]
}

// changed says what updated rows changed: "1,180 numbers now answer to new agents; 96
// nicknames, 12 labels changed", or in a dry run what they would change.
func changed(c *Changes, updated int, would bool) string {
	var sentences []string
	var agents []string
	if n := c.Agents; n > 0 {
		switch {
		case would:
			agents = append(agents, numbers(n)+" would answer to "+plural(n, "a new agent", "new agents"))
		default:
			agents = append(agents, numbers(n)+" now "+verb(n, "answers", "answer")+" to "+plural(n, "a new agent", "new agents"))
		}
	}
	if n := c.Detached; n > 0 {
		switch {
		case would:
			agents = append(agents, numbers(n)+" would be detached from "+plural(n, "its agent", "their agent"))
		default:
			agents = append(agents, numbers(n)+" detached from "+plural(n, "its agent", "their agent"))
		}
	}
	if len(agents) > 0 {
		sentences = append(sentences, strings.Join(agents, ", "))
	}
	var fields []string
	if n := c.Nicknames; n > 0 {
		fields = append(fields, humanize.Comma(int64(n))+" "+plural(n, "nickname", "nicknames"))
	}
	if n := c.Labels; n > 0 {
		fields = append(fields, humanize.Comma(int64(n))+" "+plural(n, "label", "labels"))
	}
	if len(fields) > 0 {
		end := " changed"
		if would {
			end = " would change"
		}
		sentences = append(sentences, strings.Join(fields, ", ")+end)
	}
	switch {
	case len(sentences) > 0:
		return strings.Join(sentences, "; ")
	case updated > 0 && would:
		return numbers(updated) + " would be written"
	case updated > 0:
		return numbers(updated) + " updated"
	case would:
		return "no number would change"
	}
	return "no number was changed"
}

// notChanged groups the rows that did not change by their outcome: "Not changed: 37
// already as planned, 3 not found, 2 rejected.", or verify's "Not as planned: ...".
func (e *Ending) notChanged(s *job.Summary) string {
	var parts []string
	for _, o := range s.Outcomes() {
		n := s.Counts[o]
		if n == 0 {
			continue
		}
		switch o {
		case job.Updated, job.WouldUpdate, job.Matches:
		case job.NotAttempted:
			if s.Withheld > 0 {
				parts = append(parts, humanize.Comma(int64(s.Withheld))+" held back by --limit")
			}
			if rest := n - s.Withheld; rest > 0 {
				why := "the run stopped"
				if s.Interrupted {
					why = "the run was interrupted"
				}
				parts = append(parts, fmt.Sprintf("%s not sent (%s)", humanize.Comma(int64(rest)), why))
			}
		default:
			parts = append(parts, humanize.Comma(int64(n))+" "+outcomeWords(o, n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	lead := "Not changed: "
	if e.Command == "verify" {
		lead = "Not as planned: "
	}
	return lead + strings.Join(parts, ", ") + "."
}

// outcomeWords says an outcome of n rows in words.
func outcomeWords(o job.Outcome, n int) string {
	switch o {
	case job.Unchanged:
		return "already as planned"
	case job.Skipped:
		return "skipped (applied by an earlier run)"
	case job.Conflict:
		return "in conflict (changed since the plan was reviewed)"
	case job.NotFound:
		return "not found"
	case job.Failed:
		return "failed after their retries"
	case job.Differs:
		return verb(n, "differs", "differ")
	}
	return strings.ReplaceAll(string(o), "_", " ")
}

// reasons are the lines that say why rows of outcome o (n of them) did not change: the
// most common reasons, with their counts when there are several.
func (e *Ending) reasons(o job.Outcome, n int) []string {
	top, rest := e.Changes.top(o, 3)
	if n == 0 || len(top) == 0 {
		return nil
	}
	lead := "  " + humanize.Comma(int64(n)) + " " + strings.ReplaceAll(string(o), "_", " ")
	if o == job.Differs {
		lead = "  " + humanize.Comma(int64(n)) + " " + verb(n, "differs", "differ")
	}
	if len(top) == 1 && rest == 0 {
		return []string{lead + ": " + top[0].text}
	}
	texts := make([]string, len(top))
	for i, r := range top {
		texts[i] = fmt.Sprintf("%s (%s)", r.text, humanize.Comma(int64(r.n)))
	}
	line := lead + ", most often: " + strings.Join(texts, "; ")
	if rest > 0 {
		line += fmt.Sprintf("; %s for other reasons", rows(rest))
	}
	return []string{line}
}

// files says where the command's files are.
func (e *Ending) files() string {
	parts := []string{"Report: " + where(e.Report)}
	for _, f := range []struct{ what, name string }{
		{"undo plan", e.UndoPlan}, {"summary", e.SummaryFile}, {"HTML report", e.HTML}, {"log", e.LogFile},
	} {
		if f.name != "" {
			parts = append(parts, f.what+": "+where(f.name))
		}
	}
	return strings.Join(parts, "; ")
}

// where is a file's name as the end says it: stdout for "-".
func where(name string) string {
	if name == "-" {
		return "on stdout"
	}
	return name
}

// shorten cuts a reason at maxReasonLen runes.
func shorten(s string) string {
	if r := []rune(s); len(r) > maxReasonLen {
		return string(r[:maxReasonLen-1]) + "…"
	}
	return s
}

func numbers(n int) string { return humanize.Comma(int64(n)) + " " + plural(n, "number", "numbers") }
func rows(n int) string    { return humanize.Comma(int64(n)) + " " + plural(n, "row", "rows") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// verb is the verb agreeing with n things: one for 1, many otherwise.
func verb(n int, one, many string) string { return plural(n, one, many) }
