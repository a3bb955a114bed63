package load

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/shard"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// RedisMarkerKey holds the seed marker on every shard. It is not an app
// key, so it is not placed by the sharding function.
const RedisMarkerKey = "mossdev:seed"

type redisStore struct {
	shards []*redis.Client
	batch  int
}

func newRedis(ctx context.Context, t Targets) (*redisStore, error) {
	if len(t.Redis) == 0 {
		return nil, errors.New("connect: no shards")
	}
	s := &redisStore{batch: 1000}
	for i, u := range t.Redis {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		c := redis.NewClient(opt)
		s.shards = append(s.shards, c)
		if err := c.Ping(ctx).Err(); err != nil {
			s.close()
			return nil, fmt.Errorf("connect shard %d: %w", i, err)
		}
	}
	return s, nil
}

func (s *redisStore) name() string { return Redis }
func (s *redisStore) close() {
	for _, c := range s.shards {
		_ = c.Close()
	}
}

// marker reads every shard's marker: the store holds a dataset only if all
// shards say so and hold exactly the seeded entries (a cache may lose keys
// to a restart without persistence, or to an app's DEL).
func (s *redisStore) marker(ctx context.Context) (Marker, error) {
	var first Marker
	var keys int64
	for i, c := range s.shards {
		b, err := c.Get(ctx, RedisMarkerKey).Bytes()
		if errors.Is(err, redis.Nil) {
			return Marker{}, nil
		}
		if err != nil {
			return Marker{}, fmt.Errorf("read marker on shard %d: %w", i, err)
		}
		m, err := parseMarker(b)
		if err != nil {
			return Marker{}, err
		}
		if i == 0 {
			first = m
		} else if m.Fingerprint != first.Fingerprint || m.Complete != first.Complete {
			first.Complete = false
		}
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			return Marker{}, fmt.Errorf("dbsize on shard %d: %w", i, err)
		}
		keys += n - 1
	}
	if keys != first.Rows {
		first.Complete = false
	}
	return first, nil
}

func (s *redisStore) setMarker(ctx context.Context, m Marker) error {
	for i, c := range s.shards {
		if err := c.Set(ctx, RedisMarkerKey, m.json(), 0).Err(); err != nil {
			return fmt.Errorf("write marker on shard %d: %w", i, err)
		}
	}
	return nil
}

func (s *redisStore) total(ds *seed.Dataset) int64 { return ds.Counts().HotCards }

// load empties every shard (a cache holds nothing the seed must keep) and
// SETs each hot card's entry on the shard shard.Index picks for its key,
// pipelined in batches per shard.
func (s *redisStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	for i, c := range s.shards {
		if err := c.FlushDB(ctx).Err(); err != nil {
			return fmt.Errorf("flush shard %d: %w", i, err)
		}
	}
	if err := s.setMarker(ctx, newMarker(ds, false, 0)); err != nil {
		return err
	}
	var genErr error
	entries := func(yield func(string, []byte) bool) {
		for c := range ds.HotCards() {
			key, val, err := seed.CacheEntry(c)
			if err != nil {
				genErr = err
				return
			}
			if !yield(key, val) {
				return
			}
		}
	}
	n, err := s.setAll(ctx, entries, m)
	if err == nil {
		err = genErr
	}
	if err != nil {
		return err
	}
	return s.setMarker(ctx, newMarker(ds, true, n))
}

// setAll is the seed's bulk path into the cache (raw.go measures it on
// scratch keys): each entry SET on the shard shard.Index picks for its
// key, pipelined in batches per shard. It returns the entries set.
func (s *redisStore) setAll(ctx context.Context, entries iter.Seq2[string, []byte], m *meter) (int64, error) {
	pipes := make([]redis.Pipeliner, len(s.shards))
	pending := make([]int, len(s.shards))
	for i, c := range s.shards {
		pipes[i] = c.Pipeline()
	}
	flush := func(i int) error {
		if pending[i] == 0 {
			return nil
		}
		if _, err := pipes[i].Exec(ctx); err != nil {
			return fmt.Errorf("set on shard %d: %w", i, err)
		}
		m.add(int64(pending[i]))
		pending[i] = 0
		return nil
	}
	var n int64
	for key, val := range entries {
		i := shard.Index(key, len(s.shards))
		pipes[i].Set(ctx, key, val, 0)
		n++
		if pending[i]++; pending[i] == s.batch {
			if err := flush(i); err != nil {
				return n, err
			}
		}
	}
	g, _ := errgroup.WithContext(ctx)
	for i := range s.shards {
		g.Go(func() error { return flush(i) })
	}
	return n, g.Wait()
}
