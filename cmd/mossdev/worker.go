package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/spf13/cobra"
)

func newWorker(g *globals) *cobra.Command {
	var prefetch, concurrency int
	var untilEmpty, asJSON bool
	c := &cobra.Command{
		Use:   "worker",
		Short: "Consume the write-behind flush jobs into PostgreSQL, as the platform's Celery workers do",
		Long: `Consumes the Celery protocol-v2 flush jobs (` + seed.FlushTask + `) from the
'` + seed.WriteBehindName + `' queue through HAProxy, writes each job's absolute unique view count to the card's
row through PgBouncer, and acknowledges the message after the commit. At most --prefetch jobs are
unacknowledged at once, --concurrency commit at a time (the gevent pool's role). A count is never
lowered, so jobs arriving out of order cannot move it back. A real Celery worker with the task
registered consumes the same queue; this one is there so the demo needs no Python.

It runs until Ctrl-C (exit 0: stopping it is its normal end; jobs in flight finish), or with
--until-empty until the queue is empty. A line every 5 seconds says what it flushed.`,
		Example: `  mossdev worker
  mossdev worker --until-empty     # drain the queue (the seeded jobs, a traffic --no-worker run), then exit`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if prefetch <= 0 || concurrency <= 0 {
				return &stack.Error{Op: "check --prefetch/--concurrency", Err: stack.ErrBadInput,
					Detail: fmt.Sprintf("prefetch %d, concurrency %d", prefetch, concurrency), Fix: "give numbers above 0"}
			}
			s, err := g.existing()
			if err != nil {
				return err
			}
			env, err := s.Runtime()
			if err != nil {
				return err
			}
			for _, name := range []string{"haproxy", "pgbouncer", "postgres"} {
				if up, err := s.Running(c.Context(), name); err != nil {
					return err
				} else if !up {
					return &stack.Error{Op: "worker " + s.Name(), Service: name, Err: stack.ErrBadInput,
						Detail: name + " is not running (stopped, or left out with --only)", Fix: fmt.Sprintf("`mossdev start %s --name %s`", name, s.Name())}
				}
			}
			return runWorker(c.Context(), g, load.TargetsFor(env), traffic.WorkerOptions{Prefetch: prefetch, Concurrency: concurrency}, untilEmpty, asJSON)
		},
	}
	f := c.Flags()
	f.IntVar(&prefetch, "prefetch", 64, "unacknowledged jobs at most (basic.qos)")
	f.IntVar(&concurrency, "concurrency", 8, "jobs committed at once")
	f.BoolVar(&untilEmpty, "until-empty", false, "exit once the queue is empty and nothing is in flight")
	f.BoolVar(&asJSON, "json", false, `JSON lines on stdout: {"flushed","rejected","failed","queueDepth","flushedPerSec"} every 5 s and at the end`)
	return c
}

func runWorker(ctx context.Context, g *globals, t load.Targets, o traffic.WorkerOptions, untilEmpty, asJSON bool) error {
	var st traffic.WorkerStats
	o.OnError = func(err error) { fmt.Fprintf(g.stderr, "worker: %v\n", err) }
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- traffic.Work(wctx, t, o, &st) }()
	t0, last, lastN := time.Now(), time.Now(), int64(0)
	report := func(final bool) {
		n := st.Flushed.Load()
		rate := float64(n-lastN) / time.Since(last).Seconds()
		if final {
			rate = float64(n) / time.Since(t0).Seconds()
		}
		d := queueDepth(t.AMQP)
		last, lastN = time.Now(), n
		if asJSON {
			writeJSONLine(g.stdout, map[string]any{"flushed": n, "rejected": st.Rejected.Load(), "failed": st.Failed.Load(),
				"queueDepth": d, "flushedPerSec": rate, "final": final})
			return
		}
		what := "worker"
		if final {
			what = "worker stopped"
		}
		fmt.Fprintf(g.stdout, "%s: %d jobs flushed (%.0f/s), %d rejected, %d failed, queue %s\n", what, n, rate,
			st.Rejected.Load(), st.Failed.Load(), depth(d))
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	empty, idleAt := 0, int64(-1)
	for {
		select {
		case err := <-done:
			report(true)
			return err
		case <-tick.C:
			report(false)
		case <-poll.C:
			if !untilEmpty {
				continue
			}
			// Empty and idle three polls in a row: jobs delivered to this
			// worker but not yet acknowledged are not in the depth.
			n := st.Flushed.Load()
			if queueDepth(t.AMQP) == 0 && n == idleAt {
				empty++
			} else {
				empty = 0
			}
			idleAt = n
			if empty >= 3 {
				stop()
			}
		}
	}
}

// queueDepth is the write-behind queue's ready messages, -1 when unknown.
func queueDepth(url string) int64 {
	conn, err := amqp.Dial(url)
	if err != nil {
		return -1
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return -1
	}
	q, err := ch.QueueDeclarePassive(seed.WriteBehindName, true, false, false, false, nil)
	if err != nil {
		return -1
	}
	return int64(q.Messages)
}
