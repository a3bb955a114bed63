package traffictest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/shard"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/seed/verify"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/stacktest"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
)

// The whole platform, light: one RabbitMQ node, three shards.
func TestMain(m *testing.M) {
	stacktest.Main(m, stacktest.WithOptions(stack.Options{RedisShards: 3, RabbitNodes: 1}),
		stacktest.WithTimeout(4*time.Minute))
}

var params = seed.Params{Seed: 11, Scale: seed.Small}

var seedOnce sync.Once
var seedErr error

func targets(t testing.TB) load.Targets {
	t.Helper()
	tg := load.TargetsFor(stacktest.Runtime(t))
	seedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, _, seedErr = checkpoint.Seed(ctx, checkpoint.For(stacktest.Runtime(t)), params, load.Options{}, checkpoint.Options{})
	})
	if seedErr != nil {
		t.Fatalf("seed: %v", seedErr)
	}
	return tg
}

func reset(t *testing.T) {
	t.Helper()
	targets(t)
	if _, err := checkpoint.Reset(context.WithoutCancel(t.Context()), checkpoint.For(stacktest.Runtime(t)), checkpoint.Options{}); err != nil {
		t.Fatalf("reset: %v", err)
	}
}

func mustCheck(t *testing.T, tg load.Targets, res *traffic.Result) *traffic.CheckReport {
	t.Helper()
	rep, err := traffic.Check(t.Context(), tg, res.Ledger, traffic.CheckOptions{})
	if rep != nil {
		for _, c := range rep.Checks {
			t.Logf("check %-20s checked %5d mismatches %d %s", c.Name, c.Checked, c.Mismatches, c.Error)
		}
	}
	if err != nil {
		if rep != nil {
			t.Log(strings.Join(rep.Failures(), "\n"))
		}
		t.Fatalf("check: %v", err)
	}
	return rep
}

// A short bounded run with the worker, then the consistency check passes,
// PostgreSQL's counts equal the views made, and the cache entries sit on
// the shards the sharding function names.
func TestBoundedRunLeavesTheStoresAgreeing(t *testing.T) {
	tg := targets(t)
	t.Cleanup(func() { reset(t) })
	var snaps int
	res, err := traffic.Run(t.Context(), tg, traffic.Options{Rate: 300, Duration: 6 * time.Second, Seed: 1, Worker: true,
		Mix:        traffic.Mix{traffic.Read: 50, traffic.View: 30, traffic.Post: 10, traffic.Search: 5, traffic.Image: 5},
		OnSnapshot: func(traffic.Snapshot) { snaps++ },
		OnError:    func(err error) { t.Logf("traffic: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	t.Logf("%d ops in %s (%.0f/s), %d errors, jobs %d flushed %d, depth %d, drained %v, cdn hit %.2f",
		s.Ops, s.Elapsed.Round(time.Millisecond), s.Rate, s.Errors, s.Jobs, s.Flushed, s.QueueDepth, res.Drained, s.CDNHitRatio)
	for _, f := range s.Flows {
		t.Logf("  %-6s ops %5d errors %d p50 %.1fms p99 %.1fms %s", f.Flow, f.Ops, f.Errors, f.P50, f.P99, f.LastError)
	}
	if res.Stopped != "duration" || snaps < 3 {
		t.Errorf("stopped by %q after %d snapshots, want duration and a snapshot a second", res.Stopped, snaps)
	}
	if s.Errors > 0 {
		t.Errorf("%d errors", s.Errors)
	}
	for _, f := range traffic.Flows {
		if s.Flow(f).Ops == 0 {
			t.Errorf("flow %s made no operation", f)
		}
	}
	if s.Ops < 1000 {
		t.Errorf("%d ops in 6 s at 300/s", s.Ops)
	}
	if !res.Drained || s.Jobs == 0 || s.Flushed < s.Jobs {
		t.Errorf("jobs published %d, flushed %d (drained %v): the worker should have flushed them all", s.Jobs, s.Flushed, res.Drained)
	}
	mustCheck(t, tg, res)

	// PostgreSQL's counts are what the jobs carried.
	conn := pgConn(t, tg)
	for id, n := range res.Ledger.PublishedCounts() {
		var got int64
		if err := conn.QueryRow(t.Context(), "SELECT unique_view_count FROM cards WHERE id = $1", id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("card %d: PostgreSQL %d, last job carried %d", id, got, n)
		}
	}
	// Every card key on every shard is on the shard shard.Index names.
	for i, c := range shards(t, tg) {
		iter := c.Scan(t.Context(), 0, "*:*", 1000).Iterator()
		n := 0
		for iter.Next(t.Context()) {
			k := iter.Val()
			if k == load.RedisMarkerKey {
				continue
			}
			n++
			if home := shard.Index(k, len(tg.Redis)); home != i {
				t.Errorf("%s on redis-%d, shard.Index says redis-%d", k, i, home)
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("redis-%d holds no keys", i)
		}
	}

	// Nothing the run wrote is beyond reset: the seeded state verifies again.
	reset(t)
	if rep, err := verify.Run(t.Context(), tg, verify.Options{}); err != nil {
		t.Fatalf("verify after traffic and reset: %v\n%s", err, strings.Join(rep.Failures(), "\n"))
	}
}

// The same seed and count make the same operations.
func TestSameSeedAndCountMakeTheSameRun(t *testing.T) {
	tg := targets(t)
	t.Cleanup(func() { reset(t) })
	run := func() *traffic.Result {
		res, err := traffic.Run(t.Context(), tg, traffic.Options{Rate: 500, Count: 300, Seed: 99, Worker: true,
			Mix: traffic.Mix{traffic.Read: 50, traffic.View: 40, traffic.Search: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := run()
	reset(t)
	b := run()
	if a.Stopped != "count" || a.Summary.Ops != 300 || b.Summary.Ops != 300 {
		t.Fatalf("ops %d / %d, stopped %q", a.Summary.Ops, b.Summary.Ops, a.Stopped)
	}
	for _, f := range traffic.Flows {
		if a.Summary.Flow(f).Ops != b.Summary.Flow(f).Ops {
			t.Errorf("flow %s: %d then %d ops", f, a.Summary.Flow(f).Ops, b.Summary.Flow(f).Ops)
		}
	}
	pa, pb := a.Ledger.PublishedCounts(), b.Ledger.PublishedCounts()
	if len(pa) != len(pb) {
		t.Fatalf("%d then %d cards got new viewers", len(pa), len(pb))
	}
	for id, n := range pa {
		if pb[id] != n {
			t.Errorf("card %d: count %d then %d", id, n, pb[id])
		}
	}
}

// The seeded flush jobs consumed by the worker: verify says so and checks
// PostgreSQL holds what they carried; reset queues them again.
func TestVerifyAcceptsSeededJobsConsumedByAWorker(t *testing.T) {
	tg := targets(t)
	t.Cleanup(func() { reset(t) })
	ctx, cancel := context.WithCancel(t.Context())
	var st traffic.WorkerStats
	done := make(chan error, 1)
	go func() { done <- traffic.Work(ctx, tg, traffic.WorkerOptions{}, &st) }()
	jobs := params
	ds, _ := seed.New(jobs)
	stacktest.Eventually(t, 30*time.Second, func() error {
		if n := st.Flushed.Load(); n < ds.Counts().Jobs {
			return fmt.Errorf("worker flushed %d of %d", n, ds.Counts().Jobs)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := queueDepth(t, tg); n != 0 {
		t.Fatalf("queue holds %d after the worker", n)
	}
	rep, err := verify.Run(t.Context(), tg, verify.Options{})
	if err != nil {
		t.Fatalf("verify after the worker: %v\n%s", err, strings.Join(rep.Failures(), "\n"))
	}
	for _, c := range rep.Checks {
		if c.Name == "rabbitmq.jobs" && !strings.Contains(c.Note, "40 of 40 seeded flush jobs consumed") {
			t.Errorf("rabbitmq.jobs does not say the jobs were consumed: %+v", c)
		}
	}
	reset(t)
	if n := queueDepth(t, tg); int64(n) != ds.Counts().Jobs {
		t.Fatalf("after reset the queue holds %d, want %d", n, ds.Counts().Jobs)
	}
}

func queueDepth(t *testing.T, tg load.Targets) int {
	t.Helper()
	conn, err := amqp.Dial(tg.AMQP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(seed.WriteBehindName, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

func pgConn(t *testing.T, tg load.Targets) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(tg.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func shards(t *testing.T, tg load.Targets) []*redis.Client {
	t.Helper()
	var out []*redis.Client
	for _, u := range tg.Redis {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		out = append(out, c)
	}
	return out
}

// A dead shard is a mode: reads of its cards fall back to PostgreSQL and
// are counted as such, new viewers of its cards are counted in PostgreSQL
// directly, nothing errors or panics, and the check passes for the rest.
func TestDeadShardFallsBackToPostgres(t *testing.T) {
	tg := targets(t)
	s := stacktest.Stack(t)
	t.Cleanup(func() {
		if _, err := s.Start(context.WithoutCancel(t.Context()), "redis-1"); err != nil {
			t.Errorf("start redis-1 again: %v", err)
		}
		reset(t)
	})
	if err := s.Stop(t.Context(), "redis-1"); err != nil {
		t.Fatal(err)
	}
	res, err := traffic.Run(t.Context(), tg, traffic.Options{Rate: 200, Duration: 4 * time.Second, Seed: 3, Worker: true,
		Mix: traffic.Mix{traffic.Read: 60, traffic.View: 40}})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	for _, sh := range sum.Shards {
		t.Logf("redis-%d: hits %d misses %d fallbacks %d", sh.Shard, sh.Hits, sh.Misses, sh.Fallbacks)
	}
	t.Logf("views counted in postgres directly: %d; errors %d", sum.Degraded, sum.Errors)
	if sum.Errors > 0 {
		t.Errorf("%d errors with a shard down (read: %s; view: %s)", sum.Errors, sum.Flow(traffic.Read).LastError, sum.Flow(traffic.View).LastError)
	}
	if sum.Shards[1].Fallbacks == 0 || sum.Shards[1].Hits+sum.Shards[1].Misses > 0 {
		t.Errorf("redis-1 down: %+v, want every read of its cards a fallback", sum.Shards[1])
	}
	if sum.Shards[0].Fallbacks > 0 || sum.Shards[2].Fallbacks > 0 {
		t.Errorf("live shards fell back: %+v %+v", sum.Shards[0], sum.Shards[2])
	}
	rep := mustCheck(t, tg, res)
	if sum.Degraded > 0 && len(rep.Degraded) == 0 {
		t.Errorf("%d views counted directly, but the check names no degraded card", sum.Degraded)
	}
}

// With no worker in the run, the flush jobs wait in the queue (the lag
// grows); a worker started afterwards drains them and the check passes.
func TestJobsWaitForALaterWorker(t *testing.T) {
	tg := targets(t)
	t.Cleanup(func() { reset(t) })
	res, err := traffic.Run(t.Context(), tg, traffic.Options{Rate: 300, Count: 600, Seed: 21,
		Mix: traffic.Mix{traffic.View: 80, traffic.Read: 20}})
	if err != nil {
		t.Fatal(err)
	}
	jobs := res.Summary.Jobs
	if jobs == 0 || res.Drained || res.Summary.Flushed != 0 {
		t.Fatalf("jobs %d, flushed %d, drained %v: want jobs queued and none flushed", jobs, res.Summary.Flushed, res.Drained)
	}
	if n := queueDepth(t, tg); int64(n) < jobs {
		t.Fatalf("queue holds %d, the run published %d", n, jobs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var st traffic.WorkerStats
	done := make(chan error, 1)
	go func() { done <- traffic.Work(ctx, tg, traffic.WorkerOptions{Prefetch: 16, Concurrency: 4}, &st) }()
	mustCheck(t, tg, res) // waits for the drain
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.Flushed.Load() < jobs || st.Rejected.Load() != 0 || st.Failed.Load() != 0 {
		t.Errorf("worker flushed %d (rejected %d, failed %d), the run published %d", st.Flushed.Load(), st.Rejected.Load(), st.Failed.Load(), jobs)
	}
}
