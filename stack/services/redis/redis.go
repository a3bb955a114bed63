// Package redis is the Mossi platform's main cache: several independent
// Redis servers, sharded by the application (not Redis Cluster): the app
// hashes a key to pick a server (seed/shard has the function), reads fall
// back to the database on a miss, and writes go to Redis first and reach
// PostgreSQL later through write-behind jobs on RabbitMQ. Because Redis
// briefly holds data the database does not have yet, the shards keep an
// append-only file.
package redis

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Kind is the service kind; shards are named redis-0..redis-N-1.
const Kind = "redis"

// ShardName is the service id of shard i.
func ShardName(i int) string { return fmt.Sprintf("redis-%d", i) }

// Shards describes n shards.
func Shards(n int) []stack.Service {
	out := make([]stack.Service, n)
	for i := range n {
		name := ShardName(i)
		out[i] = stack.Service{
			Name: name, Kind: Kind,
			Role:     fmt.Sprintf("cache shard %d of %d: the app picks the shard by hashing the key; write-behind keeps data here before PostgreSQL", i, n),
			Ports:    []string{"main"},
			Native:   func(e *stack.Runtime) (stack.NativeSpec, error) { return native(e, name) },
			Docker:   docker,
			Counters: shardCounters(name),
			Probe: func(e *stack.Runtime) probe.Probe {
				return probe.Redis(e.Addr(name, "main"), e.Secrets.RedisPassword)
			},
			URL: func(e *stack.Runtime) string {
				return fmt.Sprintf("redis://:%s@%s/0", e.Secrets.RedisPassword, e.Addr(name, "main"))
			},
		}
	}
	return out
}

// Config is the redis.conf both backends give redis-server: the settings
// that make a shard a write-behind cache (an append-only file) and the
// password. The password lives in this file (0600 on native) and never on
// the command line, where any local user could read it from /proc until
// Redis rewrites its process title.
func Config(password, bind string, port int, dir string) string {
	var b strings.Builder
	if bind != "" {
		fmt.Fprintf(&b, "bind %s\n", bind)
	}
	fmt.Fprintf(&b, "port %d\ndir %s\n", port, dir)
	fmt.Fprintf(&b, "requirepass %s\n", password)
	b.WriteString("appendonly yes\nappendfsync everysec\nsave \"\"\ndaemonize no\n")
	return b.String()
}

func native(e *stack.Runtime, name string) (stack.NativeSpec, error) {
	conf := filepath.Join(e.RunDir(name), "redis.conf")
	return stack.NativeSpec{
		Files: map[string]string{conf: Config(e.Secrets.RedisPassword, "127.0.0.1", e.Port(name, "main"), e.DataDir(name))},
		Run:   stack.Command{Path: "redis-server", Args: []string{conf}},
	}, nil
}
