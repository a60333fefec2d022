package html

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"reassign/job"
)

var (
	//go:embed assets/page.html.tmpl
	pageTemplate string
	//go:embed assets/page.css
	pageCSS string
	//go:embed assets/page.js
	pageJS string
)

// page is what the template shows.
type page struct {
	Title     string
	CSP       string
	Style     template.CSS
	Script    template.JS
	Facts     []fact
	Unknown   []string // what the page does not know
	Hint      string   // where to find it
	Rows      string
	Lines     string // report lines
	Twice     int    // report lines after a row's first
	Counts    []count
	BarMaxW   int
	Timeline  timelineChart
	Attention string
	Needs     []string // the outcomes that need attention, for the words above the table
	Generated string
	t         *tally
	meta      Meta
}

// fact is one line of "what ran".
type fact struct {
	Name, Value, Note string
}

// count is one outcome's count.
type count struct {
	Outcome job.Outcome
	Class   string
	N       int
	Text    string // N with thousands separators
	Bar     string // the bar's width in the chart
}

func newPage(m Meta, t *tally) *page {
	p := &page{
		Style: template.CSS(pageCSS), Script: template.JS(pageJS), Rows: humanize.Comma(int64(len(t.final))),
		Lines: humanize.Comma(int64(t.lines)), Twice: t.twice, Attention: humanize.Comma(int64(t.attention)), t: t, meta: m,
	}
	p.CSP = "default-src 'none'; script-src '" + hash(pageJS) + "'; style-src '" + hash(pageCSS) +
		"'; base-uri 'none'; form-action 'none'"
	for _, o := range t.kinds() {
		p.Counts = append(p.Counts, count{Outcome: o, Class: outcomeClass(o), N: t.counts[o], Text: humanize.Comma(int64(t.counts[o]))})
	}
	for _, o := range needsAttention {
		p.Needs = append(p.Needs, string(o))
	}
	barWidths(p.Counts)
	p.BarMaxW = barMaxW
	p.Timeline = newTimelineChart(m.Timeline, m.Throttled, t)
	if !m.Generated.IsZero() {
		p.Generated = stamp(m.Generated)
	}
	p.facts()
	return p
}

// hash is a CSP source for an inline script or style with this text.
func hash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// stamp is a time as the page shows it.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// facts is "what ran", and the names of what of it is not known.
type facts struct {
	list    []fact
	unknown []string
}

func (f *facts) add(name, value, note string) { f.list = append(f.list, fact{name, value, note}) }

// known adds value, or "not known" when it is empty.
func (f *facts) known(name, value, note string) {
	if value == "" {
		f.unknown = append(f.unknown, strings.ToLower(name))
		f.add(name, "not known", note)
		return
	}
	f.add(name, value, "")
}

// facts fills what ran, and what of it is not known; the title says which command ran.
func (p *page) facts() {
	m, t := p.meta, p.t
	f := &facts{}
	cmd := m.Command
	switch {
	case cmd == "":
		cmd = t.command
		f.add("Command", cmd, "judged from the outcomes")
	case cmd == "run" && t.command == "dry run":
		cmd = t.command // a summary file says run for a dry run too
		f.add("Command", cmd, "")
	default:
		f.add("Command", cmd, "")
	}
	f.known("Plan", m.Plan, "")
	if m.Sandbox {
		f.add("Workspace", "the sandbox", "the built-in simulated workspace; no real number was touched")
	} else {
		f.known("Workspace", m.BaseURL, "")
	}
	f.times(m, t)
	f.known("Version", m.Version, "")
	f.exit(m.ExitCodes)
	if m.Waves != "" {
		f.add("Waves", m.Waves, "")
	}
	if len(m.Reports) > 0 {
		f.add("Reports", strings.Join(m.Reports, ", "), "")
	}
	if !t.before {
		f.add("Values before", "not known", "the run read no snapshot of the workspace, so the rows show only what was planned")
	}
	p.Facts, p.Unknown, p.Hint = f.list, f.unknown, m.Unknown
	p.Title = "reassign " + cmd
	if m.Plan != "" {
		p.Title += " of " + m.Plan
	}
}

// times adds the start and the duration; where they are not known, when the rows were
// recorded.
func (f *facts) times(m Meta, t *tally) {
	var from, over string
	if !t.first.IsZero() {
		from = "rows recorded from " + stamp(t.first) + " to " + stamp(t.last)
		over = "rows were recorded over " + t.last.Sub(t.first).Round(time.Second).String()
	}
	if m.Started.IsZero() {
		f.known("Started", "", from)
	} else {
		f.add("Started", stamp(m.Started), "")
	}
	if m.Elapsed <= 0 {
		f.known("Duration", "", over)
	} else {
		f.add("Duration", m.Elapsed.Round(time.Millisecond).String(), "")
	}
}

// exit adds the exit code, in words; the codes of several pods when they differ.
func (f *facts) exit(codes []int) {
	switch {
	case len(codes) == 0:
		f.known("Exit code", "", "")
	case allSame(codes):
		f.add("Exit code", strconv.Itoa(codes[0]), exitMeaning(codes[0]))
	default:
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = strconv.Itoa(c)
		}
		f.add("Exit codes", strings.Join(parts, ", "), "one per summary file")
	}
}

func allSame(codes []int) bool {
	for _, c := range codes {
		if c != codes[0] {
			return false
		}
	}
	return true
}

// exitMeaning says in words what an exit code means (docs/exit-codes.md).
func exitMeaning(code int) string {
	switch code {
	case 0:
		return "every row done"
	case 3:
		return "some rows not found, rejected, forbidden, invalid, in conflict or differing; or rolled back"
	case 4:
		return "not every number could be put back: run the undo plan"
	case 64:
		return "usage error"
	case 65:
		return "the plan was refused"
	case 75:
		return "interrupted, or rows failed after their retries: rerun with --resume"
	case 77:
		return "the API refused the key"
	case 78:
		return "configuration refused"
	}
	return ""
}

// write renders the page: the template's top, the rows as a JSON data island read from
// src again, the template's bottom.
func (p *page) write(w io.Writer, src Source) error {
	tmpl, err := template.New("page").Funcs(template.FuncMap{"join": strings.Join}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("html template: %w", err) // a bug: the template is embedded
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl.ExecuteTemplate(bw, "top", p); err != nil {
		return err
	}
	if err := writeIsland(bw, p.t, src); err != nil {
		return err
	}
	if err := tmpl.ExecuteTemplate(bw, "bottom", p); err != nil {
		return err
	}
	return bw.Flush()
}
