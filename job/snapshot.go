package job

import (
	"encoding/binary"
	"hash/maphash"
)

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
	seed     maphash.Seed
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
	return &Snapshot{seed: maphash.MakeSeed(), index: map[uint64]uint32{}, shared: map[string]Current{}}
}

// Get returns the state of number id before the run.
func (s *Snapshot) Get(id string) (Current, bool) {
	if s == nil {
		return Current{}, false
	}
	off, ok := s.index[maphash.String(s.seed, id)]
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
	h := maphash.String(s.seed, id)
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
