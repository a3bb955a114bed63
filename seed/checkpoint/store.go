package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ckPrefix starts the name of every database that holds a checkpoint.
const ckPrefix = "mossdev_ck_"

// store is one store's way of saving and restoring checkpoints. Each keeps
// its share where it is cheapest to copy back from: PostgreSQL and MariaDB
// in databases of their own server, Elasticsearch in a snapshot
// repository, S3 beside its bucket store, and what only a client can copy
// (Redis entries, queued messages) in files in the checkpoint's directory.
type store interface {
	name() string
	// method says how the store saves and restores, for `checkpoint ls`.
	method() string
	version(ctx context.Context) (string, error)
	// hold blocks writes to the store (clients wait, where the store can
	// make them) and returns the copy to run while every store is held and
	// the release. A hold expires by itself if its process dies.
	hold(ctx context.Context, id, dir string) (save func(context.Context) (Part, error), release func(), err error)
	// restore puts the store back to checkpoint id and says what it did.
	// It works from any state the store is in, so a killed restore can be
	// run again.
	restore(ctx context.Context, id, dir string, p Part, o Options) (string, error)
	// remove deletes checkpoint id's share kept in the store (files in the
	// checkpoint's directory go with it).
	remove(ctx context.Context, id string) error
	// ids lists the checkpoint ids the store keeps a share of.
	ids(ctx context.Context) ([]string, error)
	close()
}

// preparer is a store whose restore is faster when it can prepare for it
// ahead of time (Prepare). Stores without it restore as fast without.
type preparer interface {
	prepare(ctx context.Context, id string) error
}

// releaser is a store whose hold outlives a killed holder for a while (a
// pause that expires by itself): release lifts it at once.
type releaser interface {
	release(ctx context.Context)
}

var (
	_ releaser = (*redisStore)(nil)
	_ releaser = (*s3Store)(nil)
	_ releaser = (*esStore)(nil)
	_ preparer = (*pgStore)(nil)
	_ preparer = (*ferretStore)(nil)
)

// open connects to the store of every service the stack runs.
func open(ctx context.Context, t Target, o Options) ([]store, error) {
	openers := map[string]func(context.Context, Target) (store, error){
		"postgres":      func(ctx context.Context, t Target) (store, error) { return newPG(ctx, t, o.Guard) },
		"mariadb":       func(ctx context.Context, t Target) (store, error) { return newMaria(ctx, t) },
		"mongodb":       func(ctx context.Context, t Target) (store, error) { return newMongo(ctx, t) },
		"elasticsearch": func(ctx context.Context, t Target) (store, error) { return newES(ctx, t) },
		"s3":            func(ctx context.Context, t Target) (store, error) { return newS3(ctx, t) },
		"redis":         func(ctx context.Context, t Target) (store, error) { return newRedis(ctx, t) },
		"rabbitmq":      func(ctx context.Context, t Target) (store, error) { return newRabbit(ctx, t) },
	}
	var names []string
	for _, n := range storeNames {
		if t.has(n) {
			names = append(names, n)
		}
	}
	out := make([]store, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			s, err := openers[n](ctx, t)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", n, err)
				return
			}
			out[i] = s
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(out)
		return nil, fmt.Errorf("connect: %w", err)
	}
	return out, nil
}

func closeAll(stores []store) {
	for _, s := range stores {
		if s != nil {
			s.close()
		}
	}
}

// releaseHolds lifts every hold a killed save or restore left: PgBouncer's
// pause (which never expires) and the pauses that would expire by
// themselves. The caller holds the checkpoint lock, so none is live.
func releaseHolds(ctx context.Context, t Target, stores []store) error {
	for _, s := range stores {
		if r, ok := s.(releaser); ok {
			r.release(ctx)
		}
	}
	if t.has("postgres") && t.Targets.PgBouncerAdmin != "" {
		return t.Targets.ResumePool(ctx)
	}
	return nil
}
