package dialnexa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// testKey has the documented key_id:secret form; testSecretHalf is its secret part.
const (
	testKey        = "key_7Hq2:sk_live_9fG3xQ2mZ8pL4vR1"
	testSecretHalf = "sk_live_9fG3xQ2mZ8pL4vR1"
	testUA         = "reassign/1.2.3-test"
)

// newTestClient builds a Client against base with the test key.
func newTestClient(t *testing.T, base string) *Client {
	t.Helper()
	c, err := NewClient(&http.Client{Timeout: 10 * time.Second}, base, Secret(testKey), testUA)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", base, err)
	}
	return c
}

// assertNoKey fails if s holds the key or its secret half.
func assertNoKey(t *testing.T, where, s string) {
	t.Helper()
	if strings.Contains(s, testKey) {
		t.Errorf("%s holds the key: %q", where, s)
	}
	if strings.Contains(s, testSecretHalf) {
		t.Errorf("%s holds the secret half of the key: %q", where, s)
	}
}

func TestClientPatchRequestShape(t *testing.T) {
	t.Parallel()
	body := []byte(`{"agent_id":"agt_abc123","nickname":null,"label":"Support – Mumbai"}`)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method != http.MethodPatch {
			t.Errorf("method = %s, want PATCH", r.Method)
		}
		if got, want := r.URL.EscapedPath(), "/v1/organization-phone-numbers/phn_f7w2kx5mb9qz"; got != want {
			t.Errorf("path = %q, want %q", got, want)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("unexpected query %q", r.URL.RawQuery)
		}
		want := map[string]string{
			"Authorization": "Bearer " + testKey,
			"Content-Type":  "application/json",
			"Accept":        "application/json",
			"User-Agent":    testUA,
		}
		for k, v := range want {
			if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("header %s = %q, want exactly [%q]", k, got, v)
			}
		}
		got, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		if !bytes.Equal(got, body) {
			t.Errorf("body = %s, want %s", got, body)
		}
		if !json.Valid(got) {
			t.Errorf("body is not JSON: %s", got)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_123")
		io.WriteString(w, `{"id":"phn_f7w2kx5mb9qz","phone_number":"+912234567890","agent_id":"agt_abc123","nickname":"","label":"Support – Mumbai"}`)
	}))
	defer srv.Close()

	// A trailing slash on the base URL must not give a double slash.
	c := newTestClient(t, srv.URL+"/v1/")
	ans, err := c.Patch(context.Background(), "phn_f7w2kx5mb9qz", body)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", hits.Load())
	}
	if ans.StatusCode != 200 || ans.RequestID != "req_123" || ans.Note != "" {
		t.Errorf("answer = %+v", ans)
	}
	if ans.Number.ID != "phn_f7w2kx5mb9qz" || ans.Number.AgentID != "agt_abc123" || ans.Number.Label != "Support – Mumbai" || ans.Number.PhoneNumber != "+912234567890" {
		t.Errorf("number = %+v", ans.Number)
	}
}

func TestClientPatchEscapesID(t *testing.T) {
	t.Parallel()
	// Plan validation keeps ids to [A-Za-z0-9_-], but the client must not let an id
	// leave its path segment even so.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.EscapedPath(), "/organization-phone-numbers/..%2Fagents%3Fx=1"; got != want {
			t.Errorf("path = %q, want %q", got, want)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("id leaked into the query: %q", r.URL.RawQuery)
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL).Patch(context.Background(), "../agents?x=1", []byte(`{}`))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("err = %v, want a 404 *APIError", err)
	}
}

func TestClientNewClientBaseURL(t *testing.T) {
	t.Parallel()
	accepted := []string{
		"https://api.dialnexa.com/v1",
		"https://api.dialnexa.com/v1/",
		"  https://api.dialnexa.com/v1  ",
		"HTTPS://API.DIALNEXA.COM/v1",
		"https://10.0.0.7:8443/v1",
		"http://127.0.0.1:8080",
		"http://127.5.6.7/v1",
		"http://127.255.255.254:1",
		"http://[::1]:9000/v1",
		"http://[::1]",
		"http://localhost:3000",
		"http://LOCALHOST/v1",
	}
	for _, u := range accepted {
		if _, err := NewClient(&http.Client{}, u, Secret(testKey), testUA); err != nil {
			t.Errorf("NewClient(%q) = %v, want accepted", u, err)
		}
	}

	insecure := []string{
		"http://api.dialnexa.com/v1",
		"http://10.0.0.1",
		"http://192.168.1.10:8080",
		"http://128.0.0.1",
		"http://0.0.0.0:8080",
		"http://[::2]",
		"http://localhost.evil.example",
		"http://127.0.0.1.nip.io",
		"http://evil.example/127.0.0.1",
		"http://localhostx",
	}
	for _, u := range insecure {
		_, err := NewClient(&http.Client{}, u, Secret(testKey), testUA)
		if !errors.Is(err, ErrInsecureURL) {
			t.Errorf("NewClient(%q) = %v, want ErrInsecureURL", u, err)
		}
	}

	credentials := []string{
		"https://user:hunter2pass@api.dialnexa.com/v1",
		"https://user@api.dialnexa.com/v1",
		"http://user:hunter2pass@127.0.0.1:8080",
		"https://" + testKey + "@api.dialnexa.com/v1",
	}
	for _, u := range credentials {
		_, err := NewClient(&http.Client{}, u, Secret(testKey), testUA)
		if err == nil {
			t.Errorf("NewClient(%q) accepted a URL with credentials", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2pass") {
			t.Errorf("NewClient(%q) error shows the password: %v", u, err)
		}
		assertNoKey(t, "NewClient error", err.Error())
	}

	garbage := []string{
		"",
		"   ",
		"not a url",
		"api.dialnexa.com/v1",
		"//api.dialnexa.com/v1",
		"ftp://api.dialnexa.com/v1",
		"ws://127.0.0.1:1",
		"file:///etc/passwd",
		"javascript:alert(1)",
		"https://",
		"https:///v1",
		"http://:8080",
		"https://:8443/v1",
		"://x",
		"https://exa mple.com",
		"http://[::1",
		"https://api.dialnexa.com/v1?token=x",
		"https://api.dialnexa.com/v1#frag",
		"https://api.dialnexa.com:port/v1",
	}
	for _, u := range garbage {
		if _, err := NewClient(&http.Client{}, u, Secret(testKey), testUA); err == nil {
			t.Errorf("NewClient(%q) accepted garbage", u)
		}
	}

	// An unusable URL that happens to hold the key must not echo it.
	for _, u := range []string{"ftp://x/" + testKey, "http://example.com/?k=" + testKey, "https://h/%zz" + testKey} {
		if _, err := NewClient(&http.Client{}, u, Secret(testKey), testUA); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		} else {
			assertNoKey(t, "NewClient error", err.Error())
		}
	}
}

func TestClientNewClientCopiesHTTPClient(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: 3 * time.Second}
	c, err := NewClient(hc, "https://api.dialnexa.com/v1", Secret(testKey), testUA)
	if err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil {
		t.Error("NewClient changed the caller's http.Client")
	}
	if c.http == hc || c.http.Timeout != hc.Timeout {
		t.Error("the client does not use a copy of the caller's http.Client")
	}
}

func TestClientPatchNoRedirect(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var elsewhere, sameHostTarget atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
				if strings.Contains(r.Header.Get("Authorization"), testSecretHalf) {
					t.Errorf("the key travelled to the redirect target")
				}
			}))
			defer other.Close()
			var otherURL atomic.Pointer[string]
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved" {
					sameHostTarget.Add(1)
					return
				}
				w.Header().Set("Location", *otherURL.Load())
				w.Header().Set("X-Request-Id", "req_redir")
				w.WriteHeader(status)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL)

			for _, target := range []string{other.URL + "/organization-phone-numbers/phn_1", srv.URL + "/moved"} {
				otherURL.Store(&target)
				ans, err := c.Patch(context.Background(), "phn_1", []byte(`{"agent_id":"agt_1"}`))
				if ans != nil {
					t.Errorf("Patch returned an answer for a %d: %+v", status, ans)
				}
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want *APIError", err)
				}
				if apiErr.StatusCode != status || apiErr.RequestID != "req_redir" {
					t.Errorf("APIError = %+v, want status %d", apiErr, status)
				}
				if !strings.Contains(apiErr.Message, "not followed") {
					t.Errorf("message = %q, want it to say the redirect was not followed", apiErr.Message)
				}
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect target on another server got %d requests", n)
			}
			if n := sameHostTarget.Load(); n != 0 {
				t.Errorf("the redirect target on the same server got %d requests", n)
			}
		})
	}
}

// countingReader is a body far over MaxBody (16 MiB, so that a client without a limit
// fails the test rather than hangs) that counts the bytes handed out.
type countingReader struct {
	n    atomic.Int64
	fill byte
}

const countingReaderSize = 16 << 20

func (r *countingReader) Read(p []byte) (int, error) {
	left := countingReaderSize - r.n.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	for i := range p {
		p[i] = r.fill
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClientPatchBodyBoundExact(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 400, 502} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			body := &countingReader{fill: 'x'}
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: status, Status: fmt.Sprint(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
					Header:  http.Header{"Content-Type": {"application/json"}},
					Body:    io.NopCloser(body),
					Request: r, ContentLength: -1,
				}, nil
			})}
			c, err := NewClient(hc, "https://api.dialnexa.com/v1", Secret(testKey), testUA)
			if err != nil {
				t.Fatal(err)
			}
			ans, err := c.Patch(context.Background(), "phn_1", []byte(`{}`))
			if n := body.n.Load(); n > MaxBody+1 {
				t.Errorf("read %d bytes of the body, want at most MaxBody+1 = %d", n, MaxBody+1)
			}
			if status == 200 {
				if err != nil || ans == nil || ans.Note == "" {
					t.Fatalf("Patch = %+v, %v; want an answer with a note", ans, err)
				}
				if !strings.Contains(ans.Note, "1 MiB") {
					t.Errorf("note = %q", ans.Note)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("err = %v, want a %d *APIError", err, status)
			}
			if !strings.Contains(apiErr.Message, "1 MiB") {
				t.Errorf("message = %q", apiErr.Message)
			}
		})
	}
}

func TestClientPatchBodyBoundServer(t *testing.T) {
	t.Parallel()
	// A real server that streams a body with no Content-Length, far over MaxBody (64 MiB
	// at most, so that a client without a limit fails rather than hangs): Patch must
	// come back at once, well before the context deadline, and without a panic.
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	for _, status := range []int{200, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var written atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				io.WriteString(w, `{"message":"`)
				for r.Context().Err() == nil && written.Load() < 64<<20 {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			ans, err := newTestClient(t, srv.URL).Patch(ctx, "phn_1", []byte(`{}`))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Patch took %v on an endless body", d)
			}
			if ctx.Err() != nil {
				t.Fatalf("Patch waited for the deadline: %v", err)
			}
			if status == 200 {
				if err != nil || ans == nil || !strings.Contains(ans.Note, "1 MiB") {
					t.Fatalf("Patch = %+v, %v; want an answer noting the body is over 1 MiB", ans, err)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "1 MiB") {
				t.Fatalf("err = %v, want a 400 *APIError noting the body is over 1 MiB", err)
			}
		})
	}
}

func TestClientPatchBodyBoundEdge(t *testing.T) {
	t.Parallel()
	// A body of exactly MaxBody bytes is read in full; one byte more is not.
	exact := func(size int) string {
		head, tail := `{"id":"phn_1","agent_id":"agt_big","pad":"`, `"}`
		return head + strings.Repeat("p", size-len(head)-len(tail)) + tail
	}
	for _, tc := range []struct {
		size     int
		wantNote bool
	}{{MaxBody, false}, {MaxBody + 1, true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, exact(tc.size))
		}))
		ans, err := newTestClient(t, srv.URL).Patch(context.Background(), "phn_1", []byte(`{}`))
		srv.Close()
		if err != nil {
			t.Fatalf("size %d: %v", tc.size, err)
		}
		if (ans.Note != "") != tc.wantNote {
			t.Errorf("size %d: note = %q, want note: %v", tc.size, ans.Note, tc.wantNote)
		}
		if !tc.wantNote && ans.Number.AgentID != "agt_big" {
			t.Errorf("size %d: agent = %q", tc.size, ans.Number.AgentID)
		}
	}
}

func TestClientPatchAnswers(t *testing.T) {
	t.Parallel()
	type want struct {
		status   int
		errPart  string // substring of APIError.Message; "" means no error expected
		errExact string // exact APIError.Error(), when set
		noteSet  bool
		agent    string
		nickname string
	}
	cases := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   want
	}{
		{"html 502 from a proxy", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
			want{status: 502, errPart: "not the API's JSON error (text/html"}},
		{"empty 500", 500, "", "", want{status: 500, errPart: "empty answer body"}},
		{"blank 503", 503, "application/json", " \n ", want{status: 503, errPart: "empty answer body"}},
		{"truncated JSON 400", 400, "application/json", `{"statusCode":400,"message":["agent_id must`,
			want{status: 400, errPart: "not the API's JSON error (application/json"}},
		{"list message", 400, "application/json", `{"statusCode":400,"message":["nickname must be shorter than or equal to 255 characters","agent_id must be a string"],"error":"Bad Request"}`,
			want{status: 400, errExact: "400 Bad Request: nickname must be shorter than or equal to 255 characters; agent_id must be a string"}},
		{"string message", 404, "application/json", `{"statusCode":404,"message":"Phone number not found","error":"Not Found"}`,
			want{status: 404, errExact: "404 Not Found: Phone number not found"}},
		{"only error", 409, "application/json", `{"statusCode":409,"error":"Conflict"}`,
			want{status: 409, errExact: "409 Conflict"}},
		{"null message", 422, "application/json", `{"statusCode":422,"message":null,"error":"Unprocessable Entity"}`,
			want{status: 422, errExact: "422 Unprocessable Entity"}},
		{"other JSON", 403, "application/json", `{"detail":"nope"}`,
			want{status: 403, errPart: "not the API's JSON error"}},
		{"unknown status", 599, "application/json", `{"message":"odd"}`,
			want{status: 599, errExact: "599: odd"}},
		{"200 agent_id", 200, "application/json", `{"id":"phn_1","phone_number":"+912234567890","label":"Main","agent_id":"agt_abc123","status":"active","nickname":"Sales Line"}`,
			want{status: 200, agent: "agt_abc123", nickname: "Sales Line"}},
		{"200 inbound_agent_id", 200, "application/json", `{"id":"phn_1","phone_number":"+912234567890","nickname":"Mumbai Support","inbound_agent_id":"agent_2g7Xy3tY53gRlp"}`,
			want{status: 200, agent: "agent_2g7Xy3tY53gRlp", nickname: "Mumbai Support"}},
		{"200 agent_id null", 200, "application/json", `{"id":"phn_1","agent_id":null,"nickname":null}`,
			want{status: 200}},
		{"201 created", 201, "application/json", `{"id":"phn_1","agent_id":"agt_x"}`,
			want{status: 201, agent: "agt_x"}},
		{"200 empty", 200, "application/json", "", want{status: 200, noteSet: true}},
		{"204", 204, "", "", want{status: 204, noteSet: true}},
		{"200 truncated", 200, "application/json", `{"id":"phn_1","agent_id":"agt_`, want{status: 200, noteSet: true}},
		{"200 html", 200, "text/html", "<html>ok</html>", want{status: 200, noteSet: true}},
		{"200 agent_id a number", 200, "application/json", `{"id":"phn_1","agent_id":42}`, want{status: 200, noteSet: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPatch || r.Header.Get("Authorization") != "Bearer "+testKey {
					t.Errorf("bad request: %s %v", r.Method, r.Header)
				}
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.Header().Set("X-Request-Id", "req_"+fmt.Sprint(tc.status))
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			ans, err := newTestClient(t, srv.URL).Patch(context.Background(), "phn_1", []byte(`{"agent_id":"agt_1"}`))
			wantReq := "req_" + fmt.Sprint(tc.status)
			if tc.want.errPart != "" || tc.want.errExact != "" {
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v (answer %+v), want *APIError", err, ans)
				}
				if ans != nil {
					t.Errorf("answer %+v alongside an error", ans)
				}
				if apiErr.StatusCode != tc.want.status || apiErr.RequestID != wantReq {
					t.Errorf("APIError = %+v", apiErr)
				}
				if tc.want.errPart != "" && !strings.Contains(apiErr.Message, tc.want.errPart) {
					t.Errorf("message = %q, want it to contain %q", apiErr.Message, tc.want.errPart)
				}
				if tc.want.errExact != "" && apiErr.Error() != tc.want.errExact {
					t.Errorf("Error() = %q, want %q", apiErr.Error(), tc.want.errExact)
				}
				if strings.Contains(apiErr.Message, "<") || strings.Contains(apiErr.Message, "nginx") {
					t.Errorf("message copies the raw body: %q", apiErr.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want an answer", err)
			}
			if ans.StatusCode != tc.want.status || ans.RequestID != wantReq {
				t.Errorf("answer = %+v", ans)
			}
			if (ans.Note != "") != tc.want.noteSet {
				t.Errorf("note = %q, want set: %v", ans.Note, tc.want.noteSet)
			}
			if ans.Number.AgentID != tc.want.agent || ans.Number.Nickname != tc.want.nickname {
				t.Errorf("number = %+v, want agent %q nickname %q", ans.Number, tc.want.agent, tc.want.nickname)
			}
		})
	}
}

func TestClientPatchRetryAfterKept(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"statusCode":429,"message":"ThrottlerException: Too Many Requests","error":"Too Many Requests"}`)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL).Patch(context.Background(), "phn_1", []byte(`{}`))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != 7*time.Second {
		t.Fatalf("err = %#v, want a 429 with Retry-After 7", err)
	}
}

func TestClientPatchTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	base := srv.URL
	srv.Close() // nothing listens any more
	c := newTestClient(t, base)
	ans, err := c.Patch(context.Background(), "phn_1", []byte(`{}`))
	var apiErr *APIError
	if err == nil || ans != nil || errors.As(err, &apiErr) {
		t.Fatalf("Patch = %+v, %v; want a transport error", ans, err)
	}
	var te *TransportError
	if !errors.As(err, &te) {
		t.Errorf("err = %T, want a *TransportError", err)
	}

	// A server that never answers: the context deadline ends the request.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newTestClient(t, slow.URL).Patch(ctx, "phn_1", []byte(`{}`))
	if err == nil || errors.As(err, &apiErr) || !errors.As(err, &te) {
		t.Errorf("timeout: err = %v, want a transport error", err)
	}
	// The redacted text keeps its cause: a timeout is still a timeout.
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: errors.Is(%v, context.DeadlineExceeded) = false", err)
	}
}

func TestClientKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request, status int) {
		auth := r.Header.Get("Authorization")
		key := strings.TrimPrefix(auth, "Bearer ")
		_, secret, _ := strings.Cut(key, ":")
		w.Header().Set("X-Request-Id", "req-"+key+"-"+secret)
		w.Header().Set("Retry-After", key)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		msg, _ := json.Marshal([]string{"invalid token " + auth, "secret " + secret})
		fmt.Fprintf(w, `{"statusCode":%d,"message":%s,"error":%q,"id":%q,"agent_id":%q,"nickname":%q,"label":%q,"phone_number":%q}`,
			status, msg, key, key, secret, "nick "+secret, key, secret)
	}
	log := &bytes.Buffer{}
	logger := zerolog.New(log)
	for _, status := range []int{401, 400, 429, 302, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echo(w, r, status) }))
			defer srv.Close()
			ans, err := newTestClient(t, srv.URL).Patch(context.Background(), "phn_1", []byte(`{}`))
			if status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				assertNoKey(t, "answer", fmt.Sprintf("%+v %#v", ans, ans))
				logger.Info().Interface("answer", ans).Str("note", ans.Note).Msg("done")
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v", err)
			}
			if status != 302 && !strings.Contains(apiErr.Message, "[redacted]") {
				t.Errorf("message %q should keep the echo, redacted", apiErr.Message)
			}
			assertNoKey(t, "error", err.Error())
			assertNoKey(t, "APIError fields", fmt.Sprintf("%q %q", apiErr.Message, apiErr.RequestID))
			assertNoKey(t, "formatted error", fmt.Sprintf("%v %+v %#v", err, err, *apiErr))
			logger.Error().Err(err).Interface("api", apiErr).Str("request_id", apiErr.RequestID).Msg("failed")
		})
	}
	assertNoKey(t, "log", log.String())

	// A transport error whose text carries the key.
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy refused %q (secret %s)", r.Header.Get("Authorization"), testSecretHalf)
	})}
	c, err := NewClient(hc, "https://api.dialnexa.com/v1", Secret(testKey), testUA)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patch(context.Background(), "phn_1", []byte(`{}`))
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(err.Error(), "proxy refused") {
		t.Errorf("error lost its cause: %v", err)
	}
	assertNoKey(t, "transport error", fmt.Sprintf("%v %+v %#v", err, err, err))

	// A base URL path holding the key (a mistake an operator could make) and nothing
	// listening: the dial error names the URL.
	c = newTestClient(t, "http://127.0.0.1:1/"+testKey)
	_, err = c.Patch(context.Background(), "phn_1", []byte(`{}`))
	if err == nil {
		t.Fatal("want an error")
	}
	assertNoKey(t, "dial error", err.Error())

	// The client itself, printed by mistake.
	c = newTestClient(t, "https://api.dialnexa.com/v1")
	assertNoKey(t, "client", fmt.Sprintf("%v %+v %#v", c, c, *c))
	logger.Info().Interface("client", c).Msg("x")
	assertNoKey(t, "log", log.String())
}

func TestSecretFormatting(t *testing.T) {
	t.Parallel()
	s := Secret(testKey)
	type holder struct {
		Name string
		Key  Secret
		Ptr  *Secret
	}
	h := holder{Name: "cfg", Key: s, Ptr: &s}
	outs := map[string]string{
		"verbs":       fmt.Sprintf("%v %s %+v %#v %q %x %X %d %10s %-4v", s, s, s, s, s, s, s, s, s, s),
		"pointer":     fmt.Sprintf("%v %s", &s, &s),
		"struct":      fmt.Sprintf("%v %+v %#v %s", h, h, h, h),
		"struct ptr":  fmt.Sprintf("%v %+v %#v", &h, &h, &h),
		"slice/map":   fmt.Sprintf("%v %+v %#v", []Secret{s}, map[string]Secret{"k": s}, map[Secret]int{s: 1}),
		"interface":   fmt.Sprint(any(s)),
		"Sprintln":    fmt.Sprintln(s, h),
		"String":      s.String(),
		"GoString":    s.GoString(),
		"error wrap":  fmt.Errorf("key %v: %w", s, errors.New("x")).Error(),
		"any in list": fmt.Sprint([]any{s, h}),
	}
	for name, out := range outs {
		assertNoKey(t, name, out)
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s: %q does not say [redacted]", name, out)
		}
	}

	// Not covered: a map keyed by Secret. encoding/json writes string-kind map keys as
	// they are, without MarshalText, so such a map would show the key.
	js, err := json.Marshal(map[string]any{"key": s, "holder": h, "list": []Secret{s}, "values": map[string]Secret{"k": s}})
	if err != nil {
		t.Fatal(err)
	}
	assertNoKey(t, "json", string(js))
	if !strings.Contains(string(js), `"Key":"[redacted]"`) {
		t.Errorf("json = %s", js)
	}

	var log bytes.Buffer
	zl := zerolog.New(&log)
	zl.Info().
		Interface("key", s).
		Any("holder", h).
		Stringer("str", s).
		Str("sprint", fmt.Sprint(s)).
		Msgf("key %v %s", s, s)
	assertNoKey(t, "zerolog", log.String())
	if !strings.Contains(log.String(), `"key":"[redacted]"`) {
		t.Errorf("zerolog = %s", log.String())
	}

	// The conversion back to a string is deliberate and keeps the key usable.
	if string(s) != testKey {
		t.Error("Secret lost its value")
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	key := Secret(testKey)
	cases := []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"Bearer " + testKey, "Bearer [redacted]"},
		{"secret " + testSecretHalf + " twice " + testSecretHalf, "secret [redacted] twice [redacted]"},
		{testKey + testKey, "[redacted][redacted]"},
		{"id key_7Hq2 is public", "id key_7Hq2 is public"},
	}
	for _, tc := range cases {
		if got := Redact(tc.in, key); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Redact("abc", ""); got != "abc" {
		t.Errorf("empty key: %q", got)
	}
	// A key without a colon is redacted whole.
	if got := Redact("x plainkey123 y", "plainkey123"); got != "x [redacted] y" {
		t.Errorf("plain key: %q", got)
	}
	// A secret half too short to be told from ordinary text is not redacted alone, but
	// the whole key still is.
	if got := Redact("id:ab and ab", "id:ab"); got != "[redacted] and ab" {
		t.Errorf("short secret: %q", got)
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		e    APIError
		want string
	}{
		{APIError{StatusCode: 404}, "404 Not Found"},
		{APIError{StatusCode: 404, Message: "Not Found"}, "404 Not Found"},
		{APIError{StatusCode: 400, Message: "a; b"}, "400 Bad Request: a; b"},
		{APIError{StatusCode: 302, Message: "redirect to https://x/ not followed"}, "302 Found: redirect to https://x/ not followed"},
		{APIError{StatusCode: 499}, "499"},
		{APIError{StatusCode: 499, Message: "client closed"}, "499: client closed"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
	var err error = fmt.Errorf("row 3: %w", &APIError{StatusCode: 429})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Error("APIError does not unwrap through %w")
	}
}

func TestPhoneNumberUnmarshal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    PhoneNumber
		wantErr bool
	}{
		{`{"id":"phn_1","phone_number":"+1","agent_id":"agt_1","nickname":"N","label":"L"}`, PhoneNumber{ID: "phn_1", PhoneNumber: "+1", AgentID: "agt_1", Nickname: "N", Label: "L"}, false},
		{`{"id":"phn_1","inbound_agent_id":"agent_2g7Xy3tY53gRlp"}`, PhoneNumber{ID: "phn_1", AgentID: "agent_2g7Xy3tY53gRlp"}, false},
		{`{"agent_id":"agt_a","inbound_agent_id":"agt_b"}`, PhoneNumber{AgentID: "agt_a"}, false},
		{`{"agent_id":null}`, PhoneNumber{}, false},
		{`{"inbound_agent_id":null,"nickname":null,"label":null}`, PhoneNumber{}, false},
		{`{}`, PhoneNumber{}, false},
		{`{"agent_id":42}`, PhoneNumber{}, true},
		{`{"agent_id":{"id":"agt_1"}}`, PhoneNumber{}, true},
		{`{"id":7}`, PhoneNumber{}, true},
		{`[]`, PhoneNumber{}, true},
		{`{"agent_id":"agt_`, PhoneNumber{}, true},
	}
	for _, tc := range cases {
		var p PhoneNumber
		err := json.Unmarshal([]byte(tc.in), &p)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error: %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && p != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.in, p, tc.want)
		}
	}
	// Decoding into a used value replaces it.
	p := PhoneNumber{ID: "old", AgentID: "old", Nickname: "old"}
	if err := json.Unmarshal([]byte(`{"id":"new"}`), &p); err != nil || p != (PhoneNumber{ID: "new"}) {
		t.Errorf("reuse: %+v, %v", p, err)
	}
}
