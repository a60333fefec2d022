package job

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff settings of the contract (§4).
const (
	BackoffBase   = 500 * time.Millisecond
	BackoffCap    = 30 * time.Second
	RetryAfterCap = 60 * time.Second
)

// retryStatus lists the answers worth another attempt: the request may succeed later.
var retryStatus = map[int]bool{
	http.StatusRequestTimeout:      true, // 408
	http.StatusTooManyRequests:     true, // 429: rate limited
	http.StatusInternalServerError: true, // 500
	http.StatusBadGateway:          true, // 502: a proxy lost the upstream
	http.StatusServiceUnavailable:  true, // 503
	http.StatusGatewayTimeout:      true, // 504
}

// Retryable decides whether an attempt that ended with err (nil, an *APIError or a
// transport error) is worth repeating. Any transport error is: the PATCH sets absolute
// values, so sending it twice is safe.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retryStatus[apiErr.StatusCode]
	}
	return true
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date, relative to
// now. It reports false for an absent or unreadable value; a date in the past is 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || secs < 0 {
			return 0, false
		}
		if secs > RetryAfterCap.Seconds() {
			return RetryAfterCap, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// Backoff is the wait before attempt+1, after attempt (1-based) failed: exponential
// with full jitter (rnd returns a value in [0, n)), or retryAfter if that is longer,
// never more than RetryAfterCap.
func Backoff(attempt int, retryAfter time.Duration, rnd func(n int64) int64) time.Duration {
	ceiling := BackoffCap
	if attempt < 1 {
		attempt = 1
	}
	if attempt < 16 {
		ceiling = min(BackoffCap, BackoffBase<<(attempt-1))
	}
	d := time.Duration(rnd(int64(ceiling) + 1))
	return min(max(d, retryAfter), RetryAfterCap)
}
