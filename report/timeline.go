package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Timeline counts, for each second of a run, the rows that finished and the answers
// that were 429 (Too Many Requests), for the HTML report's chart; the summary file
// carries it (docs/report.md, "The HTML report"). It is safe for concurrent use. An event
// before the start counts in the first second. Make one with NewTimeline.
type Timeline struct {
	mu        sync.Mutex
	start     time.Time
	rows      []int
	throttled []int
}

// NewTimeline starts a timeline at start (the run's start).
func NewTimeline(start time.Time) *Timeline { return &Timeline{start: start} }

// Row counts a row that finished at at.
func (t *Timeline) Row(at time.Time) { t.add(&t.rows, at, 1) }

// Throttled counts an answer 429 that came at at.
func (t *Timeline) Throttled(at time.Time) { t.add(&t.throttled, at, 1) }

func (t *Timeline) add(counts *[]int, at time.Time, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := max(0, int(at.Sub(t.start)/time.Second))
	if i >= len(*counts) {
		*counts = append(*counts, make([]int, i+1-len(*counts))...)
	}
	(*counts)[i] += n
}

// Start is when the timeline's first second begins.
func (t *Timeline) Start() time.Time { return t.start }

// Seconds returns copies of the counts per second since the start: rows finished and
// answers 429, of equal length (the seconds up to the last one that counted anything).
func (t *Timeline) Seconds() (rows, throttled []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := max(len(t.rows), len(t.throttled))
	rows, throttled = make([]int, n), make([]int, n)
	copy(rows, t.rows)
	copy(throttled, t.throttled)
	return rows, throttled
}

// timelineJSON is a Timeline in the summary file: `{"start": "2026-11-27T03:15:00.000Z",
// "rows": [12, 40, 40], "throttled": [0, 3, 0]}`, element i counting second i after the
// start.
type timelineJSON struct {
	Start     string `json:"start"`
	Rows      []int  `json:"rows"`
	Throttled []int  `json:"throttled"`
}

// MarshalJSON writes the timeline as the summary file holds it.
func (t *Timeline) MarshalJSON() ([]byte, error) {
	rows, throttled := t.Seconds()
	return json.Marshal(timelineJSON{Start: t.start.UTC().Format(timeMillis), Rows: rows, Throttled: throttled})
}

// UnmarshalJSON reads a timeline from a summary file.
func (t *Timeline) UnmarshalJSON(data []byte) error {
	var v timelineJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339Nano, v.Start)
	if err != nil {
		return fmt.Errorf("timeline: start %q is not an RFC 3339 time", v.Start)
	}
	if slices.ContainsFunc(v.Rows, negative) || slices.ContainsFunc(v.Throttled, negative) {
		return fmt.Errorf("timeline: a count is negative")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start, t.rows, t.throttled = start, v.Rows, v.Throttled
	return nil
}

func negative(n int) bool { return n < 0 }

// MergeTimelines adds timelines up (the pods of one run), second by second from the
// earliest start; a timeline starting later is shifted by whole seconds.
func MergeTimelines(ts ...*Timeline) *Timeline {
	if len(ts) == 0 {
		return nil
	}
	start := ts[0].Start()
	for _, t := range ts[1:] {
		if t.Start().Before(start) {
			start = t.Start()
		}
	}
	out := NewTimeline(start)
	for _, t := range ts {
		rows, throttled := t.Seconds()
		for i := range rows {
			at := t.Start().Add(time.Duration(i) * time.Second)
			out.add(&out.rows, at, rows[i])
			out.add(&out.throttled, at, throttled[i])
		}
	}
	return out
}

// timeMillis is RFC 3339 in UTC with milliseconds, as the report's finished_at.
const timeMillis = "2006-01-02T15:04:05.000Z07:00"
