package html

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"reassign/report"
)

// TestLoad tells reports from summaries by their content and takes from the summaries
// what the reports lack: one summary per pod, their timelines added up.
func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := writeReport(t, dir, "pod-0.csv", smallRun()[:4])
	b := writeReport(t, dir, "pod-1.csv", smallRun()[4:])
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sa := write("pod-0.summary", `{"command":"run","plan":"plan.csv","report":"/reports/pod-0.csv","base_url":"https://api.dialnexa.com/v1",
		"version":"v1.4.0","exit_code":0,"elapsed_ms":5000,"started_at":"2026-11-27T03:15:00Z","finished_at":"2026-11-27T03:15:05Z",
		"timeline":{"start":"2026-11-27T03:15:00.000Z","rows":[2,2],"throttled":[0,1]}}`)
	sb := write("pod-1.json", "\uFEFF\n  "+`{"command":"run","plan":"plan.csv","report":"/reports/pod-1.csv","base_url":"https://api.dialnexa.com/v1",
		"version":"v1.4.0","exit_code":3,"elapsed_ms":6000,"started_at":"2026-11-27T03:15:01Z","finished_at":"2026-11-27T03:15:08Z",
		"waves":["1","10%","100%"],"timeline":{"start":"2026-11-27T03:15:01.000Z","rows":[1,1,1],"throttled":[2,0,0]}}`)

	m, src, err := Load([]string{a, sa, b, sb, filepath.Join(dir, ".", "pod-1.csv")}, "null")
	if err != nil {
		t.Fatal(err)
	}
	if m.Command != "run" || m.Plan != "plan.csv" || m.BaseURL != "https://api.dialnexa.com/v1" || m.Version != "v1.4.0" ||
		!m.Started.Equal(genStart) || m.Elapsed != 8*time.Second || !slices.Equal(m.ExitCodes, []int{0, 3}) ||
		m.Waves != "1,10%,100%" || !slices.Equal(m.Reports, []string{a, b}) || m.Throttled != nil {
		t.Errorf("meta %+v", m)
	}
	if m.Timeline == nil {
		t.Fatal("no timeline from two summaries of two reports")
	}
	if rows, throttled := m.Timeline.Seconds(); !slices.Equal(rows, []int{2, 3, 1, 1}) || !slices.Equal(throttled, []int{0, 3, 0, 0}) {
		t.Errorf("timeline rows %v, throttled %v", rows, throttled)
	}
	lines := 0
	if err := src(func(report.Line) error { lines++; return nil }); err != nil || lines != 9 {
		t.Errorf("the source read %d lines, %v; want 9", lines, err)
	}

	// Summaries as the run writes them without a timeline: the 429s counted, not when.
	ca := write("count-0.json", `{"command":"run","report":"pod-0.csv","throttled":2}`)
	cb := write("count-1.json", `{"command":"run","report":"pod-1.csv","throttled":5}`)
	m, _, err = Load([]string{a, b, ca, cb}, "null")
	if err != nil || m.Timeline != nil || m.Throttled == nil || *m.Throttled != 7 {
		t.Errorf("summaries without a timeline: %+v, %v; want 7 answers 429", m, err)
	}

	// One summary for two reports: its facts, no timeline, and the page says so.
	m, _, err = Load([]string{a, b, sa}, "null")
	if err != nil || m.Timeline != nil || m.Unknown == "" || m.Plan != "plan.csv" {
		t.Errorf("one summary of two reports: %+v, %v", m, err)
	}
	// No summary: nothing but the reports.
	m, _, err = Load([]string{a}, "null")
	if err != nil || m.Plan != "" || m.Unknown == "" {
		t.Errorf("no summary: %+v, %v", m, err)
	}

	if _, _, err := Load([]string{sa}, "null"); !errors.Is(err, ErrNoReport) {
		t.Errorf("only a summary: %v, want ErrNoReport", err)
	}
	bad := write("bad.json", `{"command": 3}`)
	var re *ReportError
	if _, _, err := Load([]string{a, bad}, "null"); !errors.As(err, &re) || re.Path != bad {
		t.Errorf("a damaged summary: %v, want a ReportError naming it", err)
	}
	if _, _, err := Load([]string{filepath.Join(dir, "missing.csv")}, "null"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
