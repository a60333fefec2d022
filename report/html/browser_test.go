package html

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"reassign/job"
)

// chromiumPath finds Debian's chromium (or another Chrome). Without one the test skips,
// unless on CI, where it fails: CI installs it (.ci/run).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: the HTML report is tested in a real browser (apt-get install chromium)")
	}
	t.Skip("chromium is not installed, so the HTML report is not checked in a browser (apt-get install chromium; CI does)")
	return ""
}

// browser is a headless Chromium tab that records what a page does besides showing
// itself: console errors, exceptions, dialogs and every request.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// problems are console errors, uncaught exceptions, error log entries (a refused
	// Content-Security-Policy among them) and dialogs.
	problems []string
	requests []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	path := chromiumPath(t)
	// As root, Chromium starts only without its sandbox.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, struct{}{}); err != nil {
		t.Fatalf("chromium: enable the log: %v", err)
	}
	return b
}

func (b *browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails.Exception))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			b.problems = append(b.problems, fmt.Sprintf("log %s %s: %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
		}
	case *cdppage.EventJavascriptDialogOpening:
		b.problems = append(b.problems, "dialog: "+ev.Message)
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

// seen returns what the page did so far.
func (b *browser) seen() (problems, requests []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.problems), slices.Clone(b.requests)
}

// open loads the page and waits until its script has shown the rows; it returns the
// page's own count of milliseconds from navigation to ready.
func (b *browser) open(t testing.TB, path string) int {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate("file://"+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	ms, err := chromedp.Run(b.step(t), chromedp.Poll[int](`Number(document.documentElement.dataset.ready)`))
	if err != nil {
		problems, _ := b.seen()
		t.Fatalf("the page's script never finished: %v; %q", err, problems)
	}
	return ms
}

// step is a context for one action: a page that hangs fails the test in a minute.
func (b *browser) step(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func eval[T any](t testing.TB, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.step(t), chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor waits until the JavaScript condition holds.
func waitFor(t testing.TB, b *browser, cond string) {
	t.Helper()
	if _, err := chromedp.Run(b.step(t), chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", cond, err)
	}
}

func click(t testing.TB, b *browser, sel string) {
	t.Helper()
	if err := chromedp.Do(b.step(t), chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// search types q into the search box, as a person does: select what it holds, delete
// it, type.
func search(t testing.TB, b *browser, q string) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Evaluate[chromedp.Void](`document.getElementById('search').select()`),
		chromedp.SendKeys(chromedp.CSS("#search"), kb.Backspace),
	}
	if q != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS("#search"), q))
	}
	if err := chromedp.Do(b.step(t), steps...); err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	quoted, _ := json.Marshal(strings.ToLower(strings.TrimSpace(q)))
	waitFor(t, b, `document.querySelector('#all-pager .status').dataset.query === `+string(quoted))
}

// shownRow is a row as the table shows it.
type shownRow struct {
	Line    int    `json:"line"`
	Outcome string `json:"outcome"`
	Phone   string `json:"phone"`
	Text    string `json:"text"`
}

const shownRows = `[...document.querySelectorAll('#all-body tr')].map(tr => ({line: Number(tr.dataset.line),
	outcome: tr.dataset.outcome, phone: tr.cells[1].querySelector('.mono').textContent, text: tr.textContent}))`

// total is the number of rows the table's filter and search leave.
const total = `Number(document.querySelector('#all-pager .status').dataset.total)`

// TestPageInBrowser renders a 2,000-row report and uses the page as a person would, in
// headless Chromium: it loads with no error and no request but itself, shows the CSV's
// rows and counts, filters, searches, and shows hostile values as text.
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	dir := t.TempDir()
	csvPath := writeReport(t, dir, "report.csv", genResults(2000))
	want, wantCounts := readCSV(t, csvPath)
	out := filepath.Join(dir, "report.html")
	renderFiles(t, out, csvPath)

	b.open(t, out)
	if problems, requests := b.seen(); len(problems) > 0 || len(requests) != 1 || requests[0] != "file://"+out {
		t.Fatalf("loading the page: problems %q, requests %q (want only the page itself)", problems, requests)
	}

	t.Run("counts", func(t *testing.T) {
		got := eval[map[string]int](t, b, `Object.fromEntries([...document.querySelectorAll('[data-count]')]
			.map(td => [td.dataset.count, Number(td.textContent.replace(/,/g, ''))]))`)
		if !maps.Equal(got, wantCounts) {
			t.Errorf("counts on the page %v, in the CSV %v", got, wantCounts)
		}
		if n := eval[string](t, b, `document.getElementById('rows-total').textContent`); n != "2,000" {
			t.Errorf("rows total %q, want 2,000", n)
		}
	})

	t.Run("every row in plan order", func(t *testing.T) {
		var got []shownRow
		for page := 0; ; page++ {
			rows := eval[[]shownRow](t, b, shownRows)
			got = append(got, rows...)
			if eval[bool](t, b, `document.querySelector('#all-pager [data-step="1"]').disabled`) {
				break
			}
			click(t, b, `#all-pager [data-step="1"]`)
			waitFor(t, b, fmt.Sprintf(`document.querySelector('#all-body tr').dataset.line != %d`, rows[0].Line))
			if page > 100 {
				t.Fatal("the pager never ends")
			}
		}
		lines := slices.Sorted(maps.Keys(want))
		if len(got) != len(lines) {
			t.Fatalf("the table shows %d rows, the CSV has %d", len(got), len(lines))
		}
		for i, line := range lines {
			w := want[line]
			if w.phone == "" {
				w.phone = "\u2014" // no phone number: the report has none for a row sent no request
			}
			if g := got[i]; g.Line != line || g.Outcome != w.outcome || g.Phone != w.phone {
				t.Fatalf("row %d shows line %d %s %s, the CSV says line %d %s %s", i, g.Line, g.Outcome, g.Phone, line, w.outcome, w.phone)
			}
			if history := strings.Contains(got[i].Text, "was updated at "); history != (w.lines > 1) {
				t.Errorf("line %d has %d report lines; its history shown: %v", line, w.lines, history)
			}
		}
	})

	t.Run("rows needing attention", func(t *testing.T) {
		n := 0
		for _, o := range needsAttention {
			n += wantCounts[string(o)]
		}
		if got := eval[int](t, b, `Number(document.querySelector('#att-pager .status').dataset.total)`); got != n {
			t.Errorf("%d rows needing attention, the CSV has %d", got, n)
		}
		outcomes := eval[[]string](t, b, `[...document.querySelectorAll('#att-body tr')].map(tr => tr.dataset.outcome)`)
		for _, o := range outcomes {
			if outcomeClass(job.Outcome(o)) == "ok" {
				t.Errorf("an %s row among the rows needing attention", o)
			}
		}
	})

	t.Run("filter", func(t *testing.T) {
		for _, o := range []string{"rejected", "rolled_back", "differs"} {
			click(t, b, fmt.Sprintf(`[data-filter="%s"]`, o))
			waitFor(t, b, fmt.Sprintf(`%s === %d`, total, wantCounts[o]))
			for _, r := range eval[[]shownRow](t, b, shownRows) {
				if r.Outcome != o {
					t.Errorf("filter %s shows a row %s (line %d)", o, r.Outcome, r.Line)
				}
			}
			if wantCounts[o] == 0 {
				t.Errorf("the report has no %s row to filter", o)
			}
		}
		click(t, b, `[data-filter=""]`)
		waitFor(t, b, total+` === 2000`)
	})

	t.Run("search", func(t *testing.T) {
		line := slices.Sorted(maps.Keys(want))[1234]
		search(t, b, want[line].phone)
		waitFor(t, b, total+` === 1`)
		if rows := eval[[]shownRow](t, b, shownRows); len(rows) != 1 || rows[0].Line != line {
			t.Errorf("search %s shows %+v, want line %d", want[line].phone, rows, line)
		}
		n := 0
		for _, r := range want {
			if r.nick == "São Paulo Vendas" {
				n++
			}
		}
		search(t, b, "são PAULO")
		waitFor(t, b, fmt.Sprintf(`%s === %d`, total, n))
		search(t, b, "")
		waitFor(t, b, total+` === 2000`)
	})

	t.Run("hostile values are text", func(t *testing.T) {
		for _, h := range hostile[:3] {
			search(t, b, h)
			rows := eval[[]shownRow](t, b, shownRows)
			if len(rows) != 1 || !strings.Contains(rows[0].Text, h) {
				t.Errorf("search %q: %d rows; want one that shows it as text", h, len(rows))
			}
		}
		search(t, b, "")
		waitFor(t, b, total+` === 2000`)
		// Whatever a value holds, the page has its two scripts (the data, the code), no
		// image, frame or handler attribute, and nothing ran.
		if n := eval[int](t, b, `document.querySelectorAll('img, iframe, object, embed, [onerror], [onmouseover]').length`); n != 0 {
			t.Errorf("%d elements made of values", n)
		}
		if n := eval[int](t, b, `document.scripts.length`); n != 2 {
			t.Errorf("%d scripts, want 2", n)
		}
		if problems, requests := b.seen(); len(problems) > 0 || len(requests) != 1 {
			t.Errorf("using the page: problems %q, requests %q", problems, requests)
		}
	})

	t.Run("a retry read before the pod it follows", func(t *testing.T) {
		retry, pod := retryRun(t, dir)
		page := filepath.Join(dir, "retry.html")
		renderFiles(t, page, retry, pod)
		b.open(t, page)
		rows := eval[[]shownRow](t, b, shownRows)
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
		for _, r := range rows {
			if r.Outcome != "skipped" || !strings.Contains(r.Text, "was unchanged at ") && !strings.Contains(r.Text, "was updated at ") {
				t.Errorf("line %d shows %s: %q; want skipped, and what the pod did before", r.Line, r.Outcome, r.Text)
			}
		}
		if problems, requests := b.seen(); len(problems) > 0 || requests[len(requests)-1] != "file://"+page {
			t.Errorf("problems %q, requests %q", problems, requests)
		}
	})
}

// renderFiles renders report files to out as `reassign report` does.
func renderFiles(t testing.TB, out string, files ...string) Stats {
	t.Helper()
	m, src, err := Load(files, "null")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Render(f, m, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}
