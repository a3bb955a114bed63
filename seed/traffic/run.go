package traffic

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// Options tune Run.
type Options struct {
	// Rate is the target in operations a second (> 0).
	Rate float64
	// Duration and Count bound the run; at least one must be set. It stops
	// at whichever comes first (or when ctx ends).
	Duration time.Duration
	Count    int64
	// Mix is each flow's share (ParseMix); nil means DefaultMix.
	Mix Mix
	// Seed makes the operations reproducible.
	Seed uint64
	// Warmup runs operations for this long before Duration starts, and
	// forgets their figures: connection pools fill, the cache warms, the
	// viewer sets of popular cards are built. Only with Duration.
	Warmup time.Duration
	// Concurrency is how many operations may be in flight (default 32).
	Concurrency int
	// Worker runs the write-behind worker in this process, and makes Run
	// wait (up to DrainTimeout) for the queue to drain after the last
	// operation.
	Worker       bool
	DrainTimeout time.Duration // default 30 s
	// CacheTTL is the TTL of entries a read puts in the cache (default 10 min).
	CacheTTL time.Duration
	// Interval between OnSnapshot calls (default 1 s).
	Interval   time.Duration
	OnSnapshot func(Snapshot)
	// OnError hears about errors worth a line: the worker's, a shard going
	// down. Nil ignores them (they are counted in the figures anyway).
	OnError func(error)
}

// Validate refuses options that make no sense.
func (o Options) Validate() error {
	bad := func(what, detail, fix string) error {
		return &stack.Error{Op: "check " + what, Err: stack.ErrBadInput, Detail: detail, Fix: fix}
	}
	switch {
	case !(o.Rate > 0):
		return bad("--rate", fmt.Sprintf("rate %v is not above 0", o.Rate), "give operations a second, e.g. --rate 200")
	case o.Rate > 100_000:
		return bad("--rate", fmt.Sprintf("rate %v is beyond what one machine's stack serves", o.Rate), "use at most 100000 (a laptop sustains about 1-2 k)")
	case o.Duration < 0:
		return bad("--duration", fmt.Sprintf("duration %v is negative", o.Duration), "give a duration such as 30s")
	case o.Count < 0:
		return bad("--count", fmt.Sprintf("count %d is negative", o.Count), "give a number of operations, or 0 for no bound")
	case o.Duration == 0 && o.Count == 0:
		return bad("--duration", "neither a duration nor a count bounds the run", "give --duration 30s or --count 1000")
	case o.Warmup < 0 || o.Warmup > 0 && o.Duration == 0:
		return bad("warm-up", fmt.Sprintf("warm-up %v", o.Warmup), "give a warm-up >= 0, with a duration")
	case o.Concurrency < 0:
		return bad("concurrency", fmt.Sprintf("%d in flight", o.Concurrency), "give a number above 0")
	}
	if o.Mix != nil && o.Mix.total() == 0 {
		return bad("--mix", "the shares sum to 0", "e.g. --mix "+DefaultMix)
	}
	return nil
}

// Result is what a run did.
type Result struct {
	Params  seed.Params `json:"params"`
	Mix     string      `json:"mix"`
	Seed    uint64      `json:"seed"`
	Summary Snapshot    `json:"summary"`
	// Stopped says why the run ended: "duration", "count" or "interrupted".
	Stopped string `json:"stopped"`
	// Drained is whether the write-behind queue was empty at the end (only
	// known when the worker ran here).
	Drained bool    `json:"drained"`
	Ledger  *Ledger `json:"-"`
}

// ErrNotSeeded: traffic runs over the seeded dataset.
var ErrNotSeeded = load.ErrNotSeeded

// SeededParams reads the dataset PostgreSQL's seed manifest names.
func SeededParams(ctx context.Context, pgURL string) (seed.Params, error) {
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		return seed.Params{}, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return seed.Params{}, fmt.Errorf("connect to postgres through pgbouncer: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var seedText string
	var cards int64
	var complete bool
	err = conn.QueryRow(ctx, "SELECT seed, cards, complete FROM mossdev_seed WHERE store = 'postgres'").Scan(&seedText, &cards, &complete)
	if err != nil || !complete {
		return seed.Params{}, fmt.Errorf("postgres holds no complete seed: %w", ErrNotSeeded)
	}
	var s uint64
	if _, err := fmt.Sscan(seedText, &s); err != nil {
		return seed.Params{}, fmt.Errorf("read seed manifest: %w", err)
	}
	return seed.Params{Seed: s, Cards: cards}, nil
}

func newPGPool(ctx context.Context, url string, conns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// PgBouncer in transaction pooling: no named prepared statements.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// opTimeout bounds one operation: a store that hangs shows as errors, not
// as a run that never ends.
const opTimeout = 10 * time.Second

// runner holds a run's clients and state.
type runner struct {
	t      load.Targets
	o      Options
	ds     *seed.Dataset
	plan   *planner
	stats  *Stats
	ledger *Ledger

	pg     *pgxpool.Pool
	maria  *sql.DB
	mongo  *mongo.Client
	views  *mongo.Collection
	es     *elasticsearch.Client
	bulk   esutil.BulkIndexer
	s3     *s3.Client
	cdn    *http.Client
	redis  *shards
	pub    *publisher
	report func(error)

	postBase int64 // posted card i gets id postBase+i: above every card there was
	tagMu    sync.Mutex
	tagNext  atomic.Int64 // the next id for a hashtag new to the corpus

	viewerMu sync.Mutex
	viewers  map[int64]map[int64]bool // card -> viewers known without Redis (degraded mode)
}

// connect opens every client; an error names the store that did not
// answer.
func (r *runner) connect(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	conc := r.o.Concurrency
	g.Go(func() (err error) {
		if r.pg, err = newPGPool(gctx, r.t.Postgres, min(conc, 16)); err != nil {
			return fmt.Errorf("postgres through pgbouncer: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		db, err := sql.Open("mysql", r.t.MariaDB)
		if err != nil {
			return fmt.Errorf("mariadb: %w", err)
		}
		db.SetMaxOpenConns(min(conc, 16))
		db.SetMaxIdleConns(min(conc, 16))
		r.maria = db
		if err := db.PingContext(gctx); err != nil {
			return fmt.Errorf("mariadb: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		c, err := mongo.Connect(options.Client().ApplyURI(r.t.Mongo).SetMaxPoolSize(uint64(min(conc, 16))))
		if err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		r.mongo = c
		if err := c.Ping(gctx, nil); err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		r.views = c.Database(load.MongoDB).Collection(load.ViewsCollection)
		return nil
	})
	g.Go(func() error {
		es, err := load.NewES(r.t.Elasticsearch)
		if err != nil {
			return fmt.Errorf("elasticsearch: %w", err)
		}
		r.es = es
		res, err := es.Info(es.Info.WithContext(gctx))
		if err := esErr(res, err); err != nil {
			return fmt.Errorf("elasticsearch: %w", err)
		}
		r.bulk, err = esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, Index: load.CardsIndex,
			NumWorkers: 1, FlushInterval: 200 * time.Millisecond, FlushBytes: 1 << 20})
		return err
	})
	g.Go(func() (err error) {
		r.s3 = load.NewS3(r.t.S3)
		r.cdn = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
		if r.redis, err = newShards(gctx, r.t.Redis); err != nil {
			return err
		}
		return nil
	})
	g.Go(func() (err error) {
		if r.pub, err = newPublisher(r.t.AMQP); err != nil {
			return fmt.Errorf("rabbitmq: %w", err)
		}
		return nil
	})
	return g.Wait()
}

func (r *runner) close() {
	r.flushIndex()
	if r.pg != nil {
		r.pg.Close()
	}
	if r.maria != nil {
		r.maria.Close()
	}
	if r.mongo != nil {
		_ = r.mongo.Disconnect(context.Background())
	}
	if r.redis != nil {
		r.redis.close()
	}
	if r.pub != nil {
		r.pub.close()
	}
}

// flushIndex sends the posts still waiting for the bulk indexer.
func (r *runner) flushIndex() {
	if r.bulk != nil {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := r.bulk.Close(ctx); err != nil {
			r.stats.flows[Post].fail(fmt.Errorf("elasticsearch: flush bulk index: %w", err))
		}
		r.bulk = nil
	}
}

// idBases reads where new ids start: above every card PostgreSQL holds,
// and above every hashtag the search table holds.
func (r *runner) idBases(ctx context.Context) error {
	if err := r.pg.QueryRow(ctx, "SELECT COALESCE(max(id), 0) FROM cards").Scan(&r.postBase); err != nil {
		return fmt.Errorf("postgres: read the largest card id: %w", err)
	}
	var top int64
	if err := r.maria.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM hashtags").Scan(&top); err != nil {
		return fmt.Errorf("mariadb: read the largest hashtag id: %w", err)
	}
	r.tagNext.Store(top + 1)
	return nil
}

// Run runs the workload against the stack at t until o's bound or ctx
// ends, calling o.OnSnapshot every o.Interval, and returns the summary and
// the ledger Check needs. An interrupted run (ctx ended) is a result, not
// an error.
func Run(ctx context.Context, t load.Targets, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Mix == nil {
		o.Mix, _ = ParseMix(DefaultMix)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 32
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 10 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	p, err := SeededParams(ctx, t.Postgres)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	ds, err := seed.New(p)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	r := &runner{t: t, o: o, ds: ds, plan: newPlanner(ds, o.Seed, o.Mix), stats: newStats(len(t.Redis)),
		ledger: newLedger(), viewers: map[int64]map[int64]bool{}, report: func(err error) {
			if o.OnError != nil {
				o.OnError(err)
			}
		}}
	defer r.close()
	if err := r.connect(ctx); err != nil {
		return nil, fmt.Errorf("traffic: connect: %w", err)
	}
	if err := r.idBases(ctx); err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	res := &Result{Params: load.ParamsOf(p.Seed, p.Cards), Mix: o.Mix.String(), Seed: o.Seed, Ledger: r.ledger}

	// Background: the worker, the queue-depth poll, the reporter. They
	// outlive the operations (the worker drains the queue) and stop with bg.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgWG sync.WaitGroup
	defer func() { stopBG(); bgWG.Wait() }()
	if o.Worker {
		bgWG.Go(func() {
			_ = Work(bg, t, WorkerOptions{
				OnFlush: func(f Flush) {
					r.stats.use(StoreWorker, nil)
					r.stats.flushedJob(f.TaskID)
				},
				OnError: func(err error) {
					r.stats.use(StoreWorker, err)
					r.report(err)
				}}, nil)
		})
	}
	bgWG.Go(func() { r.pollDepth(bg, o.Interval) })
	reporting := make(chan struct{})
	var repWG sync.WaitGroup
	if o.OnSnapshot != nil {
		repWG.Go(func() {
			tick := time.NewTicker(o.Interval)
			defer tick.Stop()
			for {
				select {
				case <-reporting:
					return
				case <-tick.C:
					o.OnSnapshot(r.stats.Snapshot(false))
				}
			}
		})
	}

	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if o.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, o.Warmup+o.Duration)
	}
	if o.Warmup > 0 {
		warm := time.AfterFunc(o.Warmup, r.stats.restart)
		defer warm.Stop()
	}
	defer cancel()
	// The burst lets a worker that was held up (a slow op) catch up, up to
	// a tenth of a second of operations, without letting the rate run away.
	lim := rate.NewLimiter(rate.Limit(o.Rate), max(1, int(o.Rate/10)))
	var next atomic.Int64
	var countDone atomic.Bool
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for runCtx.Err() == nil {
				i := next.Add(1)
				if o.Count > 0 && i > o.Count {
					countDone.Store(true)
					return
				}
				if err := lim.Wait(runCtx); err != nil {
					return
				}
				op := r.plan.op(i)
				t0 := time.Now()
				// An operation begun is finished, even past the deadline or
				// after Ctrl-C: one cut between its writes (a view logged but
				// not counted) would be an inconsistency the run made itself.
				octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
				err := r.do(octx, op)
				cancel()
				r.stats.flows[op.flow].record(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	r.flushIndex()
	r.stats.opsDone()
	switch {
	case ctx.Err() != nil:
		res.Stopped = "interrupted"
	case countDone.Load():
		res.Stopped = "count"
	default:
		res.Stopped = "duration"
	}
	switch {
	case o.Worker && ctx.Err() == nil:
		res.Drained = r.drain(ctx, o.DrainTimeout)
	case o.Worker:
		// Interrupted: a short grace for the jobs already published, so the
		// stop leaves little behind in the queue, but no long wait.
		res.Drained = r.drain(context.Background(), 3*time.Second)
	}
	close(reporting)
	repWG.Wait()
	res.Summary = r.stats.Snapshot(true)
	return res, nil
}

// pollDepth reads the write-behind queue's depth through HAProxy.
func (r *runner) pollDepth(ctx context.Context, every time.Duration) {
	var conn *amqp.Connection
	var ch *amqp.Channel
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	tick := time.NewTicker(every / 2)
	defer tick.Stop()
	for {
		if ch == nil || ch.IsClosed() {
			if conn != nil {
				_ = conn.Close()
			}
			var err error
			if conn, err = amqp.Dial(r.t.AMQP); err == nil {
				ch, err = conn.Channel()
			}
			if err != nil {
				ch = nil
				r.stats.depth.Store(-1)
			}
		}
		if ch != nil {
			if q, err := ch.QueueDeclarePassive(seed.WriteBehindName, true, false, false, false, nil); err == nil {
				r.stats.depth.Store(int64(q.Messages))
			} else {
				r.stats.depth.Store(-1)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain waits until every job this run published was flushed by the
// in-process worker and the queue is empty, or timeout.
func (r *runner) drain(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if r.stats.lag(time.Now()) == 0 && r.stats.depth.Load() == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *runner) do(ctx context.Context, o op) error {
	switch o.flow {
	case Read:
		return r.read(ctx, o)
	case View:
		return r.view(ctx, o)
	case Post:
		return r.post(ctx, o)
	case Search:
		return r.search(ctx, o)
	case Image:
		return r.image(ctx, o)
	}
	return errors.New("unknown flow " + o.flow)
}
