package shard

import (
	"strconv"
	"testing"
)

// Pinned against Python's (binascii.crc32(key) & 0xffffffff) % n, so a
// change to the function (which would strand every cached key) fails here.
func TestIndexPinned(t *testing.T) {
	for _, tc := range []struct {
		key    string
		shards int
		want   int
	}{
		{"card:1", 3, 0},       // crc 1634686722
		{"card:2", 3, 0},       // crc 4167435960
		{"card:42", 3, 2},      // crc 2311930931
		{"card:1000000", 3, 2}, // crc 3572363636
		{"user:7", 3, 0},       // crc 2462476215
		{"card:42", 7, 2311930931 % 7},
		{"card:2", 1 << 31, 4167435960 % (1 << 31)},
	} {
		if got := Index(tc.key, tc.shards); got != tc.want {
			t.Errorf("Index(%q, %d) = %d, want %d", tc.key, tc.shards, got, tc.want)
		}
	}
}

func TestIndexEdges(t *testing.T) {
	for _, n := range []int{0, -1, -100} {
		if got := Index("card:1", n); got != 0 {
			t.Errorf("Index with %d shards = %d, want 0", n, got)
		}
	}
	if got := Index("", 3); got != 0 { // crc32 of nothing is 0
		t.Errorf("Index(\"\", 3) = %d", got)
	}
}

func TestIndexSpread(t *testing.T) {
	const keys, shards = 30_000, 3
	var per [shards]int
	for id := 1; id <= keys; id++ {
		i := Index("card:"+strconv.Itoa(id), shards)
		if i < 0 || i >= shards {
			t.Fatalf("index %d out of range", i)
		}
		per[i]++
	}
	for i, n := range per {
		if n < keys/shards*95/100 || n > keys/shards*105/100 {
			t.Errorf("shard %d holds %d of %d keys: %v", i, n, keys, per)
		}
	}
}
