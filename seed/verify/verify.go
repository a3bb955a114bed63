// Package verify checks that the stores of a seeded Mossi platform agree
// with each other about the same cards: every cross-store invariant the
// seed promises, read back from the stores themselves through the paths
// apps use (SQL through PgBouncer, the Mongo wire protocol, ES's REST API,
// S3, the Redis shards, AMQP).
//
// PostgreSQL is the reference: its rows are what the other stores must
// mirror (the cache entry must equal the row, the view log's distinct
// viewers the row's unique view count, the search table's card counts the
// row's links). Counts are also compared with the dataset the manifest
// names, which catches rows missing from every store at once.
//
// Each check reports how many items it compared and names each mismatch
// (the first Options.Examples of them), so a failing verify says which card,
// which tag, which shard.
package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
)

// Options tune Run.
type Options struct {
	// Examples is how many mismatches each check names (default 20); the
	// count covers all of them.
	Examples int
	// Only runs these checks (names or store prefixes such as "redis");
	// empty runs all.
	Only []string
}

// Check is one invariant's outcome.
type Check struct {
	Name       string   `json:"name"`
	Invariant  string   `json:"invariant"`
	Checked    int64    `json:"checked"`
	Mismatches int64    `json:"mismatches"`
	Examples   []string `json:"examples,omitempty"`
	Error      string   `json:"error,omitempty"` // the check could not run
	// Note is what the check found worth saying that is no mismatch (e.g.
	// write-behind jobs consumed by a worker).
	Note    string        `json:"note,omitempty"`
	Elapsed time.Duration `json:"elapsedNs"`
}

// OK reports whether the check ran and found nothing wrong.
func (c Check) OK() bool { return c.Error == "" && c.Mismatches == 0 }

// Report is a whole verification.
type Report struct {
	Fingerprint string        `json:"fingerprint"`
	Params      seed.Params   `json:"params"`
	Counts      seed.Counts   `json:"counts"`
	Checks      []Check       `json:"checks"`
	Elapsed     time.Duration `json:"elapsedNs"`
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Failures lists one line per mismatch example and per check that could
// not run, each naming its check.
func (r *Report) Failures() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Error != "" {
			out = append(out, fmt.Sprintf("%s: could not check: %s", c.Name, c.Error))
		}
		for _, e := range c.Examples {
			out = append(out, c.Name+": "+e)
		}
		if more := c.Mismatches - int64(len(c.Examples)); more > 0 {
			out = append(out, fmt.Sprintf("%s: ... and %d more", c.Name, more))
		}
	}
	return out
}

// ErrMismatch is returned (wrapped) by Run when a check fails.
var ErrMismatch = errors.New("stores disagree")

// recorder collects one check's findings.
type recorder struct {
	mu       sync.Mutex
	c        Check
	examples int
}

func (r *recorder) checked(n int64) {
	r.mu.Lock()
	r.c.Checked += n
	r.mu.Unlock()
}

func (r *recorder) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Note = fmt.Sprintf(format, args...)
}

func (r *recorder) mismatch(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Mismatches++
	if len(r.c.Examples) < r.examples {
		r.c.Examples = append(r.c.Examples, fmt.Sprintf(format, args...))
	}
}

// env is what every check gets.
type env struct {
	t  load.Targets
	ds *seed.Dataset
}

type checkFn struct {
	name, invariant string
	run             func(ctx context.Context, e *env, r *recorder) error
}

var checks = []checkFn{
	{"markers", "every store's seed marker names the dataset PostgreSQL's manifest names, complete", checkMarkers},
	{"postgres.rows", "users, cards, hashtags and links match the dataset's counts (ids 1..N); each card row, with its hashtags, equals the generated card", checkPostgres},
	{"mariadb.schema", "hashtags.name is VARCHAR(190) utf8mb4 with the case-sensitive utf8mb4_bin collation and a unique key", checkMariaSchema},
	{"mariadb.hashtags", "every hashtag of the corpus is there once; each tag's card_count equals its PostgreSQL links, and used tags' names equal PostgreSQL's", checkMariaTags},
	{"mongodb.views", "each card's distinct viewers in the view log equal its unique_view_count in PostgreSQL; views reference existing cards and users; total rows as seeded", checkMongo},
	{"elasticsearch.cards", "one document per card, equal to the PostgreSQL row (text, hashtags, location, time, counts)", checkES},
	{"s3.images", "every card's image_key holds its generated PNG (ETag = MD5 of the seeded bytes); no other objects under cards/", checkS3},
	{"cdn.images", "sample card images fetched through the CDN equal the bucket's", checkCDN},
	{"redis.cache", "each hot card (top unique_view_count in PostgreSQL) is cached on the shard shard.Index picks, equal to its row, and nowhere else; no other card keys", checkRedis},
	{"rabbitmq.jobs", "the write-behind queue holds one Celery v2 flush job per hot card, whose unique_view_count equals the PostgreSQL row; a seeded job a worker consumed is reported, and the row holds what it carried", checkRabbit},
}

// Names lists the checks in the order they are reported.
func Names() []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.name
	}
	return out
}

// Run verifies the stack at t. It returns the report and, when a check
// failed or could not run, an error wrapping ErrMismatch.
func Run(ctx context.Context, t load.Targets, o Options) (*Report, error) {
	t0 := time.Now()
	if o.Examples <= 0 {
		o.Examples = 20
	}
	p, err := seededParams(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	ds, err := seed.New(p)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep := &Report{Fingerprint: ds.Fingerprint(), Params: load.ParamsOf(p.Seed, p.Cards), Counts: ds.Counts()}
	e := &env{t: t, ds: ds}
	var sel []checkFn
	for _, c := range checks {
		if selected(c.name, o.Only) {
			sel = append(sel, c)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("verify: no check matches %s (checks: %s)", strings.Join(o.Only, ", "), strings.Join(Names(), ", "))
	}
	// Warm the generator's one-pass aggregates once, not in every check.
	ds.UsedTags()
	results := make([]Check, len(sel))
	run := func(i int, c checkFn) {
		r := &recorder{c: Check{Name: c.name, Invariant: c.invariant}, examples: o.Examples}
		ts := time.Now()
		if err := c.run(ctx, e, r); err != nil {
			r.c.Error = err.Error()
		}
		r.c.Elapsed = time.Since(ts)
		results[i] = r.c
	}
	// The markers first and alone: reading RabbitMQ's marker gets and
	// requeues the marker message, which must not race other consumers.
	var wg sync.WaitGroup
	for i, c := range sel {
		if c.name == "markers" {
			run(i, c)
			continue
		}
		wg.Go(func() { run(i, c) })
	}
	wg.Wait()
	rep.Checks = results
	rep.Elapsed = time.Since(t0)
	if !rep.OK() {
		n := 0
		for _, c := range results {
			if !c.OK() {
				n++
			}
		}
		return rep, fmt.Errorf("verify: %d of %d checks failed: %w", n, len(results), ErrMismatch)
	}
	return rep, nil
}

func selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if name == o || strings.HasPrefix(name, o+".") {
			return true
		}
	}
	return false
}

// seededParams reads the dataset PostgreSQL's manifest says it holds.
func seededParams(ctx context.Context, t load.Targets) (seed.Params, error) {
	conn, err := connectPG(ctx, t.Postgres)
	if err != nil {
		return seed.Params{}, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var seedText string
	var cards int64
	var complete bool
	err = conn.QueryRow(ctx, "SELECT seed, cards, complete FROM mossdev_seed WHERE store = 'postgres'").Scan(&seedText, &cards, &complete)
	if err != nil || !complete {
		return seed.Params{}, fmt.Errorf("postgres holds no complete seed (run `mossdev seed`): %w", load.ErrNotSeeded)
	}
	var s uint64
	if _, err := fmt.Sscan(seedText, &s); err != nil {
		return seed.Params{}, err
	}
	return seed.Params{Seed: s, Cards: cards}, nil
}

func connectPG(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec // PgBouncer, transaction pooling
	return pgx.ConnectConfig(ctx, cfg)
}

func checkMarkers(ctx context.Context, e *env, r *recorder) error {
	st, err := load.Inspect(ctx, e.t)
	if err != nil {
		return err
	}
	fp := e.ds.Fingerprint()
	for _, name := range load.Stores {
		m := st.Stores[name]
		r.checked(1)
		if !m.Holds(e.ds) {
			r.mismatch("%s holds %s, want %s complete", name, m, fp)
		}
	}
	r.checked(1)
	if !st.Template.Holds(e.ds) {
		r.mismatch("template database %s holds %s, want %s", load.TemplateDB, st.Template, fp)
	}
	return nil
}
