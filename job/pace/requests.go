package pace

import (
	"errors"
	"fmt"
	"sync/atomic"

	"reassign/job/dialnexa"
)

// Requests counts the requests a run sent, by the class of their answer, and the 429s
// among them: the Retrier adds every attempt, writes and reads alike. It is safe for
// concurrent use; a nil *Requests counts nothing.
type Requests struct {
	// OnThrottled, if set, is called on every answer 429, from the goroutine that got it
	// (the HTML report's timeline counts them per second). Set it before the first Add.
	OnThrottled func()

	classes   [6]atomic.Int64 // [0]: no answer; [2]..[5]: 2xx..5xx; [1] unused
	throttled atomic.Int64
}

// Add counts one attempt that ended with err: nil or an error other than an
// *APIError or a *TransportError is a 2xx (the client's only other errors are 2xx
// bodies it could not read), an *APIError its status's class, a *TransportError no
// answer.
func (q *Requests) Add(err error) {
	if q == nil {
		return
	}
	// errors.AsType, unlike errors.As, costs no allocation: this runs once a request.
	if apiErr, ok := errors.AsType[*dialnexa.APIError](err); ok {
		// net/http passes on no 1xx as an answer; a status past 599 counts as a 5xx.
		q.classes[min(max(apiErr.StatusCode/100, 2), 5)].Add(1)
		if apiErr.StatusCode == 429 {
			q.throttled.Add(1)
			if q.OnThrottled != nil {
				q.OnThrottled()
			}
		}
		return
	}
	if _, ok := errors.AsType[*dialnexa.TransportError](err); ok {
		q.classes[0].Add(1)
		return
	}
	q.classes[2].Add(1)
}

// ByClass returns the counts so far: "total", "2xx", "3xx", "4xx", "5xx" and
// "no_answer" (connection failures, timeouts), each present.
func (q *Requests) ByClass() map[string]int64 {
	m := map[string]int64{"total": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "no_answer": 0}
	if q == nil {
		return m
	}
	m["no_answer"] = q.classes[0].Load()
	total := m["no_answer"]
	for class := 2; class <= 5; class++ {
		n := q.classes[class].Load()
		m[fmt.Sprintf("%dxx", class)] = n
		total += n
	}
	m["total"] = total
	return m
}

// Throttled is how many answers were 429 Too Many Requests.
func (q *Requests) Throttled() int64 {
	if q == nil {
		return 0
	}
	return q.throttled.Load()
}
