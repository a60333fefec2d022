package html

import (
	"strconv"
	"time"

	"github.com/dustin/go-humanize"

	"reassign/report"
)

// barMaxW is the width of the longest bar of the counts, in SVG units.
const barMaxW = 300

// barWidths sets each count's bar, as long as its share of the largest count.
func barWidths(counts []count) {
	top := 1
	for _, n := range counts {
		top = max(top, n.N)
	}
	for i, n := range counts {
		w := float64(n.N) / float64(top) * barMaxW
		if n.N > 0 {
			w = max(w, 2) // one row among a million still shows
		}
		counts[i].Bar = num(w)
	}
}

// timelineChart is the rows finished and the 429s per second: two panels of bars
// sharing the time axis.
type timelineChart struct {
	Known, ThrottledKnown bool
	W, H                  int
	Rows, Throttled       []tbar
	Step                  string // the seconds one bar covers
	RowsMax, ThrottledMax string // per second, at the top of each panel
	From, To              string
	Source                string // where the counts come from
	Total429              string // the answers 429 in all; "" when not known
	// The axes, in SVG units: the plot's left and right, each panel's top and base.
	X0, X1, RowsTop, RowsBase, ThrTop, ThrBase, Bottom int
}

type tbar struct {
	X, Y, W, H string
	Title      string
}

const (
	tlX       = 56
	tlW       = 660
	tlRowsTop = 8
	tlRowsH   = 110
	tlThrTop  = 140
	tlThrH    = 44
	tlMaxBars = 300
)

// newTimelineChart draws the timeline: from tl when it counts rows, else from the
// report's finished_at (the 429s are then not known).
func newTimelineChart(tl *report.Timeline, throttled429 *int64, t *tally) timelineChart {
	c := timelineChart{W: tlX + tlW + 8, H: tlThrTop + tlThrH + 24, X0: tlX, X1: tlX + tlW,
		RowsTop: tlRowsTop, RowsBase: tlRowsTop + tlRowsH, ThrTop: tlThrTop, ThrBase: tlThrTop + tlThrH, Bottom: tlThrTop + tlThrH + 18}
	var rows, throttled []int
	var start time.Time
	if tl != nil {
		rows, throttled = tl.Seconds()
		start = tl.Start()
		c.Known, c.ThrottledKnown = sum(rows) > 0, true
		c.Source = "counted by the run"
	}
	if !c.Known && len(t.perSecond) > 0 {
		if tl == nil {
			start = t.first.Truncate(time.Second)
		}
		rows = make([]int, max(1, int(t.last.Sub(start)/time.Second)+1))
		for s, n := range t.perSecond {
			rows[min(max(0, int(s-start.Unix())), len(rows)-1)] += n
		}
		c.Known = true
		c.Source = "from the rows' finished_at"
	}
	if !c.Known {
		return c
	}
	n := max(len(rows), len(throttled)) // one time axis for both panels
	rows = append(rows, make([]int, n-len(rows))...)
	throttled = append(throttled, make([]int, n-len(throttled))...)
	step := (len(rows) + tlMaxBars - 1) / tlMaxBars
	c.Step = strconv.Itoa(step) + " s"
	rowBars, rowsMax := buckets(rows, step)
	c.Rows = draw(rowBars, rowsMax, tlRowsTop, tlRowsH, start, step, "rows finished")
	c.RowsMax = perSecond(rowsMax)
	c.From, c.To = stamp(start), stamp(start.Add(time.Duration(len(rows))*time.Second))
	switch {
	case c.ThrottledKnown:
		thrBars, thrMax := buckets(throttled, step)
		c.Throttled = draw(thrBars, thrMax, tlThrTop, tlThrH, start, step, "answers 429")
		c.ThrottledMax = perSecond(thrMax)
		c.Total429 = humanize.Comma(int64(sum(throttled)))
	case throttled429 != nil:
		c.Total429 = humanize.Comma(*throttled429) // how many, but not when
	}
	return c
}

// buckets adds counts up step seconds at a time, as the average per second.
func buckets(counts []int, step int) (avg []float64, top float64) {
	for i := 0; i < len(counts); i += step {
		n := 0
		for _, c := range counts[i:min(i+step, len(counts))] {
			n += c
		}
		v := float64(n) / float64(step)
		avg = append(avg, v)
		top = max(top, v)
	}
	return avg, top
}

// draw lays out one panel's bars; a bar of nothing is left out.
func draw(values []float64, top float64, y0, h int, start time.Time, step int, what string) []tbar {
	var bars []tbar
	if top == 0 {
		return nil
	}
	w := float64(tlW) / float64(len(values))
	for i, v := range values {
		if v == 0 {
			continue
		}
		bh := max(v/top*float64(h), 1)
		at := start.Add(time.Duration(i*step) * time.Second)
		bars = append(bars, tbar{X: num(tlX + float64(i)*w), Y: num(float64(y0+h) - bh), W: num(max(w-0.5, 0.5)), H: num(bh),
			Title: at.UTC().Format("15:04:05") + ": " + perSecond(v) + " " + what + " per second"})
	}
	return bars
}

func perSecond(v float64) string {
	if v == float64(int64(v)) {
		return humanize.Comma(int64(v))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// num is an SVG coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
