// Package html renders what a run recorded as one self-contained HTML page (docs/report.md,
// "The HTML report"): what ran, the counts per outcome with a chart, a timeline, the rows
// needing attention, then every row in plan order, filterable and searchable.
//
// The page loads nothing: its style and script are inline, allowed by a
// Content-Security-Policy that names their hashes and nothing else, and its charts are
// inline SVG. Every value is text: the template escapes what it shows, and the rows
// travel as a JSON data island (every <, > and & escaped) that the script shows in
// pages through textContent, never as markup.
package html

import (
	"fmt"
	"io"
	"os"
	"time"

	"reassign/job"
	"reassign/report"
)

// Meta is what ran, as the page's header shows it. A zero field is shown as not known.
type Meta struct {
	Command string // "run", "dry run" or "verify"; "" is judged from the outcomes
	Plan    string
	BaseURL string // the workspace's API
	Sandbox bool   // the run was against the built-in sandbox (BaseURL is not shown)
	Version string
	Started time.Time
	Elapsed time.Duration
	// ExitCodes holds the exit code of each run the rows come from (one for a run, one
	// per pod for the shards of one run).
	ExitCodes []int
	Waves     string   // the --waves list, when the run had waves
	Reports   []string // the report files the rows come from
	// Agents names agents by id (the workspace's agents); the report's agent column
	// adds the names it holds.
	Agents map[string]string
	// Timeline holds the rows finished and the 429s per second. Without one, the rows
	// per second come from the report's finished_at and the 429s are not known.
	Timeline *report.Timeline
	// Throttled, if set, is the run's count of answers 429, for a page without a
	// Timeline (summary files that count them but do not say when).
	Throttled *int64
	// Unknown says where what is not known can be found; it follows the list of what
	// the page does not know.
	Unknown string
	// Generated is when the page is made, in its footer; zero leaves it out.
	Generated time.Time
}

// Source yields a report's lines in the order they were written, calling each for
// every line and stopping at the first error each returns. Render calls it twice: both
// calls must yield the same lines.
type Source func(each func(report.Line) error) error

// Files is the Source of report files: the shards of one run, one after the other.
// Their cells are read with nullToken, as the run wrote them.
func Files(nullToken string, paths ...string) Source {
	return func(each func(report.Line) error) error {
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			err = report.ReadLines(f, nullToken, each)
			f.Close()
			if err != nil {
				return &ReportError{Path: p, Err: err}
			}
		}
		return nil
	}
}

// ReportError is a report or summary file that cannot be read as one: damaged, or not
// what it seems.
type ReportError struct {
	Path string
	Err  error
}

func (e *ReportError) Error() string { return fmt.Sprintf("read %s: %v", e.Path, e.Err) }
func (e *ReportError) Unwrap() error { return e.Err }

// Stats is what a page shows in numbers.
type Stats struct {
	Rows      int // plan rows: a row with a second line (a wave's check, a rollback) counts once
	Lines     int // report lines
	Counts    map[job.Outcome]int
	Attention int // rows whose outcome needs a person's look
}

// Render writes the page of the lines src yields, as m describes their run, to w. It
// holds one outcome per row in memory, not the rows: they are read twice from src.
func Render(w io.Writer, m Meta, src Source) (Stats, error) {
	t, err := tallyLines(m, src)
	if err != nil {
		return Stats{}, err
	}
	p := newPage(m, t)
	if err := p.write(w, src); err != nil {
		return Stats{}, err
	}
	return t.stats(), nil
}
