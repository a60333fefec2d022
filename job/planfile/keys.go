package planfile

import "hash/maphash"

// Keys is what the workspace reads need to know of a plan: which numbers it may name,
// by their ids or, for a plan keyed by phone number, their phone numbers. It holds the
// keys' 64-bit hashes, 8 bytes a key, not the keys. The Plan does not keep it: once the
// reads are done with it, its memory goes back before the run.
type Keys struct {
	seed     maphash.Seed
	hashes   map[uint64]struct{}
	bare     map[uint64]struct{} // the phone numbers written as bare digits
	byPhone  bool
	hasPhone bool // a phone_number column beside the ids
}

func newKeys() *Keys {
	return &Keys{seed: maphash.MakeSeed(), hashes: map[uint64]struct{}{}, bare: map[uint64]struct{}{}}
}

// addBare records a phone number (+ and digits) the plan wrote as bare digits.
func (k *Keys) addBare(key string) { k.bare[k.hash(key)] = struct{}{} }

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

// PhoneKey is, for a plan that names phone numbers (keyed by them, or in a column
// beside its ids), how the workspace's phone numbers are spelt to be found or compared
// as the plan's rows spell them (job.WorkspaceReads.PhoneKey); nil for a plan that
// names none. The function holds nothing of k: the snapshot keeps it for the run, and
// k need not stay.
func (k *Keys) PhoneKey() func(phone string) string {
	if !k.byPhone && !k.hasPhone {
		return nil
	}
	return phoneKey
}

// ByPhone reports whether the plan is keyed by phone number: the snapshot then finds
// numbers by it (job.WorkspaceReads.NoPhoneIndex is its opposite).
func (k *Keys) ByPhone() bool { return k.byPhone }

// EndsIn returns, for a number of the workspace, the plan's phone numbers written as
// bare digits that it is longer than and ends in (job.WorkspaceReads.EndsIn): the
// digits 2071838750 a spreadsheet left of 02071838750 read as +20 71…, and
// +442071838750 ends in them. It may return a suffix the plan does not have (two
// hashes alike), never miss one; nil when the plan wrote no number as bare digits.
func (k *Keys) EndsIn(phone string) []string {
	if len(k.bare) == 0 {
		return nil
	}
	key := phoneKey(phone)
	var out []string
	for n := 8; n < len(key)-1; n++ { // a key is + and 8 to 15 digits
		if suffix := "+" + key[len(key)-n:]; suffix[1] != '0' {
			if _, ok := k.bare[k.hash(suffix)]; ok {
				out = append(out, suffix)
			}
		}
	}
	return out
}

// phoneKey is NormalisePhone's spelling of phone, or "" when it is not a phone number.
func phoneKey(phone string) string {
	key, err := NormalisePhone(phone)
	if err != nil {
		return ""
	}
	return key
}
