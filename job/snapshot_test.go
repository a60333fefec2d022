package job

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
)

func TestSnapshotStoresAndFinds(t *testing.T) {
	s := newSnapshot()
	const n = 60000 // enough to fill several chunks
	for i := 0; i < n; i++ {
		s.add(fmt.Sprintf("phn_%06d", i), Current{AgentID: "agt_x", Nickname: strings.Repeat("n", i%40), Label: fmt.Sprint(i)})
	}
	if len(s.chunks) < 2 {
		t.Fatalf("%d chunks: the test does not cross a chunk boundary", len(s.chunks))
	}
	for i := 0; i < n; i++ {
		c, ok := s.Get(fmt.Sprintf("phn_%06d", i))
		want := Current{AgentID: "agt_x", Nickname: strings.Repeat("n", i%40), Label: fmt.Sprint(i)}
		if !ok || c != want {
			t.Fatalf("Get(%d) = %+v, %v; want %+v", i, c, ok, want)
		}
	}
	if _, ok := s.Get("phn_x"); ok {
		t.Error("an id never added was found")
	}
	if s.Len() != n {
		t.Errorf("Len = %d, want %d", s.Len(), n)
	}
	// A number listed twice (a page shifted under the listing) keeps its last values.
	s.add("phn_000001", Current{AgentID: "agt_y"})
	if c, _ := s.Get("phn_000001"); c.AgentID != "agt_y" || s.Len() != n {
		t.Errorf("relisted: %+v, Len %d", c, s.Len())
	}
}

// Two ids with one hash must not be confused: the second one moves both to the map.
func TestSnapshotHashShared(t *testing.T) {
	s := newSnapshot()
	a, b := Current{AgentID: "agt_a"}, Current{AgentID: "agt_b"}
	off, _ := s.put("phn_a", a)
	s.index[maphash.String(s.seed, "phn_b")] = off // pretend phn_a hashed like phn_b
	if _, ok := s.Get("phn_b"); ok {
		t.Fatal("phn_b found before it was added: the id check is missing")
	}
	s.add("phn_b", b)
	if got, ok := s.Get("phn_b"); !ok || got != b {
		t.Errorf("Get(phn_b) = %+v, %v", got, ok)
	}
	if got := s.shared["phn_a"]; got != a {
		t.Errorf("phn_a lost when its hash was shared: %+v", got)
	}
}
