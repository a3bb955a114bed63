package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/redis/go-redis/v9"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Keys   = "keys"
	Memory = "memory"
)

// shardCounters reads one shard's key count and memory: with sharding done
// by the application the keys should spread evenly, and a shard that was
// stopped comes back with only what its append-only file kept.
func shardCounters(name string) func(context.Context, *stack.Runtime) ([]stack.Counter, error) {
	return func(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
		ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		c := redis.NewClient(&redis.Options{Addr: e.Addr(name, "main"), Password: e.Secrets.RedisPassword,
			MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1, PoolSize: 1})
		defer c.Close()
		keys, err := c.DBSize(ctx).Result()
		if err != nil {
			return nil, err
		}
		out := []stack.Counter{{Key: Keys, Label: "keys", Value: fmt.Sprint(keys)}}
		if info, err := c.Info(ctx, "memory").Result(); err == nil {
			if v := infoField(info, "used_memory_human"); v != "" {
				out = append(out, stack.Counter{Key: Memory, Label: "memory", Value: v})
			}
		}
		return out, nil
	}
}

// infoField finds "key:value" in INFO output.
func infoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}
