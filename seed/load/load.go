package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
)

// ErrNotSeeded is returned by Reset when the stack was never seeded
// completely, so there is no seeded state to return to.
var ErrNotSeeded = errors.New("not seeded")

// Options tune Seed and Reset.
type Options struct {
	// Force reloads every store even when its marker says it holds the
	// dataset already.
	Force bool
	// Only limits Seed to these stores (the others are neither checked nor
	// touched); empty means all. The template is refreshed only when
	// PostgreSQL is among them.
	Only []string
	// Sink receives progress as stack events (Service is the store, Step
	// is stack.StepSeed or stack.StepReset), from one goroutine: state
	// changes at once, row counts every Interval while loading. Nil means
	// no events.
	Sink stack.Sink
	// Interval between progress events (default 200 ms).
	Interval time.Duration
}

// Report actions of a store besides what it did ("loaded", or what reset
// did).
const (
	StateKept   = "kept"
	StateFailed = "failed"
	// StateSkipped is a store Options.Only left out: not checked, not touched.
	StateSkipped = "skipped"
)

// Report says what Seed or Reset did.
type Report struct {
	Fingerprint string        `json:"fingerprint"`
	Params      seed.Params   `json:"params"`
	Counts      seed.Counts   `json:"counts"`
	NoOp        bool          `json:"noop"`
	Stores      []StoreReport `json:"stores"`
	Snapshot    time.Duration `json:"snapshotNs,omitempty"`
	Elapsed     time.Duration `json:"elapsedNs"`
}

// StoreReport is one store's part.
type StoreReport struct {
	Store   string        `json:"store"`
	Action  string        `json:"action"` // kept | loaded | failed | what reset did
	Rows    int64         `json:"rows"`
	Elapsed time.Duration `json:"elapsedNs"`
	Before  string        `json:"before"` // the marker found
	Error   string        `json:"error,omitempty"`
}

// RowsPerSec is the store's load rate.
func (r StoreReport) RowsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

// CardsPerSec is the end-to-end rate: cards loaded into every store.
func (r *Report) CardsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Counts.Cards) / r.Elapsed.Seconds()
}

// ErrBusy is returned when another seed or reset holds the stack (the CLI
// names the fix and exits with its own code).
var ErrBusy = errors.New("another seed or reset is running on this stack")

// seedLock is the advisory lock key held for a whole Seed or Reset.
const seedLock = 0x6d6f7373646577

// lock takes the stack-wide seed lock: a PostgreSQL advisory lock held by
// a session on the maintenance database (not the app database, which reset
// drops) until the returned function is called. Two seeds at once would
// interleave their markers and writes.
func lock(ctx context.Context, t Targets) (func(), error) {
	// A lock whose session just ended may not be released yet (the backend
	// exits after the client hangs up): retry briefly before calling it busy.
	return Lock(ctx, t, 3*time.Second)
}

// Lock takes the stack-wide seed lock, waiting up to wait for another
// seed, reset or checkpoint operation to finish (ErrBusy after that).
// Checkpoints wait longer than a seed does: two restores at once are
// serialised, not refused.
func Lock(ctx context.Context, t Targets, wait time.Duration) (func(), error) {
	conn, err := pgx.Connect(ctx, t.PostgresSuper)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", seedLock).Scan(&ok); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("take seed lock: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			conn.Close(context.WithoutCancel(ctx))
			return nil, ErrBusy
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		ctx := context.Background()
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", seedLock)
		conn.Close(ctx)
	}, nil
}

// openAll connects to every store concurrently.
func openAll(ctx context.Context, t Targets) (map[string]store, error) {
	type opener func(context.Context, Targets) (store, error)
	openers := map[string]opener{
		Postgres:      func(ctx context.Context, t Targets) (store, error) { return newPG(ctx, t) },
		MariaDB:       func(ctx context.Context, t Targets) (store, error) { return newMaria(ctx, t) },
		Mongo:         func(ctx context.Context, t Targets) (store, error) { return newMongo(ctx, t) },
		Elasticsearch: func(ctx context.Context, t Targets) (store, error) { return newES(ctx, t) },
		S3:            func(ctx context.Context, t Targets) (store, error) { return newS3(ctx, t) },
		Redis:         func(ctx context.Context, t Targets) (store, error) { return newRedis(ctx, t) },
		RabbitMQ:      func(ctx context.Context, t Targets) (store, error) { return newRabbit(ctx, t) },
	}
	var mu sync.Mutex
	out := map[string]store{}
	var errs []error
	var wg sync.WaitGroup
	for name, open := range openers {
		wg.Go(func() {
			s, err := open(ctx, t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			out[name] = s
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		closeAll(out)
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func closeAll(m map[string]store) {
	for _, s := range m {
		s.close()
	}
}

// markers reads every store's marker concurrently.
func markers(ctx context.Context, stores map[string]store) (map[string]Marker, error) {
	var mu sync.Mutex
	out := map[string]Marker{}
	var errs []error
	var wg sync.WaitGroup
	for name, s := range stores {
		wg.Go(func() {
			m, err := s.marker(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			out[name] = m
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// checkOnly refuses an Only list naming no store or an unknown one: it
// would otherwise skip every store and report "nothing to do".
func checkOnly(only []string) error {
	if only == nil {
		return nil
	}
	if len(only) == 0 || strings.Join(only, "") == "" {
		return &stack.Error{Op: "check --only", Err: stack.ErrBadInput, Detail: "--only names no store",
			Fix: "name stores (" + strings.Join(Stores, ", ") + "), or leave --only out for all"}
	}
	for _, n := range only {
		if !slices.Contains(Stores, n) {
			return &stack.Error{Op: "check --only", Err: stack.ErrBadInput, Detail: fmt.Sprintf("no store %q", n),
				Fix: "stores: " + strings.Join(Stores, ", ")}
		}
	}
	return nil
}

// Seed loads the dataset p into every store of t. A store whose own marker
// says it holds this dataset completely is kept; every other store is
// cleaned and loaded, all concurrently, each streaming from the generator.
// When every store is kept and the PostgreSQL template matches, Seed
// changes nothing and the report says NoOp. After a load the app database
// is copied to the template database reset restores from, and warmed.
//
// A failed or interrupted seed leaves the stores it finished marked
// complete and the others incomplete; the next Seed (or Reset) loads only
// those.
func Seed(ctx context.Context, t Targets, p seed.Params, o Options) (*Report, error) {
	if err := checkOnly(o.Only); err != nil {
		return nil, err
	}
	t0 := time.Now()
	ds, err := seed.New(p)
	if err != nil {
		return nil, err
	}
	rep := &Report{Fingerprint: ds.Fingerprint(), Params: ds.Params(), Counts: ds.Counts()}
	if _, err := Migrate(ctx, t.PostgresDirect); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	unlock, err := lock(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer unlock()
	stores, err := openAll(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("seed: connect: %w", err)
	}
	defer closeAll(stores)
	before, err := markers(ctx, stores)
	if err != nil {
		return nil, fmt.Errorf("seed: read markers: %w", err)
	}
	tplOK, err := templateHolds(ctx, t, ds)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	todo, skip := map[string]bool{}, map[string]bool{}
	for _, name := range Stores {
		if len(o.Only) > 0 && !slices.Contains(o.Only, name) {
			skip[name] = true
			continue
		}
		if o.Force || !before[name].Holds(ds) {
			todo[name] = true
		}
	}
	if len(o.Only) > 0 && !slices.Contains(o.Only, Postgres) {
		tplOK = true
	}
	if len(todo) == 0 && tplOK {
		rep.NoOp = true
		for _, name := range Stores {
			action := StateKept
			if skip[name] {
				action = StateSkipped
			}
			rep.Stores = append(rep.Stores, StoreReport{Store: name, Action: action, Rows: before[name].Rows, Before: before[name].String()})
		}
		rep.Elapsed = time.Since(t0)
		return rep, nil
	}

	manifest, err := connectPG(ctx, t.Postgres)
	if err != nil {
		return nil, fmt.Errorf("seed: connect for manifest: %w", err)
	}
	defer manifest.Close(context.WithoutCancel(ctx))
	var manifestMu sync.Mutex

	results := runStores(stack.StepSeed, stores, ds, o, todo, skip, before, func(name string, s store, m *meter) (string, error) {
		t0 := time.Now()
		if err := s.load(ctx, ds, before[name], m); err != nil {
			return "", err
		}
		if name != Postgres { // PostgreSQL's row is written with its data
			manifestMu.Lock()
			defer manifestMu.Unlock()
			if err := upsertManifest(ctx, manifest, name, newMarker(ds, true, m.done.Load()), time.Since(t0).Seconds()); err != nil {
				return "", err
			}
		}
		return "loaded", nil
	})
	rep.Stores = results
	var errs []error
	for _, r := range results {
		if r.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", r.Store, r.Error))
		}
	}
	if len(errs) > 0 {
		rep.Elapsed = time.Since(t0)
		return rep, fmt.Errorf("seed: %w", errors.Join(errs...))
	}
	if todo[Postgres] || !tplOK {
		ts := time.Now()
		emit(o, stack.StepSeed, stack.Event{Service: Postgres, Kind: stack.EventSnapshot, Message: TemplateDB})
		pg := stores[Postgres].(*pgStore)
		mk := newMarker(ds, true, 0)
		if err := t.snapshot(ctx, mk); err != nil {
			return rep, fmt.Errorf("seed: %w", err)
		}
		if err := pg.reconnect(ctx); err != nil {
			return rep, fmt.Errorf("seed: %w", err)
		}
		if err := pg.prewarm(ctx); err != nil {
			return rep, fmt.Errorf("seed: %w", err)
		}
		rep.Snapshot = time.Since(ts)
	}
	rep.Elapsed = time.Since(t0)
	return rep, nil
}

// templateHolds reports whether the template database is a snapshot of ds.
func templateHolds(ctx context.Context, t Targets, ds *seed.Dataset) (bool, error) {
	super, err := pgx.Connect(ctx, t.PostgresSuper)
	if err != nil {
		return false, fmt.Errorf("connect as superuser: %w", err)
	}
	defer super.Close(context.WithoutCancel(ctx))
	m, ok, err := templateMarker(ctx, super)
	return ok && m.Holds(ds), err
}

func emit(o Options, step string, e stack.Event) {
	if o.Sink != nil {
		e.Time, e.Step = time.Now(), step
		o.Sink.Event(e)
	}
}

// runStores runs fn for the stores in todo concurrently (the others are
// reported kept), emitting progress events from one goroutine.
func runStores(step string, stores map[string]store, ds *seed.Dataset, o Options, todo, skip map[string]bool,
	before map[string]Marker, fn func(string, store, *meter) (string, error)) []StoreReport {
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	type run struct {
		m      *meter
		t0     time.Time
		report StoreReport
		done   bool
	}
	runs := map[string]*run{}
	var mu sync.Mutex
	events := make(chan stack.Event, 64)
	var wg sync.WaitGroup
	for _, name := range Stores {
		r := &run{m: &meter{}, report: StoreReport{Store: name, Before: before[name].String()}}
		runs[name] = r
		if !todo[name] {
			state, kind := StateKept, stack.EventKept
			if skip[name] {
				state, kind = StateSkipped, stack.EventSkipped
			}
			r.report.Action, r.report.Rows, r.done = state, before[name].Rows, true
			emit(o, step, stack.Event{Service: name, Kind: kind, Done: before[name].Rows, Total: before[name].Rows, Message: before[name].String()})
			continue
		}
		r.m.total.Store(stores[name].total(ds))
		r.t0 = time.Now()
		emit(o, step, stack.Event{Service: name, Kind: stack.EventLoading, Total: r.m.total.Load()})
		wg.Go(func() {
			action, err := fn(name, stores[name], r.m)
			mu.Lock()
			r.report.Elapsed = time.Since(r.t0)
			r.report.Rows = r.m.done.Load()
			r.done = true
			e := stack.Event{Service: name, Kind: stack.EventLoaded, Done: r.report.Rows, Total: r.m.total.Load(), Elapsed: r.report.Elapsed, Message: action}
			if err != nil {
				r.report.Action, r.report.Error = StateFailed, err.Error()
				e.Kind, e.Message = stack.EventFailed, err.Error()
			} else {
				r.report.Action = action
			}
			mu.Unlock()
			events <- e
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	progress := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, name := range Stores {
			if r := runs[name]; !r.done {
				emit(o, step, stack.Event{Service: name, Kind: stack.EventLoading, Done: r.m.done.Load(), Total: r.m.total.Load(), Elapsed: time.Since(r.t0)})
			}
		}
	}
	for running := true; running; {
		select {
		case e := <-events:
			emit(o, step, e)
		case <-tick.C:
			progress()
		case <-finished:
			running = false
		}
	}
	for drained := false; !drained; {
		select {
		case e := <-events:
			emit(o, step, e)
		default:
			drained = true
		}
	}
	out := make([]StoreReport, 0, len(Stores))
	for _, name := range Stores {
		out = append(out, runs[name].report)
	}
	return out
}

// State is what each store holds, from its own marker.
type State struct {
	Template Marker            `json:"template"`
	Stores   map[string]Marker `json:"stores"`
}

// Inspect reads every store's marker and the template's.
func Inspect(ctx context.Context, t Targets) (*State, error) {
	stores, err := openAll(ctx, t)
	if err != nil {
		return nil, err
	}
	defer closeAll(stores)
	ms, err := markers(ctx, stores)
	if err != nil {
		return nil, err
	}
	st := &State{Stores: ms}
	super, err := pgx.Connect(ctx, t.PostgresSuper)
	if err != nil {
		return nil, err
	}
	defer super.Close(context.WithoutCancel(ctx))
	st.Template, _, err = templateMarker(ctx, super)
	return st, err
}
