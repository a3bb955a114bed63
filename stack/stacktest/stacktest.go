// Package stacktest is mossdev's Go API for integration tests: TestMain
// brings a stack of the Mossi platform up once per test package, tests get
// the URLs, and the stack is removed when the tests end (or on Ctrl-C).
//
//	func TestMain(m *testing.M) { stacktest.Main(m) }
//
//	func TestCards(t *testing.T) {
//		db, _ := pgx.Connect(t.Context(), stacktest.URL(t, "postgres")) // through PgBouncer
//		...
//	}
//
// When the stack cannot start (servers not installed, say) the tests are
// skipped with the reason and the fix, unless CI=true or
// MOSSDEV_REQUIRE_STACK=1, where the run fails instead: a CI job must never
// count a missing server as a pass. MOSSDEV_BACKEND=docker runs the same
// tests against containers.
//
// # Seeded data: Reset and Isolated
//
// WithSeed(scale) seeds the stack once it is up and keeps the seeded state
// as checkpoint "seed". Two ways to give tests that data:
//
// Reset(t) restores the seed checkpoint in every store, for tests that
// share the stack's own data and run one at a time. After each restore
// the next one is prepared in a goroutine (the PostgreSQL and FerretDB
// copies), so the next Reset renames a database instead of copying it;
// Main waits for that goroutine before the stack goes down. Measured at
// small scale on a shared 2-core machine: 0.2-0.5 s per Reset (native),
// 1.3-2.4 s (docker backend).
//
// Isolated(t) gives a test its own copy of the seeded data, for tests
// with t.Parallel(); everything it made is removed by t.Cleanup. Up to
// MaxIsolations at once per stack (Redis has 16 databases). Per store
// (times at small scale, 2,000 cards, one isolation alone on a shared
// 2-core machine; the stores are copied in parallel, so the call takes
// about the slowest, 5 s; two at once took 8-9 s each):
//
//   - PostgreSQL: its own database, CREATE DATABASE ... TEMPLATE of the
//     seed checkpoint's copy (a file copy in the server; 0.4 s). Reached
//     through PgBouncer like the app database: PgBouncer's [databases]
//     has a "*" entry. iso.URL("postgres"), MOSSDEV_POSTGRES_URL and
//     MOSSDEV_POSTGRES_DIRECT_URL point at it.
//   - MariaDB: its own database, each table CREATE TABLE ... LIKE and
//     INSERT ... SELECT from the live app database, granted to the app
//     user (0.5 s). MOSSDEV_MARIADB_URL and MOSSDEV_MARIADB_DSN.
//   - MongoDB: its own database, collections, indexes and documents copied
//     through the wire protocol from the live app database (5 s: the
//     FerretDB stand-in inserts slowly). iso.URL("mongodb"), iso.Mongo.
//   - Elasticsearch: its own "cards" index named with iso.IndexPrefix, same
//     mapping, documents read with _mget and written with _bulk (2.5 s).
//     MOSSDEV_ELASTICSEARCH_INDEX_PREFIX.
//   - S3: its own bucket (iso.Bucket), every object of the image bucket
//     copied by get and put, one at a time under a stack-wide lock (2-4
//     s; a second isolation waits its turn): the S3 fake's bolt backend
//     crashes when a read overlaps a write. The CDN still serves the
//     stack's bucket. MOSSDEV_S3_BUCKET.
//   - Redis: database iso.RedisDB on every shard (URLs end in /n), every
//     key copied server-side with COPY ... DB n (0.06 s).
//   - RabbitMQ: its own vhost (iso.VHost, rabbitmqctl add_vhost and
//     set_permissions) with the durable queues of "/" declared, empty: a
//     broker reads a queue only by consuming it, which would disturb the
//     shared one (5 s: each rabbitmqctl starts an Erlang VM).
//     iso.URL("haproxy"), MOSSDEV_RABBITMQ_URL, MOSSDEV_RABBITMQ_VHOST.
//
// PostgreSQL's copy is the seed checkpoint's, whatever tests did to the
// app database; the other stores copy the stack's live data, which is the
// seeded data unless a test changed the shared stores (Reset puts them
// back). Reset and Isolated exclude each other, across every process
// sharing the stack (a flock, exclusive for Reset, shared for Isolated,
// held until the test ends): a restore rewrites the stores isolations
// copy from and swaps FerretDB's whole storage, every isolation's MongoDB
// database in it. So a Reset waits for live isolations to end, and a test
// that holds an Isolation may not call Reset (it fails, saying so).
//
// # One stack for go test ./...
//
// go test runs each package as its own process. WithShared(name, root)
// makes them share one stack: the first brings it up (and seeds it), the
// others reuse it, each holding a lease (a file it holds a flock on, so
// kill -9 ends the lease at once), and the last one out takes the stack
// down. Packages asking the same named stack for other services, options
// or seed are refused with an error naming both.
package stacktest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mossdev/mossdev/fakes/serve"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
)

// Option configures Main.
type Option func(*config)

type config struct {
	name    string
	root    string
	backend string
	only    []string
	opts    stack.Options
	timeout time.Duration
	keep    bool
	// seed, if set, seeds the stack once up (WithSeed).
	seed *seed.Params
	// shared leases the named stack with other processes (WithShared).
	shared bool
}

// WithOnly starts only these services and what they need.
func WithOnly(services ...string) Option { return func(c *config) { c.only = services } }

// WithBackend picks the backend ("native", "docker" or "auto"); the default
// is $MOSSDEV_BACKEND, else native.
func WithBackend(name string) Option { return func(c *config) { c.backend = name } }

// WithOptions sets the number of Redis shards and RabbitMQ nodes.
func WithOptions(o stack.Options) Option { return func(c *config) { c.opts = o } }

// WithTimeout bounds the start (default 3 minutes).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithStack uses a named stack under root (created if needed) and leaves it
// running afterwards, so repeated `go test` runs reuse a warm stack.
func WithStack(name, root string) Option {
	return func(c *config) { c.name, c.root, c.keep = name, root, true }
}

var current *stack.Stack

// Main is for TestMain. It serves a fake when the test binary was started
// as one (the stack re-executes the binary for S3, the CDN and the
// stand-ins), otherwise brings the stack up, runs the tests and tears the
// stack down. It calls os.Exit.
func Main(m *testing.M, opts ...Option) {
	if serve.IfAsked() {
		os.Exit(0)
	}
	os.Exit(run(m, opts...))
}

// Required reports whether a stack that cannot start must fail the run.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MOSSDEV_REQUIRE_STACK") == "1"
}

func run(m *testing.M, opts ...Option) int {
	cfg := &config{timeout: 3 * time.Minute, backend: os.Getenv("MOSSDEV_BACKEND")}
	for _, o := range opts {
		o(cfg)
	}
	cleanRoot := ""
	if cfg.shared && cfg.root == "" {
		cfg.root = stack.DefaultRoot() // where the other processes look for it
	}
	if cfg.root == "" {
		// A fresh root per test binary. Not t.TempDir: its 0700 mode would
		// lock out the unprivileged user servers run as under root.
		dir, err := os.MkdirTemp("", "mossdev-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "stacktest:", err)
			return 1
		}
		_ = os.Chmod(dir, 0o711)
		cfg.root, cleanRoot = dir, dir
	}
	if cfg.name == "" {
		cfg.name = "test"
	}
	var expired []string
	if cfg.shared {
		var err error
		backend := cfg.backend
		if backend == "" {
			backend = "native" // the default, as Open takes it
		} else if backend == "auto" {
			backend = "" // chosen by Open; acquire compares it
		}
		if expired, err = precheck(context.Background(), cfg.name, leaseDir(cfg.root, cfg.name), specOf(cfg, backend)); err != nil {
			return fail(err)
		}
	}
	s, err := platform.Open(stack.Config{Name: cfg.name, Root: cfg.root, Backend: cfg.backend,
		Options: cfg.opts, Timeout: cfg.timeout})
	if err != nil {
		return fail(err)
	}
	current = s
	var held *lease
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Down(ctx, false); err != nil {
			fmt.Fprintln(os.Stderr, "stacktest: down:", err)
		}
		if cleanRoot != "" {
			_ = os.RemoveAll(cleanRoot)
		}
	}
	teardown := func() {
		// No Prepare may outlive the stack it copies in.
		waitBackground()
		switch {
		case held != nil:
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := held.release(ctx, down); err != nil {
				fmt.Fprintln(os.Stderr, "stacktest:", err)
			}
		case cfg.shared, cfg.keep:
		default:
			down()
		}
	}
	// go test forwards Ctrl-C; without this the stack would outlive the run.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		if _, ok := <-sig; ok {
			cancel()
			background.cancel()
			teardown()
			os.Exit(130)
		}
	}()
	defer signal.Stop(sig)
	t0 := time.Now()
	up := func(ctx context.Context) error {
		if _, err := s.Up(ctx, cfg.only); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stacktest: stack %s up in %.1fs (%s backend, %s)\n", cfg.name, time.Since(t0).Seconds(), s.Backend(), s.Dir())
		if cfg.seed != nil {
			if err := seedStack(ctx, s, *cfg.seed); err != nil {
				return err
			}
			// The first Reset is a rename too, and no test runs beside
			// the copy the seed's save started.
			waitBackground()
			env, err := s.Runtime()
			if err != nil {
				return err
			}
			return freshPool(ctx, env)
		}
		return nil
	}
	if cfg.shared {
		// The first holder's failed start is taken down: no lease would.
		upFirst := func(ctx context.Context) error {
			err := up(ctx)
			if err != nil {
				waitBackground()
				down()
			}
			return err
		}
		held, err = acquire(ctx, cfg.name, leaseDir(cfg.root, cfg.name), specOf(cfg, s.Backend()), upFirst)
		if err == nil {
			for _, x := range append(expired, held.Expired...) {
				fmt.Fprintf(os.Stderr, "stacktest: removed the expired lease %s of a test binary that died\n", x)
			}
			if !held.Created {
				// Opened before another process created it, maybe: read
				// the stack as its creator left it.
				var again *stack.Stack
				if again, err = platform.Open(stack.Config{Name: cfg.name, Root: cfg.root, Backend: cfg.backend,
					Options: cfg.opts, Timeout: cfg.timeout}); err == nil {
					s, current = again, again
					fmt.Fprintf(os.Stderr, "stacktest: reusing shared stack %s (%s backend, %s)\n", cfg.name, s.Backend(), s.Dir())
				} else {
					_ = held.release(context.Background(), down)
					held = nil
				}
			}
		}
	} else {
		err = up(ctx)
	}
	if err != nil {
		if !cfg.shared {
			teardown()
		} else {
			waitBackground()
		}
		return fail(err)
	}
	code := m.Run()
	signal.Stop(sig)
	teardown()
	return code
}

func fail(err error) int {
	msg := fmt.Sprintf("stacktest: the stack did not start: %v", err)
	if h := stack.Hint(err); h != "" {
		msg += "\n  fix: " + h
	}
	if t := stack.Tail(err); t != "" {
		msg += "\n  log tail:\n    " + strings.ReplaceAll(t, "\n", "\n    ")
	}
	if Required() {
		fmt.Fprintln(os.Stderr, msg+"\n  (CI=true or MOSSDEV_REQUIRE_STACK=1: failing instead of skipping)")
		return 1
	}
	fmt.Fprintln(os.Stderr, msg+"\n  skipping this package's integration tests (set MOSSDEV_REQUIRE_STACK=1 to fail instead)")
	return 0
}

// Stack returns the stack Main brought up; it fails the test outside Main.
func Stack(t testing.TB) *stack.Stack {
	t.Helper()
	if current == nil {
		t.Fatal("stacktest: no stack: call stacktest.Main(m) from TestMain")
	}
	return current
}

// URL returns the URL apps use for a service (PgBouncer's for postgres).
func URL(t testing.TB, service string) string {
	t.Helper()
	u, err := Stack(t).URL(service)
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	return u
}

// Runtime returns the stack's runtime facts (ports, secrets, directories).
func Runtime(t testing.TB) *stack.Runtime {
	t.Helper()
	e, err := Stack(t).Runtime()
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	return e
}

// Var returns one of the variables `mossdev env` prints.
func Var(t testing.TB, name string) string {
	t.Helper()
	vars, err := Stack(t).Vars()
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	for _, v := range vars {
		if v.Name == name {
			return v.Value
		}
	}
	t.Fatalf("stacktest: no variable %s", name)
	return ""
}

// Eventually retries fn every 50 ms until it returns nil or timeout passes,
// then fails the test with fn's last error. Use it instead of sleeps.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = fn(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
