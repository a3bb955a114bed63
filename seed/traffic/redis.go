package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/shard"
	"github.com/redis/go-redis/v9"
)

// downFor is how long a shard that failed to answer is skipped before it
// is tried again: long enough that a dead shard costs one timeout a second,
// not one per operation; short enough that a restarted shard is used again
// at once.
const downFor = time.Second

// shards are the cache shards, each with a circuit: a shard whose last
// attempt failed on the connection is "down" for downFor.
type shards struct {
	c    []*redis.Client
	down []atomic.Int64 // unix nanos until which the shard is skipped
}

// quietRedis silences go-redis's own log (one line per failed dial, dozens
// a second while a shard is down): the run counts and reports shard
// failures itself. The logger is process-wide; mossdev logs nothing else
// through it.
var quietRedis sync.Once

type noLog struct{}

func (noLog) Printf(context.Context, string, ...any) {}

func newShards(ctx context.Context, urls []string) (*shards, error) {
	quietRedis.Do(func() { redis.SetLogger(noLog{}) })
	if len(urls) == 0 {
		return nil, errors.New("no redis shards")
	}
	s := &shards{down: make([]atomic.Int64, len(urls))}
	for i, u := range urls {
		opt, err := redis.ParseURL(u)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("redis shard %d: %w", i, err)
		}
		// Fail fast: a cache that is slow to say it is gone costs more than
		// the database it stands in front of.
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 250*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
		opt.MaxRetries = 0
		opt.PoolSize = 32
		c := redis.NewClient(opt)
		s.c = append(s.c, c)
		if err := c.Ping(ctx).Err(); err != nil {
			s.fail(i, err) // a dead shard is a mode, not an error
		}
	}
	return s, nil
}

func (s *shards) close() {
	for _, c := range s.c {
		_ = c.Close()
	}
}

// of returns the shard that holds key, by the apps' sharding function.
func (s *shards) of(key string) int { return shard.Index(key, len(s.c)) }

func (s *shards) up(i int) bool { return time.Now().UnixNano() >= s.down[i].Load() }

// fail marks shard i down when err says the shard did not answer (a
// server's error reply, such as WRONGTYPE, does not).
func (s *shards) fail(i int, err error) bool {
	var re redis.Error
	if err == nil || errors.Is(err, redis.Nil) || errors.As(err, &re) && !isConnErr(re) {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	s.down[i].Store(time.Now().Add(downFor).UnixNano())
	return true
}

// isConnErr: go-redis reports some connection failures (LOADING, pool
// timeouts) through its Error type too.
func isConnErr(re redis.Error) bool {
	return errors.Is(re, redis.ErrPoolTimeout) || redis.HasErrorPrefix(re, "LOADING")
}

// ViewersKey is the Redis set of card id's distinct viewers: the
// write-behind counter of the unique view count (its cardinality), placed
// by the sharding function like every app key.
func ViewersKey(cardID int64) string { return "viewers:" + strconv.FormatInt(cardID, 10) }

// cacheJSON mirrors the fields of a cache entry (seed.CacheEntry); entries
// are decoded into a seed.Card and written back with seed.CacheEntry, so an
// entry the workload rewrites is byte for byte what the seed would write.
type cacheJSON struct {
	ID       int64  `json:"id"`
	UserID   int64  `json:"user_id"`
	Text     string `json:"text"`
	Hashtags []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"hashtags"`
	ImageKey string `json:"image_key"`
	Location *struct {
		Lat   float64 `json:"lat"`
		Lon   float64 `json:"lon"`
		Place string  `json:"place"`
	} `json:"location"`
	UniqueViewCount int64  `json:"unique_view_count"`
	LikeCount       int64  `json:"like_count"`
	CreatedAt       string `json:"created_at"`
}

// DecodeEntry reads a cache entry back into the card it was made from.
func DecodeEntry(b []byte) (seed.Card, error) {
	var v cacheJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return seed.Card{}, fmt.Errorf("decode cache entry: %w", err)
	}
	at, err := time.Parse(seed.CacheTimeLayout, v.CreatedAt)
	if err != nil {
		return seed.Card{}, fmt.Errorf("decode cache entry: created_at: %w", err)
	}
	c := seed.Card{ID: v.ID, UserID: v.UserID, Text: v.Text, ImageKey: v.ImageKey, CreatedAt: at,
		UniqueViewCount: v.UniqueViewCount, LikeCount: v.LikeCount, Tags: make([]seed.Tag, len(v.Hashtags))}
	for i, h := range v.Hashtags {
		c.Tags[i] = seed.Tag{ID: h.ID, Name: h.Name}
	}
	if l := v.Location; l != nil {
		c.Location = &seed.Location{Lat: l.Lat, Lon: l.Lon, Place: l.Place}
	}
	return c, nil
}
