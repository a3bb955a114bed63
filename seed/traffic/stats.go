package traffic

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in an HDR histogram (microseconds, 1 µs to 1 min,
// 3 significant digits): p99 from a fixed-bucket histogram would be off by a
// bucket's width exactly where a load test looks.
const (
	histMin = 1
	histMax = int64(time.Minute / time.Microsecond)
	histSig = 3
)

// flowStats is one flow's figures: cumulative for the summary, and a
// window that each snapshot reads and restarts, for the live table.
type flowStats struct {
	ops, errs atomic.Int64
	mu        sync.Mutex
	all, win  *hdrhistogram.Histogram
	winOps    int64
	winErrs   int64
	lastErr   string
}

func newFlowStats() *flowStats {
	return &flowStats{all: hdrhistogram.New(histMin, histMax, histSig), win: hdrhistogram.New(histMin, histMax, histSig)}
}

func (f *flowStats) record(d time.Duration, err error) {
	us := max(histMin, min(histMax, d.Microseconds()))
	f.ops.Add(1)
	f.mu.Lock()
	_ = f.all.RecordValue(us) // clamped to the range: cannot fail
	_ = f.win.RecordValue(us)
	f.winOps++
	if err != nil {
		f.errs.Add(1)
		f.winErrs++
		f.lastErr = err.Error()
	}
	f.mu.Unlock()
}

// fail counts an error found after the operation returned (a background
// write that failed).
func (f *flowStats) fail(err error) {
	f.errs.Add(1)
	f.mu.Lock()
	f.winErrs++
	f.lastErr = err.Error()
	f.mu.Unlock()
}

// Stores an operation touches, as the figures name them: each is one
// arrow of the architecture view. StoreWorker is the write-behind worker's
// commits (RabbitMQ → PostgreSQL).
const (
	StorePostgres      = "postgres"
	StoreRedis         = "redis"
	StoreMongo         = "mongodb"
	StoreMaria         = "mariadb"
	StoreElasticsearch = "elasticsearch"
	StoreS3            = "s3"
	StoreCDN           = "cdn"
	StoreRabbit        = "rabbitmq"
	StoreWorker        = "worker"
)

// Stores lists them in report order.
var Stores = []string{StorePostgres, StoreRedis, StoreMongo, StoreMaria, StoreElasticsearch, StoreS3, StoreCDN, StoreRabbit, StoreWorker}

// storeStats counts calls to one store.
type storeStats struct {
	n, errs         atomic.Int64
	lastN, lastErrs int64 // at the previous snapshot
}

// shardStats counts one Redis shard's cache reads.
type shardStats struct {
	hits, misses, fallbacks, direct atomic.Int64
}

// restart forgets every figure so far: the end of a warm-up. Operations
// still in flight may land in either period; a warm-up is about connection
// pools and caches, not exact counts.
func (s *Stats) restart() {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	now := time.Now()
	s.t0, s.lastAt = now, now
	for _, f := range s.flows {
		f.mu.Lock()
		f.ops.Store(0)
		f.errs.Store(0)
		f.all.Reset()
		f.win.Reset()
		f.winOps, f.winErrs, f.lastErr = 0, 0, ""
		f.mu.Unlock()
	}
	for _, sh := range s.shards {
		sh.hits.Store(0)
		sh.misses.Store(0)
		sh.fallbacks.Store(0)
		sh.direct.Store(0)
	}
	for _, st := range s.stores {
		st.n.Store(0)
		st.errs.Store(0)
		st.lastN, st.lastErrs = 0, 0
	}
	s.cdnHits.Store(0)
	s.cdnMiss.Store(0)
	s.degraded.Store(0)
}

// opsDone records the end of the operations: a summary's rates are over
// the time operations ran, not the drain after them.
func (s *Stats) opsDone() {
	s.endMu.Lock()
	s.end = time.Now()
	s.endMu.Unlock()
}

// Stats are a run's live figures. Safe for concurrent use.
type Stats struct {
	t0       time.Time
	flows    map[string]*flowStats
	shards   []*shardStats
	cdnHits  atomic.Int64
	cdnMiss  atomic.Int64
	jobs     atomic.Int64 // flush jobs published
	flushed  atomic.Int64 // flush jobs committed by the in-process worker
	depth    atomic.Int64 // write-behind queue depth, polled; -1 unknown
	degraded atomic.Int64 // views counted in PostgreSQL directly (shard down)
	stores   map[string]*storeStats

	pendMu  sync.Mutex
	pending map[string]time.Time // task id -> publish time, until flushed

	endMu sync.Mutex
	end   time.Time // when the last operation finished; zero while running

	lastMu  sync.Mutex
	lastAt  time.Time
	lastOps map[string]int64
}

func newStats(shards int) *Stats {
	s := &Stats{t0: time.Now(), flows: map[string]*flowStats{}, pending: map[string]time.Time{},
		lastOps: map[string]int64{}}
	s.lastAt = s.t0
	s.stores = map[string]*storeStats{}
	for _, n := range Stores {
		s.stores[n] = &storeStats{}
	}
	for _, f := range Flows {
		s.flows[f] = newFlowStats()
	}
	for range shards {
		s.shards = append(s.shards, &shardStats{})
	}
	s.depth.Store(-1)
	return s
}

// use counts one call to a store and whether it failed; it returns err.
func (s *Stats) use(store string, err error) error {
	st := s.stores[store]
	st.n.Add(1)
	if err != nil {
		st.errs.Add(1)
	}
	return err
}

func (s *Stats) published(taskID string) {
	s.jobs.Add(1)
	s.pendMu.Lock()
	s.pending[taskID] = time.Now()
	s.pendMu.Unlock()
}

// unpublished takes back a job whose publish failed.
func (s *Stats) unpublished(taskID string) {
	s.jobs.Add(-1)
	s.pendMu.Lock()
	delete(s.pending, taskID)
	s.pendMu.Unlock()
}

// flushedJob is the in-process worker's report of a commit.
func (s *Stats) flushedJob(taskID string) {
	s.flushed.Add(1)
	s.pendMu.Lock()
	delete(s.pending, taskID)
	s.pendMu.Unlock()
}

// lag is the age of the oldest job published by this run and not yet
// flushed by the in-process worker (0 when none is pending).
func (s *Stats) lag(now time.Time) time.Duration {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	var oldest time.Time
	for _, t := range s.pending {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return now.Sub(oldest)
}

// FlowFigures are one flow's figures.
type FlowFigures struct {
	Flow   string  `json:"flow"`
	Ops    int64   `json:"ops"`
	Errors int64   `json:"errors"`
	Rate   float64 `json:"opsPerSec"` // over the window (the run, in a summary)
	P50    float64 `json:"p50Ms"`
	P99    float64 `json:"p99Ms"`
	Max    float64 `json:"maxMs"`
	// LastError is the latest error's text, for the table's note.
	LastError string `json:"lastError,omitempty"`
}

// ShardFigures are one Redis shard's cache reads.
type ShardFigures struct {
	Shard     int     `json:"shard"`
	Hits      int64   `json:"hits"`
	Misses    int64   `json:"misses"`
	Fallbacks int64   `json:"fallbacks"` // reads that went to PostgreSQL because the shard did not answer
	HitRatio  float64 `json:"hitRatio"`
}

// Snapshot is the figures at one moment.
type Snapshot struct {
	Elapsed     time.Duration  `json:"elapsedNs"`
	Window      time.Duration  `json:"windowNs"`
	Ops         int64          `json:"ops"`
	Errors      int64          `json:"errors"`
	Rate        float64        `json:"opsPerSec"`
	Flows       []FlowFigures  `json:"flows"`
	Shards      []ShardFigures `json:"shards"`
	CDNHitRatio float64        `json:"cdnHitRatio"`
	CDNFetches  int64          `json:"cdnFetches"`
	Jobs        int64          `json:"jobsPublished"`
	Flushed     int64          `json:"jobsFlushed"` // by the in-process worker
	QueueDepth  int64          `json:"queueDepth"`  // -1 when unknown
	Lag         time.Duration  `json:"writeBehindLagNs"`
	Degraded    int64          `json:"viewsCountedInPostgres"`
	// Stores are the calls to each store over the window: the arrows of
	// the architecture view.
	Stores []StoreFigures `json:"stores"`
}

// StoreFigures are one store's calls.
type StoreFigures struct {
	Store  string  `json:"store"`
	Calls  int64   `json:"calls"`
	Rate   float64 `json:"callsPerSec"` // over the window
	Errors int64   `json:"windowErrors"`
}

// Snapshot reads the figures; window latencies and rates cover the time
// since the previous Snapshot (summary: the whole run).
func (s *Stats) Snapshot(summary bool) Snapshot {
	now := time.Now()
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	win := now.Sub(s.lastAt)
	elapsed := now.Sub(s.t0)
	if summary {
		s.endMu.Lock()
		if !s.end.IsZero() {
			elapsed = s.end.Sub(s.t0)
		}
		s.endMu.Unlock()
		win = elapsed
	}
	snap := Snapshot{Elapsed: elapsed, Window: win, Jobs: s.jobs.Load(), Flushed: s.flushed.Load(),
		QueueDepth: s.depth.Load(), Lag: s.lag(now), Degraded: s.degraded.Load()}
	var winOps int64
	for _, name := range Flows {
		f := s.flows[name]
		f.mu.Lock()
		h, n := f.win, f.winOps
		if summary {
			h, n = f.all, f.ops.Load()
		}
		ff := FlowFigures{Flow: name, Ops: f.ops.Load(), Errors: f.errs.Load(),
			P50: ms(h.ValueAtQuantile(50)), P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max()), LastError: f.lastErr}
		if win > 0 {
			ff.Rate = float64(n) / win.Seconds()
		}
		if !summary {
			f.win.Reset()
			f.winOps, f.winErrs = 0, 0
		}
		f.mu.Unlock()
		winOps += n
		snap.Ops += ff.Ops
		snap.Errors += ff.Errors
		snap.Flows = append(snap.Flows, ff)
	}
	if win > 0 {
		snap.Rate = float64(winOps) / win.Seconds()
	}
	for i, sh := range s.shards {
		f := ShardFigures{Shard: i, Hits: sh.hits.Load(), Misses: sh.misses.Load(), Fallbacks: sh.fallbacks.Load()}
		if n := f.Hits + f.Misses + f.Fallbacks; n > 0 {
			f.HitRatio = float64(f.Hits) / float64(n)
		}
		snap.Shards = append(snap.Shards, f)
	}
	for _, name := range Stores {
		st := s.stores[name]
		n, e := st.n.Load(), st.errs.Load()
		f := StoreFigures{Store: name, Calls: n, Errors: e - st.lastErrs}
		dn := n - st.lastN
		if summary {
			dn, f.Errors = n, e
		}
		if win > 0 {
			f.Rate = float64(dn) / win.Seconds()
		}
		if !summary {
			st.lastN, st.lastErrs = n, e
		}
		snap.Stores = append(snap.Stores, f)
	}
	h, m := s.cdnHits.Load(), s.cdnMiss.Load()
	snap.CDNFetches = h + m
	if h+m > 0 {
		snap.CDNHitRatio = float64(h) / float64(h+m)
	}
	if !summary {
		s.lastAt = now
	}
	return snap
}

func ms(us int64) float64 { return float64(us) / 1000 }

// Store returns the figures of one store.
func (s Snapshot) Store(name string) StoreFigures {
	for _, f := range s.Stores {
		if f.Store == name {
			return f
		}
	}
	return StoreFigures{Store: name}
}

// Flow returns the figures of one flow.
func (s Snapshot) Flow(name string) FlowFigures {
	for _, f := range s.Flows {
		if f.Flow == name {
			return f
		}
	}
	return FlowFigures{Flow: name}
}
