package pace_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// TestRequestsOnThrottled: the hook hears every 429 and nothing else, and the counts
// agree with it.
func TestRequestsOnThrottled(t *testing.T) {
	t.Parallel()
	var heard atomic.Int64
	q := &pace.Requests{OnThrottled: func() { heard.Add(1) }}
	for _, err := range []error{
		nil,
		&dialnexa.APIError{StatusCode: 429},
		&dialnexa.APIError{StatusCode: 503},
		&dialnexa.APIError{StatusCode: 429},
		&dialnexa.APIError{StatusCode: 404},
		errors.New("body unreadable"),
	} {
		q.Add(err)
	}
	if heard.Load() != 2 || q.Throttled() != 2 {
		t.Errorf("hook heard %d 429s, counted %d; want 2 and 2", heard.Load(), q.Throttled())
	}
	if by := q.ByClass(); by["4xx"] != 3 || by["5xx"] != 1 || by["2xx"] != 2 || by["total"] != 6 {
		t.Errorf("by class %v", by)
	}
	var none *pace.Requests
	none.Add(&dialnexa.APIError{StatusCode: 429}) // a nil counter counts nothing, and calls nothing
}
