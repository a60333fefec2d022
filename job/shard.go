package job

// InShard reports whether the row with this id belongs to shard index of shards: the
// FNV-1a 32-bit hash of the id, modulo shards (contract §10).
func InShard(id string, shards, index int) bool {
	if shards <= 1 {
		return true
	}
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h%uint32(shards)) == index
}
