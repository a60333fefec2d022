package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/job/pace"
	"reassign/job/sandbox"
)

// runKey is the key the test sandboxes accept.
const runKey = "rk_runner:0123456789abcdef"

// startSandbox serves a sandbox holding ws on a loopback httptest server and returns it
// with a real Client for it, whose http.Client has the given timeout.
func startSandbox(t *testing.T, ws sandbox.Workspace, opts sandbox.Options, timeout time.Duration) (*sandbox.API, *dialnexa.Client) {
	t.Helper()
	opts.Key = runKey
	api := sandbox.New(ws, opts)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections) // runs before srv.Close
	c, err := dialnexa.NewClient(&http.Client{Timeout: timeout, Transport: tr}, srv.URL+"/v1", runKey, "reassign/test")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return api, c
}

// sleeps is the Runner's Sleep: it records each requested wait and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// newRunner wires a Runner as main's apply does, with --rate 0, a recording Sleep and a
// Rand that always draws the top of the jitter range (so backoffs are known exactly).
func newRunner(c job.Patcher, workers int) (*job.Runner, *sleeps) {
	s := &sleeps{}
	return &job.Runner{
		Retrier: pace.Retrier{
			Gate:        pace.NewGate(0, 1, time.Now),
			MaxAttempts: 3,
			Sleep:       s.sleep,
			Rand:        func(n int64) int64 { return n - 1 },
			Log:         zerolog.Nop(),
		},
		Now:     time.Now,
		Client:  c,
		Workers: workers,
		Drain:   30 * time.Second,
	}, s
}

// patcherFunc is a Patcher made of a function.
type patcherFunc func(ctx context.Context, id string, body []byte) (*dialnexa.Answer, error)

func (f patcherFunc) Patch(ctx context.Context, id string, body []byte) (*dialnexa.Answer, error) {
	return f(ctx, id, body)
}

var _ job.Patcher = patcherFunc(nil)

// recorder is Run's record callback: it keeps every Result and flags a line recorded twice.
type recorder struct {
	t        *testing.T
	byLine   map[int]job.Result
	onRecord func(job.Result)
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, byLine: map[int]job.Result{}}
}

func (r *recorder) record(res job.Result) error {
	if _, dup := r.byLine[res.Row.Line]; dup {
		r.t.Errorf("line %d (id %s) recorded twice", res.Row.Line, res.Row.ID)
	}
	r.byLine[res.Row.Line] = res
	if r.onRecord != nil {
		r.onRecord(res)
	}
	return nil
}

// checkOnce fails unless every plan line has exactly one Result, for the right id.
func (r *recorder) checkOnce(t *testing.T, lines map[int]string) {
	t.Helper()
	if len(r.byLine) != len(lines) {
		t.Errorf("%d rows recorded, want one per plan row: %d", len(r.byLine), len(lines))
	}
	for line, id := range lines {
		res, ok := r.byLine[line]
		switch {
		case !ok:
			t.Errorf("line %d (id %s) has no Result", line, id)
		case res.Row.ID != id:
			t.Errorf("line %d: Result for id %s, want %s", line, res.Row.ID, id)
		}
	}
	for line := range r.byLine {
		if _, ok := lines[line]; !ok {
			t.Errorf("Result for line %d, which holds no plan row", line)
		}
	}
}

func (r *recorder) count(o job.Outcome) int {
	n := 0
	for _, res := range r.byLine {
		if res.Outcome == o {
			n++
		}
	}
	return n
}

// testPlan is rows as a Runner takes them: no plan file involved.
type testPlan []job.Row

// lines maps each row's plan line to its id, as checkOnce takes them.
func (p testPlan) lines() map[int]string {
	m := make(map[int]string, len(p))
	for _, r := range p {
		m[r.Line] = r.ID
	}
	return m
}

// cell is a plan cell as the plan reader makes it: "" not sent, "null" (any case) JSON null.
func cell(s string) job.Field { return job.Field{Raw: s, Null: strings.EqualFold(s, "null")} }

// Each yields every row, with no problem, until fn fails.
func (p testPlan) Each(fn func(job.Row, []job.Problem) error) error {
	for _, r := range p {
		if err := fn(r, nil); err != nil {
			return err
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// simpleWorkspace holds numbers phn_run_0000.. (n of them) and the agents agt_a, agt_b.
func simpleWorkspace(n int) sandbox.Workspace {
	ws := sandbox.Workspace{Agents: []string{"agt_a", "agt_b"}}
	for i := range n {
		ws.Numbers = append(ws.Numbers, sandbox.Number{ID: simpleID(i), PhoneNumber: fmt.Sprintf("+1555%07d", i), Status: "active"})
	}
	return ws
}

func simpleID(i int) string { return fmt.Sprintf("phn_run_%04d", i) }

// simpleRows is n rows (on lines 2..n+1) giving phn_run_i an agent (agt_a or agt_b, or
// agent(i) if agent is set) and a nickname.
func simpleRows(n int, agent func(i int) string) testPlan {
	plan := make(testPlan, n)
	for i := range plan {
		a := []string{"agt_a", "agt_b"}[i%2]
		if agent != nil {
			a = agent(i)
		}
		plan[i] = job.Row{Line: i + 2, ID: simpleID(i), AgentID: cell(a), Nickname: cell(fmt.Sprintf("Line %d", i))}
	}
	return plan
}

// simplePlan and readPlan are simpleRows as limiter_test.go still calls them; they go
// when its Runner test moves.
func simplePlan(_ *testing.T, n int, agent func(i int) string) (testPlan, map[int]string) {
	p := simpleRows(n, agent)
	return p, p.lines()
}

func readPlan(_ *testing.T, p testPlan) testPlan { return p }

// writeAPIError answers as the API's error envelope.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"statusCode":%d,"message":%q,"error":%q}`, status, msg, http.StatusText(status))
}

// hold keeps a request in the Fault hook until release is closed (true) or the client
// hangs up (false). It reads the body first, and puts it back for the sandbox: the server
// notices a client hanging up only once the body is read.
func hold(t *testing.T, r *http.Request, release <-chan struct{}) bool {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	case <-time.After(time.Minute):
		t.Errorf("%s held for a minute", r.URL.Path)
		return false
	}
}

// TestRun2000Rows is the project's "done when": a 2,000-row plan of every kind of row,
// 8 workers, no rate ceiling, against the sandbox; then the same plan as a dry run.
func TestRun2000Rows(t *testing.T) {
	t.Parallel()
	const n, workers = 2000, 8
	agents := []string{"agt_support", "agt_sales", "agt_billing", "agt_night"}
	nicknames := []string{`Büro "Nord", Étage 3`, "Support – 東京 ☎", "O'Brien & <Sons>", "Lagos line", "=SUM(A1)", `a\b`}
	nullTokens := []string{"null", "NULL", "Null"}

	type want struct {
		outcome job.Outcome
		fields  map[string]*string // the fields the row sends; nil value = JSON null
	}
	ws := sandbox.Workspace{Agents: agents}
	initial := map[string]sandbox.Number{}
	wants := map[string]want{}
	var plan testPlan
	line := 1
	rng := rand.New(rand.NewPCG(2000, 1))
	perm := rng.Perm(n)
	for i := range n {
		id := fmt.Sprintf("phn_%05d", i)
		kind := perm[i] % 10
		if kind != 4 { // kind 4: a number the workspace does not have
			num := sandbox.Number{ID: id, PhoneNumber: fmt.Sprintf("+1555%07d", i), Status: "active", CountryCode: "US", Type: "local"}
			if i%3 != 0 {
				num.AgentID = new(agents[i%len(agents)])
			}
			if i%5 != 0 {
				num.Nickname = new(fmt.Sprintf("Old %d", i))
			}
			if i%4 != 0 {
				num.Label = new(fmt.Sprintf("L%d", i))
			}
			ws.Numbers = append(ws.Numbers, num)
			initial[id] = num
		}
		row := job.Row{ID: id, PhoneNumber: fmt.Sprintf("+1555%07d", i)}
		fields := map[string]*string{}
		send := func(name, value string) {
			f := cell(value)
			switch name {
			case "agent_id":
				row.AgentID = f
			case "nickname":
				row.Nickname = f
			case "label":
				row.Label = f
			}
			fields[name] = new(value)
			if f.Null {
				fields[name] = nil
			}
		}
		nullTok := nullTokens[i%len(nullTokens)]
		w := want{outcome: job.Updated}
		switch kind {
		case 0:
			send("agent_id", agents[(i+1)%len(agents)])
			send("nickname", nicknames[i%len(nicknames)])
			send("label", fmt.Sprintf("Team %d", i%13))
		case 1:
			send("agent_id", agents[(i+2)%len(agents)])
		case 2:
			send("agent_id", nullTok)
			send("label", fmt.Sprintf("x-%d", i))
		case 3:
			send("nickname", nullTok)
		case 4:
			send("agent_id", agents[i%len(agents)])
			send("nickname", "Ghost")
			w.outcome = job.NotFound
		case 5:
			send("agent_id", fmt.Sprintf("agt_ghost_%d", i))
			send("nickname", "Never applied")
			w.outcome = job.Rejected
		case 6:
			w.outcome = job.Unchanged // nothing to send
		case 7:
			send("nickname", nicknames[(i+3)%len(nicknames)])
		case 8:
			send("label", fmt.Sprintf("Label %d", i))
		case 9:
			send("agent_id", nullTok)
			send("nickname", nullTok)
		}
		w.fields = fields
		wants[id] = w
		line++
		row.Line = line
		plan = append(plan, row)
		if (i+1)%97 == 0 {
			line++ // a blank line: the plan's lines are not the rows' order
		}
	}
	lines := plan.lines()

	api, client := startSandbox(t, ws, sandbox.Options{}, 10*time.Second)
	r, sl := newRunner(client, workers)
	rec := newRecorder(t)
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)

	// Each row's outcome, and what came back for it.
	wantCounts := map[job.Outcome]int{}
	for _, res := range rec.byLine {
		id := res.Row.ID
		w := wants[id]
		wantCounts[w.outcome]++
		if res.Outcome != w.outcome {
			t.Errorf("line %d (%s): outcome %s (%s), want %s", res.Row.Line, id, res.Outcome, res.Error, w.outcome)
			continue
		}
		switch w.outcome {
		case job.Updated:
			if res.Status != http.StatusOK || res.Attempts != 1 || res.Error != "" {
				t.Errorf("line %d (%s): updated with status %d, attempts %d, error %q; want 200, 1, none", res.Row.Line, id, res.Status, res.Attempts, res.Error)
			}
			got, _ := api.Number(id)
			if res.Number.ID != id || res.Number.AgentID != deref(got.AgentID) || res.Number.Nickname != deref(got.Nickname) || res.Number.Label != deref(got.Label) {
				t.Errorf("line %d (%s): Result.Number %+v does not match the answer's number %s/%s/%s", res.Row.Line, id, res.Number, show(got.AgentID), show(got.Nickname), show(got.Label))
			}
			if res.RequestID == "" {
				t.Errorf("line %d (%s): no request id kept from the answer", res.Row.Line, id)
			}
		case job.NotFound, job.Rejected:
			wantStatus := map[job.Outcome]int{job.NotFound: 404, job.Rejected: 400}[w.outcome]
			if res.Status != wantStatus || res.Attempts != 1 || res.Error == "" {
				t.Errorf("line %d (%s): %s with status %d, attempts %d, error %q; want %d, 1 attempt, a reason", res.Row.Line, id, res.Outcome, res.Status, res.Attempts, res.Error, wantStatus)
			}
			if w.outcome == job.Rejected && !strings.Contains(res.Error, "agt_ghost_") {
				t.Errorf("line %d (%s): rejected with error %q, want the API's message naming the agent", res.Row.Line, id, res.Error)
			}
		case job.Unchanged:
			if res.Status != 0 || res.Attempts != 0 {
				t.Errorf("line %d (%s): unchanged with status %d, attempts %d; want no request", res.Row.Line, id, res.Status, res.Attempts)
			}
		}
	}
	for _, o := range []job.Outcome{job.Updated, job.NotFound, job.Rejected, job.Unchanged} {
		if wantCounts[o] == 0 {
			t.Errorf("the plan has no %s row; the test lost its mix", o)
		}
	}

	// Every PATCH the fake received carries exactly the planned fields, once per row.
	patched := map[string]int{}
	for _, p := range api.Patches() {
		patched[p.ID]++
		w, ok := wants[p.ID]
		if !ok {
			t.Errorf("PATCH for %s, which no plan row names", p.ID)
			continue
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(p.Body), &body); err != nil {
			t.Errorf("PATCH %s: body %s is not a JSON object: %v", p.ID, p.Body, err)
			continue
		}
		if got, want := slices.Sorted(maps.Keys(body)), slices.Sorted(maps.Keys(w.fields)); !slices.Equal(got, want) {
			t.Errorf("PATCH %s: body %s has fields %v, want exactly %v", p.ID, p.Body, got, want)
			continue
		}
		for k, v := range w.fields {
			raw := body[k]
			if v == nil {
				if string(raw) != "null" {
					t.Errorf("PATCH %s: %s is %s, want null", p.ID, k, raw)
				}
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || s != *v {
				t.Errorf("PATCH %s: %s is %s, want the string %q", p.ID, k, raw, *v)
			}
		}
	}
	for id, w := range wants {
		want := 1
		if len(w.fields) == 0 {
			want = 0
		}
		if patched[id] != want {
			t.Errorf("%s: %d PATCHes received, want %d", id, patched[id], want)
		}
	}
	if got, want := api.Requests(), int64(n-wantCounts[job.Unchanged]); got != want {
		t.Errorf("the fake got %d requests, want %d (one per row with changes)", got, want)
	}
	if m := api.MaxInFlight(); m > workers {
		t.Errorf("MaxInFlight() = %d, more than the %d workers", m, workers)
	}
	if d := sl.all(); len(d) != 0 {
		t.Errorf("the run slept %v with no retryable answer", d)
	}

	// The fake's final state is the plan applied: updated rows carry their fields, every
	// other number is as it was.
	for id, before := range initial {
		want := before
		if w := wants[id]; w.outcome == job.Updated {
			for k, v := range w.fields {
				switch k {
				case "agent_id":
					want.AgentID = v
				case "nickname":
					want.Nickname = v
				case "label":
					want.Label = v
				}
			}
		}
		got, ok := api.Number(id)
		if !ok {
			t.Errorf("%s is gone from the workspace", id)
			continue
		}
		if deref(got.AgentID) != deref(want.AgentID) || (got.AgentID == nil) != (want.AgentID == nil) ||
			deref(got.Nickname) != deref(want.Nickname) || (got.Nickname == nil) != (want.Nickname == nil) ||
			deref(got.Label) != deref(want.Label) || (got.Label == nil) != (want.Label == nil) {
			t.Errorf("%s ends as agent %s, nickname %s, label %s; want %s, %s, %s (outcome %s)", id,
				show(got.AgentID), show(got.Nickname), show(got.Label), show(want.AgentID), show(want.Nickname), show(want.Label), wants[id].outcome)
		}
	}

	// The summary: counts match, nothing stopped; not_found and rejected rows make it exit 3
	// (docs/exit-codes.md: no interruption, no key refusal, no failed row, some rows that retrying won't help).
	if sum.Rows != n {
		t.Errorf("Summary.Rows = %d, want %d", sum.Rows, n)
	}
	for o, c := range wantCounts {
		if sum.Counts[o] != c {
			t.Errorf("Summary.Counts[%s] = %d, want %d", o, sum.Counts[o], c)
		}
	}
	if sum.Interrupted || sum.Stopped != nil {
		t.Errorf("Summary: Interrupted %v, Stopped %v; want a run that finished", sum.Interrupted, sum.Stopped)
	}
	if sum.Counts[job.Failed]+sum.Counts[job.Unauthorized]+sum.Counts[job.NotAttempted] != 0 || sum.Counts[job.NotFound] == 0 || sum.Counts[job.Rejected] == 0 {
		t.Errorf("Summary.Counts %v would not give exit 3", sum.Counts)
	}

	// The dry run of the same plan: no request at all, would_update or unchanged only.
	t.Run("dry run", func(t *testing.T) {
		before := api.Requests()
		var calls atomic.Int64
		r, sl := newRunner(patcherFunc(func(ctx context.Context, id string, body []byte) (*dialnexa.Answer, error) {
			calls.Add(1)
			t.Errorf("dry run sent a PATCH for %s", id)
			return nil, errors.New("dry run must not send")
		}), workers)
		r.DryRun = true
		rec := newRecorder(t)
		sum, err := r.Run(context.Background(), plan.Each, rec.record)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		rec.checkOnce(t, lines)
		if calls.Load() != 0 || api.Requests() != before || len(sl.all()) != 0 {
			t.Errorf("dry run: %d Patch calls, %d requests, sleeps %v; want none", calls.Load(), api.Requests()-before, sl.all())
		}
		for _, res := range rec.byLine {
			w := wants[res.Row.ID]
			want := job.WouldUpdate
			if len(w.fields) == 0 {
				want = job.Unchanged
			}
			if res.Outcome != want || res.Attempts != 0 || res.Status != 0 {
				t.Errorf("line %d (%s): dry run gave %s, attempts %d, status %d; want %s, no request", res.Row.Line, res.Row.ID, res.Outcome, res.Attempts, res.Status, want)
			}
			if want == job.WouldUpdate && !bytes.Equal(res.Body, job.Body(res.Row)) {
				t.Errorf("line %d: dry run Body %s, want %s", res.Row.Line, res.Body, job.Body(res.Row))
			}
		}
		if sum.Rows != n || sum.Counts[job.WouldUpdate]+sum.Counts[job.Unchanged] != n || sum.Stopped != nil || sum.Interrupted {
			t.Errorf("dry run summary %+v, want %d rows, would_update or unchanged", sum, n)
		}
	})
}

// fault is one scripted bad answer.
type fault int

const (
	fault500 fault = iota + 1
	fault502HTML
	fault503
	fault503RetryAfter2
	fault504
	fault429RetryAfter1
	fault429Date // Retry-After as an HTTP date, 7 s after the answer's Date
	fault429RetryAfter120
	faultReset // the connection is closed with no answer
	faultSlow  // no answer until the client gives up
)

// faultNow is the Runner's clock in the fault tests, and the Date of an answer whose
// Retry-After is a date.
var faultNow = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func (f fault) String() string {
	return [...]string{"", "500", "502 html", "503", "503 Retry-After 2", "504", "429 Retry-After 1",
		"429 Retry-After date", "429 Retry-After 120", "reset", "slow"}[f]
}

// retryAfter is the wait the answer asks for (capped at pace.RetryAfterCap).
func (f fault) retryAfter() time.Duration {
	switch f {
	case fault503RetryAfter2:
		return 2 * time.Second
	case fault429RetryAfter1:
		return time.Second
	case fault429Date:
		return 7 * time.Second
	case fault429RetryAfter120:
		return pace.RetryAfterCap
	}
	return 0
}

// status is the HTTP status of the answer; 0 when none comes.
func (f fault) status() int {
	switch f {
	case fault500:
		return 500
	case fault502HTML:
		return 502
	case fault503, fault503RetryAfter2:
		return 503
	case fault504:
		return 504
	case fault429RetryAfter1, fault429Date, fault429RetryAfter120:
		return 429
	}
	return 0
}

func serveFault(t *testing.T, w http.ResponseWriter, r *http.Request, f fault) {
	switch f {
	case fault502HTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
	case fault503RetryAfter2:
		w.Header().Set("Retry-After", "2")
	case fault429RetryAfter1:
		w.Header().Set("Retry-After", "1")
	case fault429Date: // read against the answer's Date
		w.Header().Set("Date", faultNow.Format(http.TimeFormat))
		w.Header().Set("Retry-After", faultNow.Add(7*time.Second).Format(http.TimeFormat))
	case fault429RetryAfter120:
		w.Header().Set("Retry-After", "120")
	case faultReset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // a RST, not a FIN
		}
		conn.Close()
		return
	case faultSlow:
		hold(t, r, nil) // until the client gives up: its Timeout
		return
	}
	if s := f.status(); s != 0 && f != fault502HTML {
		writeAPIError(w, s, "scripted "+f.String())
	}
}

// faultScript is a sandbox Fault hook: the n-th PATCH for an id gets script[id][n-1], and
// the sandbox's own answer once the script is spent. It counts the requests per id.
type faultScript struct {
	t       *testing.T
	scripts map[string][]fault // not changed once the server runs

	mu     sync.Mutex
	counts map[string]int
}

func (s *faultScript) hook(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPatch {
		return false
	}
	id := path.Base(r.URL.Path)
	s.mu.Lock()
	s.counts[id]++
	n := s.counts[id]
	s.mu.Unlock()
	if sc := s.scripts[id]; n <= len(sc) {
		serveFault(s.t, w, r, sc[n-1])
		return true
	}
	return false
}

func (s *faultScript) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[id]
}

// faultRunner is newRunner with the clock frozen at faultNow. Its gate keeps the real
// clock, primed with 100,000 successes: the scripted 429s then cut the shared rate to
// what that many a few milliseconds make, instead of to the few rows of the run's first
// milliseconds; and its pauses of the pool take no time (the pace package tests the
// adaptation and the pauses; here they would only add real time).
func faultRunner(c job.Patcher, workers, maxAttempts int) (*job.Runner, *sleeps) {
	r, sl := newRunner(c, workers)
	r.MaxAttempts = maxAttempts
	r.Now = func() time.Time { return faultNow }
	r.Gate = pace.NewGate(0, 1, time.Now)
	r.Gate.Sleep = func(context.Context, time.Duration) error { return nil }
	for range 100_000 {
		tk, _ := r.Gate.Wait(context.Background())
		r.Gate.Done(tk, pace.Reply{Status: http.StatusOK})
	}
	return r, sl
}

// wantSleeps is the backoff before each retry of a row with this script: the top of the
// jitter range (the test's Rand) or the Retry-After, whichever is longer, at most 60 s.
func wantSleeps(script []fault, maxAttempts int) []time.Duration {
	var out []time.Duration
	for i, f := range script {
		attempt := i + 1
		if attempt >= maxAttempts {
			break
		}
		backoff := min(pace.BackoffCap, pace.BackoffBase<<(attempt-1))
		out = append(out, min(max(backoff, f.retryAfter()), pace.RetryAfterCap))
	}
	return out
}

func TestRunFaultsRetried(t *testing.T) {
	t.Parallel()
	const n, workers, maxAttempts = 600, 8, 3
	kinds := []fault{fault500, fault502HTML, fault503, fault503RetryAfter2, fault504, fault429RetryAfter1, fault429Date, fault429RetryAfter120, faultReset}
	rng := rand.New(rand.NewPCG(600, 3))
	faulty := rng.Perm(n)[:n*30/100]
	fs := &faultScript{t: t, scripts: map[string][]fault{}, counts: map[string]int{}}
	var want []time.Duration
	for k, i := range faulty {
		f1, f2 := kinds[k%len(kinds)], kinds[(k+k/len(kinds)+1)%len(kinds)]
		if k%30 == 0 {
			f1 = faultSlow // a few: each costs the client's Timeout in real time
		}
		fs.scripts[simpleID(i)] = []fault{f1, f2}
		want = append(want, wantSleeps([]fault{f1, f2}, maxAttempts)...)
	}

	api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fs.hook}, time.Second)
	plan := simpleRows(n, nil)
	lines := plan.lines()
	r, sl := faultRunner(client, workers, maxAttempts)
	rec := newRecorder(t)
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)

	for _, res := range rec.byLine {
		id := res.Row.ID
		script := fs.scripts[id]
		wantAttempts := len(script) + 1
		if res.Outcome != job.Updated || res.Status != http.StatusOK || res.Attempts != wantAttempts {
			t.Errorf("%s (faults %v): %s, status %d, %d attempts, error %q; want updated, 200, %d attempts",
				id, script, res.Outcome, res.Status, res.Attempts, res.Error, wantAttempts)
		}
		if got := fs.count(id); got != res.Attempts || got > maxAttempts {
			t.Errorf("%s (faults %v): the fake got %d requests, the Result says %d attempts, at most %d allowed", id, script, got, res.Attempts, maxAttempts)
		}
		got, _ := api.Number(id)
		if deref(got.AgentID) != res.Row.AgentID.Raw || deref(got.Nickname) != res.Row.Nickname.Raw {
			t.Errorf("%s ends as %s/%s, want the plan's %s/%s", id, show(got.AgentID), show(got.Nickname), res.Row.AgentID.Raw, res.Row.Nickname.Raw)
		}
	}

	// Retry-After honoured: every wait is the backoff or the Retry-After, whichever is
	// longer, never above 60 s.
	got := sl.all()
	for _, d := range got {
		if d > pace.RetryAfterCap {
			t.Errorf("a retry waited %v, over the 60 s cap", d)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the retries waited\n%v\nwant\n%v", got, want)
	}
	if sum.Counts[job.Updated] != n || sum.Stopped != nil || sum.Interrupted {
		t.Errorf("Summary %+v, want %d updated", sum, n)
	}
	if lim := r.Gate.Limit(); lim == rate.Inf {
		t.Errorf("Gate.Limit() = %v after scripted 429s, want the shared rate cut to a finite one", lim)
	}
}

// Rows whose faults outlast --max-attempts end failed with the last answer's status.
func TestRunFaultsOutlastMaxAttempts(t *testing.T) {
	t.Parallel()
	const maxAttempts = 3
	ws := sandbox.Workspace{Agents: []string{"agt_a"}}
	type tc struct {
		id         string
		script     []fault
		agent      string
		outcome    job.Outcome
		status     int
		attempts   int
		errHas     string
		errHasNot  string
		notCreated bool
	}
	cases := []tc{
		{id: "phn_out500", script: []fault{fault500, fault500, fault500}, outcome: job.Failed, status: 500, attempts: 3, errHas: "Internal Server Error"},
		{id: "phn_outmix", script: []fault{fault503, fault429RetryAfter1, fault502HTML}, outcome: job.Failed, status: 502, attempts: 3, errHas: "Bad Gateway"},
		{id: "phn_outreset", script: []fault{faultReset, faultReset, fault504}, outcome: job.Failed, status: 504, attempts: 3, errHas: "Gateway Timeout"},
		{id: "phn_out429", script: []fault{fault429RetryAfter1, fault429Date, fault429RetryAfter1}, outcome: job.Failed, status: 429, attempts: 3, errHas: "Too Many Requests"},
		// The last attempt got no answer: the status is the last answer's, the error the
		// last attempt's.
		{id: "phn_outlastreset", script: []fault{fault500, fault504, faultReset}, outcome: job.Failed, status: 504, attempts: 3, errHasNot: "Gateway Timeout"},
		{id: "phn_outslow", script: []fault{faultSlow, faultSlow, faultSlow}, outcome: job.Failed, status: 0, attempts: 3, errHas: "Timeout"},
		// A retry that meets a final answer stops there.
		{id: "phn_gone", script: []fault{fault500}, outcome: job.NotFound, status: 404, attempts: 2, notCreated: true},
		{id: "phn_badagent", script: []fault{fault429RetryAfter1}, agent: "agt_ghost", outcome: job.Rejected, status: 400, attempts: 2, errHas: "agt_ghost"},
		{id: "phn_fine", outcome: job.Updated, status: 200, attempts: 1},
	}
	fs := &faultScript{t: t, scripts: map[string][]fault{}, counts: map[string]int{}}
	var plan testPlan
	var want []time.Duration
	for i, c := range cases {
		if !c.notCreated {
			ws.Numbers = append(ws.Numbers, sandbox.Number{ID: c.id, PhoneNumber: "+15550000000"})
		}
		fs.scripts[c.id] = c.script
		agent := c.agent
		if agent == "" {
			agent = "agt_a"
		}
		plan = append(plan, job.Row{Line: i + 2, ID: c.id, AgentID: cell(agent)})
		want = append(want, wantSleeps(c.script, maxAttempts)...)
	}
	lines := plan.lines()
	_, client := startSandbox(t, ws, sandbox.Options{Fault: fs.hook}, 500*time.Millisecond)
	r, sl := faultRunner(client, 4, maxAttempts)
	rec := newRecorder(t)
	if _, err := r.Run(context.Background(), plan.Each, rec.record); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)
	byID := map[string]job.Result{}
	for _, res := range rec.byLine {
		byID[res.Row.ID] = res
	}
	for _, c := range cases {
		res := byID[c.id]
		if res.Outcome != c.outcome || res.Status != c.status || res.Attempts != c.attempts {
			t.Errorf("%s (faults %v): %s, status %d, %d attempts (%q); want %s, status %d, %d attempts",
				c.id, c.script, res.Outcome, res.Status, res.Attempts, res.Error, c.outcome, c.status, c.attempts)
		}
		if got := fs.count(c.id); got != c.attempts {
			t.Errorf("%s: the fake got %d requests, want %d", c.id, got, c.attempts)
		}
		if c.errHas != "" && !strings.Contains(res.Error, c.errHas) {
			t.Errorf("%s: error %q, want it to mention %q", c.id, res.Error, c.errHas)
		}
		if c.errHasNot != "" && strings.Contains(res.Error, c.errHasNot) {
			t.Errorf("%s: error %q is an earlier attempt's; want the last attempt's", c.id, res.Error)
		}
		if c.outcome == job.Failed && res.Error == "" {
			t.Errorf("%s: failed with no error text", c.id)
		}
	}
	got := sl.all()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the retries waited %v, want %v", got, want)
	}
}

// A 401 stops the run: no request after it, the requests in flight finish, the rest are
// not_attempted, every row once.
func TestRunUnauthorizedStopsSending(t *testing.T) {
	t.Parallel()
	const n, workers = 200, 4
	// Requests 40..42 are held until the runner has recorded the 401 that request 43 gets:
	// all four slots are then busy, so any request after 43 would have started after the
	// runner saw the 401.
	const holdFrom, refuseAt = 40, 43
	release := make(chan struct{})
	var releaseOnce sync.Once
	var arrivals atomic.Int64
	fault := func(w http.ResponseWriter, r *http.Request) bool {
		switch a := arrivals.Add(1); {
		case a >= holdFrom && a < refuseAt:
			if !hold(t, r, release) {
				return true // the runner cut a request in flight
			}
		case a == refuseAt:
			writeAPIError(w, http.StatusUnauthorized, "Invalid or missing API key")
			return true
		}
		return false
	}
	api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fault}, 10*time.Second)
	plan := simpleRows(n, nil)
	lines := plan.lines()
	r, _ := newRunner(client, workers)
	rec := newRecorder(t)
	rec.onRecord = func(res job.Result) {
		if res.Outcome == job.Unauthorized {
			releaseOnce.Do(func() { close(release) })
		}
	}
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	releaseOnce.Do(func() { close(release) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)
	if sum.Stop != job.StopKeyRefused || !errors.Is(sum.Stopped, job.ErrKeyRefused) || sum.Interrupted {
		t.Errorf("Summary.Stopped = %v, Interrupted %v; want ErrKeyRefused", sum.Stopped, sum.Interrupted)
	}
	if got := api.Requests(); got != refuseAt {
		t.Errorf("the fake got %d requests, want %d: none after the 401", got, refuseAt)
	}
	if u, up, na := rec.count(job.Unauthorized), rec.count(job.Updated), rec.count(job.NotAttempted); u != 1 || up != refuseAt-1 || na != n-refuseAt {
		t.Errorf("%d unauthorized, %d updated, %d not_attempted; want 1, %d (the 3 in flight included), %d", u, up, na, refuseAt-1, n-refuseAt)
	}
	for _, res := range rec.byLine {
		switch res.Outcome {
		case job.Unauthorized:
			if res.Status != 401 || res.Attempts != 1 {
				t.Errorf("unauthorized row: status %d, %d attempts; want 401, 1", res.Status, res.Attempts)
			}
		case job.NotAttempted:
			if res.Attempts != 0 || res.Status != 0 || !strings.HasPrefix(res.Error, "not sent") {
				t.Errorf("line %d not_attempted with %d attempts, status %d, error %q", res.Row.Line, res.Attempts, res.Status, res.Error)
			}
		}
	}
	if sum.Rows != n || sum.Counts[job.NotAttempted] != n-refuseAt {
		t.Errorf("Summary %+v does not count every row", sum)
	}
}

func TestRunForbidden(t *testing.T) {
	t.Parallel()
	t.Run("first 5 answers 403: the key is refused", func(t *testing.T) {
		const n, workers = 50, 4
		fault := func(w http.ResponseWriter, r *http.Request) bool {
			writeAPIError(w, http.StatusForbidden, "Forbidden resource")
			return true
		}
		api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fault}, 10*time.Second)
		plan := simpleRows(n, nil)
		lines := plan.lines()
		r, _ := newRunner(client, workers)
		rec := newRecorder(t)
		sum, err := r.Run(context.Background(), plan.Each, rec.record)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		rec.checkOnce(t, lines)
		if sum.Stop != job.StopKeyRefused || !errors.Is(sum.Stopped, job.ErrKeyRefused) {
			t.Errorf("Summary.Stop = %v (%v), want StopKeyRefused", sum.Stop, sum.Stopped)
		}
		// The fifth 403 stops the run; at most the other workers' requests were in flight.
		sent := int(api.Requests())
		if sent < 5 || sent > 5+workers-1 {
			t.Errorf("the fake got %d requests, want 5 to %d", sent, 5+workers-1)
		}
		if f, na := rec.count(job.Forbidden), rec.count(job.NotAttempted); f != sent || na != n-sent {
			t.Errorf("%d forbidden, %d not_attempted after %d requests; want %d, %d", f, na, sent, sent, n-sent)
		}
	})
	t.Run("403 on some rows: forbidden, the run goes on", func(t *testing.T) {
		const n, workers = 100, 4
		forbidden := func(id string) bool { return strings.HasSuffix(id, "7") } // 7, 17, 27...
		fault := func(w http.ResponseWriter, r *http.Request) bool {
			if forbidden(path.Base(r.URL.Path)) {
				writeAPIError(w, http.StatusForbidden, "You may not change this number")
				return true
			}
			return false
		}
		api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fault, InboundAgentID: true}, 10*time.Second)
		plan := simpleRows(n, nil)
		lines := plan.lines()
		r, _ := newRunner(client, workers)
		rec := newRecorder(t)
		sum, err := r.Run(context.Background(), plan.Each, rec.record)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		rec.checkOnce(t, lines)
		if sum.Stopped != nil || api.Requests() != n {
			t.Errorf("Summary.Stopped = %v after %d requests; want the whole plan sent", sum.Stopped, api.Requests())
		}
		for _, res := range rec.byLine {
			want := job.Updated
			if forbidden(res.Row.ID) {
				want = job.Forbidden
			}
			if res.Outcome != want {
				t.Errorf("%s: %s (%s), want %s", res.Row.ID, res.Outcome, res.Error, want)
			}
			if want == job.Forbidden && (res.Status != 403 || !strings.Contains(res.Error, "You may not change this number")) {
				t.Errorf("%s: forbidden with status %d, error %q; want 403 and the API's message", res.Row.ID, res.Status, res.Error)
			}
			// The API answered inbound_agent_id: result_agent_id still comes from it.
			if want == job.Updated && res.Number.AgentID != res.Row.AgentID.Raw {
				t.Errorf("%s: Result.Number.AgentID %q, want %q from inbound_agent_id", res.Row.ID, res.Number.AgentID, res.Row.AgentID.Raw)
			}
		}
		if rec.count(job.Forbidden) != 10 {
			t.Errorf("%d forbidden rows, want 10", rec.count(job.Forbidden))
		}
	})
}

// --max-errors N: after N rows not_found, rejected or forbidden, the rest are not_attempted.
func TestRunMaxErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name               string
		n, workers, max    int
		minErrors, maxErrs int
	}{
		// One worker: exactly N error rows, whatever order the rows run in.
		{name: "1 worker", n: 60, workers: 1, max: 3, minErrors: 3, maxErrs: 3},
		// Eight: the rows in flight when the N-th error comes back may add up to 7.
		{name: "8 workers", n: 300, workers: 8, max: 5, minErrors: 5, maxErrs: 5 + 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every 6th row errs: in turn an unknown number (404), an unknown agent (400)
			// and a number the key may not change (403).
			ws := simpleWorkspace(tc.n)
			kind := func(i int) int {
				if i%6 != 5 {
					return -1
				}
				return (i / 6) % 3
			}
			var keep []sandbox.Number
			for i, num := range ws.Numbers {
				if kind(i) != 0 {
					keep = append(keep, num)
				}
			}
			ws.Numbers = keep
			fault := func(w http.ResponseWriter, r *http.Request) bool {
				var i int
				fmt.Sscanf(path.Base(r.URL.Path), "phn_run_%d", &i)
				if kind(i) == 2 {
					writeAPIError(w, http.StatusForbidden, "Forbidden resource")
					return true
				}
				return false
			}
			api, client := startSandbox(t, ws, sandbox.Options{Fault: fault}, 10*time.Second)
			plan := simpleRows(tc.n, func(i int) string {
				if kind(i) == 1 {
					return "agt_ghost"
				}
				return "agt_a"
			})
			lines := plan.lines()
			r, _ := newRunner(client, tc.workers)
			r.MaxErrors = job.Allowance{Count: tc.max}
			rec := newRecorder(t)
			sum, err := r.Run(context.Background(), plan.Each, rec.record)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			rec.checkOnce(t, lines)
			if sum.Stop != job.StopMaxErrors || !errors.Is(sum.Stopped, job.ErrMaxErrors) {
				t.Errorf("Summary.Stop = %v (%v), want StopMaxErrors", sum.Stop, sum.Stopped)
			}
			errs := rec.count(job.NotFound) + rec.count(job.Rejected) + rec.count(job.Forbidden)
			if errs < tc.minErrors || errs > tc.maxErrs {
				t.Errorf("%d rows not_found/rejected/forbidden, want %d to %d", errs, tc.minErrors, tc.maxErrs)
			}
			up, na := rec.count(job.Updated), rec.count(job.NotAttempted)
			if int(api.Requests()) != up+errs || up+errs+na != tc.n || na == 0 {
				t.Errorf("%d requests, %d updated, %d errors, %d not_attempted of %d rows", api.Requests(), up, errs, na, tc.n)
			}
			if sum.Rows != tc.n {
				t.Errorf("Summary.Rows = %d, want %d", sum.Rows, tc.n)
			}
		})
	}
}

// Cancelling the run's context (a signal) mid-run: no request starts after it, the ones in
// flight finish as updated, the rest are not_attempted.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	const n, workers = 300, 4
	// Requests 21..23 are held; request 24 (all four slots busy) cancels the run and lets
	// them go.
	const cancelAt = 24
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	var arrivals atomic.Int64
	fault := func(w http.ResponseWriter, r *http.Request) bool {
		switch a := arrivals.Add(1); {
		case a > cancelAt-workers && a < cancelAt:
			if !hold(t, r, release) {
				return true // cut: the row will not be updated
			}
		case a == cancelAt:
			cancel()
			close(release)
		}
		return false
	}
	api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fault}, 10*time.Second)
	plan := simpleRows(n, nil)
	lines := plan.lines()
	r, _ := newRunner(client, workers)
	rec := newRecorder(t)
	sum, err := r.Run(ctx, plan.Each, rec.record)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)
	if got := api.Requests(); got != cancelAt {
		t.Errorf("the fake got %d requests, want %d: none after the cancel", got, cancelAt)
	}
	if up, na := rec.count(job.Updated), rec.count(job.NotAttempted); up != cancelAt || na != n-cancelAt {
		t.Errorf("%d updated, %d not_attempted; want %d (the %d in flight included), %d", up, na, cancelAt, workers, n-cancelAt)
	}
	for _, res := range rec.byLine {
		if res.Outcome == job.NotAttempted && (res.Attempts != 0 || !strings.Contains(res.Error, "not sent")) {
			t.Errorf("line %d: not_attempted with %d attempts, error %q", res.Row.Line, res.Attempts, res.Error)
		}
	}
	if !sum.Interrupted || sum.Stopped != nil || sum.Rows != n {
		t.Errorf("Summary: Interrupted %v, Stopped %v, Rows %d; want interrupted, %d rows", sum.Interrupted, sum.Stopped, sum.Rows, n)
	}
}

// Requests still in flight when Drain runs out are cut and recorded as failed.
func TestRunCancelledDrainRunsOut(t *testing.T) {
	t.Parallel()
	const n, workers, cancelAt = 40, 2, 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var arrivals atomic.Int64
	fault := func(w http.ResponseWriter, r *http.Request) bool {
		a := arrivals.Add(1)
		if a < cancelAt-workers+1 {
			return false
		}
		if a == cancelAt {
			cancel()
		}
		hold(t, r, nil) // until the runner cuts the request
		return true
	}
	api, client := startSandbox(t, simpleWorkspace(n), sandbox.Options{Fault: fault}, time.Minute)
	plan := simpleRows(n, nil)
	lines := plan.lines()
	r, _ := newRunner(client, workers)
	r.Drain = 50 * time.Millisecond
	rec := newRecorder(t)
	sum, err := r.Run(ctx, plan.Each, rec.record)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.checkOnce(t, lines)
	if got := api.Requests(); got != cancelAt {
		t.Errorf("the fake got %d requests, want %d", got, cancelAt)
	}
	up, failed, na := rec.count(job.Updated), rec.count(job.Failed), rec.count(job.NotAttempted)
	if up != cancelAt-workers || failed != workers || na != n-cancelAt {
		t.Errorf("%d updated, %d failed, %d not_attempted; want %d, %d, %d", up, failed, na, cancelAt-workers, workers, n-cancelAt)
	}
	for _, res := range rec.byLine {
		if res.Outcome == job.Failed && (res.Attempts != 1 || !strings.Contains(res.Error, "cut off")) {
			t.Errorf("line %d: failed with %d attempts, error %q; want 1 attempt cut off by the drain", res.Row.Line, res.Attempts, res.Error)
		}
	}
	if !sum.Interrupted {
		t.Errorf("Summary.Interrupted = false, want true")
	}
}

func TestRunBody(t *testing.T) {
	t.Parallel()
	s := func(v string) job.Field { return job.Field{Raw: v} }
	null := job.Field{Raw: "null", Null: true}
	for _, tc := range []struct {
		name string
		row  job.Row
		want string
	}{
		{"all three, in order", job.Row{AgentID: s("agt_1"), Nickname: s("Front desk"), Label: s("EU")}, `{"agent_id":"agt_1","nickname":"Front desk","label":"EU"}`},
		{"label and agent only", job.Row{Label: s("EU"), AgentID: s("agt_1")}, `{"agent_id":"agt_1","label":"EU"}`},
		{"nickname only", job.Row{Nickname: s("x")}, `{"nickname":"x"}`},
		{"label only", job.Row{Label: s("x")}, `{"label":"x"}`},
		{"null agent", job.Row{AgentID: null}, `{"agent_id":null}`},
		{"null agent and nickname", job.Row{AgentID: null, Nickname: job.Field{Raw: "NULL", Null: true}, Label: s("L")}, `{"agent_id":null,"nickname":null,"label":"L"}`},
		{"quotes and backslash", job.Row{Nickname: s(`say "hi" \o/`)}, `{"nickname":"say \"hi\" \\o/"}`},
		{"non-ASCII kept as UTF-8", job.Row{Nickname: s("Büro – 東京 ☎ 😀")}, `{"nickname":"Büro – 東京 ☎ 😀"}`},
		{"the token as plain text when not Null", job.Row{Nickname: s("null")}, `{"nickname":"null"}`},
		{"HTML characters", job.Row{Nickname: s("<a & b>")}, `{"nickname":"\u003ca \u0026 b\u003e"}`},
		{"line separators escaped", job.Row{Nickname: s("a\u2028b\u2029c")}, `{"nickname":"a\u2028b\u2029c"}`},
		{"HTML characters beside a null", job.Row{AgentID: null, Label: s("<a & b>")}, `{"agent_id":null,"label":"\u003ca \u0026 b\u003e"}`},
		{"nothing to send", job.Row{}, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := job.Body(tc.row)
			if string(got) != tc.want {
				t.Errorf("Body = %s, want %s", got, tc.want)
			}
			// Whatever the bytes, the API must read back exactly the planned values.
			var m map[string]*string
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatalf("Body %s is not JSON: %v", got, err)
			}
			for name, f := range map[string]job.Field{"agent_id": tc.row.AgentID, "nickname": tc.row.Nickname, "label": tc.row.Label} {
				v, sent := m[name]
				switch {
				case sent != f.Set():
					t.Errorf("%s sent = %v, want %v", name, sent, f.Set())
				case f.Null && v != nil:
					t.Errorf("%s = %q, want null", name, *v)
				case sent && !f.Null && (v == nil || *v != f.Raw):
					t.Errorf("%s = %s, want %q", name, show(v), f.Raw)
				}
			}
		})
	}
}

// TestRunWriteAhead: every row is written ahead before its PATCH is sent; when the
// write-ahead fails, nothing more is sent and the rows left are not_attempted.
func TestRunWriteAhead(t *testing.T) {
	t.Parallel()
	const n = 100
	plan := make(testPlan, n)
	for i := range plan {
		plan[i] = job.Row{Line: i + 2, ID: simpleID(i), AgentID: job.Field{Raw: "agt_a"}}
	}
	var mu sync.Mutex
	ahead := map[string]bool{}
	patched := 0
	patcher := patcherFunc(func(ctx context.Context, id string, body []byte) (*dialnexa.Answer, error) {
		mu.Lock()
		defer mu.Unlock()
		if !ahead[id] {
			t.Errorf("%s sent before it was written ahead", id)
		}
		patched++
		return &dialnexa.Answer{StatusCode: 200}, nil
	})

	r, _ := newRunner(patcher, 4)
	calls := 0
	r.WriteAhead = func(batch []job.Result) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, res := range batch {
			ahead[res.Row.ID] = true
		}
		return nil
	}
	rec := newRecorder(t)
	sum, err := r.Run(context.Background(), plan.Each, rec.record)
	if err != nil || sum.Counts[job.Updated] != n || patched != n {
		t.Fatalf("Run: %v, %v, %d PATCHes", err, sum.Counts, patched)
	}
	if calls > n/16+1 {
		t.Errorf("%d write-ahead calls for %d rows: rows are not batched", calls, n)
	}

	// A write-ahead that fails on its second batch: at most the first batch's rows go.
	r, _ = newRunner(patcher, 4)
	mu.Lock()
	clear(ahead)
	patched = 0
	mu.Unlock()
	calls = 0
	full := errors.New("no space left on device")
	r.WriteAhead = func(batch []job.Result) error {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls > 1 {
			return full
		}
		for _, res := range batch {
			ahead[res.Row.ID] = true
		}
		return nil
	}
	rec = newRecorder(t)
	sum, err = r.Run(context.Background(), plan.Each, rec.record)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stop != job.StopOutputFailed || !errors.Is(sum.Stopped, full) {
		t.Errorf("Stopped = %v, want the write-ahead error", sum.Stopped)
	}
	if patched > len(ahead) || len(ahead) == n {
		t.Errorf("%d PATCHes, %d rows written ahead of %d", patched, len(ahead), n)
	}
	if got := rec.count(job.NotAttempted); got != n-patched || rec.count(job.Updated) != patched {
		t.Errorf("%d rows not_attempted and %d updated, want %d and %d", got, rec.count(job.Updated), n-patched, patched)
	}
}
