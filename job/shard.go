package job

import "hash/fnv"

// InShard reports whether the row with this id belongs to shard index of shards: the
// FNV-1a 32-bit hash of the id, modulo shards (docs/resume-and-shards.md).
func InShard(id string, shards, index int) bool {
	if shards <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return uint64(h.Sum32())%uint64(shards) == uint64(index)
}
