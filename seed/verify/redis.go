package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/shard"
	"github.com/redis/go-redis/v9"
)

func checkRedis(ctx context.Context, e *env, r *recorder) error {
	var shards []*redis.Client
	for i, u := range e.t.Redis {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
		c := redis.NewClient(opt)
		defer c.Close()
		shards = append(shards, c)
	}
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	hot, err := hotCards(ctx, conn, e.ds.Counts().HotCards)
	if err != nil {
		return err
	}
	isHot := make(map[string]bool, len(hot))
	var qerr error
	for c := range pgCards(ctx, conn, &qerr, "c.id = ANY($1)", hot) {
		key, want, err := seed.CacheEntry(c)
		if err != nil {
			return err
		}
		isHot[key] = true
		home := shard.Index(key, len(shards))
		r.checked(1)
		got, err := shards[home].Get(ctx, key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			r.mismatch("card %d: %s missing from shard %d (its shard)", c.ID, key, home)
		case err != nil:
			return fmt.Errorf("get %s on shard %d: %w", key, home, err)
		case !bytes.Equal(got, want):
			r.mismatch("card %d: %s on shard %d differs from the row: %s", c.ID, key, home, trunc(got))
		}
	}
	if qerr != nil {
		return qerr
	}
	// Every card key on every shard: a hot card's key elsewhere than its
	// shard is misplaced (an app would never find it), any other is stale.
	for i, c := range shards {
		iter := c.Scan(ctx, 0, "card:*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			r.checked(1)
			if !isHot[key] {
				r.mismatch("%s on shard %d is not a hot card's entry", key, i)
				continue
			}
			if home := shard.Index(key, len(shards)); home != i {
				r.mismatch("%s on shard %d: shard.Index puts it on shard %d", key, i, home)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scan shard %d: %w", i, err)
		}
	}
	return nil
}
