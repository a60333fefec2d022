package job

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
)

// NumberState is what a number holds in the three fields a plan changes: before the run
// (Snapshot, Result.Before), when a row was reviewed (Row.Reviewed), or when Verify
// reads it. "" means none (no agent, no nickname, no label).
type NumberState struct {
	AgentID, Nickname, Label string
}

// Snapshot is the workspace's numbers as read before the first write. It is compact,
// for a million numbers: an index from the id's 64-bit hash into byte chunks holding the
// id and the values, the id checked on every lookup (two ids sharing a hash are kept
// apart in a small map). When the plan names phone numbers, the entries hold the phone
// number too (PhoneOf), and for a plan keyed by them a second index finds them by it
// (IDsOf); otherwise they do not: a phone number for every number would cost a fifth
// more memory.
type Snapshot struct {
	seed     maphash.Seed
	index    map[uint64]uint32 // id hash -> offset of the entry (chunk<<20 | position)
	chunks   [][]byte
	shared   map[string]NumberState // ids whose hash another id has
	kept     int                    // distinct ids stored
	Requests int                    // list pages read
	Seen     int                    // numbers the workspace listed, kept or not

	// phoneKey spells a number's phone number as the plan's keys are spelt ("" when it
	// cannot); nil when the snapshot keeps no phone numbers.
	phoneKey    func(string) string
	phones      map[uint64]uint32   // phone key hash -> offset of the entry, or sharedOff; nil: no index
	phoneShared map[string][]string // phone key -> ids, where the hash or the key is shared
	// endings holds, for a plan's phone number written as bare digits, the workspace's
	// longer numbers that end in those digits (Endings).
	endings map[string][]string
}

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	sharedOff = ^uint32(0) // in index: look in shared
)

// newSnapshot returns an empty snapshot whose indexes are sized for expect numbers.
func newSnapshot(phoneKey func(string) string, expect int) *Snapshot {
	expect = max(expect, 0)
	s := &Snapshot{seed: maphash.MakeSeed(), index: make(map[uint64]uint32, expect), shared: map[string]NumberState{}, phoneKey: phoneKey}
	if phoneKey != nil {
		s.phones, s.phoneShared = make(map[uint64]uint32, expect), map[string][]string{}
	}
	return s
}

// maxEndings bounds the numbers Endings keeps for one key: a message names a few.
const maxEndings = 3

// addEnding records that the workspace's number phone (spelt as the plan's keys are)
// ends in the digits of key, a plan's phone number written as bare digits.
func (s *Snapshot) addEnding(key, phone string) {
	if s.endings == nil {
		s.endings = map[string][]string{}
	}
	if e := s.endings[key]; len(e) < maxEndings && phone != key {
		s.endings[key] = appendNew(e, phone)
	}
}

// Endings returns up to three of the workspace's numbers (+ and digits) that are longer
// than key and end in its digits, where key is a plan's phone number written as bare
// digits: its country code may be another number's area code (2071838750 is +20 71…,
// and the digits +44 20 7183 8750 ends in). It knows only the keys the reads were told
// of (WorkspaceReads.EndsIn).
func (s *Snapshot) Endings(key string) []string {
	if s == nil {
		return nil
	}
	return s.endings[key]
}

// PhoneOf returns the phone number of number id, spelt as the plan's keys are, when the
// snapshot keeps phone numbers; ok is false when it does not know it.
func (s *Snapshot) PhoneOf(id string) (phone string, ok bool) {
	if s == nil || s.phoneKey == nil {
		return "", false
	}
	off, found := s.index[maphash.String(s.seed, id)]
	if !found || off == sharedOff {
		return "", false // an id sharing its hash keeps no phone number: not checked
	}
	eid, _, p := s.entry(off)
	if eid != id {
		return "", false
	}
	key := s.phoneKey(p)
	return key, key != ""
}

// IDsOf returns the ids of the kept numbers whose phone number is key (as the plan's
// keys spell it): none, one, or several when the workspace lists the number twice.
func (s *Snapshot) IDsOf(key string) []string {
	if s == nil || s.phones == nil {
		return nil
	}
	off, ok := s.phones[maphash.String(s.seed, key)]
	switch {
	case !ok:
		return nil
	case off == sharedOff:
		return s.phoneShared[key]
	}
	id, _, phone := s.entry(off)
	if s.phoneKey(phone) != key {
		return nil
	}
	return []string{id}
}

// addPhone indexes id by its phone number; off is its entry, or sharedOff when it is
// kept in shared.
func (s *Snapshot) addPhone(id, phone string, off uint32) {
	key := s.phoneKey(phone)
	if key == "" {
		return
	}
	h := maphash.String(s.seed, key)
	prev, ok := s.phones[h]
	switch {
	case !ok && off != sharedOff:
		s.phones[h] = off
		return
	case ok && prev != sharedOff:
		pid, _, pphone := s.entry(prev)
		if pid == id && off != sharedOff {
			s.phones[h] = off // the same number listed again
			return
		}
		if pid != id {
			// Two numbers, one hash (or one phone number): both move to the map.
			pkey := s.phoneKey(pphone)
			s.phoneShared[pkey] = appendNew(s.phoneShared[pkey], pid)
		}
	}
	s.phones[h] = sharedOff
	s.phoneShared[key] = appendNew(s.phoneShared[key], id)
}

// width is how many fields an entry holds.
func (s *Snapshot) width() int {
	if s.phoneKey == nil {
		return 4
	}
	return 5
}

func appendNew(ids []string, id string) []string {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// Get returns the state of number id before the run.
func (s *Snapshot) Get(id string) (NumberState, bool) {
	if s == nil {
		return NumberState{}, false
	}
	off, ok := s.index[maphash.String(s.seed, id)]
	switch {
	case !ok:
		return NumberState{}, false
	case off == sharedOff:
		c, ok := s.shared[id]
		return c, ok
	}
	eid, c, _ := s.entry(off)
	if eid != id {
		return NumberState{}, false
	}
	return c, true
}

// Len is the number of numbers kept.
func (s *Snapshot) Len() int { return s.kept }

// add keeps number id's state, and its phone number when the snapshot is found by
// phone number.
func (s *Snapshot) add(id string, c NumberState, phone string) {
	switch {
	case s.phoneKey == nil:
		s.store(id, c, "")
	case s.phones == nil:
		s.store(id, c, phone)
	default:
		s.addPhone(id, phone, s.store(id, c, phone))
	}
}

// store keeps id's state; it returns its entry's offset, or sharedOff when it is kept
// in shared.
func (s *Snapshot) store(id string, c NumberState, phone string) uint32 {
	h := maphash.String(s.seed, id)
	off, ok := s.index[h]
	switch {
	case ok && off == sharedOff:
		if _, seen := s.shared[id]; !seen {
			s.kept++
		}
		s.shared[id] = c
		return sharedOff
	case ok:
		eid, old, _ := s.entry(off)
		if eid != id {
			// Two ids, one hash: both move to the map, where ids are compared whole.
			s.shared[eid], s.shared[id] = old, c
			s.index[h] = sharedOff
			s.kept++
			return sharedOff
		}
	default:
		s.kept++
	}
	if off, ok := s.put(id, c, phone); ok {
		s.index[h] = off
		return off
	}
	s.shared[id] = c // too long for a chunk (the API allows no such values)
	s.index[h] = sharedOff
	return sharedOff
}

// put appends an entry (each field as a uvarint length, then its bytes; the phone
// number only when the snapshot is found by it).
func (s *Snapshot) put(id string, c NumberState, phone string) (uint32, bool) {
	all := [5]string{id, c.AgentID, c.Nickname, c.Label, phone}
	fields := all[:s.width()]
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

// entry decodes the entry at off: the id, the state and the phone number.
func (s *Snapshot) entry(off uint32) (string, NumberState, string) {
	b := s.chunks[off>>chunkBits][off&(chunkSize-1):]
	var fields [5]string
	for i := range s.width() {
		n, w := binary.Uvarint(b)
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	return fields[0], NumberState{AgentID: fields[1], Nickname: fields[2], Label: fields[3]}, fields[4]
}
