package planfile

import "hash/maphash"

// Keys is what the workspace reads need to know of a plan: which numbers it may name,
// by their ids or, for a plan keyed by phone number, their phone numbers. It holds the
// keys' 64-bit hashes, 8 bytes a key, not the keys. The Plan does not keep it: once the
// reads are done with it, its memory goes back before the run.
type Keys struct {
	seed    maphash.Seed
	hashes  map[uint64]struct{}
	byPhone bool
}

func newKeys() *Keys {
	return &Keys{seed: maphash.MakeSeed(), hashes: map[uint64]struct{}{}}
}

func (k *Keys) hash(key string) uint64 { return maphash.String(k.seed, key) }

// add records key, and reports whether a key with its hash was recorded before.
func (k *Keys) add(key string) (seen bool) {
	h := k.hash(key)
	if _, seen = k.hashes[h]; !seen {
		k.hashes[h] = struct{}{}
	}
	return seen
}

// Keep reports whether the plan may name the number with this id and phone number
// (job.WorkspaceReads.Keep): never false for one it names, rarely true for one it does
// not.
func (k *Keys) Keep(id, phone string) bool {
	key := id
	if k.byPhone {
		key = phoneKey(phone)
	}
	if key == "" {
		return false
	}
	_, ok := k.hashes[k.hash(key)]
	return ok
}

// PhoneKey is, for a plan keyed by phone number, how the workspace's phone numbers are
// spelt to be found as the plan's rows spell them (job.WorkspaceReads.PhoneKey); nil
// for a plan keyed by id. The function holds nothing of k: the snapshot keeps it for
// the run, and k need not stay.
func (k *Keys) PhoneKey() func(phone string) string {
	if !k.byPhone {
		return nil
	}
	return phoneKey
}

// phoneKey is NormalisePhone's spelling of phone, or "" when it is not a phone number.
func phoneKey(phone string) string {
	key, err := NormalisePhone(phone)
	if err != nil {
		return ""
	}
	return key
}
