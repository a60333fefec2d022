package job_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/dialnexa"
)

// listFunc is a Lister whose pages come from a function.
type listFunc func(ctx context.Context, page int) (*dialnexa.NumberPage, error)

func (f listFunc) ListNumbers(ctx context.Context, page, limit int, _ dialnexa.ListFilter) (*dialnexa.NumberPage, error) {
	return f(ctx, page)
}

func (f listFunc) ListAgents(context.Context) ([]dialnexa.Agent, error) { return nil, nil }

func numbers(from, to int) []dialnexa.PhoneNumber {
	var ns []dialnexa.PhoneNumber
	for i := from; i < to; i++ {
		ns = append(ns, dialnexa.PhoneNumber{ID: fmt.Sprintf("phn_%05d", i)})
	}
	return ns
}

// TestEachNumberPages: how a listing is read, by what its pages say of the whole.
func TestEachNumberPages(t *testing.T) {
	t.Parallel()
	const n = 250
	cases := []struct {
		name    string
		page    func(page int) *dialnexa.NumberPage
		want    int    // numbers handed over when it succeeds
		wantErr string // a fragment of the error
	}{
		{"pages of 100 with totals", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(min((p-1)*100, n), min(p*100, n)), Total: n, TotalPages: 3}
		}, n, ""},
		{"capped at 50, total only", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(min((p-1)*50, n), min(p*50, n)), Total: n, TotalPages: -1}
		}, n, ""},
		{"no totals, ends with an empty page", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(min((p-1)*50, n), min(p*50, n)), Total: -1, TotalPages: -1}
		}, n, ""},
		{"empty workspace", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Total: 0, TotalPages: 0}
		}, 0, ""},
		{"one number lost", func(p int) *dialnexa.NumberPage {
			ns := numbers(min((p-1)*100, n), min(p*100, n))
			if p == 2 {
				ns = ns[1:]
			}
			return &dialnexa.NumberPage{Numbers: ns, Total: n, TotalPages: 3}
		}, 0, "list 249 distinct ones"},
		{"page ignored, totals", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(0, 100), Total: n, TotalPages: 3}
		}, 0, "only numbers of earlier pages"},
		{"a later page repeats another, totals", func(p int) *dialnexa.NumberPage {
			if p == 3 {
				p = 2
			}
			return &dialnexa.NumberPage{Numbers: numbers(min((p-1)*100, n), min(p*100, n)), Total: n, TotalPages: 3}
		}, 0, "page 3 lists only numbers of earlier pages"},
		{"no totals, the last page repeated for ever", func(p int) *dialnexa.NumberPage {
			p = min(p, 5)
			return &dialnexa.NumberPage{Numbers: numbers((p-1)*50, p*50), Total: -1, TotalPages: -1}
		}, 0, "page 6 lists only numbers of earlier pages"},
		{"page ignored, no totals", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(0, 100), Total: -1, TotalPages: -1}
		}, 0, "does not seem to page"},
		{"a total but an empty first page", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Total: n, TotalPages: -1}
		}, 0, "first page lists none"},
		{"a billion pages", func(p int) *dialnexa.NumberPage {
			return &dialnexa.NumberPage{Numbers: numbers(0, 100), Total: 100_000_000_000, TotalPages: 1_000_000_000}
		}, 0, "more than the 100000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, what string, got int, err error) {
				t.Helper()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("%s: %v", what, err)
				case tc.wantErr == "" && got != tc.want:
					t.Errorf("%s: %d numbers, want %d", what, got, tc.want)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s = %v, want an error saying %q", what, err, tc.wantErr)
				}
			}
			var calls atomic.Int64
			rd := listFunc(func(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
				calls.Add(1)
				return tc.page(page), nil
			})
			r, _ := newRunner(nil, 4)
			got := 0
			_, err := job.EachNumber(context.Background(), rd, &r.Retrier, dialnexa.ListFilter{}, func(ns []dialnexa.PhoneNumber) error {
				got += len(ns)
				return nil
			})
			check(t, "EachNumber", got, err)
			if c := calls.Load(); c > 10 {
				t.Errorf("%d pages read", c)
			}

			// The snapshot's reads, for a plan of 1,000 rows: pages asked for early, before
			// the first page's total, change nothing of the outcome.
			calls.Store(0)
			ws, err := job.ReadWorkspace(context.Background(), rd, &r.Retrier, job.WorkspaceReads{Parallel: 4, Expect: 1000, NeededBy: "the test"})
			got = 0
			if err == nil {
				got = ws.Snapshot.Len()
			}
			check(t, "ReadWorkspace", got, err)
			if c := calls.Load(); c > 10 {
				t.Errorf("%d pages read by the snapshot", c)
			}
		})
	}
}

// TestReadWorkspaceAsksPagesAhead: a plan of 300 rows implies at least 3 pages, which
// are asked for alongside the first, not after its answer. The first page is answered
// only once the third is asked for.
func TestReadWorkspaceAsksPagesAhead(t *testing.T) {
	t.Parallel()
	const n = 250
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	asked3 := make(chan struct{})
	var once sync.Once
	rd := listFunc(func(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
		switch page {
		case 1:
			select {
			case <-asked3:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case 3:
			once.Do(func() { close(asked3) })
		}
		return &dialnexa.NumberPage{Numbers: numbers(min((page-1)*100, n), min(page*100, n)), Total: n, TotalPages: 3}, nil
	})
	r, _ := newRunner(nil, 8)
	ws, err := job.ReadWorkspace(ctx, rd, &r.Retrier, job.WorkspaceReads{Parallel: 8, Expect: 300, NeededBy: "the test"})
	if err != nil {
		t.Fatalf("ReadWorkspace: %v (were pages 2 and 3 asked for before the first was answered?)", err)
	}
	if ws.Snapshot.Len() != n || ws.Snapshot.Requests != 3 {
		t.Errorf("snapshot of %d numbers in %d requests, want %d in 3", ws.Snapshot.Len(), ws.Snapshot.Requests, n)
	}
}

// TestEachNumberCancelled: a listing of many slow pages stops at once when the run is
// cancelled: no page is started after it.
func TestEachNumberCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	rd := listFunc(func(ctx context.Context, page int) (*dialnexa.NumberPage, error) {
		if calls.Add(1) == 1 {
			return &dialnexa.NumberPage{Numbers: numbers(0, 100), Total: 9_000_000, TotalPages: 90_000}, nil
		}
		if calls.Load() == 2 {
			cancel() // a signal while the second page is read
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r, _ := newRunner(nil, 4)
	_, err := job.EachNumber(ctx, rd, &r.Retrier, dialnexa.ListFilter{}, func([]dialnexa.PhoneNumber) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("EachNumber = %v, want context.Canceled", err)
	}
	if c := calls.Load(); c > 20 {
		t.Errorf("%d pages started after the cancellation", c)
	}
}
