package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// Options tune Save and Restore.
type Options struct {
	// Sink receives progress as stack events (Service is the store, Step
	// is stack.StepSave or stack.StepRestore). Nil means none.
	Sink stack.Sink
	// Restart restarts one service of the stack. The MongoDB stand-in
	// (FerretDB) caches its collection list, so when a restore changes the
	// collections under it, it is restarted; without Restart the restore
	// says what to restart instead.
	Restart func(ctx context.Context, service string) error
	// Background, if set, runs Prepare(name) after the call returns,
	// without the caller waiting for it (the CLI starts a detached
	// `mossdev checkpoint prepare`; a Go program a goroutine). Without
	// it, restores copy the databases while the caller waits.
	Background func(name string)
	// Guard, if set, starts a watchdog that resumes PgBouncer's pool for
	// the app database should this process die while it holds it paused
	// (PgBouncer keeps a pause after its console session ends, and the
	// app's clients would wait on it); the returned function stops it.
	// The CLI starts a detached `mossdev checkpoint guard`. Every other
	// hold ends with its holder's session or expires by itself.
	Guard func() (stop func())
}

func (o Options) emit(e stack.Event) {
	if o.Sink != nil {
		e.Time = time.Now()
		o.Sink.Event(e)
	}
}

// Target is the stack a checkpoint operation works on.
type Target struct {
	Env     *stack.Runtime
	Targets load.Targets
	// forceWire makes tests checkpoint the FerretDB stand-in through the
	// wire protocol, the method a real MongoDB gets.
	forceWire bool
}

// For builds a Target from a stack's runtime.
func For(env *stack.Runtime) Target { return Target{Env: env, Targets: load.TargetsFor(env)} }

// shape is the stack's service set as a checkpoint records it.
func (t Target) shape() Shape {
	var stores []string
	for _, s := range storeNames {
		if t.has(s) {
			stores = append(stores, s)
		}
	}
	return Shape{RedisShards: len(t.Targets.Redis), Stores: stores}
}

// storeNames are the stores a checkpoint covers, in report order.
var storeNames = []string{load.Postgres, load.MariaDB, load.Mongo, load.Elasticsearch, load.S3, load.Redis, load.RabbitMQ}

// has reports whether the stack runs the service holding a store.
func (t Target) has(store string) bool {
	svc := store
	switch store {
	case load.Redis:
		svc = "redis-0"
	case load.RabbitMQ:
		svc = "haproxy"
	}
	_, ok := t.Env.Ports[svc]
	return ok
}

// Result is what Save or Restore did.
type Result struct {
	Manifest *Manifest `json:"checkpoint"`
	// Actions says per store what a restore did.
	Actions map[string]string `json:"actions,omitempty"`
	Elapsed float64           `json:"seconds"`
	// Finished names an interrupted restore this call completed first.
	Finished string `json:"finishedInterrupted,omitempty"`
	// Cache says what a seed took from the seed cache.
	Cache *CacheUse `json:"cache,omitempty"`
}

// lockAll serialises checkpoint operations and seeds on one stack: a file
// lock for processes on this machine (so a second restore waits instead of
// failing) and the seed lock, which a seed holds while it loads.
func lockAll(ctx context.Context, t Target) (func(), error) {
	dir := root(t.Env.Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	got := make(chan error, 1)
	go func() { got <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
	case <-ctx.Done():
		f.Close() // the goroutine's flock fails on the closed file
		return nil, ctx.Err()
	}
	unlock, err := load.Lock(ctx, t.Targets, 10*time.Minute)
	if err != nil {
		f.Close()
		return nil, err
	}
	// A save or restore killed mid-statement left its server session
	// running (PostgreSQL finishes a CREATE DATABASE whose client died):
	// it would race this one on the same names.
	if t.has(load.Postgres) {
		if err := endOrphans(ctx, t.Targets.PostgresSuper); err != nil {
			unlock()
			f.Close()
			return nil, err
		}
	}
	return func() { unlock(); f.Close() }, nil
}

// Get reads one complete checkpoint.
func Get(stackDir, name string) (*Manifest, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	m, err := readManifest(filepath.Join(root(stackDir), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(stackDir, name)
	}
	return m, err
}

func notFound(stackDir, name string) error {
	ms, _ := manifests(stackDir)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("%w %q: this stack has none (save one with `mossdev checkpoint save NAME`)", ErrNotFound, name)
	}
	return fmt.Errorf("%w %q: this stack has %s", ErrNotFound, name, strings.Join(names, ", "))
}

// List returns the stack's complete checkpoints, sorted by name.
func List(stackDir string) ([]*Manifest, error) { return manifests(stackDir) }

// Interrupted names a restore that was killed before it finished, or "".
// Until it is finished (any Save, Restore or Remove finishes it first),
// the stores may hold a mix of the checkpoint and what was there before.
func Interrupted(stackDir string) string {
	b, err := os.ReadFile(filepath.Join(root(stackDir), journalFile))
	if err != nil {
		return ""
	}
	var j struct{ Name string }
	if json.Unmarshal(b, &j) != nil || j.Name == "" {
		return "?"
	}
	return j.Name
}

// finishInterrupted completes a restore a killed process left half done.
func finishInterrupted(ctx context.Context, t Target, o Options) (string, error) {
	name := Interrupted(t.Env.Dir)
	if name == "" {
		return "", nil
	}
	m, err := Get(t.Env.Dir, name)
	if err != nil {
		// The checkpoint went away: the stores stay as they are, and only
		// the stores themselves can say what they hold (verify).
		_ = os.Remove(filepath.Join(root(t.Env.Dir), journalFile))
		return "", fmt.Errorf("a restore of %q was interrupted and that checkpoint is gone: the stores may hold a mix; run `mossdev verify`, or `mossdev reset`: %w", name, err)
	}
	if _, err := restore(ctx, t, m, o); err != nil {
		return "", fmt.Errorf("finish the interrupted restore of %q: %w", name, err)
	}
	return name, nil
}

// Save takes a checkpoint of every store of the stack at one cut: writes
// are held in every store first, then each store copies its state, then
// the holds are released. Saving over an existing name replaces it only
// once the new checkpoint is complete.
func Save(ctx context.Context, t Target, name string, o Options) (*Result, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	t0 := time.Now()
	unlock, err := lockAll(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	defer unlock()
	res := &Result{}
	if res.Finished, err = finishInterrupted(ctx, t, o); err != nil {
		return nil, err
	}
	stores, err := open(ctx, t, o)
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	defer closeAll(stores)
	if err := releaseHolds(ctx, t, stores); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	m := &Manifest{Name: name, Gen: newGen(), Stack: t.Env.Stack, Backend: t.Env.Backend,
		Created: time.Now().UTC().Truncate(time.Millisecond), Shape: t.shape(), Versions: map[string]string{}}
	if m.Versions, err = versions(ctx, stores); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	if st, err := load.Inspect(ctx, t.Targets); err == nil {
		if pm, ok := st.Stores[load.Postgres]; ok && pm.Fingerprint != "" {
			m.Dataset = &pm
		}
	}
	dir := filepath.Join(root(t.Env.Dir), name, m.Gen)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("save %s: %w", name, diskErr(err, dir))
	}
	parts, err := cut(ctx, stores, m.id(), dir, o)
	if err != nil {
		cleanup(context.WithoutCancel(ctx), stores, m.id(), dir)
		return nil, fmt.Errorf("save %s: %w", name, err)
	}
	m.Stores = parts
	m.Elapsed = time.Since(t0).Seconds()
	prev, _ := readManifest(filepath.Join(root(t.Env.Dir), name))
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(root(t.Env.Dir), name, manifestFile), b); err != nil {
		cleanup(context.WithoutCancel(ctx), stores, m.id(), dir)
		return nil, fmt.Errorf("save %s: %w", name, diskErr(err, dir))
	}
	if prev != nil && prev.Gen != m.Gen {
		cleanup(ctx, stores, prev.id(), filepath.Join(root(t.Env.Dir), name, prev.Gen))
	}
	collect(ctx, t, stores)
	res.Manifest = m
	res.Elapsed = time.Since(t0).Seconds()
	if o.Background != nil {
		o.Background(name)
	}
	return res, nil
}

// cut holds writes in every store, copies each store while all are held,
// and releases them.
func cut(ctx context.Context, stores []store, id, dir string, o Options) ([]Part, error) {
	type held struct {
		save    func(context.Context) (Part, error)
		release func()
	}
	holds := make([]held, len(stores))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			save, release, err := s.hold(ctx, id, dir)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: hold writes: %w", s.name(), err))
				return
			}
			holds[i] = held{save, release}
		})
	}
	wg.Wait()
	defer func() {
		for _, h := range holds {
			if h.release != nil {
				h.release()
			}
		}
	}()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	parts := make([]Part, len(stores))
	for i, s := range stores {
		wg.Go(func() {
			t0 := time.Now()
			o.emit(stack.Event{Service: s.name(), Kind: stack.EventLoading, Step: stack.StepSave, Message: s.method()})
			p, err := holds[i].save(ctx)
			p.Store, p.Method, p.Seconds = s.name(), s.method(), time.Since(t0).Seconds()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name(), diskErr(err, dir)))
				o.emit(stack.Event{Service: s.name(), Kind: stack.EventFailed, Step: stack.StepSave, Message: err.Error()})
				return
			}
			parts[i] = p
			o.emit(stack.Event{Service: s.name(), Kind: stack.EventLoaded, Step: stack.StepSave, Elapsed: time.Since(t0), Message: s.method()})
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return parts, nil
}

// Restore puts every store back to checkpoint name. It first records the
// restore in a journal, so a restore killed halfway is finished by the
// next checkpoint command (the stores are never left as a mix for long,
// and status says so meanwhile).
func Restore(ctx context.Context, t Target, name string, o Options) (*Result, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	t0 := time.Now()
	unlock, err := lockAll(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	defer unlock()
	m, err := Get(t.Env.Dir, name)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	res := &Result{Manifest: m}
	if fin := Interrupted(t.Env.Dir); fin != "" && fin != name {
		if res.Finished, err = finishInterrupted(ctx, t, o); err != nil {
			return nil, err
		}
	}
	if err := fits(ctx, t, m); err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	if res.Actions, err = restore(ctx, t, m, o); err != nil {
		return res, fmt.Errorf("restore %s: %w", name, err)
	}
	res.Elapsed = time.Since(t0).Seconds()
	if o.Background != nil {
		o.Background(name)
	}
	return res, nil
}

// Release lifts every hold a killed save or restore left on the stack's
// stores (PgBouncer's pause, which PgBouncer never lifts by itself; the
// others expire within a minute). The CLI's guard calls it when the
// operation it watches dies; every Save and Restore does it first.
func Release(ctx context.Context, t Target) error {
	stores, err := open(ctx, t, Options{})
	if err != nil {
		// PgBouncer's pause first: the others expire by themselves.
		if t.has(load.Postgres) {
			if rerr := t.Targets.ResumePool(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	defer closeAll(stores)
	return releaseHolds(ctx, t, stores)
}

// Prepare readies checkpoint name's next restore: the stores that copy on
// restore (PostgreSQL, FerretDB's storage) make their copy now, and drop
// what the last restore replaced. It takes the checkpoint lock, so a
// restore that comes while it runs waits for the copy instead of making
// its own.
func Prepare(ctx context.Context, t Target, name string) error {
	unlock, err := lockAll(ctx, t)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	defer unlock()
	m, err := Get(t.Env.Dir, name)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if Interrupted(t.Env.Dir) != "" {
		return nil // the next restore finishes that one first
	}
	stores, err := open(ctx, t, Options{})
	if err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	defer closeAll(stores)
	var errs []error
	for _, s := range stores {
		if p, ok := s.(preparer); ok {
			if err := p.prepare(ctx, m.id()); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name(), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	return nil
}

// fits checks that the stack can take checkpoint m: the same service set
// and the same server versions.
func fits(ctx context.Context, t Target, m *Manifest) error {
	if got := t.shape(); !slices.Equal(got.Stores, m.Shape.Stores) || got.RedisShards != m.Shape.RedisShards {
		return fmt.Errorf("%w: it was saved from a stack with %s, this one has %s; restore it into a stack of that shape (mossdev up --name OTHER with the same --only and --redis-shards)",
			ErrMismatch, m.Shape, got)
	}
	stores, err := open(ctx, t, Options{})
	if err != nil {
		return err
	}
	defer closeAll(stores)
	now, err := versions(ctx, stores)
	if err != nil {
		return err
	}
	var diff []string
	for _, s := range m.Shape.Stores {
		if now[s] != m.Versions[s] {
			diff = append(diff, fmt.Sprintf("%s %s (saved from %s)", s, now[s], m.Versions[s]))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w: the servers changed version since it was saved: %s; a store's saved form is only read back by the version that wrote it: save a new checkpoint", ErrMismatch, strings.Join(diff, "; "))
	}
	return nil
}

func restore(ctx context.Context, t Target, m *Manifest, o Options) (map[string]string, error) {
	j, _ := json.Marshal(struct {
		Name string    `json:"name"`
		Gen  string    `json:"gen"`
		At   time.Time `json:"at"`
	}{m.Name, m.Gen, time.Now().UTC()})
	journal := filepath.Join(root(t.Env.Dir), journalFile)
	if err := writeFileAtomic(journal, j); err != nil {
		return nil, diskErr(err, journal)
	}
	stores, err := open(ctx, t, o)
	if err != nil {
		return nil, err
	}
	defer closeAll(stores)
	if err := releaseHolds(ctx, t, stores); err != nil {
		return nil, err
	}
	dir := filepath.Join(root(t.Env.Dir), m.Name, m.Gen)
	actions := map[string]string{}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, s := range stores {
		i := slices.IndexFunc(m.Stores, func(p Part) bool { return p.Store == s.name() })
		if i < 0 {
			continue
		}
		wg.Go(func() {
			t0 := time.Now()
			o.emit(stack.Event{Service: s.name(), Kind: stack.EventLoading, Step: stack.StepRestore, Message: m.Stores[i].Method})
			what, err := s.restore(ctx, m.id(), dir, m.Stores[i], o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name(), err))
				o.emit(stack.Event{Service: s.name(), Kind: stack.EventFailed, Step: stack.StepRestore, Message: err.Error()})
				return
			}
			actions[s.name()] = what
			o.emit(stack.Event{Service: s.name(), Kind: stack.EventLoaded, Step: stack.StepRestore, Elapsed: time.Since(t0), Message: what})
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return actions, errors.Join(errs...)
	}
	if t.has("cdn") && t.Targets.CDN != "" {
		if err := load.PurgeCDN(ctx, t.Targets); err != nil {
			return actions, err
		}
		actions["cdn"] = "purged"
	}
	if err := os.Remove(journal); err != nil {
		return actions, err
	}
	return actions, nil
}

// Remove deletes checkpoint name from every store and from disk.
func Remove(ctx context.Context, t Target, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	unlock, err := lockAll(ctx, t)
	if err != nil {
		return fmt.Errorf("rm %s: %w", name, err)
	}
	defer unlock()
	m, err := Get(t.Env.Dir, name)
	if err != nil {
		return err
	}
	if Interrupted(t.Env.Dir) == name {
		return fmt.Errorf("rm %s: a restore of it was interrupted and the stores may hold a mix: finish it first with `mossdev checkpoint restore %s`", name, name)
	}
	// The manifest goes first: from then on the checkpoint is not listed,
	// and what is left in the stores is collected like a killed save's.
	if err := os.Remove(filepath.Join(root(t.Env.Dir), name, manifestFile)); err != nil {
		return err
	}
	stores, err := open(ctx, t, Options{})
	if err != nil {
		return fmt.Errorf("rm %s: removed from the list; its data in the stores goes with the next save: %w", name, err)
	}
	defer closeAll(stores)
	cleanup(ctx, stores, m.id(), filepath.Join(root(t.Env.Dir), name))
	_ = os.RemoveAll(filepath.Join(root(t.Env.Dir), name))
	return nil
}

// cleanup removes one checkpoint id's parts from every store and its
// files.
func cleanup(ctx context.Context, stores []store, id, dir string) {
	for _, s := range stores {
		_ = s.remove(ctx, id)
	}
	_ = os.RemoveAll(dir)
}

// collect removes parts no manifest refers to: what a killed save left.
func collect(ctx context.Context, t Target, stores []store) {
	ms, err := manifests(t.Env.Dir)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, m := range ms {
		keep[m.id()] = true
		// Files of other generations under a complete checkpoint's dir.
		ents, _ := os.ReadDir(filepath.Join(root(t.Env.Dir), m.Name))
		for _, e := range ents {
			if e.IsDir() && e.Name() != m.Gen {
				_ = os.RemoveAll(filepath.Join(root(t.Env.Dir), m.Name, e.Name()))
			}
		}
	}
	if Interrupted(t.Env.Dir) != "" {
		return // its parts are still needed
	}
	for _, s := range stores {
		ids, err := s.ids(ctx)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if !keep[id] {
				_ = s.remove(ctx, id)
			}
		}
	}
	// Directories of names that never got a manifest.
	ents, _ := os.ReadDir(root(t.Env.Dir))
	for _, e := range ents {
		if e.IsDir() && CheckName(e.Name()) == nil {
			if _, err := os.Stat(filepath.Join(root(t.Env.Dir), e.Name(), manifestFile)); errors.Is(err, fs.ErrNotExist) {
				_ = os.RemoveAll(filepath.Join(root(t.Env.Dir), e.Name()))
			}
		}
	}
}

// diskErr turns a full disk into an error that says what to do.
func diskErr(err error, dir string) error {
	if errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device") || strings.Contains(err.Error(), "could not extend file") {
		return fmt.Errorf("the disk is full (under %s): free space there or remove checkpoints (`mossdev checkpoint rm NAME`); nothing of this checkpoint was kept: %w", dir, err)
	}
	return err
}

// versions asks every store for its server's version.
func versions(ctx context.Context, stores []store) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range stores {
		v, err := s.version(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: read version: %w", s.name(), err)
		}
		out[s.name()] = v
	}
	return out, nil
}
