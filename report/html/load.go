package html

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"reassign/report"
)

// ErrNoReport is Load's error when every file given is a summary.
var ErrNoReport = errors.New("no report among the files given, only summaries")

// summaryFile is what the page reads of a run's --summary file. Fields a summary does not
// hold stay zero and are shown as not known.
type summaryFile struct {
	Command    string           `json:"command"`
	Plan       string           `json:"plan"`
	Report     string           `json:"report"`
	BaseURL    string           `json:"base_url"`
	Sandbox    bool             `json:"sandbox"`
	Version    string           `json:"version"`
	ExitCode   *int             `json:"exit_code"`
	ElapsedMS  int64            `json:"elapsed_ms"`
	Throttled  *int64           `json:"throttled"`
	StartedAt  string           `json:"started_at"`
	FinishedAt string           `json:"finished_at"`
	Waves      json.RawMessage  `json:"waves"` // a string such as "1,10%,100%", or a list
	Timeline   *report.Timeline `json:"timeline"`
}

// Load reads what `reassign report` is given: report files and the runs' summary files,
// told apart by their content (a summary is one JSON object; a report is CSV). It
// returns the page's Meta, as far as the summaries tell it, and the Source of the
// reports' lines, read with nullToken. A file named twice is read once. An input that
// cannot be opened is an *fs.PathError; a summary that cannot be read, a *ReportError.
func Load(paths []string, nullToken string) (Meta, Source, error) {
	var reports []string
	var sums []summaryFile
	given := map[string]bool{}
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil && given[abs] {
			continue // a file named twice (by two patterns) is read once
		} else if err == nil {
			given[abs] = true
		}
		isSummary, err := looksLikeJSON(p)
		if err != nil {
			return Meta{}, nil, err
		}
		if !isSummary {
			reports = append(reports, p)
			continue
		}
		s, err := readSummary(p)
		if err != nil {
			return Meta{}, nil, &ReportError{Path: p, Err: err}
		}
		sums = append(sums, s)
	}
	if len(reports) == 0 {
		return Meta{}, nil, ErrNoReport
	}
	m := metaOf(sums, reports)
	m.Reports = reports
	return m, Files(nullToken, reports...), nil
}

// looksLikeJSON reports whether the file's first character, after a BOM and white
// space, opens a JSON object.
func looksLikeJSON(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head, _ := bufio.NewReader(f).Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte(report.BOM)), " \t\r\n")
	return len(head) > 0 && head[0] == '{', nil
}

func readSummary(path string) (summaryFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return summaryFile{}, err
	}
	var s summaryFile
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte(report.BOM)), &s); err != nil {
		return summaryFile{}, fmt.Errorf("not a summary file: %v", err)
	}
	return s, nil
}

// metaOf is what the summaries tell of the run whose reports are named: every value
// they agree on, the distinct ones joined where the pods differ.
func metaOf(sums []summaryFile, reports []string) Meta {
	var m Meta
	if len(sums) == 0 {
		m.Unknown = "A report does not record them: give each report's summary file (written with --summary) beside it."
		return m
	}
	var cmds, plans, urls, versions, waves []string
	var first, last time.Time
	var timelines []*report.Timeline
	var throttled int64
	counted := 0 // summaries that count their 429s
	named := map[string]bool{}
	for _, s := range sums {
		cmds, plans, versions = appendNew(cmds, s.Command), appendNew(plans, s.Plan), appendNew(versions, s.Version)
		urls = appendNew(urls, s.BaseURL)
		waves = appendNew(waves, wavesText(s.Waves))
		m.Sandbox = m.Sandbox || s.Sandbox
		if s.ExitCode != nil {
			m.ExitCodes = append(m.ExitCodes, *s.ExitCode)
		}
		start, errS := time.Parse(time.RFC3339Nano, s.StartedAt)
		end, errE := time.Parse(time.RFC3339Nano, s.FinishedAt)
		if errS == nil && (first.IsZero() || start.Before(first)) {
			first = start
		}
		if errE == nil && end.After(last) {
			last = end
		}
		m.Elapsed = max(m.Elapsed, time.Duration(s.ElapsedMS)*time.Millisecond)
		if s.Timeline != nil {
			timelines = append(timelines, s.Timeline)
		}
		if s.Throttled != nil {
			throttled += *s.Throttled
			counted++
		}
		named[filepath.Base(s.Report)] = true
	}
	m.Command, m.Plan, m.BaseURL = strings.Join(cmds, ", "), strings.Join(plans, ", "), strings.Join(urls, ", ")
	m.Version, m.Waves, m.Started = strings.Join(versions, ", "), strings.Join(waves, ", "), first
	if !first.IsZero() && last.After(first) {
		m.Elapsed = last.Sub(first) // the pods together, from the first start to the last end
	}
	covered := len(sums) >= len(reports)
	if !covered {
		covered = !slices.ContainsFunc(reports, func(r string) bool { return !named[filepath.Base(r)] })
	}
	switch {
	case !covered:
		m.Unknown = fmt.Sprintf("Only %d of the %d reports came with their summary file; the facts above are theirs.", len(sums), len(reports))
		return m
	case len(timelines) == len(sums):
		m.Timeline = report.MergeTimelines(timelines...)
	case counted == len(sums):
		m.Throttled = &throttled
	}
	m.Unknown = "The summary files do not record them."
	return m
}

// appendNew appends v unless it is empty or there already.
func appendNew(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// wavesText is a summary's waves as text: a string as it is, a list joined by commas.
func wavesText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, ",")
	}
	return ""
}
