package stacktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// WithSeed seeds the stack once it is up (checkpoint.Seed: every store,
// then checkpoint "seed" of the seeded state) at the given scale; ""
// means seed.Default. Packages that do not ask get an unseeded stack.
// Reset and Isolated need it.
func WithSeed(scale seed.Scale) Option {
	return func(c *config) { c.seed = &seed.Params{Scale: scale} }
}

// background runs checkpoint.Prepare after each save and restore of the
// package's stack, so the next Reset renames a ready copy in instead of
// copying while the test waits. Its goroutines are waited for before the
// stack goes down (a Prepare cut off by Down would leave half a copy and
// fail on closed servers).
var background struct {
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func init() { background.ctx, background.cancel = context.WithCancel(context.Background()) }

// ckOptions are the checkpoint options of the package's stack: services
// restart through it (the MongoDB stand-in after a restore that changes
// its collections) and the next restore is prepared in a goroutine.
func ckOptions(s *stack.Stack, t checkpoint.Target) checkpoint.Options {
	return checkpoint.Options{
		Restart: func(ctx context.Context, svc string) error {
			if err := s.Stop(ctx, svc); err != nil {
				return err
			}
			_, err := s.Start(ctx, svc)
			return err
		},
		Background: func(name string) {
			background.wg.Go(func() {
				// Best effort: a failed prepare only makes the next Reset
				// copy while it waits, which Reset then reports.
				if err := checkpoint.Prepare(background.ctx, t, name); err != nil && background.ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "stacktest: prepare the next reset:", err)
				}
			})
		},
	}
}

// freshPool makes PgBouncer drop every connection to the app database
// (KILL, then RESUME), so no test is handed a pooled server session that
// a seed or restore terminated while it sat idle: without it the first
// query after seeding often failed with 57P01 ("terminating connection
// due to administrator command"); RECONNECT was not enough. It runs
// before any test holds a connection to the app database (after seeding,
// and in Reset, whose tests run one at a time); isolations' databases are
// other pools and are left alone.
func freshPool(ctx context.Context, env *stack.Runtime) error {
	if _, ok := env.Ports["pgbouncer"]; !ok {
		return nil
	}
	tg := load.TargetsFor(env)
	cfg, err := pgx.ParseConfig(tg.PgBouncerAdmin)
	if err != nil {
		return err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // PgBouncer's console
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to pgbouncer console: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "KILL "+tg.AppDB()); err != nil {
		return fmt.Errorf("pgbouncer KILL %s: %w", tg.AppDB(), err)
	}
	if _, err := admin.Exec(ctx, "RESUME "+tg.AppDB()); err != nil {
		return fmt.Errorf("pgbouncer RESUME %s: %w", tg.AppDB(), err)
	}
	return nil
}

// waitBackground stops and waits for every Prepare still running.
func waitBackground() {
	done := make(chan struct{})
	go func() { background.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		// A Prepare that hangs this long is stuck on a server: cancel it
		// rather than keep the stack up forever.
		background.cancel()
		background.wg.Wait()
	}
}

// seedStack seeds the stack Main brought up (a no-op beyond a check when
// it already holds the same dataset and its checkpoint).
func seedStack(ctx context.Context, s *stack.Stack, p seed.Params) error {
	env, err := s.Runtime()
	if err != nil {
		return err
	}
	t := checkpoint.For(env)
	t0 := time.Now()
	rep, _, err := checkpoint.Seed(ctx, t, p, load.Options{}, ckOptions(s, t))
	if err != nil {
		return fmt.Errorf("seed the stack: %w", err)
	}
	scale := p.Scale
	if scale == "" {
		scale = seed.Default
	}
	how := "seeded"
	if rep != nil && rep.NoOp {
		how = "already seeded"
	}
	if err := freshPool(ctx, env); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "stacktest: stack %s %s (%s scale) in %.1fs\n", env.Stack, how, scale, time.Since(t0).Seconds())
	return nil
}

// Reset puts every store of the package's stack back to the seeded state
// (checkpoint.Reset: the seed's checkpoint, restored store by store), for
// tests that share the stack's data and run one at a time:
//
//	func TestLike(t *testing.T) {
//		stacktest.Reset(t)
//		... change cards freely ...
//	}
//
// It fails the test (never skips) when the stack was not seeded: give
// Main stacktest.WithSeed. While the test runs, no other test calling
// Reset on the same stack runs, in this process or another one sharing
// the stack (WithShared): the lock is held until the test ends. Tests
// that run in parallel want Isolated instead.
func Reset(t testing.TB) *checkpoint.Result {
	t.Helper()
	s := Stack(t)
	env := Runtime(t)
	resetHolders.Lock()
	held, isolated := resetHolders.m[t], isoHolders.m[t]
	resetHolders.Unlock()
	if isolated {
		t.Fatalf("stacktest.Reset: this test holds an Isolation, and a Reset rewrites the shared stores isolations copy from " +
			"(and FerretDB's, which holds every isolation's MongoDB database): call Reset before Isolated, or not at all")
	}
	if !held {
		unlock, err := flockFile(t.Context(), resetLock(env), syscall.LOCK_EX)
		if err != nil {
			t.Fatalf("stacktest.Reset: %v", err)
		}
		resetHolders.Lock()
		resetHolders.m[t] = true
		resetHolders.Unlock()
		t.Cleanup(func() {
			unlock()
			resetHolders.Lock()
			delete(resetHolders.m, t)
			resetHolders.Unlock()
		})
	}
	ct := checkpoint.For(env)
	res, err := checkpoint.Reset(context.WithoutCancel(t.Context()), ct, ckOptions(s, ct))
	if errors.Is(err, checkpoint.ErrNotSeeded) {
		t.Fatalf("stacktest.Reset: stack %s was never seeded, so there is no seeded state to return to: "+
			"give TestMain stacktest.Main(m, stacktest.WithSeed(seed.Small)) (or another scale): %v", env.Stack, err)
	}
	if err != nil {
		t.Fatalf("stacktest.Reset: %v", err)
	}
	if err := freshPool(t.Context(), env); err != nil {
		t.Fatalf("stacktest.Reset: %v", err)
	}
	return res
}

// resetHolders are the tests holding the reset lock exclusively (Reset),
// isoHolders those holding it shared (Isolated); both under
// resetHolders' mutex. A second Reset in the same test must not wait for
// itself, nor an Isolated after a Reset.
var resetHolders = struct {
	sync.Mutex
	m map[testing.TB]bool
}{m: map[testing.TB]bool{}}

var isoHolders = struct{ m map[testing.TB]bool }{m: map[testing.TB]bool{}}

// resetLock is the file Reset locks exclusively and Isolated shared, in
// the stack's directory so every process sharing the stack sees it: a
// Reset waits for live isolations to end, and isolations for a Reset's
// test to end. A restore rewrites the stores isolations copy from, and
// swaps FerretDB's whole storage, every isolation's MongoDB database in
// it.
func resetLock(env *stack.Runtime) string { return filepath.Join(env.Dir, "stacktest-reset.lock") }

// holdIsolation takes the reset lock shared for the test, unless the test
// already holds it (exclusively, by Reset, or shared, by an Isolated).
func holdIsolation(t testing.TB, env *stack.Runtime) error {
	resetHolders.Lock()
	held := resetHolders.m[t] || isoHolders.m[t]
	resetHolders.Unlock()
	if held {
		return nil
	}
	unlock, err := flockFile(t.Context(), resetLock(env), syscall.LOCK_SH)
	if err != nil {
		return err
	}
	resetHolders.Lock()
	isoHolders.m[t] = true
	resetHolders.Unlock()
	t.Cleanup(func() {
		unlock()
		resetHolders.Lock()
		delete(isoHolders.m, t)
		resetHolders.Unlock()
	})
	return nil
}

// flockFile takes a flock on path (created if needed) and returns its
// release. The kernel drops a flock when its holder dies, kill -9
// included, so nothing is left held by a dead test binary.
func flockFile(ctx context.Context, path string, how int) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
