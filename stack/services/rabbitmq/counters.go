package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mossdev/mossdev/stack"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Queues are the platform's Celery queues: "celery", Celery's default for
// async and delayed jobs, and "writebehind", where cache→database flushes
// wait (seed.WriteBehindName). The counters report their depth.
var Queues = []string{"celery", "writebehind"}

// QueueKey is the key of the counter of a queue's depth.
func QueueKey(queue string) string { return "queue:" + queue }

// nodeCounters reads the queue depths through node i itself, so the detail
// of a node shows whether that node answers and what the cluster holds.
func nodeCounters(i int) func(context.Context, *stack.Runtime) ([]stack.Counter, error) {
	return func(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
		return QueueDepths(ctx, NodeURL(e, i))
	}
}

// QueueDepths declares each of Queues passively over AMQP (the way an app
// or a worker sees the broker, so it works on any backend) and reports
// "N ready, C consumers", or that the queue does not exist yet. A passive
// declare of a missing queue closes the channel, so each queue gets its own.
func QueueDepths(ctx context.Context, url string) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	type result struct {
		out []stack.Counter
		err error
	}
	done := make(chan result, 1)
	// amqp091 takes no context: the dial has its own timeout and the read
	// runs aside so ctx bounds the whole call.
	go func() {
		conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		var out []stack.Counter
		for _, q := range Queues {
			out = append(out, stack.Counter{Key: QueueKey(q), Label: "queue " + q, Value: depth(conn, q)})
		}
		done <- result{out: out}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func depth(conn *amqp.Connection, queue string) string {
	ch, err := conn.Channel()
	if err != nil {
		return "unavailable: " + err.Error()
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return "absent (no worker or producer has declared it)"
	}
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return fmt.Sprintf("%d ready, %d consumers", q.Messages, q.Consumers)
}
