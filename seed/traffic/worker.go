package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Flush is one parsed flush job.
type Flush struct {
	TaskID          string    `json:"taskId"`
	CardID          int64     `json:"card"`
	Delta           int64     `json:"delta"`
	UniqueViewCount int64     `json:"uniqueViewCount"`
	ETA             time.Time `json:"eta"`
}

// ErrNotFlushJob is the cause of ParseFlush's errors.
var ErrNotFlushJob = errors.New("not a flush job")

// ParseFlush reads a Celery protocol-v2 message of the flush task: the
// task name and id in the headers, the body [[card, delta],
// {"unique_view_count": n}, embed] as JSON in UTF-8.
func ParseFlush(d amqp.Delivery) (Flush, error) {
	id, _ := d.Headers["id"].(string)
	task, _ := d.Headers["task"].(string)
	bad := func(format string, a ...any) (Flush, error) {
		return Flush{}, fmt.Errorf("message %q: %s: %w", id, fmt.Sprintf(format, a...), ErrNotFlushJob)
	}
	switch {
	case task == "":
		return bad("no task header (Celery message protocol v1 is not supported; publish with protocol 2)")
	case task != seed.FlushTask:
		return bad("task %q, this worker runs %s", task, seed.FlushTask)
	case id == "":
		return bad("no task id header")
	case d.ContentType != "application/json":
		return bad("content type %q, want application/json", d.ContentType)
	case d.ContentEncoding != "" && d.ContentEncoding != "utf-8":
		return bad("content encoding %q, want utf-8", d.ContentEncoding)
	}
	var body [3]json.RawMessage
	var args []int64
	var kwargs struct {
		UniqueViewCount *int64 `json:"unique_view_count"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil || json.Unmarshal(body[0], &args) != nil ||
		json.Unmarshal(body[1], &kwargs) != nil || len(args) != 2 || kwargs.UniqueViewCount == nil {
		return bad("body is not [[card, delta], {\"unique_view_count\": n}, embed]")
	}
	f := Flush{TaskID: id, CardID: args[0], Delta: args[1], UniqueViewCount: *kwargs.UniqueViewCount}
	if eta, _ := d.Headers["eta"].(string); eta != "" {
		t, err := time.Parse(time.RFC3339Nano, eta)
		if err != nil {
			return bad("eta %q is not ISO 8601", eta)
		}
		f.ETA = t
	}
	return f, nil
}

// WorkerOptions tune Work.
type WorkerOptions struct {
	// Prefetch bounds the unacknowledged jobs the broker hands this worker
	// (default 64), as worker_prefetch_multiplier × concurrency does.
	Prefetch int
	// Concurrency is how many jobs commit at once (default 8): the gevent
	// pool's size, with goroutines.
	Concurrency int
	// OnFlush is called after a job's commit and ack; OnError for each job
	// or connection that failed. Either may be nil. Called concurrently.
	OnFlush func(Flush)
	OnError func(error)
}

// WorkerStats count a worker's jobs.
type WorkerStats struct {
	Flushed  atomic.Int64 // committed and acknowledged
	Rejected atomic.Int64 // not flush jobs: dropped, as Celery drops unregistered tasks
	Failed   atomic.Int64 // commit failed: requeued
}

// Work consumes flush jobs from the write-behind queue through HAProxy
// until ctx ends: each job's absolute count is written to the card's row,
// then the message is acknowledged (a crash between the two redelivers
// the job, which writes the same value again). The write never lowers a
// count, so jobs for one card that arrive out of order (several in flight,
// a redelivery) cannot move it backwards. A lost connection is retried
// every second. In-flight jobs finish when ctx ends; the rest stay queued.
func Work(ctx context.Context, t load.Targets, o WorkerOptions, st *WorkerStats) error {
	if o.Prefetch <= 0 {
		o.Prefetch = 64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if st == nil {
		st = &WorkerStats{}
	}
	onErr := func(err error) {
		if o.OnError != nil && ctx.Err() == nil {
			o.OnError(err)
		}
	}
	pool, err := newPGPool(ctx, t.Postgres, o.Concurrency)
	if err != nil {
		return fmt.Errorf("worker: connect to postgres through pgbouncer: %w", err)
	}
	defer pool.Close()
	for ctx.Err() == nil {
		if err := consume(ctx, t.AMQP, pool, o, st); err != nil && ctx.Err() == nil {
			onErr(fmt.Errorf("worker: %w (retrying in 1s)", err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func consume(ctx context.Context, url string, pool *pgxpool.Pool, o WorkerOptions, st *WorkerStats) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return fmt.Errorf("connect to rabbitmq through haproxy: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(o.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	if err := load.DeclareWriteBehind(ch); err != nil {
		return err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, seed.WriteBehindName, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", seed.WriteBehindName, err)
	}
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for d := range deliveries {
				handle(ctx, pool, d, o, st)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("connection to the broker closed")
}

func handle(ctx context.Context, pool *pgxpool.Pool, d amqp.Delivery, o WorkerOptions, st *WorkerStats) {
	report := func(err error) {
		if o.OnError != nil {
			o.OnError(err)
		}
	}
	f, err := ParseFlush(d)
	if err != nil {
		st.Rejected.Add(1)
		_ = d.Nack(false, false)
		report(err)
		return
	}
	if wait := time.Until(f.ETA); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			_ = d.Nack(false, true)
			return
		}
	}
	// The commit and the ack outlive a stop: a job begun is finished.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err = pool.Exec(cctx, "UPDATE cards SET unique_view_count = $2 WHERE id = $1 AND unique_view_count < $2", f.CardID, f.UniqueViewCount)
	if err != nil {
		st.Failed.Add(1)
		_ = d.Nack(false, true)
		report(fmt.Errorf("flush card %d (task %s): %w", f.CardID, f.TaskID, err))
		select { // don't spin on a database that is down
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
		return
	}
	if err := d.Ack(false); err != nil {
		report(fmt.Errorf("ack task %s: %w", f.TaskID, err))
		return
	}
	st.Flushed.Add(1)
	if o.OnFlush != nil {
		o.OnFlush(f)
	}
}
