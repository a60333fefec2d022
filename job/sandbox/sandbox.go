// Package sandbox is a simulated DialNexa workspace: an http.Handler that answers the
// phone-number and agent endpoints the job uses, as the public API reference describes
// them. `reassign --sandbox` runs against it on a loopback port; the tests use it as
// their fake API, with scripted faults.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Number is one phone number of the workspace. A nil pointer is JSON null.
type Number struct {
	ID          string  `json:"id"`
	PhoneNumber string  `json:"phone_number"`
	AgentID     *string `json:"agent_id"`
	Nickname    *string `json:"nickname"`
	Label       *string `json:"label"`
	Status      string  `json:"status"`
	CountryCode string  `json:"country_code"`
	Type        string  `json:"type"`
}

// Workspace is the sandbox's starting state.
type Workspace struct {
	Numbers []Number
	Agents  []string
	// AgentNames gives agents their display names (GET /agents' name); an agent with
	// none is listed without one.
	AgentNames map[string]string
	// Ineligible agents exist (GET /agents lists them) but cannot take inbound calls:
	// assigning one is a 400, as the API page says of agents "not eligible".
	Ineligible []string
}

// Patch is one PATCH the sandbox received.
type Patch struct {
	ID   string
	Body string
}

// Options shape the sandbox's behaviour.
type Options struct {
	// Key is the API key it accepts as a bearer token.
	Key string
	// InboundAgentID answers with inbound_agent_id instead of agent_id, as the API
	// page's example does.
	InboundAgentID bool
	// RatePerSecond, if > 0, answers 429 with Retry-After: 1 above that rate (a token
	// bucket of RateBurst), stating no budget.
	RatePerSecond float64
	RateBurst     int
	// Window, if its Limit is > 0, throttles as a fixed window that states its budget
	// (see FixedWindow).
	Window FixedWindow
	// ItemsShape answers list pages as {items, total, page, limit} instead of
	// {data, meta}: the API's references show both.
	ItemsShape bool
	// MaxPageSize, if > 0, caps a list page below what was asked, as some APIs do; the
	// page's meta then counts pages of that size.
	MaxPageSize int
	// Latency delays every answer.
	Latency time.Duration
	// SwallowWrites answers a valid PATCH 200, with the number as if changed, but keeps
	// the number as it was: an API that says yes and applies nothing, which only
	// `reassign verify` can catch.
	SwallowWrites bool
	// SwallowIDs does what SwallowWrites does, for these numbers only.
	SwallowIDs []string
	// RefuseIDs answers a valid PATCH of these numbers 400, as an API refuses a change
	// by a rule of its own that the job cannot check beforehand.
	RefuseIDs []string
	// FailWritesAfter, if > 0, answers 503 to every PATCH after the first
	// FailWritesAfter (retries included), until Heal: an API that goes down mid-run.
	FailWritesAfter int
	// Fault, if set, sees each request first and may answer it itself (returning true):
	// the tests script 5xx, 429, resets and slow answers with it.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// FixedWindow is a rate limit as NestJS's throttler keeps one: at most Limit requests
// per Length, every request counted (reads, writes, and those refused), the window
// starting at the first request after the last one ended. Above it the answer is 429,
// with Retry-After the seconds left in the window, rounded up. Headers says how the
// other answers state the budget.
type FixedWindow struct {
	Limit   int
	Length  time.Duration
	Headers Headers
	Now     func() time.Time // nil: time.Now
}

// Headers is how a throttled sandbox states its budget.
type Headers int

const (
	// NoHeaders states nothing: only the 429's Retry-After.
	NoHeaders Headers = iota
	// XRateLimit sends X-RateLimit-Limit, -Remaining and -Reset (seconds, rounded up)
	// with every answer but a 429, as NestJS's throttler does.
	XRateLimit
	// IETF sends the IETF draft's RateLimit-Policy ("default";q=LIMIT;w=SECONDS) and
	// RateLimit ("default";r=REMAINING;t=SECONDS) with every answer, a 429 included.
	IETF
)

// window is a FixedWindow's state.
type window struct {
	FixedWindow
	mu    sync.Mutex
	start time.Time
	count int
}

// take counts one request; it reports the requests left and the time to the window's
// end, and whether the request is over the limit.
func (w *window) take() (remaining int, reset time.Duration, over bool) {
	now := w.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.start.IsZero() || !now.Before(w.start.Add(w.Length)) {
		w.start, w.count = now, 0
	}
	w.count++
	return max(0, w.Limit-w.count), w.start.Add(w.Length).Sub(now), w.count > w.Limit
}

// throttle answers a request over the window's limit with a 429 (true), or states the
// budget on the answer to come (false).
func (w *window) throttle(rw http.ResponseWriter) bool {
	remaining, reset, over := w.take()
	secs := strconv.FormatInt(int64((reset+time.Second-1)/time.Second), 10)
	h := rw.Header()
	switch {
	case w.Headers == IETF:
		h.Set("RateLimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, w.Limit, int64(w.Length/time.Second)))
		h.Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=%s`, remaining, secs))
	case w.Headers == XRateLimit && !over:
		h.Set("X-RateLimit-Limit", strconv.Itoa(w.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", secs)
	}
	if over {
		h.Set("Retry-After", secs)
		writeError(rw, http.StatusTooManyRequests, "ThrottlerException: Too Many Requests")
	}
	return over
}

// API is the simulated workspace. It is safe for concurrent use.
type API struct {
	opts    Options
	limiter *rate.Limiter
	window  *window // nil: no fixed window

	mu         sync.Mutex
	numbers    map[string]*Number
	order      []string
	agents     map[string]bool
	agentOrder []string // as the workspace listed them, for Workspace
	agentNames map[string]string
	ineligible map[string]bool
	patches    []Patch
	changes    int // writes applied (PATCHes and Updates): a state file needs saving
	swallow    map[string]bool
	refuse     map[string]bool

	writes    atomic.Int64 // PATCHes received
	failAfter atomic.Int64 // FailWritesAfter; 0 once healed

	requests    atomic.Int64
	reads       atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

// New returns a sandbox holding ws.
func New(ws Workspace, opts Options) *API {
	a := &API{opts: opts, numbers: map[string]*Number{}, agents: map[string]bool{}, agentNames: maps.Clone(ws.AgentNames), ineligible: map[string]bool{},
		swallow: setOf(opts.SwallowIDs), refuse: setOf(opts.RefuseIDs)}
	a.failAfter.Store(int64(opts.FailWritesAfter))
	for _, id := range ws.Ineligible {
		a.ineligible[id] = true
	}
	for _, n := range ws.Numbers {
		n := n
		a.numbers[n.ID] = &n
		a.order = append(a.order, n.ID)
	}
	for _, id := range ws.Agents {
		a.agents[id] = true
	}
	a.agentOrder = slices.Clone(ws.Agents)
	if opts.RatePerSecond > 0 {
		a.limiter = rate.NewLimiter(rate.Limit(opts.RatePerSecond), max(opts.RateBurst, 1))
	}
	if opts.Window.Limit > 0 {
		a.window = &window{FixedWindow: opts.Window}
		if a.window.Now == nil {
			a.window.Now = time.Now
		}
	}
	return a
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Heal ends FailWritesAfter: every later PATCH is answered as usual.
func (a *API) Heal() { a.failAfter.Store(0) }

// Demo is the workspace `reassign --sandbox` starts with; samples/plan.csv is written
// against it. Its rules are in docs/sandbox.md.
func Demo() Workspace {
	n := func(id, phone, agent, nick, label, cc string) Number {
		num := Number{ID: id, PhoneNumber: phone, Status: "active", CountryCode: cc, Type: "local"}
		if agent != "" {
			num.AgentID = new(agent)
		}
		if nick != "" {
			num.Nickname = new(nick)
		}
		if label != "" {
			num.Label = new(label)
		}
		return num
	}
	return Workspace{
		Agents: []string{"agt_support_tier1", "agt_support_tier2", "agt_sales_emea", "agt_sales_latam", "agent_2g7Xy3tY53gRlp", "agt_billing", "agt_outbound_dialer"},
		// Two agents share a name (a plan must use their ids); one is named in Japanese.
		AgentNames: map[string]string{
			"agt_support_tier1": "Support", "agt_support_tier2": "Support", "agt_sales_emea": "Sales EMEA",
			"agt_sales_latam": "Ventas LATAM", "agent_2g7Xy3tY53gRlp": "東京 受付", "agt_billing": "Billing",
			"agt_outbound_dialer": "Outbound Dialer",
		},
		Ineligible: []string{"agt_outbound_dialer"},
		Numbers: []Number{
			n("phn_f7w2kx5mb9qz", "+912234567890", "agt_billing", "Old Mumbai Line", "", "IN"),
			n("phn_k3p8vd2nq7ra", "+442071838750", "agt_support_tier1", "", "Support - London", "GB"),
			n("phn_m9x4tb6wz2ce", "+14155550123", "agt_sales_emea", "SF Pilot", "", "US"),
			n("phn_q2w8ej5rt1yb", "+5511987654321", "", "", "", "BR"),
			n("phn_h6n1cz9uf4dk", "+919876543210", "agt_support_tier2", "", "", "IN"),
			n("phn_r5t7yu2io8pl", "+61290001234", "agt_support_tier1", "Sydney Support", "Support - Sydney", "AU"),
			n("phn_b8v3nm5kq1xs", "+33144556677", "agt_support_tier1", "Paris Support", "", "FR"),
			n("phn_d4f6gh8jk2lz", "+4930123456", "agt_support_tier1", "Berlin Hotline", "", "DE"),
			n("phn_t1y5ui9op3as", "+81312345678", "agt_sales_emea", "", "", "JP"),
		},
	}
}

// Start serves the sandbox on a free loopback port. It returns the base URL (ending in
// /v1) and a function that shuts the server down.
func Start(h http.Handler) (baseURL string, stop func(), err error) {
	baseURL, srv, err := serve(h)
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return baseURL, stop, nil
}

func serve(h http.Handler) (baseURL string, srv *http.Server, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("sandbox: %w", err)
	}
	srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1", srv, nil
}

// DemoOptions says which workspace StartDemo serves.
type DemoOptions struct {
	// State, if set, is the file that keeps the workspace between commands: read when it
	// exists; created, seeded, when it does not; written back by Close when the command
	// changed the workspace. A file that cannot be read or is not a state is an error
	// naming it, never replaced.
	State string
	// Numbers, if > 0, seeds the workspace with Generated(Numbers) instead of Demo. With
	// a State that exists, it must be what seeded that state (ErrSeedConflict).
	Numbers int
}

// Served is a sandbox serving one command, as `reassign --sandbox` runs against it.
type Served struct {
	BaseURL, Key string // the base URL (ending in /v1) and the random key it accepts
	Numbers      int    // how many numbers the workspace holds
	Created      bool   // the state file was created, seeded, by this command
	api          *API
	srv          *http.Server
	state        *stateFile // nil without a state file
}

// StartDemo serves the workspace o names (Demo by default) with a random key of its
// own on a free loopback port.
func StartDemo(o DemoOptions) (*Served, error) {
	s := &Served{}
	ws := seed(o.Numbers)
	if o.State != "" {
		var err error
		if s.state, ws, s.Created, err = openState(o.State, o.Numbers); err != nil {
			return nil, err
		}
	}
	b := make([]byte, 16)
	rand.Read(b)
	s.Key = "sbx_" + hex.EncodeToString(b[:4]) + ":" + hex.EncodeToString(b[4:])
	s.api, s.Numbers = New(ws, Options{Key: s.Key}), len(ws.Numbers)
	var err error
	if s.BaseURL, s.srv, err = serve(s.api); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the server, then, if the command changed the workspace, writes it back
// to the state file (atomically: a crash leaves the old state or the new one). saved
// reports whether it wrote. A state file that another command replaced meanwhile is
// not overwritten: that is an error.
//
// The command has had every answer by then, so the server closes at once (a graceful
// shutdown would wait 5 s for a connection the client dialled ahead and never used);
// a write still being handled holds the lock Workspace takes, so the state saved
// holds it whole or not at all.
func (s *Served) Close() (saved bool, err error) {
	s.srv.Close()
	if s.state == nil || s.api.changed() == 0 {
		return false, nil
	}
	if err := s.state.save(s.api.Workspace()); err != nil {
		return false, err
	}
	return true, nil
}

// Requests is how many requests reached the sandbox, faults included.
func (a *API) Requests() int64 { return a.requests.Load() }

// Reads is how many GET requests reached the workspace (faults excluded).
func (a *API) Reads() int64 { return a.reads.Load() }

// MaxInFlight is the most requests the sandbox was serving at once.
func (a *API) MaxInFlight() int64 { return a.maxInFlight.Load() }

// Patches returns every PATCH that reached the workspace (faults excluded), in order,
// with its body as sent.
func (a *API) Patches() []Patch {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Patch(nil), a.patches...)
}

// Update changes number id in place, as someone in the dashboard would between two
// runs (change must leave its ID alone); it reports false when the workspace has no
// such number.
func (a *API) Update(id string, change func(*Number)) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.numbers[id]
	if ok {
		change(n)
		a.changes++
	}
	return ok
}

// Workspace returns a copy of what the sandbox holds now, numbers in their order.
func (a *API) Workspace() Workspace {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := Workspace{Agents: slices.Clone(a.agentOrder), AgentNames: maps.Clone(a.agentNames), Numbers: make([]Number, 0, len(a.order))}
	for _, id := range a.agentOrder {
		if a.ineligible[id] {
			ws.Ineligible = append(ws.Ineligible, id)
		}
	}
	for _, id := range a.order {
		n := *a.numbers[id]
		n.AgentID, n.Nickname, n.Label = clone(n.AgentID), clone(n.Nickname), clone(n.Label)
		ws.Numbers = append(ws.Numbers, n)
	}
	return ws
}

func clone(p *string) *string {
	if p == nil {
		return nil
	}
	return new(*p)
}

// changed is how many writes the workspace took.
func (a *API) changed() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changes
}

// Number returns a copy of one number's current state.
func (a *API) Number(id string) (Number, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.numbers[id]
	if !ok {
		return Number{}, false
	}
	return *n, true
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	n := a.inFlight.Add(1)
	defer a.inFlight.Add(-1)
	for {
		m := a.maxInFlight.Load()
		if n <= m || a.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if a.opts.Latency > 0 {
		select {
		case <-time.After(a.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if a.opts.Fault != nil && a.opts.Fault(w, r) {
		return
	}
	w.Header().Set("X-Request-Id", fmt.Sprintf("req_%06d", a.requests.Load()))
	if r.Header.Get("Authorization") != "Bearer "+a.opts.Key {
		writeError(w, http.StatusUnauthorized, "Invalid or missing API key")
		return
	}
	if a.limiter != nil && !a.limiter.Allow() {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "Too many requests, slow down")
		return
	}
	if a.window != nil && a.window.throttle(w) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	if r.Method == http.MethodGet {
		a.reads.Add(1)
	}
	switch {
	case path == "/agents" && r.Method == http.MethodGet:
		a.listAgents(w)
	case path == "/organization-phone-numbers" && r.Method == http.MethodGet:
		a.listNumbers(w, r)
	case strings.HasPrefix(path, "/organization-phone-numbers/"):
		id := strings.TrimPrefix(path, "/organization-phone-numbers/")
		switch r.Method {
		case http.MethodPatch:
			a.patch(w, r, id)
		case http.MethodGet:
			a.get(w, id)
		default:
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		}
	default:
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
	}
}

func (a *API) get(w http.ResponseWriter, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.numbers[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Phone number not found")
		return
	}
	a.writeNumber(w, n)
}

// patch validates as the API's schema does (NestJS-style list messages), then applies.
func (a *API) patch(w http.ResponseWriter, r *http.Request, id string) {
	if after := a.failAfter.Load(); a.writes.Add(1) > after && after > 0 {
		writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	a.mu.Lock()
	a.patches = append(a.patches, Patch{ID: id, Body: string(raw)})
	a.mu.Unlock()
	var body map[string]json.RawMessage
	if err != nil || json.Unmarshal(raw, &body) != nil || body == nil {
		writeError(w, http.StatusBadRequest, "Body must be a JSON object")
		return
	}
	var msgs []string
	fields := map[string]*string{}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := body[k]
		switch k {
		case "agent_id", "nickname", "label":
		default:
			msgs = append(msgs, "property "+k+" should not exist")
			continue
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			if k == "label" {
				msgs = append(msgs, "label must be a string")
			}
			fields[k] = nil
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			msgs = append(msgs, k+" must be a string")
			continue
		}
		if k == "nickname" && utf8.RuneCountInString(s) > 255 {
			msgs = append(msgs, "nickname must be shorter than or equal to 255 characters")
		}
		fields[k] = &s
	}
	if len(body) == 0 {
		msgs = append(msgs, "at least one of agent_id, nickname, label must be given")
	}
	if len(msgs) > 0 {
		writeErrorList(w, http.StatusBadRequest, msgs)
		return
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.numbers[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Phone number not found")
		return
	}
	if agent, ok := fields["agent_id"]; ok && agent != nil && !a.agents[*agent] {
		writeError(w, http.StatusBadRequest, "agent_id "+*agent+" does not exist or is not eligible to be assigned to a number")
		return
	}
	if agent, ok := fields["agent_id"]; ok && agent != nil && a.ineligible[*agent] {
		writeError(w, http.StatusBadRequest, "agent_id "+*agent+" is not eligible to be assigned to a number: it makes outbound calls only")
		return
	}
	if a.refuse[id] {
		writeError(w, http.StatusBadRequest, "phone number "+id+" is locked by a porting request and cannot be changed")
		return
	}
	if a.opts.SwallowWrites || a.swallow[id] {
		changed := *n
		n = &changed // answered as applied, never stored
	} else {
		a.changes++
	}
	for k, v := range fields {
		if v != nil && *v == "" {
			v = nil // the API clears a field given an empty string
		}
		switch k {
		case "agent_id":
			n.AgentID = v
		case "nickname":
			n.Nickname = v
		case "label":
			n.Label = v
		}
	}
	a.writeNumber(w, n)
}

func (a *API) writeNumber(w http.ResponseWriter, n *Number) {
	out := map[string]any{
		"id": n.ID, "phone_number": n.PhoneNumber, "nickname": n.Nickname, "label": n.Label,
		"status": n.Status, "country_code": n.CountryCode, "type": n.Type, "provider": "twilio",
		"created_at": "2024-03-01T10:00:00.000Z",
	}
	if a.opts.InboundAgentID {
		out["inbound_agent_id"] = n.AgentID
	} else {
		out["agent_id"] = n.AgentID
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listNumbers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, limit = max(page, 1), max(limit, 1)
	if limit > 100 {
		writeErrorList(w, http.StatusBadRequest, []string{"limit must not be greater than 100"})
		return
	}
	if a.opts.MaxPageSize > 0 {
		limit = min(limit, a.opts.MaxPageSize)
	}
	cc, typ := q.Get("country_code"), q.Get("type")
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := a.order // a page of a large workspace costs the page, not the workspace
	if cc != "" || typ != "" {
		ids = nil
		for _, id := range a.order {
			n := a.numbers[id]
			if (cc == "" || strings.EqualFold(cc, n.CountryCode)) && (typ == "" || strings.EqualFold(typ, n.Type)) {
				ids = append(ids, id)
			}
		}
	}
	from := len(ids)
	if page-1 <= len(ids)/limit { // a page past the end, however far (no overflow)
		from = min((page-1)*limit, len(ids))
	}
	to := min(from+limit, len(ids))
	data := make([]map[string]any, 0, to-from)
	for _, id := range ids[from:to] {
		n := a.numbers[id]
		data = append(data, map[string]any{
			"id": n.ID, "phone_number": n.PhoneNumber, "agent_id": n.AgentID, "nickname": n.Nickname,
			"label": n.Label, "status": n.Status, "country_code": n.CountryCode, "type": n.Type,
		})
	}
	if a.opts.ItemsShape {
		writeJSON(w, http.StatusOK, map[string]any{"items": data, "total": len(ids), "page": page, "limit": limit})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]int{"page": page, "limit": limit, "total": len(ids), "totalPages": (len(ids) + limit - 1) / limit},
	})
}

func (a *API) listAgents(w http.ResponseWriter) {
	a.mu.Lock()
	ids := make([]string, 0, len(a.agents))
	for id := range a.agents {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	sort.Strings(ids)
	agents := make([]map[string]any, len(ids))
	for i, id := range ids {
		// inbound: whether the agent may take inbound numbers (assigning one that may
		// not is a 400, as the API page says of agents "not eligible").
		agents[i] = map[string]any{"id": id, "inbound": !a.ineligible[id]}
		if name, ok := a.agentNames[id]; ok {
			agents[i]["name"] = name
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "message": msg, "error": http.StatusText(status)})
}

func writeErrorList(w http.ResponseWriter, status int, msgs []string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "message": msgs, "error": http.StatusText(status)})
}
