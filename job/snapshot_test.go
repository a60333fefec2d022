package job

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
)

func TestSnapshotStoresAndFinds(t *testing.T) {
	t.Parallel()
	s := newSnapshot(nil, 0)
	const n = 60000 // enough to fill several chunks
	for i := 0; i < n; i++ {
		s.add(fmt.Sprintf("phn_%06d", i), NumberState{AgentID: "agt_x", Nickname: strings.Repeat("n", i%40), Label: fmt.Sprint(i)}, "")
	}
	if len(s.chunks) < 2 {
		t.Fatalf("%d chunks: the test does not cross a chunk boundary", len(s.chunks))
	}
	for i := 0; i < n; i++ {
		c, ok := s.Get(fmt.Sprintf("phn_%06d", i))
		want := NumberState{AgentID: "agt_x", Nickname: strings.Repeat("n", i%40), Label: fmt.Sprint(i)}
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
	s.add("phn_000001", NumberState{AgentID: "agt_y"}, "")
	if c, _ := s.Get("phn_000001"); c.AgentID != "agt_y" || s.Len() != n {
		t.Errorf("relisted: %+v, Len %d", c, s.Len())
	}
}

// Two ids with one hash must not be confused: the second one moves both to the map.
func TestSnapshotHashShared(t *testing.T) {
	t.Parallel()
	s := newSnapshot(nil, 0)
	a, b := NumberState{AgentID: "agt_a"}, NumberState{AgentID: "agt_b"}
	off, _ := s.put("phn_a", a, "")
	s.index[maphash.String(s.seed, "phn_b")] = off // pretend phn_a hashed like phn_b
	if _, ok := s.Get("phn_b"); ok {
		t.Fatal("phn_b found before it was added: the id check is missing")
	}
	s.add("phn_b", b, "")
	if got, ok := s.Get("phn_b"); !ok || got != b {
		t.Errorf("Get(phn_b) = %+v, %v", got, ok)
	}
	if got := s.shared["phn_a"]; got != a {
		t.Errorf("phn_a lost when its hash was shared: %+v", got)
	}
}

// digits is a stand-in for the plan's phone key: the digits of a number, "" for none.
func digits(phone string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
}

// TestSnapshotByPhone: numbers are found by their phone number as the plan spells it;
// a number the workspace lists under two ids is both; one listed twice is one.
func TestSnapshotByPhone(t *testing.T) {
	t.Parallel()
	s := newSnapshot(digits, 0)
	const n = 30000
	for i := 0; i < n; i++ {
		s.add(fmt.Sprintf("phn_%06d", i), NumberState{AgentID: "agt_x"}, fmt.Sprintf("+44 20 %07d", i))
	}
	for i := 0; i < n; i += 997 {
		if ids := s.IDsOf(fmt.Sprintf("4420%07d", i)); len(ids) != 1 || ids[0] != fmt.Sprintf("phn_%06d", i) {
			t.Fatalf("IDsOf number %d = %v", i, ids)
		}
	}
	if c, ok := s.Get("phn_000007"); !ok || c.AgentID != "agt_x" {
		t.Errorf("Get(phn_000007) = %+v, %v", c, ok)
	}
	s.add("phn_000005", NumberState{AgentID: "agt_y"}, "+44 20 0000005") // listed again
	if ids := s.IDsOf("44200000005"); len(ids) != 1 {
		t.Errorf("a number listed twice: %v", ids)
	}
	s.add("phn_other", NumberState{}, "+44-20-0000005") // the same number, another id
	s.add("phn_third", NumberState{}, "(44) 20 0000005")
	if ids := s.IDsOf("44200000005"); fmt.Sprint(ids) != "[phn_000005 phn_other phn_third]" {
		t.Errorf("one number under three ids: %v", ids)
	}
	for _, key := range []string{"", "1", "44200000005x"} {
		if ids := s.IDsOf(key); ids != nil {
			t.Errorf("IDsOf(%q) = %v", key, ids)
		}
	}
	// Two phone keys with one hash are not confused.
	s2 := newSnapshot(digits, 0)
	s2.add("phn_a", NumberState{}, "111")
	s2.phones[maphash.String(s2.seed, "222")] = s2.phones[maphash.String(s2.seed, "111")]
	if ids := s2.IDsOf("222"); ids != nil {
		t.Fatalf("222 found before it was added: %v", ids)
	}
	s2.add("phn_b", NumberState{}, "222")
	if a, b := s2.IDsOf("111"), s2.IDsOf("222"); fmt.Sprint(a, b) != "[phn_a] [phn_b]" {
		t.Errorf("after a shared hash: %v %v", a, b)
	}
	if (*Snapshot)(nil).IDsOf("1") != nil || newSnapshot(nil, 0).IDsOf("1") != nil {
		t.Error("a snapshot without phone numbers finds one")
	}
}
