package checkpoint

import (
	"context"
	"errors"
	"fmt"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
)

// Seed seeds the stack (load.Seed) and then keeps the seeded state as
// checkpoint SeedName, which Reset restores. A seed that found the stack
// already seeded saves the checkpoint only if it is missing or holds
// another dataset. A seed limited to some stores (Only) saves none: the
// stack as a whole may not hold one dataset.
func Seed(ctx context.Context, t Target, p seed.Params, lo load.Options, o Options) (*load.Report, *Result, error) {
	rep, err := load.Seed(ctx, t.Targets, p, lo)
	if err != nil || len(lo.Only) > 0 {
		return rep, nil, err
	}
	if m, err := Get(t.Env.Dir, SeedName); err == nil && Interrupted(t.Env.Dir) == "" && rep.NoOp &&
		m.Dataset != nil && m.Dataset.Fingerprint == rep.Fingerprint && m.Dataset.Complete {
		return rep, nil, nil
	}
	res, err := Save(ctx, t, SeedName, o)
	if err != nil {
		return rep, nil, fmt.Errorf("seed: keep the seeded state for reset: %w", err)
	}
	return rep, res, nil
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
