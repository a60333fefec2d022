package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFixedWindow(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)
	for _, headers := range []Headers{NoHeaders, XRateLimit, IETF} {
		now := start
		api := New(Workspace{Agents: []string{"agt_a"}}, Options{Key: "k", Window: FixedWindow{
			Limit: 3, Length: 10 * time.Second, Headers: headers, Now: func() time.Time { return now },
		}})
		get := func() *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/v1/agents", nil)
			r.Header.Set("Authorization", "Bearer k")
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			return w
		}
		type answer struct {
			at                           time.Duration
			status                       int
			remaining, reset, retryAfter string
		}
		// 3 a window of 10 s from the first request: the 4th and 5th are refused (and
		// counted); a request at +10 s starts the next window.
		want := []answer{
			{0, 200, "2", "10", ""},
			{1500 * time.Millisecond, 200, "1", "9", ""},
			{9 * time.Second, 200, "0", "1", ""},
			{9100 * time.Millisecond, 429, "0", "1", "1"},
			{9900 * time.Millisecond, 429, "0", "1", "1"},
			{10 * time.Second, 200, "2", "10", ""},
			{12 * time.Second, 200, "1", "8", ""},
		}
		for i, w := range want {
			now = start.Add(w.at)
			got := get()
			h := got.Header()
			if got.Code != w.status || h.Get("Retry-After") != w.retryAfter {
				t.Fatalf("headers %d, request %d at +%v: %d, Retry-After %q; want %d, %q", headers, i+1, w.at, got.Code, h.Get("Retry-After"), w.status, w.retryAfter)
			}
			var stated map[string]string
			switch {
			case headers == XRateLimit && w.status == 200:
				stated = map[string]string{"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": w.remaining, "X-RateLimit-Reset": w.reset}
			case headers == IETF:
				stated = map[string]string{"RateLimit-Policy": `"default";q=3;w=10`, "RateLimit": `"default";r=` + w.remaining + ";t=" + w.reset}
			}
			for _, k := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit"} {
				if h.Get(k) != stated[k] {
					t.Errorf("headers %d, request %d at +%v: %s = %q, want %q", headers, i+1, w.at, k, h.Get(k), stated[k])
				}
			}
		}
		if got := api.Requests(); got != int64(len(want)) {
			t.Errorf("headers %d: Requests() = %d, want %d", headers, got, len(want))
		}
	}
}

func TestFixedWindowOff(t *testing.T) {
	t.Parallel()
	api := New(Workspace{Agents: []string{"agt_a"}}, Options{Key: "k"})
	for i := range 1000 {
		r := httptest.NewRequest(http.MethodGet, "/v1/agents", nil)
		r.Header.Set("Authorization", "Bearer k")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		if w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "" || w.Header().Get("RateLimit") != "" {
			t.Fatalf("request %d: %d, headers %v; want 200 and no rate-limit header by default", i, w.Code, w.Header())
		}
	}
}

// TestListPages: pages of the whole list and of a filtered one, and pages past the end,
// however far, answered empty.
func TestListPages(t *testing.T) {
	t.Parallel()
	ws := Generated(250)
	api := New(ws, Options{Key: "k"})
	list := func(query string) (ids []string, total int) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/v1/organization-phone-numbers?"+query, nil)
		r.Header.Set("Authorization", "Bearer k")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		var page struct {
			Data []Number
			Meta struct{ Total int }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", query, w.Code, w.Body)
		}
		for _, n := range page.Data {
			ids = append(ids, n.ID)
		}
		return ids, page.Meta.Total
	}
	var all, gb []string
	for _, n := range ws.Numbers {
		all = append(all, n.ID)
		if n.CountryCode == "GB" {
			gb = append(gb, n.ID)
		}
	}
	cases := []struct {
		query string
		want  []string
		total int
	}{
		{"page=1&limit=100", all[:100], 250},
		{"page=3&limit=100", all[200:], 250},
		{"page=4&limit=100", nil, 250},
		{"page=99999999999999999&limit=100", nil, 250},
		{"page=1&limit=100&country_code=gb", gb[:min(100, len(gb))], len(gb)},
		{"page=2&limit=10&country_code=GB", gb[10:20], len(gb)},
	}
	for _, tc := range cases {
		ids, total := list(tc.query)
		if !slices.Equal(ids, tc.want) || total != tc.total {
			t.Errorf("%s: %d ids (total %d), want %d (total %d)", tc.query, len(ids), total, len(tc.want), tc.total)
		}
	}
}

// TestWriteFaults: a swallowed number answers 200 and keeps its agent, a refused one
// answers 400, and after FailWritesAfter every PATCH is a 503 until Heal.
func TestWriteFaults(t *testing.T) {
	t.Parallel()
	ws := Workspace{Agents: []string{"agt_a", "agt_b"}}
	for _, id := range []string{"phn_1", "phn_2", "phn_3"} {
		ws.Numbers = append(ws.Numbers, Number{ID: id, PhoneNumber: "+1555000000" + id[4:], AgentID: new("agt_a")})
	}
	api := New(ws, Options{Key: "k", SwallowIDs: []string{"phn_2"}, RefuseIDs: []string{"phn_3"}, FailWritesAfter: 4})
	patch := func(id string) int {
		r := httptest.NewRequest(http.MethodPatch, "/v1/organization-phone-numbers/"+id, strings.NewReader(`{"agent_id":"agt_b"}`))
		r.Header.Set("Authorization", "Bearer k")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w.Code
	}
	agent := func(id string) string {
		n, _ := api.Number(id)
		return *n.AgentID
	}
	for _, c := range []struct {
		id     string
		status int
		agent  string
	}{
		{"phn_1", 200, "agt_b"}, {"phn_2", 200, "agt_a"}, {"phn_3", 400, "agt_a"}, {"phn_1", 200, "agt_b"},
		{"phn_1", 503, "agt_b"}, {"phn_2", 503, "agt_a"},
	} {
		if got := patch(c.id); got != c.status || agent(c.id) != c.agent {
			t.Errorf("PATCH %s: %d, agent %s; want %d, %s", c.id, got, agent(c.id), c.status, c.agent)
		}
	}
	api.Heal()
	api.Update("phn_1", func(n *Number) { n.AgentID = new("agt_a") })
	if got := patch("phn_1"); got != 200 || agent("phn_1") != "agt_b" {
		t.Errorf("after Heal: %d, agent %s; want 200, agt_b", got, agent("phn_1"))
	}
}
