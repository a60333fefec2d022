package pace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"reassign/job/dialnexa"
)

func TestRetryable(t *testing.T) {
	api := func(code int) error { return &dialnexa.APIError{StatusCode: code, Message: "x"} }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"408", api(408), true},
		{"429", api(429), true},
		{"500", api(500), true},
		{"502", api(502), true},
		{"503", api(503), true},
		{"504", api(504), true},
		{"wrapped 503", fmt.Errorf("attempt 2: %w", api(503)), true},
		{"400", api(400), false},
		{"401", api(401), false},
		{"403", api(403), false},
		{"404", api(404), false},
		{"409", api(409), false},
		{"410", api(410), false},
		{"422", api(422), false},
		{"wrapped 404", fmt.Errorf("row: %w", api(404)), false},
		{"301", api(301), false},
		{"302", api(302), false},
		{"303", api(303), false},
		{"304", api(304), false},
		{"307", api(307), false},
		{"308", api(308), false},
		{"200 as error", api(200), false},
		{"connection refused", &url.Error{Op: "Patch", URL: "https://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, true},
		{"connection reset", errors.New(`Patch "https://x": read tcp: connection reset by peer`), true},
		{"EOF", &url.Error{Op: "Patch", URL: "https://x", Err: io.EOF}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"deadline", context.DeadlineExceeded, true},
		{"client timeout", &url.Error{Op: "Patch", URL: "https://x", Err: errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")}, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "api.dialnexa.com"}, true},
	}
	for _, tc := range cases {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	// Every 4xx but 408 and 429 is final.
	for code := 400; code < 500; code++ {
		want := code == 408 || code == 429
		if got := Retryable(api(code)); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
	for code := 300; code < 400; code++ {
		if Retryable(api(code)) {
			t.Errorf("Retryable(%d) = true", code)
		}
	}
}

func TestBackoff(t *testing.T) {
	var calls []int64
	maxRnd := func(n int64) int64 {
		calls = append(calls, n)
		if n <= 0 {
			t.Fatalf("rnd called with n = %d (rand.Int64N panics)", n)
		}
		return n - 1
	}
	minRnd := func(n int64) int64 {
		if n <= 0 {
			t.Fatalf("rnd called with n = %d (rand.Int64N panics)", n)
		}
		return 0
	}
	ceilings := []struct {
		attempt int
		ceiling time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 8 * time.Second},
		{6, 16 * time.Second},
		{7, 30 * time.Second},
		{8, 30 * time.Second},
		{15, 30 * time.Second},
		{16, 30 * time.Second},
		{17, 30 * time.Second},
		{33, 30 * time.Second},
		{63, 30 * time.Second},
		{64, 30 * time.Second},
		{65, 30 * time.Second},
		{1000, 30 * time.Second},
		{math.MaxInt32, 30 * time.Second},
		{math.MaxInt, 30 * time.Second},
		{0, 500 * time.Millisecond},
		{-1, 500 * time.Millisecond},
		{math.MinInt, 500 * time.Millisecond},
	}
	for _, tc := range ceilings {
		calls = calls[:0]
		got := Backoff(tc.attempt, 0, maxRnd)
		// Full jitter reaches the ceiling (or one tick under it, for a [0, ceiling) draw).
		if got > tc.ceiling || got < tc.ceiling-time.Nanosecond {
			t.Errorf("Backoff(%d) max = %v, want the ceiling %v", tc.attempt, got, tc.ceiling)
		}
		if len(calls) != 1 {
			t.Errorf("Backoff(%d) called rnd %d times", tc.attempt, len(calls))
		}
		if got := Backoff(tc.attempt, 0, minRnd); got != 0 {
			t.Errorf("Backoff(%d) min = %v, want 0 (full jitter)", tc.attempt, got)
		}
	}

	// Retry-After wins when it is longer than the drawn wait, and is capped at 60 s.
	ra := []struct {
		attempt    int
		retryAfter time.Duration
		rnd        func(int64) int64
		want       time.Duration
	}{
		{1, 3 * time.Second, maxRnd, 3 * time.Second},
		{1, 3 * time.Second, minRnd, 3 * time.Second},
		{5, time.Second, maxRnd, 8 * time.Second},
		{5, time.Second, minRnd, time.Second},
		{7, 45 * time.Second, maxRnd, 45 * time.Second},
		{7, 60 * time.Second, maxRnd, 60 * time.Second},
		{7, 90 * time.Second, maxRnd, RetryAfterCap},
		{1, time.Hour, minRnd, RetryAfterCap},
		{1, time.Duration(math.MaxInt64), minRnd, RetryAfterCap},
		{3, -5 * time.Second, minRnd, 0},
		{3, -5 * time.Second, maxRnd, 2 * time.Second},
		{0, 0, minRnd, 0},
	}
	for _, tc := range ra {
		got := Backoff(tc.attempt, tc.retryAfter, tc.rnd)
		if d := got - tc.want; d < -time.Nanosecond || d > 0 {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}

	// With the real generator every wait is within [0, ceiling] and the draws spread.
	for attempt := 1; attempt <= 10; attempt++ {
		ceiling := min(BackoffCap, BackoffBase<<(attempt-1))
		var lo, hi time.Duration = ceiling, 0
		for range 2000 {
			d := Backoff(attempt, 0, rand.Int64N)
			if d < 0 || d > ceiling {
				t.Fatalf("Backoff(%d) = %v outside [0, %v]", attempt, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("Backoff(%d) draws span [%v, %v] of [0, %v]: not full jitter", attempt, lo, hi, ceiling)
		}
	}
}

// A Retry-After of any length waits at most 60 s.
func TestBackoffLongRetryAfter(t *testing.T) {
	for _, ra := range []time.Duration{24 * time.Hour, time.Duration(math.MaxInt64)} {
		if got := Backoff(1, ra, rand.Int64N); got != RetryAfterCap {
			t.Errorf("Retry-After %v: wait %v, want %v", ra, got, RetryAfterCap)
		}
	}
}

// TestRequestsCountsEveryAttempt: the Retrier counts each attempt by its answer, the
// retried ones included.
func TestRequestsCountsEveryAttempt(t *testing.T) {
	answers := []error{
		&dialnexa.TransportError{},
		&dialnexa.APIError{StatusCode: http.StatusBadGateway},
		nil,
		&dialnexa.APIError{StatusCode: http.StatusNotFound}, // not retried: a second Do
		errors.New("list page is not the documented JSON"),  // a 2xx whose body was unusable
		&dialnexa.APIError{StatusCode: http.StatusFound},
		// Last: a 429 holds the shared gate, which would make later attempts wait.
		&dialnexa.APIError{StatusCode: http.StatusTooManyRequests},
	}
	reqs := &Requests{}
	rt := Retrier{
		Gate: NewGate(0, 1, time.Now), MaxAttempts: 4,
		Sleep: func(context.Context, time.Duration) error { return nil }, Rand: func(n int64) int64 { return 0 },
		Log: zerolog.Nop(), Requests: reqs,
	}
	next := 0
	try := func(context.Context) (dialnexa.Budget, error) { next++; return dialnexa.Budget{}, answers[next-1] }
	about := func(e *zerolog.Event) *zerolog.Event { return e }
	for next < len(answers) {
		if next == len(answers)-1 {
			rt.MaxAttempts = 1 // the 429 is not retried: the script ends with it
		}
		rt.Do(context.Background(), context.Background(), about, try)
	}
	want := map[string]int64{"total": 7, "2xx": 2, "3xx": 1, "4xx": 2, "5xx": 1, "no_answer": 1}
	got := reqs.ByClass()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	if reqs.Throttled() != 1 {
		t.Errorf("throttled %d, want 1", reqs.Throttled())
	}
	var none *Requests
	none.Add(nil) // a nil counter counts nothing, and says so
	if none.ByClass()["total"] != 0 || none.Throttled() != 0 {
		t.Error("a nil Requests counted")
	}
}
