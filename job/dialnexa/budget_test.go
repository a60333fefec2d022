package dialnexa

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var budgetNow = time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)

// hdr builds a header from name, value pairs, keys canonicalised as net/http does.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestParseBudget(t *testing.T) {
	t.Parallel()
	s := time.Second
	unix := func(d time.Duration) string { return strconv.FormatInt(budgetNow.Add(d).Unix(), 10) }
	cases := []struct {
		name string
		h    http.Header
		want Budget
	}{
		{"none", hdr("Content-Type", "application/json"), Budget{}},
		{"nestjs", hdr("X-RateLimit-Limit", "400", "X-RateLimit-Remaining", "123", "X-RateLimit-Reset", "7"),
			Budget{Stated: true, Limit: 400, Remaining: 123, Reset: 7 * s}},
		{"lower case names", http.Header{"x-ratelimit-limit": {"400"}, "x-ratelimit-remaining": {"5"}, "x-ratelimit-reset": {"2"}},
			Budget{Stated: true, Limit: 400, Remaining: 5, Reset: 2 * s}},
		{"no limit", hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "9"),
			Budget{Stated: true, Remaining: 0, Reset: 9 * s}},
		{"no reset: not usable", hdr("X-RateLimit-Limit", "400", "X-RateLimit-Remaining", "3"), Budget{}},
		{"no remaining: not usable", hdr("X-RateLimit-Limit", "400", "X-RateLimit-Reset", "3"), Budget{}},
		{"reset with a fraction", hdr("X-RateLimit-Remaining", "4", "X-RateLimit-Reset", "1.25"),
			Budget{Stated: true, Remaining: 4, Reset: 1250 * time.Millisecond}},
		{"unix reset (GitHub)", hdr("X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "4999", "X-RateLimit-Reset", unix(42*s), "X-RateLimit-Used", "1", "X-RateLimit-Resource", "core"),
			Budget{Stated: true, Limit: 5000, Remaining: 4999, Reset: 42 * s}},
		{"unix reset read against Date", hdr("X-RateLimit-Remaining", "10", "X-RateLimit-Reset", unix(42*s), "Date", budgetNow.Add(30*s).Format(http.TimeFormat)),
			Budget{Stated: true, Remaining: 10, Reset: 12 * s}},
		{"unix reset in the past", hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", unix(-time.Hour)),
			Budget{Stated: true, Remaining: 0, Reset: 0}},
		{"10^9 exactly is seconds, capped", hdr("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "1000000000"),
			Budget{Stated: true, Remaining: 1, Reset: maxBudgetReset}},
		{"named throttlers: the tightest governs", hdr(
			"X-RateLimit-Limit-short", "3", "X-RateLimit-Remaining-short", "2", "X-RateLimit-Reset-short", "1",
			"X-RateLimit-Limit-long", "100", "X-RateLimit-Remaining-long", "1", "X-RateLimit-Reset-long", "50"),
			Budget{Stated: true, Limit: 100, Remaining: 1, Reset: 50 * s, Name: "long"}},
		{"named and default", hdr(
			"X-RateLimit-Limit", "400", "X-RateLimit-Remaining", "399", "X-RateLimit-Reset", "10",
			"X-RateLimit-Limit-Short", "10", "X-RateLimit-Remaining-Short", "9", "X-RateLimit-Reset-Short", "1"),
			Budget{Stated: true, Limit: 10, Remaining: 9, Reset: s, Name: "short"}},
		{"a tie: the later reset", hdr(
			"X-RateLimit-Remaining-a", "5", "X-RateLimit-Reset-a", "1",
			"X-RateLimit-Remaining-b", "5", "X-RateLimit-Reset-b", "60"),
			Budget{Stated: true, Remaining: 5, Reset: 60 * s, Name: "b"}},
		{"a named throttler with no reset is left out", hdr(
			"X-RateLimit-Remaining-a", "0",
			"X-RateLimit-Remaining-b", "5", "X-RateLimit-Reset-b", "6"),
			Budget{Stated: true, Remaining: 5, Reset: 6 * s, Name: "b"}},
		{"ietf", hdr("RateLimit-Policy", `"default";q=400;w=10`, "RateLimit", `"default";r=123;t=5`),
			Budget{Stated: true, Limit: 400, Remaining: 123, Reset: 5 * s, Window: 10 * s, Name: "default"}},
		{"ietf without a policy", hdr("RateLimit", `"default";r=0;t=3`),
			Budget{Stated: true, Remaining: 0, Reset: 3 * s, Name: "default"}},
		{"ietf without t: the window", hdr("RateLimit-Policy", `"default";q=400;w=10`, "RateLimit", `"default";r=7`),
			Budget{Stated: true, Limit: 400, Remaining: 7, Reset: 10 * s, Window: 10 * s, Name: "default"}},
		{"ietf, two policies", hdr("RateLimit-Policy", `"burst";q=100;w=60, "daily";q=1000;w=86400`, "RateLimit", `"burst";r=80;t=40, "daily";r=20;t=3000`),
			Budget{Stated: true, Limit: 1000, Remaining: 20, Reset: 3000 * s, Window: 86400 * s, Name: "daily"}},
		{"ietf, as two field lines", hdr("RateLimit-Policy", `"a";q=10;w=1`, "RateLimit-Policy", `"b";q=50;w=10`, "RateLimit", `"a";r=9;t=1`, "RateLimit", `"b";r=4;t=8`),
			Budget{Stated: true, Limit: 50, Remaining: 4, Reset: 8 * s, Window: 10 * s, Name: "b"}},
		{"ietf, token names and spaces", hdr("RateLimit-Policy", ` default;q=400;w=10 ,other;q=1;w=1`, "RateLimit", ` default;r=12; t=2 `),
			Budget{Stated: true, Limit: 400, Remaining: 12, Reset: 2 * s, Window: 10 * s, Name: "default"}},
		{"ietf, a space before a parameter is no structured field", hdr("RateLimit", `default ;r=12;t=2`), Budget{}},
		{"ietf, decimal seconds", hdr("RateLimit", `default;r=12;t=2.5`),
			Budget{Stated: true, Remaining: 12, Reset: 2500 * time.Millisecond, Name: "default"}},
		{"ietf, the longest decimal is a Unix time far off", hdr("RateLimit", `default;r=12;t=999999999999.999`),
			Budget{Stated: true, Remaining: 12, Reset: maxBudgetReset, Name: "default"}},
		{"ietf, a quoted name with a comma and a semicolon", hdr("RateLimit", `"a,b;c";r=3;t=4`),
			Budget{Stated: true, Remaining: 3, Reset: 4 * s, Name: "a,b;c"}},
		{"ietf, an escaped quote in a name", hdr("RateLimit", `"a\"b";r=3;t=4`),
			Budget{Stated: true, Remaining: 3, Reset: 4 * s, Name: `a"b`}},
		{"ietf, a partition key is ignored", hdr("RateLimit", `"default";r=3;t=4;pk=:cHsdsRa894==:`),
			Budget{Stated: true, Remaining: 3, Reset: 4 * s, Name: "default"}},
		{"ietf dictionary form (earlier draft)", hdr("RateLimit", "limit=100, remaining=50, reset=5", "RateLimit-Policy", "100;w=60"),
			Budget{Stated: true, Limit: 100, Remaining: 50, Reset: 5 * s, Window: 60 * s}},
		{"ietf, negative r is unreadable", hdr("RateLimit", `"default";r=-1;t=4`), Budget{}},
		{"ietf, unterminated name", hdr("RateLimit", `"default;r=1;t=4`), Budget{}},
		{"older draft", hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "42", "RateLimit-Reset", "30"),
			Budget{Stated: true, Limit: 100, Remaining: 42, Reset: 30 * s}},
		{"older draft, policies after the limit", hdr("RateLimit-Limit", "10, 10;w=1, 50;w=60", "RateLimit-Remaining", "9", "RateLimit-Reset", "1"),
			Budget{Stated: true, Limit: 10, Remaining: 9, Reset: s}},
		{"X- and IETF together: the tightest", hdr("X-RateLimit-Remaining", "30", "X-RateLimit-Reset", "5", "RateLimit", `"default";r=29;t=5`),
			Budget{Stated: true, Remaining: 29, Reset: 5 * s, Name: "default"}},
		{"unreadable remaining", hdr("X-RateLimit-Remaining", "lots", "X-RateLimit-Reset", "5"), Budget{}},
		{"negative remaining", hdr("X-RateLimit-Remaining", "-3", "X-RateLimit-Reset", "5"), Budget{}},
		{"unreadable reset", hdr("X-RateLimit-Remaining", "3", "X-RateLimit-Reset", "soon"), Budget{}},
		{"negative reset", hdr("X-RateLimit-Remaining", "3", "X-RateLimit-Reset", "-5"), Budget{}},
		{"date as reset", hdr("X-RateLimit-Remaining", "3", "X-RateLimit-Reset", budgetNow.Format(http.TimeFormat)), Budget{}},
		{"huge counts are capped", hdr("X-RateLimit-Limit", strings.Repeat("9", 40), "X-RateLimit-Remaining", strings.Repeat("9", 40), "X-RateLimit-Reset", "1"),
			Budget{Stated: true, Limit: maxBudgetCount, Remaining: maxBudgetCount, Reset: s}},
		{"huge unix reset is capped", hdr("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", strings.Repeat("9", 40)),
			Budget{Stated: true, Remaining: 1, Reset: maxBudgetReset}},
		{"other headers with the prefix", hdr("X-RateLimit-Resetting", "3", "X-RateLimit-", "1", "X-RateLimit-Remaining-", "4", "X-RateLimit-Bucket", "abc"), Budget{}},
		{"Discord's Reset-After is not Reset", hdr("X-RateLimit-Remaining", "4", "X-RateLimit-Reset-After", "1.5", "X-RateLimit-Reset", unix(2*s)),
			Budget{Stated: true, Remaining: 4, Reset: 2 * s}},
		{"first value of a repeated header", hdr("X-RateLimit-Remaining", "4", "X-RateLimit-Remaining", "400", "X-RateLimit-Reset", "3"),
			Budget{Stated: true, Remaining: 4, Reset: 3 * s}},
	}
	for _, tc := range cases {
		if got := ParseBudget(tc.h, budgetNow); got != tc.want {
			t.Errorf("%s: ParseBudget(%v) =\n  %+v\nwant\n  %+v", tc.name, tc.h, got, tc.want)
		}
	}
}

// Every answer carries what it stated: a 2xx Answer, an APIError, a list page.
func TestClientAnswersCarryBudget(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-RateLimit-Limit", "400")
		h.Set("X-RateLimit-Remaining", "17")
		h.Set("X-RateLimit-Reset", "4")
		switch {
		case r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/phn_ok"):
			w.Write([]byte(`{"id":"phn_ok"}`))
		case r.Method == http.MethodPatch:
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("Retry-After", "4")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"statusCode":429,"message":"ThrottlerException: Too Many Requests"}`))
		default:
			w.Write([]byte(`{"data":[],"meta":{"total":0,"totalPages":0}}`))
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/v1")
	want := Budget{Stated: true, Limit: 400, Remaining: 17, Reset: 4 * time.Second}
	up, err := c.Patch(t.Context(), "phn_ok", []byte(`{}`))
	if err != nil || up.Budget != want {
		t.Errorf("Patch: %+v, %v; want Budget %+v", up, err, want)
	}
	_, err = c.Patch(t.Context(), "phn_full", []byte(`{}`))
	apiErr, ok := err.(*APIError)
	want.Remaining = 0
	if !ok || apiErr.Budget != want || apiErr.RetryAfter != 4*time.Second {
		t.Errorf("Patch answered 429: %#v; want an *APIError with Budget %+v and Retry-After 4", err, want)
	}
	p, err := c.ListNumbers(t.Context(), 1, 100, ListFilter{})
	want.Remaining = 17
	if err != nil || p.Budget != want {
		t.Errorf("ListNumbers: %+v, %v; want Budget %+v", p, err, want)
	}
}

// NestJS names the Retry-After of a named throttler after it.
func TestClientRetryAfterOfNamedThrottler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After-short", "1")
		w.Header().Set("Retry-After-long", "37")
		w.Header().Set("Retry-After-odd", "soon")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL+"/v1").Patch(t.Context(), "phn_x", []byte(`{}`))
	if apiErr, ok := err.(*APIError); !ok || apiErr.RetryAfter != 37*time.Second {
		t.Errorf("Patch: %#v; want an *APIError with RetryAfter 37 (the longest Retry-After-<name>)", err)
	}
}

func FuzzParseBudget(f *testing.F) {
	f.Add("400", "123", "7", `"default";q=400;w=10`, `"default";r=123;t=5`, "Retry-After")
	f.Add("", "", "", `"a";q=1;w=1, "b";q=2;w=2`, `"a";r=0;t=1, "b";r=1;t=2`, "")
	f.Add("5000", "4999", "1740823242", "", "", "Sat, 01 Mar 2025 10:00:00 GMT")
	f.Add("", "", "", "100;w=60", "limit=100, remaining=50, reset=5", "")
	f.Add("10, 10;w=1", "9", "1.5", `"x\"y";q=3`, `"x\"y";r=2;t=9`, "")
	f.Add("-1", "-1", "-1", `";;;`, `"`, "garbage")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, policy, ietf, date string) {
		h := http.Header{}
		for k, v := range map[string]string{
			"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset,
			"X-RateLimit-Remaining-short": remaining, "X-RateLimit-Reset-short": reset,
			"RateLimit-Policy": policy, "RateLimit": ietf, "Date": date,
		} {
			if v != "" {
				h.Set(k, v)
			}
		}
		b := ParseBudget(h, budgetNow)
		if !b.Stated {
			if b != (Budget{Ignored: b.Ignored}) {
				t.Fatalf("not stated, yet %+v", b)
			}
			return
		}
		if b.Remaining < 0 || b.Remaining > maxBudgetCount || b.Limit < 0 || b.Limit > maxBudgetCount {
			t.Fatalf("counts out of range: %+v", b)
		}
		if b.Reset < 0 || b.Reset > maxBudgetReset || b.Window < 0 || b.Window > maxBudgetReset {
			t.Fatalf("durations out of range: %+v", b)
		}
		if again := ParseBudget(h, budgetNow); again != b {
			t.Fatalf("not deterministic: %+v then %+v", b, again)
		}
		// Plain digits in X-RateLimit-Remaining and -Reset always state a budget, and the
		// tightest governs: nothing with more remaining may win.
		if isDigits(remaining) && isDigits(reset) {
			n, _ := parseCount(remaining)
			if int64(b.Remaining) > min(n, maxBudgetCount) {
				t.Fatalf("Remaining %d over the stated X-RateLimit-Remaining %q", b.Remaining, remaining)
			}
		}
	})
}

// largePolicy is a RateLimit-Policy of n members, about 36 bytes each (20,000: 0.7 MB),
// and a RateLimit naming the first of them and the last.
func largePolicy(n int) http.Header {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"throttler-` + strconv.Itoa(100000+i) + `";q=1000;w=60`)
	}
	return hdr("RateLimit-Policy", b.String(), "RateLimit", `"throttler-100000";r=10;t=30, "throttler-`+strconv.Itoa(100000+n-1)+`";r=1;t=30`)
}

// An answer naming far more limits than any API does is read for the first MaxLimits of
// them (in the order of their headers' names), in time linear in its size; the rest are
// counted as ignored.
func TestParseBudgetManyLimits(t *testing.T) {
	const n = 20_000
	got := ParseBudget(largePolicy(n), budgetNow)
	want := Budget{Stated: true, Limit: 1000, Remaining: 10, Reset: 30 * time.Second, Window: time.Minute, Name: "throttler-100000", Ignored: n - MaxLimits + 1}
	if got != want {
		t.Errorf("ParseBudget of %d policies = %+v, want %+v", n, got, want)
	}
	h := http.Header{}
	for i := range n {
		name := "-t" + strconv.Itoa(100000+i)
		h.Set("X-RateLimit-Remaining"+name, strconv.Itoa(n-i))
		h.Set("X-RateLimit-Reset"+name, "9")
	}
	want = Budget{Stated: true, Remaining: n - MaxLimits + 1, Reset: 9 * time.Second, Name: "t" + strconv.Itoa(100000+MaxLimits-1), Ignored: 2 * (n - MaxLimits)}
	if got := ParseBudget(h, budgetNow); got != want {
		t.Errorf("ParseBudget of %d named X-RateLimit-* = %+v, want %+v", n, got, want)
	}
}

// BenchmarkParseBudgetLargePolicy: the CPU one answer with a 0.7 MB RateLimit-Policy of
// 20,000 members costs (milliseconds: linear in the header's size).
func BenchmarkParseBudgetLargePolicy(b *testing.B) {
	h := largePolicy(20_000)
	b.SetBytes(int64(len(h.Get("RateLimit-Policy"))))
	for b.Loop() {
		ParseBudget(h, budgetNow)
	}
}

// BenchmarkParseBudget: the CPU an answer stating its budget as an API usually does costs.
func BenchmarkParseBudget(b *testing.B) {
	for _, h := range []http.Header{
		hdr("X-RateLimit-Limit", "400", "X-RateLimit-Remaining", "123", "X-RateLimit-Reset", "7"),
		hdr("RateLimit-Policy", `"default";q=400;w=10`, "RateLimit", `"default";r=123;t=5`),
	} {
		b.Run(h.Get("RateLimit-Policy"), func(b *testing.B) {
			for b.Loop() {
				ParseBudget(h, budgetNow)
			}
		})
	}
}

// A Retry-After date is read against the answer's Date: the client's clock may be off.
func TestClientRetryAfterDateAgainstAnswerDate(t *testing.T) {
	sent := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", sent.Format(http.TimeFormat))
		w.Header().Set("Retry-After", sent.Add(7*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL+"/v1").Patch(t.Context(), "phn_x", []byte(`{}`))
	if apiErr, ok := err.(*APIError); !ok || apiErr.RetryAfter != 7*time.Second {
		t.Errorf("Patch: %#v; want an *APIError with RetryAfter 7 s", err)
	}
}
