package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"reassign/job/dialnexa"
	"reassign/job/pace"
)

// MaxPages bounds a listing: an API that claims more pages than this (10 million
// numbers at 100 a page) is not believed.
const MaxPages = 100_000

// Lister reads the workspace: its numbers, a page at a time, and its agents;
// *dialnexa.Client is the real one.
type Lister interface {
	ListNumbers(ctx context.Context, page, limit int, f dialnexa.ListFilter) (*dialnexa.NumberPage, error)
	ListAgents(ctx context.Context) ([]dialnexa.Agent, error)
}

var _ Lister = (*dialnexa.Client)(nil)

// Workspace is what the reads before the first write found.
type Workspace struct {
	Agents   []dialnexa.Agent // nil when they could not be read
	Snapshot *Snapshot        // nil when the numbers could not be read
}

// WorkspaceReads says what ReadWorkspace reads and what the run cannot do without.
type WorkspaceReads struct {
	// Keep says which numbers the snapshot keeps, by their id and phone number; nil
	// keeps them all. It is not kept after the reads.
	Keep func(id, phone string) bool
	// PhoneKey, if set, makes the snapshot keep each number's phone number
	// (Snapshot.PhoneOf) and find numbers by it (Snapshot.IDsOf): it spells a number's
	// phone number as the plan's keys are spelt ("" when it cannot). The snapshot
	// keeps it.
	PhoneKey func(phone string) string
	// NoPhoneIndex keeps the phone numbers without the index by them: a plan keyed by
	// id only checks its phone_number column against them.
	NoPhoneIndex bool
	// EndsIn, if set, returns the plan's phone numbers written as bare digits that a
	// number of the workspace (its phone number) is longer than and ends in
	// (Snapshot.Endings): it may return a few that are not, never miss one.
	EndsIn func(phone string) []string
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
// limiter and retry policy). A read that fails degrades: it is logged and its part of
// the Workspace left nil, unless w.NeededBy says the run needs it (a *ReadError). A key
// the API refuses (401) is ErrKeyRefused, and an ended ctx its error, whatever the
// options: neither is a reason to go on.
func ReadWorkspace(ctx context.Context, rd Lister, rt *pace.Retrier, w WorkspaceReads) (*Workspace, error) {
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

func readSnapshot(ctx context.Context, rd Lister, rt *pace.Retrier, w WorkspaceReads, parallel int) (*Snapshot, error) {
	s := newSnapshot(w.PhoneKey, w.Expect)
	if w.NoPhoneIndex {
		s.phones, s.phoneShared = nil, nil
	}
	n, err := eachPage(ctx, rd, rt, dialnexa.ListFilter{}, parallel, pagesAhead(w.Expect, parallel), func(ns []dialnexa.PhoneNumber) error {
		s.Seen += len(ns)
		for _, p := range ns {
			if w.Keep == nil || w.Keep(p.ID, p.PhoneNumber) {
				s.add(p.ID, NumberState{AgentID: p.AgentID, Nickname: p.Nickname, Label: p.Label}, p.PhoneNumber)
			}
			if w.EndsIn != nil && w.PhoneKey != nil {
				for _, key := range w.EndsIn(p.PhoneNumber) {
					s.addEnding(key, w.PhoneKey(p.PhoneNumber))
				}
			}
		}
		return nil
	})
	s.Requests = n
	return s, err
}

func readAgents(ctx context.Context, rd Lister, rt *pace.Retrier) ([]dialnexa.Agent, error) {
	var agents []dialnexa.Agent
	// The agent list says nothing of the budget (its answer holds no more than the
	// agents): the numbers' pages and the writes tell the limiter.
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
func EachNumber(ctx context.Context, rd Lister, rt *pace.Retrier, f dialnexa.ListFilter, fn func([]dialnexa.PhoneNumber) error) (int, error) {
	return eachPage(ctx, rd, rt, f, 1, 0, fn)
}

// eachPage reads every page of the listing and hands each to fn (one at a time; out of
// order when parallel > 1). The pages must add up to what they say of the whole:
//
//   - with a total (total or totalPages), the pages it implies are read (up to parallel
//     at once), and the distinct numbers they list must be the total;
//   - without one, pages are read in turn until an empty one;
//
// and in either case a page that lists only numbers of the pages before it, or more
// than MaxPages pages, is an error: the API is not paging as documented, and a snapshot
// or export built from it would be wrong. A page that repeats the first (or, read in
// turn, the one before it) ends the read at once; any other is found once the last page
// is in. Pages 2 to 1+ahead are asked for alongside the first (ahead < parallel); those
// the listing turns out not to have are never looked at.
func eachPage(ctx context.Context, rd Lister, rt *pace.Retrier, f dialnexa.ListFilter, parallel, ahead int, fn func([]dialnexa.PhoneNumber) error) (requests int, err error) {
	l := &listing{rd: rd, rt: rt, filter: f, fn: fn, seed: maphash.MakeSeed()}
	earlyCtx, cancelEarly := context.WithCancel(ctx)
	waitEarly := l.askEarly(earlyCtx, ahead)
	err = l.read(ctx, parallel)
	cancelEarly()
	waitEarly()
	return int(l.requests.Load()), err // every request, those asked for early included
}

// listing is one read through the pages of the numbers (eachPage).
type listing struct {
	rd       Lister
	rt       *pace.Retrier
	filter   dialnexa.ListFilter
	fn       func([]dialnexa.PhoneNumber) error
	requests atomic.Int64

	mu     sync.Mutex // one page at a time in fn, and in what follows
	seed   maphash.Seed
	inTurn bool                // the API said nothing of the whole: pages are read in turn to the end
	first  map[uint64]struct{} // the first page's numbers
	prev   map[uint64]struct{} // read in turn: the page before
	// seen is every number listed, by page: sorted once the last page is in, it counts
	// the distinct numbers. 16 bytes a number, where a map of them took 36.
	seen []pageHash

	early map[int]chan fetched // pages asked for alongside the first; not changed after
}

// pageHash is a listed number (its id's hash) and the page that listed it.
type pageHash struct {
	h    uint64
	page int
}

// fetched is a page asked for early, once it came.
type fetched struct {
	p   *dialnexa.NumberPage
	err error
}

// read reads the first page, then the others as the first says there are.
func (l *listing) read(ctx context.Context, parallel int) error {
	first, err := l.get(ctx, 1)
	if err != nil {
		return err
	}
	if err := l.add(first.Numbers, 1); err != nil {
		return err
	}
	pages, err := pageCount(first)
	switch {
	case err != nil:
		return err
	case pages < 0:
		l.inTurn = true
		err = l.readToEnd(ctx)
	default:
		err = l.readPages(ctx, pages, parallel)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	return l.check(first.Total)
}

// pageCount is how many pages the listing has, by its first page: TotalPages, or Total
// over the first page's size; -1 when the API says neither.
func pageCount(first *dialnexa.NumberPage) (int, error) {
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
	return pages, nil
}

// readToEnd reads the pages after the first in turn, until an empty one: the API did
// not say how many there are.
func (l *listing) readToEnd(ctx context.Context) error {
	for page := 2; ; page++ {
		if page > MaxPages {
			return fmt.Errorf("the listing did not end within %d pages", MaxPages)
		}
		p, err := l.get(ctx, page)
		if err != nil {
			return err
		}
		if len(p.Numbers) == 0 {
			return nil
		}
		if err := l.add(p.Numbers, page); err != nil {
			return err
		}
	}
}

// readPages reads pages 2 to pages, up to parallel at once.
func (l *listing) readPages(ctx context.Context, pages, parallel int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, parallel))
	for page := 2; page <= pages; page++ {
		if gctx.Err() != nil {
			break // cancelled, or a page failed: no more pages are started
		}
		g.Go(func() error {
			p, err := l.get(gctx, page)
			if err != nil {
				return err
			}
			return l.add(p.Numbers, page)
		})
	}
	return g.Wait()
}

// add hands a page's numbers to fn, one page at a time. A page that lists numbers, but
// only numbers of the first page (or, read in turn, of the page before), is an error
// instead: the API does not seem to page.
func (l *listing) add(ns []dialnexa.PhoneNumber, page int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	start, repeated := len(l.seen), 0
	for _, n := range ns {
		h := maphash.String(l.seed, n.ID)
		l.seen = append(l.seen, pageHash{h, page})
		_, inFirst := l.first[h]
		_, inPrev := l.prev[h]
		if inFirst || inPrev {
			repeated++
		}
	}
	if len(ns) > 0 && repeated == len(ns) {
		return l.repeats(page)
	}
	if page == 1 || l.inTurn {
		set := make(map[uint64]struct{}, len(ns))
		for _, s := range l.seen[start:] {
			set[s.h] = struct{}{}
		}
		if page == 1 {
			l.first = set
		} else {
			l.prev = set
		}
	}
	return l.fn(ns)
}

// check is what the pages say of the whole, once the last is in: no page lists only
// numbers of the pages before it, and they list total distinct numbers (total < 0: the
// API did not say).
func (l *listing) check(total int) error {
	slices.SortFunc(l.seen, func(a, b pageHash) int { return cmp.Or(cmp.Compare(a.h, b.h), cmp.Compare(a.page, b.page)) })
	listed, first := map[int]int{}, map[int]int{} // by page: numbers, and those no page before listed
	distinct := 0
	for i, s := range l.seen {
		listed[s.page]++
		if i == 0 || s.h != l.seen[i-1].h {
			first[s.page]++
			distinct++
		}
	}
	l.seen = nil
	pages := slices.Sorted(maps.Keys(listed))
	for _, p := range pages {
		if first[p] == 0 {
			return l.repeats(p)
		}
	}
	if total >= 0 && distinct != total {
		return fmt.Errorf("the API says it has %d numbers, but its %d pages list %d distinct ones: the listing changed while it was read, or the API pages inconsistently; try again", total, len(pages), distinct)
	}
	return nil
}

// repeats is the error of a page that lists only numbers of the pages before it.
func (l *listing) repeats(page int) error {
	how := "as it says"
	if l.inTurn {
		how = "(it ignores page=)"
	}
	return fmt.Errorf("page %d lists only numbers of earlier pages: the API does not seem to page %s", page, how)
}

// askEarly asks for pages 2 to 1+ahead now, alongside the first; get then takes them.
// The function it returns waits for those requests to end.
func (l *listing) askEarly(ctx context.Context, ahead int) (wait func()) {
	var wg sync.WaitGroup
	l.early = map[int]chan fetched{}
	for page := 2; page <= 1+ahead; page++ {
		ch := make(chan fetched, 1)
		l.early[page] = ch
		wg.Go(func() {
			p, err := l.fetch(ctx, page)
			ch <- fetched{p, err}
		})
	}
	return wg.Wait
}

// get is a page: one of those asked for early, or asked for now.
func (l *listing) get(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
	ch, ok := l.early[page]
	if !ok {
		return l.fetch(ctx, page)
	}
	select {
	case r := <-ch:
		return r.p, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch reads one page, on the listing's Retrier.
func (l *listing) fetch(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
	var p *dialnexa.NumberPage
	about := func(e *zerolog.Event) *zerolog.Event { return e.Str("read", "list numbers").Int("page", page) }
	t := l.rt.Do(ctx, ctx, about, func(ctx context.Context) (dialnexa.Budget, error) {
		l.requests.Add(1)
		var err error
		if p, err = l.rd.ListNumbers(ctx, page, dialnexa.MaxPageSize, l.filter); err != nil {
			return dialnexa.Budget{}, err
		}
		return p.Budget, nil
	})
	if err := triesErr(ctx, t); err != nil {
		return nil, fmt.Errorf("page %d: %w", page, err)
	}
	return p, nil
}
