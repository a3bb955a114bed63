package rabbitmq

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/prometheus/common/expfmt"
)

// Queues are the platform's Celery queues: "celery", Celery's default for
// async and delayed jobs, and "writebehind", where cache→database flushes
// wait (seed.WriteBehindName). The counters report their depth.
var Queues = []string{"celery", "writebehind"}

// QueueKey is the key of the counter of a queue's depth.
func QueueKey(queue string) string { return "queue:" + queue }

// MetricsURL is node i's Prometheus endpoint (the rabbitmq_prometheus
// plugin, which the official image enables and the native backend turns on).
func MetricsURL(e *stack.Runtime, i int) string {
	return "http://" + e.Addr(NodeName(i), "metrics")
}

// nodeCounters reads the cluster's queue depths with node i answering
// first, so the detail of a node shows whether that node answers and what
// the cluster holds.
func nodeCounters(i int) func(context.Context, *stack.Runtime) ([]stack.Counter, error) {
	return func(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
		return QueueDepths(ctx, e, i)
	}
}

// queueMetrics are the per-queue families read: depth and consumers.
const queueMetrics = "/metrics/detailed?vhost=%2F&family=queue_coarse_metrics&family=queue_consumer_count"

// QueueDepths reports each of Queues as "N ready, C consumers", or that it
// does not exist, from every node's Prometheus endpoint; must (1-based, 0
// for none) is a node whose endpoint has to answer. A node reports the
// queues it hosts, so the cluster's view is the union over the nodes.
//
// Why not AMQP, the way apps see the broker: a passive queue.declare of a
// queue nobody has declared yet closes the channel with not_found, and
// RabbitMQ logs each such channel exception as an error, every poll. The
// metrics endpoint answers without touching a queue or logging anything;
// its figures lag by the broker's statistics interval (5 s).
func QueueDepths(ctx context.Context, e *stack.Runtime, must int) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	n := e.Options.RabbitNodes
	type result struct {
		qs  map[string]queueStat
		err error
	}
	res := make([]result, n+1)
	done := make(chan struct{})
	for i := 1; i <= n; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			qs, err := readQueues(ctx, MetricsURL(e, i)+queueMetrics)
			res[i] = result{qs, err}
		}()
	}
	for range n {
		<-done
	}
	if must > 0 && must <= n && res[must].err != nil {
		return nil, res[must].err
	}
	all := map[string]queueStat{}
	var down []string
	var lastErr error
	for i := 1; i <= n; i++ {
		if res[i].err != nil {
			down, lastErr = append(down, NodeName(i)), res[i].err
			continue
		}
		for q, st := range res[i].qs {
			all[q] = st
		}
	}
	if len(down) == n {
		return nil, lastErr
	}
	var out []stack.Counter
	for _, q := range Queues {
		v := "absent (no worker or producer has declared it)"
		if st, ok := all[q]; ok {
			v = fmt.Sprintf("%d ready, %d consumers", st.ready, st.consumers)
		} else if len(down) > 0 {
			v = "absent, or on " + strings.Join(down, ", ") + " (not answering)"
		}
		out = append(out, stack.Counter{Key: QueueKey(q), Label: "queue " + q, Value: v})
	}
	return out, nil
}

type queueStat struct{ ready, consumers int64 }

// readQueues fetches one node's per-queue metrics.
func readQueues(ctx context.Context, url string) (map[string]queueStat, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("read queue metrics: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read queue metrics: %w", err)
	}
	out := map[string]queueStat{}
	for name, set := range map[string]func(*queueStat, int64){
		"rabbitmq_detailed_queue_messages_ready": func(s *queueStat, v int64) { s.ready = v },
		"rabbitmq_detailed_queue_consumers":      func(s *queueStat, v int64) { s.consumers = v },
	} {
		f := fams[name]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			q := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "queue" {
					q = l.GetValue()
				}
			}
			st := out[q]
			set(&st, int64(m.GetGauge().GetValue()))
			out[q] = st
		}
	}
	return out, nil
}
