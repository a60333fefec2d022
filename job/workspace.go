package job

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"

	"golang.org/x/sync/errgroup"
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

// Snapshot is the workspace's numbers as read before the first write. It is compact,
// for a million numbers: an index from the id's 64-bit hash into byte chunks holding the
// id and the three values, the id checked on every lookup (two ids sharing a hash are
// kept apart in a small map).
type Snapshot struct {
	index    map[uint64]uint32 // id hash -> offset of the entry (chunk<<20 | position)
	chunks   [][]byte
	shared   map[string]Current // ids whose hash another id has
	kept     int                // distinct ids stored
	Requests int                // list pages read
	Seen     int                // numbers the workspace listed, kept or not
}

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	sharedOff = ^uint32(0) // in index: look in shared
)

func newSnapshot() *Snapshot {
	return &Snapshot{index: map[uint64]uint32{}, shared: map[string]Current{}}
}

// Get returns the state of number id before the run.
func (s *Snapshot) Get(id string) (Current, bool) {
	if s == nil {
		return Current{}, false
	}
	off, ok := s.index[idHash(id)]
	switch {
	case !ok:
		return Current{}, false
	case off == sharedOff:
		c, ok := s.shared[id]
		return c, ok
	}
	eid, c := s.entry(off)
	if eid != id {
		return Current{}, false
	}
	return c, true
}

// Len is the number of numbers kept.
func (s *Snapshot) Len() int { return s.kept }

func (s *Snapshot) add(id string, c Current) {
	h := idHash(id)
	off, ok := s.index[h]
	switch {
	case ok && off == sharedOff:
		if _, seen := s.shared[id]; !seen {
			s.kept++
		}
		s.shared[id] = c
		return
	case ok:
		eid, old := s.entry(off)
		if eid != id {
			// Two ids, one hash: both move to the map, where ids are compared whole.
			s.shared[eid], s.shared[id] = old, c
			s.index[h] = sharedOff
			s.kept++
			return
		}
	default:
		s.kept++
	}
	if off, ok := s.put(id, c); ok {
		s.index[h] = off
		return
	}
	s.shared[id] = c // too long for a chunk (the API allows no such values)
	s.index[h] = sharedOff
}

// put appends an entry (each field as a uvarint length, then its bytes).
func (s *Snapshot) put(id string, c Current) (uint32, bool) {
	fields := [4]string{id, c.AgentID, c.Nickname, c.Label}
	size := 0
	for _, f := range fields {
		size += binary.MaxVarintLen32 + len(f)
	}
	if size > chunkSize {
		return 0, false
	}
	if len(s.chunks) == 0 || len(s.chunks[len(s.chunks)-1])+size > chunkSize {
		if len(s.chunks) == 1<<(32-chunkBits)-1 {
			return 0, false
		}
		s.chunks = append(s.chunks, make([]byte, 0, chunkSize))
	}
	i := len(s.chunks) - 1
	b := s.chunks[i]
	off := uint32(i)<<chunkBits | uint32(len(b))
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	s.chunks[i] = b
	return off, true
}

// entry decodes the entry at off.
func (s *Snapshot) entry(off uint32) (string, Current) {
	b := s.chunks[off>>chunkBits][off&(chunkSize-1):]
	var fields [4]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	return fields[0], Current{AgentID: fields[1], Nickname: fields[2], Label: fields[3]}
}

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

// EachNumber pages through the workspace's numbers in order (PageSize a page), calling
// fn for each, every read on the run's limiter and retry policy. It returns the pages
// read.
func (r *Runner) EachNumber(ctx context.Context, rd Reader, f ListFilter, fn func(PhoneNumber)) (int, error) {
	return r.eachPage(ctx, rd, f, 1, func(ns []PhoneNumber) {
		for _, n := range ns {
			fn(n)
		}
	})
}

// eachPage reads every page of numbers. Once the first page has said how many there
// are, up to parallel pages are read at once (fn then sees pages out of order, one at a
// time); otherwise pages are read in turn until a short one.
func (r *Runner) eachPage(ctx context.Context, rd Reader, f ListFilter, parallel int, fn func([]PhoneNumber)) (int, error) {
	var mu sync.Mutex
	requests := 0
	fetch := func(ctx context.Context, page int) (*NumberPage, error) {
		var p *NumberPage
		err := r.retrying(ctx, "list numbers", func(ctx context.Context) error {
			mu.Lock()
			requests++
			mu.Unlock()
			var err error
			p, err = rd.ListNumbers(ctx, page, PageSize, f)
			return err
		})
		return p, err
	}
	first, err := fetch(ctx, 1)
	if err != nil {
		return requests, err
	}
	fn(first.Numbers)
	pages := first.TotalPages
	if pages == 0 && first.Total > 0 {
		pages = (first.Total + PageSize - 1) / PageSize
	}
	if pages > 1 && parallel > 1 && len(first.Numbers) == PageSize {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(parallel)
		for page := 2; page <= pages; page++ {
			g.Go(func() error {
				p, err := fetch(gctx, page)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				fn(p.Numbers)
				return nil
			})
		}
		return requests, g.Wait()
	}
	seen, p := len(first.Numbers), first
	for page := 2; ; page++ {
		switch {
		case len(p.Numbers) < PageSize,
			p.TotalPages > 0 && page > p.TotalPages,
			p.Total > 0 && seen >= p.Total:
			return requests, nil
		}
		if p, err = fetch(ctx, page); err != nil {
			return requests, err
		}
		fn(p.Numbers)
		seen += len(p.Numbers)
	}
}

// ReadSnapshot reads the current state of the numbers for which keep is true, reading
// up to Workers pages at once.
func (r *Runner) ReadSnapshot(ctx context.Context, rd Reader, keep func(id string) bool) (*Snapshot, error) {
	s := newSnapshot()
	n, err := r.eachPage(ctx, rd, ListFilter{}, r.Workers, func(ns []PhoneNumber) {
		s.Seen += len(ns)
		for _, p := range ns {
			if keep == nil || keep(p.ID) {
				s.add(p.ID, Current{AgentID: p.AgentID, Nickname: p.Nickname, Label: p.Label})
			}
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
		switch {
		case errors.As(err, &apiErr):
			r.rateFeedback(apiErr.StatusCode)
		case err == nil:
			r.rateFeedback(http.StatusOK)
		}
		if err == nil || !Retryable(err) || attempt == r.MaxAttempts {
			return err
		}
		if serr := r.pauseBeforeRetry(ctx, attempt, err, r.Log.Debug().Str("read", what)); serr != nil {
			return serr
		}
	}
	return err
}
