//go:build unix

package main

// Contract conformance against the provider's own spec: Stoplight Prism mocks
// ../shared/api/openapi.yaml (validating every request against it) and the BUILT binary
// runs testdata/contract/plan.csv against it. Install Prism with .ci/install-prism.sh.
//
// A violation is caught three independent ways, and any one fails the test:
//  1. the answer: `prism mock --errors` answers a request that breaks the spec with a
//     4xx, so the row is not `updated` (outcome and status are checked per row);
//  2. the `sl-violations` header Prism puts on such an answer, seen by a transparent
//     recording proxy between the binary and Prism (which also checks each body);
//  3. Prism's own log: any error/warning line, "Violation" or [VALIDATOR] complaint.
// The "detector" sub-test sends deliberately bad requests through the same path and
// requires all three to fire, so a detector that went blind fails too.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	prismBin       = ".prism/node_modules/.bin/prism" // where .ci/install-prism.sh puts it
	prismSpec      = "../shared/api/openapi.yaml"     // the provider's spec, beside the repo in CI
	prismPlan      = "testdata/contract/plan.csv"
	prismWant      = "testdata/contract/want-bodies.json"
	prismStartWait = 60 * time.Second
	// The example answer of the spec's PATCH 200, which the mock returns for every row.
	prismExampleAgent    = "agt_k7m2nq9xw4p8"
	prismExampleNickname = "Mumbai Support"
)

// prismInCI reports whether this is a CI run, where a missing prerequisite is a failure.
func prismInCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "false" && v != "0"
}

// prismNeedFile skips (or, in CI, fails) the test when path is absent.
func prismNeedFile(t *testing.T, path, what, fix string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		if prismInCI() {
			t.Fatalf("%s not found at %s (CI is set, so this is a failure): %s", what, abs, fix)
		}
		t.Skipf("%s not found at %s: %s", what, abs, fix)
	}
	return abs
}

func TestPrismContract(t *testing.T) {
	prism := prismNeedFile(t, prismBin, "Stoplight Prism", "run `bash .ci/install-prism.sh` (needs node and npm)")
	spec := prismNeedFile(t, prismSpec, "the provider spec", "clone the shared folder beside the repo (../shared/api/openapi.yaml)")

	p := startPrism(t, prism, spec)
	rec := newPrismRecorder(t, p.url)

	t.Run("detector", func(t *testing.T) { testPrismDetector(t, p, rec) })
	t.Run("binary", func(t *testing.T) { testPrismBinary(t, p, rec) })
}

// testPrismDetector proves the three violation channels fire on requests that break the
// spec, so that "no violation" in the binary's run means something.
func testPrismDetector(t *testing.T, p *prismServer, rec *prismRecorder) {
	bad := []struct{ name, auth, body string }{
		{"unknown field", "Bearer k", `{"agent_id":"agt_a","agent":"agt_b"}`},
		{"nickname of 300 characters", "Bearer k", `{"nickname":"` + strings.Repeat("n", 300) + `"}`},
		{"null label", "Bearer k", `{"label":null}`},
		{"empty body", "Bearer k", `{}`},
		{"no key", "", `{"agent_id":"agt_a"}`},
	}
	for _, b := range bad {
		t.Run(strings.ReplaceAll(b.name, " ", "_"), func(t *testing.T) {
			from := p.fence(t)
			n := rec.len()
			req, err := http.NewRequest(http.MethodPatch, rec.url+"/organization-phone-numbers/phn_detector", strings.NewReader(b.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			if b.auth != "" {
				req.Header.Set("Authorization", b.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			to := p.fence(t)

			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Errorf("channel 1: Prism answered %d to a bad request, want a 4xx", resp.StatusCode)
			}
			ex := rec.since(n)
			header := ""
			if len(ex) == 1 {
				header = ex[0].violations
			}
			if header == "" {
				t.Errorf("channel 2: the prismRecorder saw no sl-violations header (%d exchanges)", len(ex))
			}
			lines := prismViolations(p.log.String()[from:to])
			if len(lines) == 0 {
				t.Errorf("channel 3: Prism's log shows no violation:\n%s", p.log.String()[from:to])
			} else {
				t.Logf("flagged: status %d; header %s; log %q", resp.StatusCode, header, lines[len(lines)-1])
			}
		})
	}
}

// testPrismBinary runs the built program against the mock and requires every row
// updated, with the planned body, and no violation on any channel.
func testPrismBinary(t *testing.T, p *prismServer, rec *prismRecorder) {
	var want map[string]map[string]any
	b, err := os.ReadFile(prismWant)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", prismWant, err)
	}
	plan, err := filepath.Abs(prismPlan)
	if err != nil {
		t.Fatal(err)
	}
	const key = "prism-contract-key-5f3a9c" // must appear in no log or report (docs/logs-and-metrics.md)
	dir := t.TempDir()

	from := p.fence(t)
	n := rec.len()
	// --no-snapshot: the mock invents the workspace's reads ({"agents":[{"id":"string"}]}),
	// so the agent check would refuse every planned agent; this test is about the PATCHes.
	res := runBinary(t, dir, []string{"DIALNEXA_API_KEY=" + key},
		"--plan", plan, "--report", "report.csv", "--base-url", rec.url, "--no-snapshot",
		"--rate", "0", "--workers", "4", "--max-attempts", "1", "--log-format", "json")
	to := p.fence(t)
	log := p.log.String()[from:to]
	exchanges := rec.since(n)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("binary stderr:\n%s", res.stderr)
			t.Logf("Prism log of the run:\n%s", log)
		}
	})

	// Channel 3: Prism's own verdict.
	if v := prismViolations(log); len(v) > 0 {
		t.Errorf("Prism reported %d violation line(s):\n%s", len(v), strings.Join(v, "\n"))
	}

	// Channel 2, and the requests themselves.
	patches := map[string]prismExchange{}
	for _, ex := range exchanges {
		if ex.violations != "" {
			t.Errorf("%s %s: Prism flagged it: %s", ex.method, ex.path, ex.violations)
		}
		if ex.status < 200 || ex.status > 299 {
			t.Errorf("%s %s: Prism answered %d", ex.method, ex.path, ex.status)
		}
		if ex.method != http.MethodPatch {
			continue // reads (if the job makes any) are validated above, not matched to rows
		}
		id, ok := strings.CutPrefix(ex.path, "/organization-phone-numbers/")
		if !ok {
			t.Errorf("PATCH %s: not an /organization-phone-numbers/{id} path", ex.path)
			continue
		}
		if _, dup := patches[id]; dup {
			t.Errorf("PATCH %s sent more than once", ex.path)
		}
		patches[id] = ex
		prismCheckHeaders(t, ex, key)
	}
	for id, body := range want {
		ex, ok := patches[id]
		if !ok {
			t.Errorf("row %s: no PATCH reached the API", id)
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(ex.body, &got); err != nil {
			t.Errorf("row %s: body is not a JSON object: %v: %s", id, err, ex.body)
		} else if !reflect.DeepEqual(got, body) {
			t.Errorf("row %s: body\n got %s\nwant %s", id, ex.body, prismJSON(body))
		}
	}
	for id := range patches {
		if _, ok := want[id]; !ok {
			t.Errorf("PATCH for %s, which is not in the plan", id)
		}
	}

	// Channel 1: the program's own record of the answers.
	if res.code != 0 {
		t.Errorf("exit code %d, want 0", res.code)
	}
	reportBytes, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	rows := prismReadReport(t, reportBytes)
	if len(rows) != len(want) {
		t.Errorf("report has %d rows, want %d", len(rows), len(want))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		id := r["id"]
		seen[id] = true
		if _, ok := want[id]; !ok {
			t.Errorf("report row for unknown id %q", id)
		}
		if r["outcome"] != "updated" || r["http_status"] != "200" || r["attempts"] != "1" {
			t.Errorf("row %s: outcome %q, status %q, attempts %q, error %q; want updated, 200, 1",
				id, r["outcome"], r["http_status"], r["attempts"], r["error"])
		}
		if r["result_agent_id"] != prismExampleAgent {
			t.Errorf("row %s: result_agent_id %q, want the mock's %q (parsed from the answer)", id, r["result_agent_id"], prismExampleAgent)
		}
		if r["result_nickname"] != prismExampleNickname {
			t.Errorf("row %s: result_nickname %q, want the mock's %q", id, r["result_nickname"], prismExampleNickname)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("row %s missing from the report", id)
		}
	}

	// The log: one row event per row, all updated, and the key nowhere.
	rowEvents := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(res.stderr))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var ev struct{ Event, ID, Outcome string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			t.Errorf("stderr line is not JSON: %s", sc.Text())
			continue
		}
		if ev.Event == "row" {
			if _, dup := rowEvents[ev.ID]; dup {
				t.Errorf("two row events for %s", ev.ID)
			}
			rowEvents[ev.ID] = ev.Outcome
		}
	}
	if len(rowEvents) != len(want) {
		t.Errorf("%d row events in the log, want %d", len(rowEvents), len(want))
	}
	for id, outcome := range rowEvents {
		if outcome != "updated" {
			t.Errorf("log: row %s %q, want updated", id, outcome)
		}
	}
	if strings.Contains(res.stderr, key) || bytes.Contains(reportBytes, []byte(key)) {
		t.Errorf("the API key appears in the log or the report")
	}
	if !t.Failed() {
		t.Logf("%d rows: %d requests through Prism (%d PATCH), every row updated with its planned body, no violation", len(want), len(exchanges), len(patches))
	}
}

func prismCheckHeaders(t *testing.T, ex prismExchange, key string) {
	t.Helper()
	for h, want := range map[string]string{
		"Authorization": "Bearer " + key,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
	} {
		if got := ex.header.Get(h); got != want {
			t.Errorf("%s %s: %s %q, want %q", ex.method, ex.path, h, got, want)
		}
	}
	if ua := ex.header.Get("User-Agent"); !strings.HasPrefix(ua, "reassign/") {
		t.Errorf("%s %s: User-Agent %q, want reassign/<version>", ex.method, ex.path, ua)
	}
}

func prismJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// prismReadReport parses the report CSV (BOM allowed) into one map per row.
func prismReadReport(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Errorf("a file report starts with a BOM; this one starts %q", b[:min(len(b), 8)])
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("report is empty")
	}
	head := recs[0]
	for _, c := range []string{"id", "outcome", "http_status", "attempts", "error", "result_agent_id", "result_nickname"} {
		if !slices.Contains(head, c) {
			t.Fatalf("report header %v lacks %q", head, c)
		}
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range head {
			if i < len(rec) {
				m[c] = rec[i]
			}
		}
		rows = append(rows, m)
	}
	return rows
}

// --- Prism ---

// prismViolations returns the lines of Prism's log that report a problem: any error or
// warning (validator, router, server), or a "Violation".
var (
	prismANSI     = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	prismLevelRE  = regexp.MustCompile(`(?i)(^|\s)(error|fatal|warning|warn)\s{2,}`)
	prismMarkerRE = regexp.MustCompile(`(?i)violation|NO_PATH_MATCHED|UNPROCESSABLE|INVALID_|✖|⚠`)
)

func prismViolations(log string) []string {
	var out []string
	for _, line := range strings.Split(prismANSI.ReplaceAllString(log, ""), "\n") {
		if prismLevelRE.MatchString(line) || prismMarkerRE.MatchString(line) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

type prismServer struct {
	url    string
	log    *prismLogBuffer
	fences int
}

// startPrism starts `prism mock --errors` on a free loopback port, waits until it
// answers, and stops it (with its whole process group) when the test ends.
func startPrism(t *testing.T, bin, spec string) *prismServer {
	t.Helper()
	var lastErr error
	for range 3 { // a port picked free can be taken before Prism binds it
		p, err := tryStartPrism(t, bin, spec)
		if err == nil {
			return p
		}
		lastErr = err
		if !errors.Is(err, errPrismExited) {
			break
		}
	}
	t.Fatalf("start Prism: %v", lastErr)
	return nil
}

var errPrismExited = errors.New("Prism exited")

func tryStartPrism(t *testing.T, bin, spec string) (*prismServer, error) {
	port, err := prismFreePort()
	if err != nil {
		return nil, err
	}
	log := &prismLogBuffer{}
	cmd := exec.Command(bin, "mock", "--errors", "--host", "127.0.0.1", "--port", strconv.Itoa(port), spec)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FORCE_COLOR=") || strings.HasPrefix(kv, "NODE_OPTIONS=")
	}), "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // node and anything it forks
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(prismStartWait)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%w before listening on %s:\n%s", errPrismExited, addr, log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("Prism did not listen on %s within %v:\n%s", addr, prismStartWait, log.String())
		}
	}
	t.Cleanup(stop)
	p := &prismServer{url: "http://" + addr, log: log}
	t.Logf("Prism %s listening on %s (spec %s)", prismVersion(bin), p.url, spec)
	return p, nil
}

func prismVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

func prismFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// fence sends Prism a valid marker request and waits until its log has recorded the
// answer to it; Prism logs in order, so everything before is then in the log. It returns
// the log length at that point, to cut the log into the parts of each phase.
func (p *prismServer) fence(t *testing.T) int {
	t.Helper()
	p.fences++
	id := fmt.Sprintf("prism_test_fence_%d", p.fences)
	req, _ := http.NewRequest(http.MethodGet, p.url+"/organization-phone-numbers/"+id, nil)
	req.Header.Set("Authorization", "Bearer fence")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("fence request: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := p.log.String()
		if i := strings.Index(s, id); i >= 0 {
			if j := strings.Index(s[i:], "Responding with"); j >= 0 {
				if k := strings.IndexByte(s[i+j:], '\n'); k >= 0 {
					return i + j + k + 1
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prism's log never recorded the answer to %s:\n%s", id, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type prismLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *prismLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *prismLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// --- the recording proxy ---

// prismExchange is one request that went through the prismRecorder, and Prism's answer.
type prismExchange struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
	violations   string // Prism's sl-violations header
}

// prismRecorder is a transparent reverse proxy in front of Prism that keeps every request,
// its answer's status and Prism's sl-violations header.
type prismRecorder struct {
	url   string
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	log   []prismExchange
}

func newPrismRecorder(t *testing.T, target string) *prismRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &prismRecorder{proxy: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
	}}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *prismRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	cw := &prismCaptureWriter{ResponseWriter: w, status: http.StatusOK}
	r.proxy.ServeHTTP(cw, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, prismExchange{
		method: req.Method, path: req.URL.EscapedPath(), header: req.Header.Clone(), body: body,
		status: cw.status, violations: cw.Header().Get("sl-violations"),
	})
}

func (r *prismRecorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

func (r *prismRecorder) since(n int) []prismExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log[n:])
}

type prismCaptureWriter struct {
	http.ResponseWriter
	status int
}

func (c *prismCaptureWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}
