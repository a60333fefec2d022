package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"

	"reassign/job/cell"
	"reassign/report"
	"reassign/report/html"
)

// reportCommand is `reassign report --html OUT.html FILE...`: the HTML page of reports
// already written (the shards of one run together), with what their summary files add.
// It reads no plan and sends nothing.
func reportCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reassign report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("html", "", "the HTML page to write (required); - writes stdout; never overwritten")
	nullToken := fs.String("null-token", "null", `the null token the reports were written with [$REASSIGN_NULL_TOKEN]`)
	if v := getenv("REASSIGN_NULL_TOKEN"); v != "" {
		*nullToken = v
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, "Usage: reassign report --html OUT.html REPORT.csv... [SUMMARY.json...]\n\n"+
			"Writes one self-contained HTML page of reports already written: the shards of one run\n"+
			"together. A file that holds a JSON object is taken as a run's summary (--summary): it adds\n"+
			"the plan, workspace, version, start, duration and the 429s per second.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(stdout, "  --%s\n      %s\n", f.Name, f.Usage) })
		return exitOK
	case err == nil && *out == "":
		err = errors.New("report: --html is required")
	case err == nil && fs.NArg() == 0:
		err = errors.New("report: name the report files to render")
	case err == nil && cell.CheckNullToken(*nullToken) != nil:
		err = fmt.Errorf("report: --null-token %v", cell.CheckNullToken(*nullToken))
	}
	if err != nil {
		fmt.Fprintf(stderr, "reassign: %v\nRun reassign report --help for the flags.\n", err)
		return exitUsage
	}
	n, err := renderReport(*out, fs.Args(), *nullToken, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "reassign: %v\n", err)
		var re *html.ReportError
		switch {
		case errors.As(err, &re):
			return exitPlan
		case errors.Is(err, html.ErrNoReport):
			return exitUsage
		}
		return exitCodeFor(err)
	}
	files := "1 file"
	if fs.NArg() > 1 {
		files = strconv.Itoa(fs.NArg()) + " files"
	}
	fmt.Fprintf(stderr, "reassign: wrote %s: %s rows from %s, %s needing attention\n",
		*out, humanize.Comma(int64(n.Rows)), files, humanize.Comma(int64(n.Attention)))
	return exitOK
}

// renderReport writes the page of the files to out, created new: never over a file,
// nor over one of the files it reads.
func renderReport(out string, files []string, nullToken string, stdout io.Writer) (html.Stats, error) {
	outs := report.NewOutputs(stdout)
	page := outs.Add(report.Output{Flag: "--html", Name: out, Kind: report.New})
	inputs := make([]report.Input, len(files))
	for i, f := range files {
		inputs[i] = report.Input{Flag: "a file to read", Name: f}
	}
	var meta html.Meta
	var src html.Source
	var stats html.Stats
	err := outs.Check(inputs...)
	if err == nil {
		meta, src, err = html.Load(files, nullToken)
	}
	if err == nil {
		err = outs.Create()
	}
	if err == nil {
		meta.Generated = time.Now()
		stats, err = html.Render(page, meta, src)
	}
	if err == nil {
		outs.Keep() // the page is whole: it stays, even if closing it fails
		err = outs.Close()
	}
	outs.Finish(&report.Ending{}, zerolog.Nop()) // half a page would only block the next try
	return stats, err
}
