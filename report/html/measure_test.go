package html

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
)

var measure = flag.Bool("measure", false, "measure the page's size and load time in headless Chromium for 2,000 and 200,000 rows")

// TestMeasure prints the figures docs/performance.md gives for the page: its size, the time to
// render it, and the time headless Chromium takes to load and show it, to filter and to
// search, for 2,000 and 200,000 rows. It asserts nothing about time (the machine is
// shared); run it alone:
//
//	go test ./report/html -run TestMeasure -measure -v -timeout 20m
func TestMeasure(t *testing.T) {
	if !*measure {
		t.Skip("figures for docs/performance.md: pass -measure")
	}
	for _, n := range []int{2000, 200_000} {
		dir := t.TempDir()
		csvPath := writeReport(t, dir, "report.csv", genResults(n))
		out := filepath.Join(dir, "report.html")
		began := time.Now()
		st := renderFiles(t, out, csvPath)
		rendered := time.Since(began)
		csvInfo, _ := os.Stat(csvPath)
		pageInfo, _ := os.Stat(out)

		b := newBrowser(t)
		began = time.Now()
		ready := b.open(t, out)
		loaded := time.Since(began)
		heap := eval[float64](t, b, `performance.memory.usedJSHeapSize`)
		// What a person sees first: the header, counts and timeline, painted before the
		// rows' data is read.
		paint := eval[float64](t, b, `performance.getEntriesByName('first-contentful-paint')[0].startTime`)

		began = time.Now()
		click(t, b, `[data-filter="rejected"]`)
		waitFor(t, b, total+` === `+strconv.Itoa(st.Counts["rejected"]))
		filtered := time.Since(began)
		click(t, b, `[data-filter=""]`)
		waitFor(t, b, total+` === `+strconv.Itoa(st.Rows))

		began = time.Now()
		search(t, b, "são paulo") // includes the script's 150 ms pause after the last key
		searched := time.Since(began)
		began = time.Now()
		search(t, b, "rejected")
		again := time.Since(began)
		if problems, requests := b.seen(); len(problems) > 0 || len(requests) != 1 {
			t.Errorf("problems %q, requests %q", problems, requests)
		}
		t.Logf("%s rows (%s report lines): report CSV %s, page %s, rendered in %v; Chromium: first paint %.0f ms, "+
			"rows shown %d ms after navigation (%v from the command to navigate), JS heap %s; filter %v; "+
			"first search %v, second %v (each with the 150 ms pause after typing)",
			humanize.Comma(int64(st.Rows)), humanize.Comma(int64(st.Lines)), humanize.IBytes(uint64(csvInfo.Size())),
			humanize.IBytes(uint64(pageInfo.Size())), rendered.Round(time.Millisecond), paint, ready, loaded.Round(time.Millisecond),
			humanize.IBytes(uint64(heap)), filtered.Round(time.Millisecond), searched.Round(time.Millisecond), again.Round(time.Millisecond))
	}
}
