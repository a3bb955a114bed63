package project

import (
	"errors"
	"testing"

	"github.com/mossdev/mossdev/stack"
)

// FuzzParse: whatever the bytes, Parse returns a file or an ErrBadInput
// naming the file, never panics, and a file it accepts has valid values.
// The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("schema = 2\nname = \"shop\"\n[ports]\npostgres = 15432\n[seed]\nscale = \"small\"\n"))
	f.Add([]byte("schema = 1\nonly = [\"redis-0\"]\nno_seed = true\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := Parse("f.toml", data)
		if err != nil {
			if !errors.Is(err, stack.ErrBadInput) {
				t.Fatalf("error is not bad input: %v", err)
			}
			return
		}
		if pf.Name != "" && stack.CheckName(pf.Name) != nil {
			t.Errorf("accepted name %q", pf.Name)
		}
		seen := map[int]bool{}
		for k, p := range pf.Ports {
			if p < stack.MinPort || p > stack.MaxPort || seen[p] {
				t.Errorf("accepted port %s = %d", k, p)
			}
			seen[p] = true
		}
		if _, ok := pf.Set["redis_shards"]; ok && pf.RedisShards < 1 {
			t.Errorf("accepted redis_shards = %d", pf.RedisShards)
		}
	})
}
