// Package shard is the Redis sharding function of the Mossi apps: the
// platform shards its cache in the application, so every app, mossdev's
// seeder, its TUI and its verifier must place a key on the same instance.
// They all import this package rather than re-implement it.
//
// The function is CRC-32 (IEEE) of the key, modulo the number of shards.
// That is what a 2016 Flask app writes in one line, and what any language
// can reproduce exactly with its standard library:
//
//	import binascii
//	def shard_index(key, shards):
//	    return (binascii.crc32(key.encode("utf-8")) & 0xffffffff) % shards
//
// (Python 2's crc32 is signed, hence the mask.) The trade-off is resharding:
// going from n to n+1 shards moves about n/(n+1) of all keys, so the cache
// is effectively cold after a change. Consistent hashing or Redis Cluster's
// hash slots avoid that, at the price of a ring or slot table that every
// client must agree on; for a cache that falls back to the database on a
// miss, a cold start after a rare resize was the cheaper bargain.
package shard

import "hash/crc32"

// Index returns the shard, in [0, shards), that holds key. It never panics:
// shards < 1 is treated as a single shard and returns 0, so a misconfigured
// count degrades to "everything on the first instance"; validate the count
// where it is configured.
func Index(key string, shards int) int {
	if shards < 1 {
		return 0
	}
	return int(uint64(crc32.ChecksumIEEE([]byte(key))) % uint64(shards))
}
