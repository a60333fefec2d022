package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"reassign/job/sandbox"
)

// fastAPI is the fake that answers at once: a workspace of numbers phn_000000000 ..
// phn_<rows-1> (the ids the generated plans use), each on agent agt_old, with agents
// agt_00..agt_09 and agt_old. It checks the bearer key and the id, and answers a PATCH
// with the number as it would now be: 200 and a small JSON body echoing the fields sent.
// It also answers the read endpoints (list, agents) in the sandbox's shapes, so that a
// job that reads the workspace first (docs/migrations.md) runs against it unchanged.
//
// The overhead scenario uses this same handler for the job and for the bare Go loop.
type fastAPI struct {
	auth string // "Bearer <key>"
	rows int

	patches  atomic.Int64 // PATCHes answered 200
	reads    atomic.Int64 // GETs answered 200
	refused  atomic.Int64 // answers other than 200
	requests atomic.Int64
}

func newFastAPI(key string, rows int) *fastAPI {
	return &fastAPI{auth: "Bearer " + key, rows: rows}
}

var fakeAgents = []string{"agt_00", "agt_01", "agt_02", "agt_03", "agt_04", "agt_05", "agt_06", "agt_07", "agt_08", "agt_09", "agt_old"}

func (f *fastAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", "req_"+strconv.FormatInt(n, 10))
	if r.Header.Get("Authorization") != f.auth {
		f.fail(w, http.StatusUnauthorized, "Invalid or missing API key")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	id, isNumber := strings.CutPrefix(path, "/organization-phone-numbers/")
	switch {
	case isNumber && r.Method == http.MethodPatch:
		f.patch(w, r, id)
	case path == "/organization-phone-numbers" && r.Method == http.MethodGet:
		f.list(w, r)
	case path == "/agents" && r.Method == http.MethodGet:
		f.reads.Add(1)
		b := []byte(`{"agents":[`)
		for i, a := range fakeAgents {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":"`+a+`"}`...)
		}
		w.Write(append(b, "]}\n"...))
	default:
		f.fail(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
	}
}

func (f *fastAPI) patch(w http.ResponseWriter, r *http.Request, id string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		f.fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body struct {
		AgentID  json.RawMessage `json:"agent_id"`
		Nickname json.RawMessage `json:"nickname"`
		Label    json.RawMessage `json:"label"`
	}
	if err != nil || json.Unmarshal(raw, &body) != nil {
		f.fail(w, http.StatusBadRequest, "Body must be a JSON object")
		return
	}
	i := planIndex(id)
	if i < 0 || i >= f.rows {
		f.fail(w, http.StatusNotFound, "Phone number not found")
		return
	}
	or := func(v json.RawMessage, def string) []byte {
		if v == nil {
			return []byte(def)
		}
		return v
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","phone_number":"+1555`...)
	b = strconv.AppendInt(b, int64(1_000_000+i), 10)
	b = append(b, `","agent_id":`...)
	b = append(b, or(body.AgentID, `"agt_old"`)...)
	b = append(b, `,"nickname":`...)
	b = append(b, or(body.Nickname, "null")...)
	b = append(b, `,"label":`...)
	b = append(b, or(body.Label, "null")...)
	b = append(b, `,"status":"active","country_code":"US","type":"local"}`+"\n"...)
	f.patches.Add(1)
	w.Write(b)
}

func (f *fastAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, limit = max(page, 1), min(max(limit, 1), 100)
	from := min((page-1)*limit, f.rows)
	to := min(from+limit, f.rows)
	b := []byte(`{"data":[`)
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"id":"%s","phone_number":"+1555%d","agent_id":"agt_old","nickname":null,"label":null,"status":"active","country_code":"US","type":"local"}`, planID(i), 1_000_000+i)
	}
	b = fmt.Appendf(b, `],"meta":{"page":%d,"limit":%d,"total":%d,"totalPages":%d}}`+"\n", page, limit, f.rows, (f.rows+limit-1)/limit)
	f.reads.Add(1)
	w.Write(b)
}

func (f *fastAPI) fail(w http.ResponseWriter, status int, msg string) {
	f.refused.Add(1)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"statusCode":%d,"message":%q,"error":%q}`+"\n", status, msg, http.StatusText(status))
}

// workspace is the sandbox workspace matching a generated plan of n rows: every number
// on agent agt_old, so that every row changes something.
func workspace(n int) sandbox.Workspace {
	ws := sandbox.Workspace{Agents: fakeAgents}
	old := "agt_old"
	for i := range n {
		ws.Numbers = append(ws.Numbers, sandbox.Number{
			ID: planID(i), PhoneNumber: "+1555" + strconv.Itoa(1_000_000+i), AgentID: &old,
			Status: "active", CountryCode: "US", Type: "local",
		})
	}
	return ws
}

// recorder wraps a fake API and records each request's arrival time, method and the
// status it was answered with, and when the first and last 2xx were answered.
type recorder struct {
	next http.Handler

	mu       sync.Mutex
	arrivals []time.Time
	statuses map[int]int
	methods  map[string]int
	ok       span // every 2xx
	okPatch  span // the 2xx of PATCHes: rows applied
}

// span is the time from a first to a last event.
type span struct{ first, last time.Time }

func (s *span) add(t time.Time) {
	if s.first.IsZero() {
		s.first = t
	}
	s.last = t
}

func (s span) length() time.Duration { return s.last.Sub(s.first) }

func newRecorder(next http.Handler) *recorder {
	return &recorder{next: next, statuses: map[int]int{}, methods: map[string]int{}}
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rec.mu.Lock()
	rec.arrivals = append(rec.arrivals, now)
	rec.methods[r.Method]++
	rec.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	rec.next.ServeHTTP(sw, r)
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	rec.mu.Lock()
	rec.statuses[sw.code]++
	if sw.code >= 200 && sw.code <= 299 {
		done := time.Now()
		rec.ok.add(done)
		if r.Method == http.MethodPatch {
			rec.okPatch.add(done)
		}
	}
	rec.mu.Unlock()
}

// spans are the first-to-last 2xx, of every request and of the PATCHes.
func (rec *recorder) spans() (ok, okPatch span) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.ok, rec.okPatch
}

func (rec *recorder) snapshot() (arrivals []time.Time, statuses map[int]int, methods map[string]int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	statuses, methods = map[int]int{}, map[string]int{}
	for k, v := range rec.statuses {
		statuses[k] = v
	}
	for k, v := range rec.methods {
		methods[k] = v
	}
	return append([]time.Time(nil), rec.arrivals...), statuses, methods
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// maxInWindow is the most arrivals in any window [t, t+d) (arrivals sorted).
func maxInWindow(arrivals []time.Time, d time.Duration) int {
	best, i := 0, 0
	for j := range arrivals {
		for arrivals[j].Sub(arrivals[i]) >= d {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}
