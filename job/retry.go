package job

import (
	"errors"
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

// ParseRetryAfter reads a Retry-After header: delay-seconds (RFC 9110: ASCII digits; a
// decimal fraction such as "1.5" is tolerated) or an HTTP date, relative to now. It
// reports false for an absent or unreadable value (a sign, an exponent, "Inf"); a date in
// the past is 0. Either form is capped at RetryAfterCap, however far off it points.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseDelaySeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now) // saturates at the extremes of time.Duration
	return min(max(d, 0), RetryAfterCap), true
}

// parseDelaySeconds reads 1*DIGIT ["." 1*DIGIT], capped at RetryAfterCap: an overlong
// run of digits is a long wait, not an unreadable one.
func parseDelaySeconds(v string) (time.Duration, bool) {
	whole, frac, hasFrac := strings.Cut(v, ".")
	if !allDigits(whole) || (hasFrac && !allDigits(frac)) {
		return 0, false
	}
	whole = strings.TrimLeft(whole, "0")
	capSecs := int64(RetryAfterCap / time.Second)
	if len(whole) > len(strconv.FormatInt(capSecs, 10)) {
		return RetryAfterCap, true
	}
	secs, _ := strconv.ParseInt("0"+whole, 10, 64)
	if secs >= capSecs {
		return RetryAfterCap, true
	}
	d := time.Duration(secs) * time.Second
	for i, scale := 0, time.Second/10; i < len(frac) && scale > 0; i, scale = i+1, scale/10 {
		d += time.Duration(frac[i]-'0') * scale
	}
	return d, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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
