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

// explain is the shards' part in the platform for a new hire.
const explain = "The main cache, several independent servers sharded by the app: shard = crc32(key) % shards. " +
	"A miss falls back to the database. Writes go to Redis first (write-behind) and reach PostgreSQL later " +
	"through Celery jobs. Kill a shard: its keys miss, the others keep serving."

// ShardName is the service id of shard i.
func ShardName(i int) string { return fmt.Sprintf("redis-%d", i) }

// ShardURL is how an app reaches shard i. The user is spelled out:
// Debian's redis-cli 7.0 turns "redis://:PASSWORD@" into AUTH "" PASSWORD,
// which the server refuses; "default" is the user requirepass protects.
func ShardURL(e *stack.Runtime, i int) string {
	return fmt.Sprintf("redis://default:%s@%s/0", e.Secrets.RedisPassword, e.Addr(ShardName(i), "main"))
}

// Shards describes n shards.
func Shards(n int) []stack.Service {
	out := make([]stack.Service, n)
	for i := range n {
		name := ShardName(i)
		out[i] = stack.Service{
			Name: name, Kind: Kind, Explain: explain,
			Role:     fmt.Sprintf("cache shard %d of %d: the app picks the shard by hashing the key; write-behind keeps data here before PostgreSQL", i, n),
			Ports:    []string{"main"},
			Native:   func(e *stack.Runtime) (stack.NativeSpec, error) { return native(e, name) },
			Docker:   docker,
			Counters: shardCounters(name),
			Probe: func(e *stack.Runtime) probe.Probe {
				return probe.Redis(e.Addr(name, "main"), e.Secrets.RedisPassword)
			},
			URL: func(e *stack.Runtime) string { return ShardURL(e, i) },
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
	if password != "" { // empty: the exported compose project's, which gets it at start
		fmt.Fprintf(&b, "requirepass %s\n", password)
	}
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
