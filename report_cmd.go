package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"

	"reassign/report"
	"reassign/report/html"
)

// reportCommand is `reassign report --html OUT.html FILE...`: the HTML page of reports
// already written (the shards of one run together), with what their summary files add.
// It reads no plan and sends nothing.
func reportCommand(cfg *config, stdout, stderr io.Writer) int {
	n, err := renderReport(cfg.html, cfg.files, cfg.nullToken, stdout)
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
	if len(cfg.files) > 1 {
		files = strconv.Itoa(len(cfg.files)) + " files"
	}
	fmt.Fprintf(stderr, "reassign: wrote %s: %s rows from %s, %s needing attention\n",
		cfg.html, humanize.Comma(int64(n.Rows)), files, humanize.Comma(int64(n.Attention)))
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
