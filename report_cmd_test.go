package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCommand drives `reassign report` in process: the page of reports already
// written, and each refusal with its exit code, leaving no page behind.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample, err := os.ReadFile(filepath.Join("samples", "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	reportCSV := writeFile(t, dir, "report.csv", string(sample))
	summary := writeFile(t, dir, "summary.json", `{"command":"run","plan":"samples/plan.csv","report":"report.csv","sandbox":true,"exit_code":3}`)
	damaged := writeFile(t, dir, "damaged.csv", "line,id,outcome\n2,\"a\"b,updated\n3,c,updated\n")
	existing := writeFile(t, dir, "existing.html", "keep me")
	cases := []struct {
		name   string
		args   []string
		want   int
		output string // a fragment of stdout+stderr
		page   string // the page written, if any
	}{
		{name: "help", args: []string{"--help"}, want: 0, output: "Usage: reassign report --html OUT.html"},
		{name: "no --html", args: []string{reportCSV}, want: 64, output: "--html is required"},
		{name: "no report", args: []string{"--html", filepath.Join(dir, "a.html")}, want: 64, output: "name the report files"},
		{name: "only a summary", args: []string{"--html", filepath.Join(dir, "b.html"), summary}, want: 64, output: "no report among the files"},
		{name: "page names an input", args: []string{"--html", reportCSV, reportCSV}, want: 64, output: "--html names the same file as a file to read"},
		{name: "unknown flag", args: []string{"--html", filepath.Join(dir, "c.html"), "--plan", "x", reportCSV}, want: 64, output: "-plan"},
		{name: "page exists", args: []string{"--html", existing, reportCSV}, want: 78, output: "already exists"},
		{name: "missing report", args: []string{"--html", filepath.Join(dir, "d.html"), filepath.Join(dir, "nope.csv")}, want: 78, output: "nope.csv"},
		{name: "damaged report", args: []string{"--html", filepath.Join(dir, "e.html"), damaged}, want: 65, output: "damaged.csv: line 2"},
		{name: "a report and its summary", args: []string{"--html", filepath.Join(dir, "ok.html"), reportCSV, summary}, want: 0,
			output: "wrote " + filepath.Join(dir, "ok.html") + ": 9 rows from 2 files, 2 needing attention", page: filepath.Join(dir, "ok.html")},
		{name: "to stdout", args: []string{"--html", "-", reportCSV}, want: 0, output: "<!DOCTYPE html>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runIn(t, nil, "", append([]string{"report"}, c.args...)...)
			if res.code != c.want || !strings.Contains(res.stdout+res.stderr, c.output) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", res.code, c.want, c.output, res.stdout, res.stderr)
			}
			if c.page == "" {
				return
			}
			page, err := os.ReadFile(c.page)
			if err != nil {
				t.Fatal(err)
			}
			for _, frag := range []string{"<dd>samples/plan.csv</dd>", "<dd>the sandbox", `data-count="updated">6<`} {
				if !strings.Contains(string(page), frag) {
					t.Errorf("the page lacks %s", frag)
				}
			}
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("an existing page was overwritten: %q", data)
	}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		if _, err := os.Stat(filepath.Join(dir, name+".html")); !os.IsNotExist(err) {
			t.Errorf("a refused command left %s.html behind (%v)", name, err)
		}
	}
}
