package job

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// PageSize is the page the snapshot and the export ask for: the API's maximum.
const PageSize = 100

// Reader reads the workspace; *Client is the real one.
type Reader interface {
	ListNumbers(ctx context.Context, page, limit int, f ListFilter) (*NumberPage, error)
	ListAgents(ctx context.Context) ([]string, error)
}

var _ Reader = (*Client)(nil)

// Current is a number's state before the run: "" means none (no agent, no nickname,
// no label).
type Current struct {
	AgentID, Nickname, Label string
}

// Snapshot is the workspace's numbers as read before the first write.
type Snapshot struct {
	numbers map[string]Current
	// Requests is how many list pages it took.
	Requests int
	// Seen is how many numbers the workspace listed, kept or not.
	Seen int
}

// Get returns the state of number id before the run.
func (s *Snapshot) Get(id string) (Current, bool) {
	if s == nil {
		return Current{}, false
	}
	c, ok := s.numbers[id]
	return c, ok
}

// Len is the number of numbers kept.
func (s *Snapshot) Len() int { return len(s.numbers) }

// NoOp reports whether row would leave a number in state c unchanged.
func NoOp(row Row, c Current) bool {
	same := func(f Field, cur string) bool {
		switch {
		case !f.Set():
			return true
		case f.Null:
			return cur == ""
		default:
			return f.Raw == cur
		}
	}
	return same(row.AgentID, c.AgentID) && same(row.Nickname, c.Nickname) && same(row.Label, c.Label)
}

// EachNumber pages through the workspace's numbers (PageSize a page), calling fn for
// each, every read on the run's limiter and retry policy. It returns the pages read.
func (r *Runner) EachNumber(ctx context.Context, rd Reader, f ListFilter, fn func(PhoneNumber)) (int, error) {
	seen, requests := 0, 0
	for page := 1; ; page++ {
		var p *NumberPage
		err := r.retrying(ctx, "list numbers", func(ctx context.Context) error {
			requests++
			var err error
			p, err = rd.ListNumbers(ctx, page, PageSize, f)
			return err
		})
		if err != nil {
			return requests, err
		}
		for _, n := range p.Numbers {
			fn(n)
		}
		seen += len(p.Numbers)
		switch {
		case len(p.Numbers) < PageSize,
			p.TotalPages > 0 && page >= p.TotalPages,
			p.Total > 0 && seen >= p.Total:
			return requests, nil
		}
	}
}

// ReadSnapshot reads the current state of the numbers for which keep is true.
func (r *Runner) ReadSnapshot(ctx context.Context, rd Reader, keep func(id string) bool) (*Snapshot, error) {
	s := &Snapshot{numbers: map[string]Current{}}
	n, err := r.EachNumber(ctx, rd, ListFilter{}, func(p PhoneNumber) {
		s.Seen++
		if keep == nil || keep(p.ID) {
			s.numbers[p.ID] = Current{AgentID: p.AgentID, Nickname: p.Nickname, Label: p.Label}
		}
	})
	s.Requests = n
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ReadAgents returns the set of the workspace's agent ids.
func (r *Runner) ReadAgents(ctx context.Context, rd Reader) (map[string]bool, error) {
	var ids []string
	err := r.retrying(ctx, "list agents", func(ctx context.Context) error {
		var err error
		ids, err = rd.ListAgents(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set, nil
}

// retrying runs one read with the run's policy: each attempt waits on the shared
// limiter; 408/429/5xx and network errors are retried with backoff up to MaxAttempts.
func (r *Runner) retrying(ctx context.Context, what string, fn func(context.Context) error) error {
	var err error
	for attempt := 1; attempt <= r.MaxAttempts; attempt++ {
		if werr := r.Limiter.Wait(ctx); werr != nil {
			return werr
		}
		err = fn(ctx)
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		switch {
		case isAPI && apiErr.StatusCode == http.StatusTooManyRequests:
			r.Limiter.Throttled()
		case err == nil || isAPI:
			r.Limiter.Success()
		}
		if err == nil || !Retryable(err) || attempt == r.MaxAttempts {
			return err
		}
		var retryAfter time.Duration
		if isAPI {
			retryAfter, _ = ParseRetryAfter(apiErr.RetryAfter, r.Now())
		}
		wait := Backoff(attempt, retryAfter, r.Rand)
		r.Log.Debug().Str("event", "retry").Str("read", what).Int("attempt", attempt).
			Str("error", err.Error()).Dur("retry_in", wait).Msg("retrying a read")
		if serr := r.Sleep(ctx, wait); serr != nil {
			return serr
		}
	}
	return err
}
