package pace

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"reassign/job/dialnexa"
)

// Backoff settings (docs/rate-and-retries.md).
const (
	BackoffBase   = 500 * time.Millisecond
	BackoffCap    = 30 * time.Second
	RetryAfterCap = 60 * time.Second
)

// RetryableStatus reports whether an answer with this status is worth another attempt:
// the request may succeed later.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, // 408
		http.StatusTooManyRequests,     // 429: rate limited
		http.StatusInternalServerError, // 500
		http.StatusBadGateway,          // 502: a proxy lost the upstream
		http.StatusServiceUnavailable,  // 503
		http.StatusGatewayTimeout:      // 504
		return true
	}
	return false
}

// Retryable decides whether an attempt that ended with err (nil, an *APIError or a
// transport error) is worth repeating. Any transport error is: the PATCH sets absolute
// values, so sending it twice is safe.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if apiErr, ok := errors.AsType[*dialnexa.APIError](err); ok {
		return RetryableStatus(apiErr.StatusCode)
	}
	return true
}

// Retrier sends one request until it is answered for good: every attempt (retries
// included) waits for a free slot, if Slots is set, and at the shared Gate; each answer
// is given back to the Gate; an attempt that Retryable accepts is repeated after
// Backoff, up to MaxAttempts. The writes of a run and the reads before it share it.
type Retrier struct {
	Gate        *Gate
	MaxAttempts int
	// Slots, if set, bounds the requests in flight: an attempt holds a slot from before
	// its wait at the gate to its answer, never while it waits out a backoff.
	Slots chan struct{}
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func(n int64) int64 // uniform in [0, n), safe for concurrent use
	Log   zerolog.Logger
	// Requests, if set, counts every attempt by its answer.
	Requests *Requests
}

// Tries is what Do did.
type Tries struct {
	Attempts int   // requests sent
	Err      error // the last attempt's error; nil when it succeeded
	// Stopped is set when ctx ended while waiting to send an attempt: Err is then the
	// attempt before's (nil if none was sent).
	Stopped bool
}

// Do calls try, one request per call, until it returns nil or an error not worth
// repeating, MaxAttempts are spent, or ctx or reqCtx ends. Waits (slot, gate, backoff)
// end with ctx; the request itself is given reqCtx, so that a stopping run can let the
// requests in flight finish. try returns what a 2xx answer stated of the API's rate
// budget (an *APIError carries its own). about adds the row or read concerned to the
// debug event logged before each retry.
func (r *Retrier) Do(ctx, reqCtx context.Context, about func(*zerolog.Event) *zerolog.Event, try func(ctx context.Context) (dialnexa.Budget, error)) Tries {
	var t Tries
	for attempt := 1; attempt <= r.MaxAttempts; attempt++ {
		if r.Slots != nil {
			select {
			case r.Slots <- struct{}{}:
			case <-ctx.Done():
				t.Stopped = true
				return t
			}
		}
		tk, err := r.Gate.Wait(ctx)
		if err != nil {
			r.release()
			t.Stopped = true
			return t
		}
		t.Attempts++
		var rep Reply
		rep.Budget, t.Err = try(reqCtx)
		r.Requests.Add(t.Err)
		if t.Err == nil {
			rep.Status = http.StatusOK
		} else if apiErr, ok := errors.AsType[*dialnexa.APIError](t.Err); ok {
			rep = Reply{Status: apiErr.StatusCode, RetryAfter: apiErr.RetryAfter, Budget: apiErr.Budget}
		}
		r.Gate.Done(tk, rep)
		r.release()
		if !Retryable(t.Err) || attempt == r.MaxAttempts || reqCtx.Err() != nil {
			return t
		}
		wait := Backoff(attempt, rep.RetryAfter, r.Rand)
		about(r.Log.Debug()).Str("event", "retry").Int("attempt", attempt).Str("error", t.Err.Error()).
			Dur("retry_in", wait).Msg("retrying")
		if r.Sleep(ctx, wait) != nil {
			t.Stopped = true
			return t
		}
	}
	return t
}

func (r *Retrier) release() {
	if r.Slots != nil {
		<-r.Slots
	}
}

// SleepContext waits d, or until ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
