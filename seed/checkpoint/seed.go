package checkpoint

import (
	"context"
	"errors"
	"fmt"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// Seed seeds the stack and keeps the seeded state as checkpoint SeedName,
// which Reset restores:
//
//  1. the stores the seed cache holds the dataset for (on these server
//     versions) get it put in place from there, unless they hold it
//     already;
//  2. load.Seed loads the others (a store that holds the dataset is kept);
//  3. the seeded state is saved as checkpoint SeedName (unless it holds
//     this dataset already), and the slow stores' shares go to the cache.
//
// A seed limited to some stores (Only), or forced, neither reads the cache
// nor saves a checkpoint: the stack as a whole may not hold one dataset.
func Seed(ctx context.Context, t Target, p seed.Params, lo load.Options, o Options) (*load.Report, *Result, error) {
	whole := len(lo.Only) == 0
	res := &Result{}
	if whole && !lo.Force {
		ds, err := seed.New(p)
		if err != nil {
			return nil, nil, err
		}
		// The markers cacheLoad reads include PostgreSQL's, in a table of
		// the app schema.
		if _, err := load.Migrate(ctx, t.Targets.PostgresDirect); err != nil {
			return nil, nil, fmt.Errorf("seed: %w", err)
		}
		use, err := cacheLoadLocked(ctx, t, ds.Fingerprint(), o)
		if err != nil {
			// The stores decide from their markers what still needs loading.
			o.emit(stack.Event{Service: "cache", Kind: stack.EventCached, Step: stack.StepSeed, Message: "seed cache not used: " + err.Error()})
		}
		if use != nil && use.Note != "" {
			o.emit(stack.Event{Service: "cache", Kind: stack.EventCached, Step: stack.StepSeed, Message: use.Note})
		}
		res.Cache = use
	}
	rep, err := load.Seed(ctx, t.Targets, p, lo)
	if err != nil || !whole {
		return rep, res, err
	}
	if m, err := Get(t.Env.Dir, SeedName); err == nil && Interrupted(t.Env.Dir) == "" && rep.NoOp &&
		m.Dataset != nil && m.Dataset.Fingerprint == rep.Fingerprint && m.Dataset.Complete {
		return rep, res, nil
	}
	saved, err := Save(ctx, t, SeedName, o)
	if err != nil {
		return rep, res, fmt.Errorf("seed: keep the seeded state for reset: %w", err)
	}
	saved.Cache = res.Cache
	if err := keepInCache(ctx, t, saved.Manifest, o); err != nil {
		// The stack is seeded and its checkpoint saved: a cache that could
		// not be written costs the next stack a full load, nothing more.
		o.emit(stack.Event{Service: "cache", Kind: stack.EventCached, Step: stack.StepSeed, Message: "seed cache not written: " + err.Error()})
	}
	return rep, saved, nil
}

// cacheLoadLocked is cacheLoad under the checkpoint lock (released before
// load.Seed takes the seed lock on its own).
func cacheLoadLocked(ctx context.Context, t Target, fp string, o Options) (*CacheUse, error) {
	unlock, err := lockAll(ctx, t)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return cacheLoad(ctx, t, fp, o)
}

// keepInCache puts the seed checkpoint's shares of the slow stores in the
// machine-wide cache.
func keepInCache(ctx context.Context, t Target, m *Manifest, o Options) error {
	stores, err := open(ctx, t, o)
	if err != nil {
		return err
	}
	defer closeAll(stores)
	_, err = cacheStore(ctx, t, m, stores)
	return err
}

// ErrNotSeeded is a reset of a stack that has no seed checkpoint.
var ErrNotSeeded = errors.New("no seeded state to return to")

// Reset restores the checkpoint the last complete seed saved.
func Reset(ctx context.Context, t Target, o Options) (*Result, error) {
	if _, err := Get(t.Env.Dir, SeedName); errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("reset: %w (the seed saves checkpoint %q when it completes)", ErrNotSeeded, SeedName)
	}
	res, err := Restore(ctx, t, SeedName, o)
	if err != nil {
		return res, fmt.Errorf("reset: %w", err)
	}
	return res, nil
}
