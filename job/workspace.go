package job

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"sync"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// MaxPages bounds a listing: an API that claims more pages than this (10 million
// numbers at 100 a page) is not believed.
const MaxPages = 100_000

// Reader reads the workspace; *dialnexa.Client is the real one.
type Reader interface {
	ListNumbers(ctx context.Context, page, limit int, f dialnexa.ListFilter) (*dialnexa.NumberPage, error)
	ListAgents(ctx context.Context) ([]dialnexa.Agent, error)
}

var _ Reader = (*dialnexa.Client)(nil)

// Workspace is what the reads before the first write found.
type Workspace struct {
	Agents   []dialnexa.Agent // nil when they could not be read
	Snapshot *Snapshot        // nil when the numbers could not be read
}

// WorkspaceReads says what ReadWorkspace reads and what the run cannot do without.
type WorkspaceReads struct {
	// Keep says which numbers the snapshot keeps (by id); nil keeps them all.
	Keep func(id string) bool
	// PhoneKey, if set, makes the snapshot find numbers by phone number
	// (Snapshot.IDsOf): it spells a number's phone number as the plan's keys are
	// spelt ("" when it cannot), and says whether the plan may hold it: the snapshot
	// keeps it then, whatever Keep says.
	PhoneKey func(phone string) (key string, keep bool)
	// Parallel is how many list pages may be read at once.
	Parallel int
	// Expect is how many numbers the snapshot is likely to keep (the plan's rows): its
	// index is sized for them at once. Grown by doubling instead, a million-number index
	// leaves its old tables' memory scattered through the heap, which the collector's
	// soft limit then fights for the rest of the run.
	Expect int
	// NeededBy names the option that cannot work without the reads (e.g. "--undo-plan");
	// when it is empty a read that fails is logged and the run goes on without it.
	NeededBy string
}

// pagesAhead is how many list pages after the first to ask for alongside it, when the
// snapshot is expected to keep expect numbers: a workspace holding them has at least
// that many pages, and waiting for the first page's total before asking for them costs
// one round trip. At most parallel requests go at once.
func pagesAhead(expect, parallel int) int {
	return max(0, min((expect+dialnexa.MaxPageSize-1)/dialnexa.MaxPageSize, parallel, MaxPages)-1)
}

// ReadError is a read the run needed and could not make.
type ReadError struct {
	What     string // "agents" or "numbers"
	NeededBy string
	Err      error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("read the workspace's %s: %v; %s needs them, nothing was sent", e.What, e.Err, e.NeededBy)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ReadWorkspace reads the agent list and the numbers side by side, on rt (the run's
// gate and retry policy). A read that fails degrades: it is logged and its part of
// the Workspace left nil, unless w.NeededBy says the run needs it (a *ReadError). A key
// the API refuses (401) is ErrKeyRefused, and an ended ctx its error, whatever the
// options: neither is a reason to go on.
func ReadWorkspace(ctx context.Context, rd Reader, rt *pace.Retrier, w WorkspaceReads) (*Workspace, error) {
	ws := &Workspace{}
	var snapErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ws.Snapshot, snapErr = readSnapshot(ctx, rd, rt, w, max(1, w.Parallel))
	}()
	agents, agentsErr := readAgents(ctx, rd, rt)
	<-done
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range []error{agentsErr, snapErr} {
		var apiErr *dialnexa.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("%w: %v", ErrKeyRefused, err)
		}
	}
	if agentsErr != nil {
		if w.NeededBy != "" {
			return nil, &ReadError{What: "agents", NeededBy: w.NeededBy, Err: agentsErr}
		}
		rt.Log.Warn().Str("event", "agents").Str("error", agentsErr.Error()).Msg("could not read the workspace's agents; going on without the agent check")
	} else {
		ws.Agents = agents
		rt.Log.Info().Str("event", "agents").Int("agents", len(agents)).Msg("workspace agents read")
	}
	if snapErr != nil {
		ws.Snapshot = nil
		if w.NeededBy != "" {
			return nil, &ReadError{What: "numbers", NeededBy: w.NeededBy, Err: snapErr}
		}
		rt.Log.Warn().Str("event", "snapshot").Str("error", snapErr.Error()).Msg("could not read the workspace's numbers; going on without the snapshot (every row is sent)")
	} else {
		s := ws.Snapshot
		rt.Log.Info().Str("event", "snapshot").Int("numbers", s.Seen).Int("kept", s.Len()).
			Int("requests", s.Requests).Msg("workspace snapshot read")
	}
	return ws, nil
}

func readSnapshot(ctx context.Context, rd Reader, rt *pace.Retrier, w WorkspaceReads, parallel int) (*Snapshot, error) {
	var phoneKey func(string) string
	if w.PhoneKey != nil {
		phoneKey = func(phone string) string { key, _ := w.PhoneKey(phone); return key }
	}
	s := newSnapshot(phoneKey, w.Expect)
	n, err := eachPage(ctx, rd, rt, dialnexa.ListFilter{}, parallel, pagesAhead(w.Expect, parallel), func(ns []dialnexa.PhoneNumber) error {
		s.Seen += len(ns)
		for _, p := range ns {
			keep := w.Keep == nil || w.Keep(p.ID)
			if w.PhoneKey != nil && !keep {
				_, keep = w.PhoneKey(p.PhoneNumber)
			}
			if keep {
				s.add(p.ID, Current{AgentID: p.AgentID, Nickname: p.Nickname, Label: p.Label}, p.PhoneNumber)
			}
		}
		return nil
	})
	s.Requests = n
	return s, err
}

func readAgents(ctx context.Context, rd Reader, rt *pace.Retrier) ([]dialnexa.Agent, error) {
	var agents []dialnexa.Agent
	// The agent list says nothing of the budget (its answer holds no more than the
	// agents): the numbers' pages and the writes tell the gate.
	t := rt.Do(ctx, ctx, func(e *zerolog.Event) *zerolog.Event { return e.Str("read", "list agents") }, func(ctx context.Context) (dialnexa.Budget, error) {
		var err error
		agents, err = rd.ListAgents(ctx)
		return dialnexa.Budget{}, err
	})
	return agents, triesErr(ctx, t)
}

// triesErr is the error of a read that Do ended: its last error, or ctx's when ctx
// stopped it first.
func triesErr(ctx context.Context, t pace.Tries) error {
	if t.Stopped && ctx.Err() != nil {
		return ctx.Err()
	}
	return t.Err
}

// EachNumber pages through the workspace's numbers in order, calling fn for each page,
// every read on rt. It returns the pages read, and an error when the pages do not add
// up to the listing they describe (see eachPage).
func EachNumber(ctx context.Context, rd Reader, rt *pace.Retrier, f dialnexa.ListFilter, fn func([]dialnexa.PhoneNumber) error) (int, error) {
	return eachPage(ctx, rd, rt, f, 1, 0, fn)
}

// eachPage reads every page of the listing and hands each to fn (one at a time; out of
// order when parallel > 1). The pages must add up to what they say of the whole:
//
//   - with a total (total or totalPages), the pages it implies are read (up to parallel
//     at once), and the distinct numbers they list must be the total;
//   - without one, pages are read in turn until an empty one;
//
// and in either case a page that lists no number not seen before, before the end, or
// more than MaxPages pages, is an error: the API is not paging as documented, and a
// snapshot or export built from it would be wrong. Pages 2 to 1+ahead are asked for
// alongside the first (ahead < parallel); those the listing turns out not to have are
// never looked at.
func eachPage(ctx context.Context, rd Reader, rt *pace.Retrier, f dialnexa.ListFilter, parallel, ahead int, fn func([]dialnexa.PhoneNumber) error) (requestsSent int, err error) {
	var mu sync.Mutex
	requests := 0
	seen := map[uint64]struct{}{}
	seed := maphash.MakeSeed()
	// take records a page's ids; it reports how many were new.
	take := func(ns []dialnexa.PhoneNumber) int {
		fresh := 0
		for _, n := range ns {
			h := maphash.String(seed, n.ID)
			if _, ok := seen[h]; !ok {
				seen[h] = struct{}{}
				fresh++
			}
		}
		return fresh
	}
	fetch := func(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
		var p *dialnexa.NumberPage
		t := rt.Do(ctx, ctx, func(e *zerolog.Event) *zerolog.Event { return e.Str("read", "list numbers").Int("page", page) }, func(ctx context.Context) (dialnexa.Budget, error) {
			mu.Lock()
			requests++
			mu.Unlock()
			var err error
			if p, err = rd.ListNumbers(ctx, page, dialnexa.MaxPageSize, f); err != nil {
				return dialnexa.Budget{}, err
			}
			return p.Budget, nil
		})
		if err := triesErr(ctx, t); err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		return p, nil
	}
	type fetched struct {
		p   *dialnexa.NumberPage
		err error
	}
	early := map[int]chan fetched{} // written only here, before any read
	earlyCtx, cancelEarly := context.WithCancel(ctx)
	var earlyDone sync.WaitGroup
	defer func() {
		cancelEarly()
		earlyDone.Wait()
		mu.Lock()
		requestsSent = requests // every request, those asked for early included: the returns below give 0
		mu.Unlock()
	}()
	for page := 2; page <= 1+ahead; page++ {
		ch := make(chan fetched, 1)
		early[page] = ch
		earlyDone.Go(func() {
			p, err := fetch(earlyCtx, page)
			ch <- fetched{p, err}
		})
	}
	// get is a page, from those asked for early when it is one of them.
	get := func(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
		ch, ok := early[page]
		if !ok {
			return fetch(ctx, page)
		}
		select {
		case r := <-ch:
			return r.p, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	first, err := fetch(ctx, 1)
	if err != nil {
		return 0, err
	}
	take(first.Numbers)
	if err := fn(first.Numbers); err != nil {
		return 0, err
	}
	pages, total := first.TotalPages, first.Total
	if pages < 0 && total >= 0 {
		size := len(first.Numbers) // the API's own page size, which may be below ours
		switch {
		case total == 0:
			pages = 1
		case size == 0:
			return 0, fmt.Errorf("the API says it has %d numbers but its first page lists none", total)
		default:
			pages = (total + size - 1) / size
		}
	}
	if pages > MaxPages {
		return 0, fmt.Errorf("the API says its listing has %d pages, more than the %d this job reads", pages, MaxPages)
	}

	if pages < 0 {
		// No total: read on until an empty page.
		for page := 2; ; page++ {
			if page > MaxPages {
				return 0, fmt.Errorf("the listing did not end within %d pages", MaxPages)
			}
			p, err := get(ctx, page)
			if err != nil {
				return 0, err
			}
			if len(p.Numbers) == 0 {
				return 0, nil
			}
			if take(p.Numbers) == 0 {
				return 0, fmt.Errorf("page %d lists only numbers of earlier pages: the API does not seem to page (it ignores page=)", page)
			}
			if err := fn(p.Numbers); err != nil {
				return 0, err
			}
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, parallel))
	for page := 2; page <= pages; page++ {
		if gctx.Err() != nil {
			break // cancelled, or a page failed: no more pages are started
		}
		g.Go(func() error {
			p, err := get(gctx, page)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if len(p.Numbers) > 0 && take(p.Numbers) == 0 {
				return fmt.Errorf("page %d lists only numbers of earlier pages: the API does not seem to page as it says", page)
			}
			return fn(p.Numbers)
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if total >= 0 && len(seen) != total {
		return 0, fmt.Errorf("the API says it has %d numbers, but its %d pages list %d distinct ones: the listing changed while it was read, or the API pages inconsistently; try again", total, pages, len(seen))
	}
	return 0, nil
}
