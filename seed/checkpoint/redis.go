package checkpoint

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/mossdev/mossdev/seed/load"
)

// redisStore keeps each shard's keys as DUMP payloads in a file of the
// checkpoint: the server's own serialisation, read back by RESTORE. A
// cache holds thousands of keys, not millions, so this is faster than
// copying an RDB file into place, which would need a restart.
type redisStore struct {
	shards []*redis.Client
}

// holdFor bounds CLIENT PAUSE: a killed save cannot leave a shard paused
// longer than this.
const holdFor = 60 * time.Second

func newRedis(ctx context.Context, t Target) (*redisStore, error) {
	s := &redisStore{}
	for i, u := range t.Targets.Redis {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		c := redis.NewClient(opt)
		s.shards = append(s.shards, c)
		if err := c.Ping(ctx).Err(); err != nil {
			s.close()
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
	}
	return s, nil
}

func (s *redisStore) name() string { return load.Redis }
func (s *redisStore) method() string {
	return "DUMP of every key per shard into the checkpoint's files, RESTOREd in one MULTI/EXEC"
}
func (s *redisStore) close() {
	for _, c := range s.shards {
		_ = c.Close()
	}
}

func (s *redisStore) version(ctx context.Context) (string, error) {
	info, err := s.shards[0].Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("INFO server has no redis_version")
}

// entry is one key as saved.
type entry struct {
	Key     string
	TTL     time.Duration // 0: none
	Payload []byte
}

func shardFile(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("redis-%d.dump", i)) }

// hold pauses writes on every shard (CLIENT PAUSE … WRITE: readers and
// the DUMPs go on, writers wait).
func (s *redisStore) hold(ctx context.Context, _, dir string) (func(context.Context) (Part, error), func(), error) {
	var paused []*redis.Client
	release := func() {
		for _, c := range paused {
			_ = c.Do(context.Background(), "CLIENT", "UNPAUSE").Err()
		}
	}
	for i, c := range s.shards {
		if err := c.Do(ctx, "CLIENT", "PAUSE", holdFor.Milliseconds(), "WRITE").Err(); err != nil {
			release()
			return nil, nil, fmt.Errorf("shard %d: %w", i, err)
		}
		paused = append(paused, c)
	}
	save := func(ctx context.Context) (Part, error) {
		var g errgroup.Group
		sizes := make([]int64, len(s.shards))
		for i, c := range s.shards {
			g.Go(func() error {
				n, err := dumpShard(ctx, c, shardFile(dir, i))
				sizes[i] = n
				if err != nil {
					return fmt.Errorf("shard %d: %w", i, err)
				}
				return nil
			})
		}
		err := g.Wait()
		var total int64
		for _, n := range sizes {
			total += n
		}
		return Part{Bytes: total}, err
	}
	return save, release, nil
}

func dumpShard(ctx context.Context, c *redis.Client, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := gob.NewEncoder(w)
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return 0, err
		}
		if len(keys) > 0 {
			pipe := c.Pipeline()
			dumps := make([]*redis.StringCmd, len(keys))
			ttls := make([]*redis.DurationCmd, len(keys))
			for i, k := range keys {
				dumps[i] = pipe.Dump(ctx, k)
				ttls[i] = pipe.PTTL(ctx, k)
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return 0, err
			}
			for i, k := range keys {
				payload, err := dumps[i].Result()
				if errors.Is(err, redis.Nil) {
					continue // expired between SCAN and DUMP
				}
				if err != nil {
					return 0, err
				}
				ttl := ttls[i].Val()
				if ttl < 0 {
					ttl = 0
				}
				if err := enc.Encode(entry{Key: k, TTL: ttl, Payload: []byte(payload)}); err != nil {
					return 0, err
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// restore empties each shard and RESTOREs its keys in one transaction, so
// a client sees the shard before or after, never between.
func (s *redisStore) restore(ctx context.Context, _, dir string, _ Part, _ Options) (string, error) {
	var g errgroup.Group
	counts := make([]int, len(s.shards))
	for i, c := range s.shards {
		g.Go(func() error {
			f, err := os.Open(shardFile(dir, i))
			if err != nil {
				return fmt.Errorf("shard %d: %w", i, err)
			}
			defer f.Close()
			dec := gob.NewDecoder(bufio.NewReader(f))
			_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.FlushDB(ctx)
				for {
					var e entry
					if err := dec.Decode(&e); err == io.EOF {
						return nil
					} else if err != nil {
						return fmt.Errorf("read %s: %w", f.Name(), err)
					}
					p.RestoreReplace(ctx, e.Key, e.TTL, string(e.Payload))
					counts[i]++
				}
			})
			if err != nil {
				return fmt.Errorf("shard %d: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	n := 0
	for _, k := range counts {
		n += k
	}
	return fmt.Sprintf("restored %d keys on %d shards", n, len(s.shards)), nil
}

// Files only: they go with the checkpoint's directory.
func (s *redisStore) ids(context.Context) ([]string, error) { return nil, nil }
func (s *redisStore) remove(context.Context, string) error  { return nil }

// release lifts a pause a killed save left (it would expire by itself
// within holdFor).
func (s *redisStore) release(ctx context.Context) {
	for _, c := range s.shards {
		_ = c.Do(ctx, "CLIENT", "UNPAUSE").Err()
	}
}
