package html_test

import (
	"fmt"
	"os"
	"time"

	"reassign/report"
	"reassign/report/html"
)

// A run with --html: it fills a Timeline as rows finish and answers 429 come, and once
// its report file is closed, renders the page from it. (A report on stdout can be
// kept for the page by a second report.Writer on a temporary file.)
func ExampleRender() {
	started := time.Now()
	tl := report.NewTimeline(started)
	// As each result is recorded: tl.Row(result.Finished); on each 429: tl.Throttled(now).
	// The summary file carries tl as its "timeline" (report.Timeline marshals itself).

	out, err := os.OpenFile("run.html", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) // never over a file
	if err != nil {
		fmt.Println(err)
		return
	}
	defer out.Close()
	meta := html.Meta{
		Command: "run", Plan: "plan.csv", BaseURL: "https://api.dialnexa.com/v1", Version: "v1.4.0",
		Started: started, Elapsed: time.Since(started), ExitCodes: []int{0}, Reports: []string{"report.csv"},
		Agents:   map[string]string{"agt_sales_emea": "Sales EMEA"}, // from the workspace's agent list
		Timeline: tl, Generated: time.Now(),
	}
	stats, err := html.Render(out, meta, html.Files("null", "report.csv"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stats.Rows, "rows,", stats.Attention, "needing attention")
}
