package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
)

// WithShared makes every test binary that names the same stack share it:
// `go test ./...` runs each package as its own process, and without this
// each would bring up (and seed) a stack of its own. The first process
// brings the stack up under root (default $MOSSDEV_HOME, see `mossdev
// env`), the others reuse it, each holding a lease while its tests run,
// and the last one out takes the stack down.
//
// A lease is a file the process holds an exclusive flock on: the kernel
// drops the flock when the process dies, kill -9 included, so a killed
// test binary's lease is dead at once and the next process to come or go
// removes it. (A stack whose last holder was killed stays up until the
// next process sharing it comes and goes, or `mossdev down --name NAME`.)
// Coming and going happen under a second flock, so two processes never
// race to create the same stack or take it down under a newcomer.
//
// Every process sharing a stack must ask for the same stack: the same
// services (WithOnly), options (WithOptions), backend and seed
// (WithSeed). One asking for another is refused with an error naming
// both; use another stack name for it.
func WithShared(name, root string) Option {
	return func(c *config) { c.name, c.root, c.shared = name, root, true }
}

// leaseSpec is what a process asked of the shared stack, kept in its lease.
type leaseSpec struct {
	PID     int           `json:"pid"`
	Binary  string        `json:"binary"`
	Backend string        `json:"backend"`
	Only    []string      `json:"only"`
	Options stack.Options `json:"options"`
	Seed    *seed.Params  `json:"seed,omitempty"`
}

func specOf(cfg *config, backend string) leaseSpec {
	only := slices.Clone(cfg.only)
	slices.Sort(only)
	wd, _ := os.Getwd()
	return leaseSpec{PID: os.Getpid(), Binary: wd + " (" + filepath.Base(os.Args[0]) + ")", Backend: backend,
		Only: only, Options: cfg.opts.OrDefault(), Seed: cfg.seed}
}

// same reports whether two processes ask for the same stack.
func (a leaseSpec) same(b leaseSpec) bool {
	// An empty backend is one not chosen yet (the check before Open).
	return (a.Backend == b.Backend || a.Backend == "" || b.Backend == "") && slices.Equal(a.Only, b.Only) && a.Options == b.Options &&
		(a.Seed == nil) == (b.Seed == nil) && (a.Seed == nil || *a.Seed == *b.Seed)
}

func (a leaseSpec) String() string {
	only := "every service"
	if len(a.Only) > 0 {
		only = "services " + strings.Join(a.Only, ",")
	}
	sd := "unseeded"
	if a.Seed != nil {
		sc := a.Seed.Scale
		if sc == "" {
			sc = seed.Default
		}
		sd = fmt.Sprintf("seeded at %s scale (seed %d)", sc, a.Seed.Seed)
	}
	backend := a.Backend + " backend"
	if a.Backend == "" {
		backend = "backend not chosen yet"
	}
	return fmt.Sprintf("%s, %d redis shards, %d rabbitmq nodes, %s, %s", only, a.Options.RedisShards, a.Options.RabbitNodes, sd, backend)
}

// ErrSharedMismatch is a process asking a shared stack for other services,
// options or seed than the processes that hold it.
var ErrSharedMismatch = errors.New("the shared stack is held with other options")

// lease is this process's hold on a shared stack.
type lease struct {
	dir  string
	file *os.File
	// Created says this process brought the stack up (no live lease was
	// there); Expired lists the dead leases it removed.
	Created bool
	Expired []string
}

func leaseDir(root, name string) string { return filepath.Join(root, "."+name+".leases") }

// acquire takes a lease on the shared stack, running up first if no live
// process holds one.
func acquire(ctx context.Context, name, dir string, mine leaseSpec, up func(context.Context) error) (*lease, error) {
	unlock, err := flockFile(ctx, filepath.Join(dir, "create.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("lease the shared stack: %w", err)
	}
	defer unlock()
	l := &lease{dir: dir}
	live, expired, err := checkLeases(name, dir, mine)
	if err != nil {
		return nil, err
	}
	l.Expired = expired
	if len(live) == 0 {
		// Up also when the stack's servers still run (a killed last
		// holder): it reconciles, and restarts what died.
		if err := up(ctx); err != nil {
			return nil, err
		}
		l.Created = true
	}
	b, _ := json.Marshal(mine)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(dir, fmt.Sprintf("%d-%s.lease", mine.PID, hex.EncodeToString(rnd[:])))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lease the shared stack: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("lock lease %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("write lease %s: %w", path, err)
	}
	l.file = f
	return l, nil
}

// checkLeases reads the live leases and refuses a process that asks for
// another stack than they hold. The caller holds create.lock.
func checkLeases(name, dir string, mine leaseSpec) (live []leaseSpec, expired []string, err error) {
	live, expired, err = liveLeases(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, other := range live {
		if !other.same(mine) {
			return nil, expired, fmt.Errorf("%w: stack %s is held by pid %d, %s, with %s; this process (pid %d, %s) asks for %s: give both packages the same stacktest options, or this one another name in WithShared",
				ErrSharedMismatch, name, other.PID, other.Binary, other, mine.PID, mine.Binary, mine)
		}
	}
	return live, expired, nil
}

// precheck refuses early, before the stack is opened with options that
// differ from its holders' (which would fail with less to say).
// It returns the dead leases it removed.
func precheck(ctx context.Context, name, dir string, mine leaseSpec) ([]string, error) {
	unlock, err := flockFile(ctx, filepath.Join(dir, "create.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("lease the shared stack: %w", err)
	}
	defer unlock()
	_, expired, err := checkLeases(name, dir, mine)
	return expired, err
}

// liveLeases reads the leases whose holders live and removes the others.
// The caller holds create.lock, so no lease is between its creation and
// its flock.
func liveLeases(dir string) (live []leaseSpec, expired []string, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.lease"))
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			continue // removed meanwhile
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			// Nobody holds it: its process is gone.
			_ = os.Remove(p)
			f.Close()
			expired = append(expired, filepath.Base(p))
			continue
		}
		b, rerr := os.ReadFile(p)
		f.Close()
		var s leaseSpec
		if rerr != nil || json.Unmarshal(b, &s) != nil {
			return nil, nil, fmt.Errorf("read lease %s: unreadable; remove it if its process is gone", p)
		}
		live = append(live, s)
	}
	return live, expired, nil
}

// release gives the lease back and, when no live lease is left, runs down.
func (l *lease) release(ctx context.Context, down func()) error {
	unlock, err := flockFile(ctx, filepath.Join(l.dir, "create.lock"), syscall.LOCK_EX)
	if err != nil {
		return fmt.Errorf("release the shared stack: %w", err)
	}
	defer unlock()
	_ = os.Remove(l.file.Name())
	l.file.Close()
	live, _, err := liveLeases(l.dir)
	if err != nil {
		return err
	}
	if len(live) == 0 {
		down()
	}
	return nil
}
