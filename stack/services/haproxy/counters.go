package haproxy

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
)

// SessionsKey is the key of the counter of a RabbitMQ node's current
// sessions through HAProxy.
func SessionsKey(node string) string { return "sessions:" + node }

// counters reads current sessions per RabbitMQ node from the stats CSV
// (stopping a node shows its sessions move to the others) and the queue
// depths the cluster behind it holds.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	sessions, err := Sessions(ctx, StatsURL(e))
	if err != nil {
		return nil, err
	}
	out := sessions
	qs, err := rabbitmq.QueueDepths(ctx, e, 0)
	if err != nil {
		for _, q := range rabbitmq.Queues {
			out = append(out, stack.Counter{Key: rabbitmq.QueueKey(q), Label: "queue " + q, Value: "unavailable: " + err.Error()})
		}
		return out, nil
	}
	return append(out, qs...), nil
}

// Sessions reads "sessions <node>" = "<current> (<UP|DOWN ...>)" for every
// server of the rabbitmq backend from the stats page's CSV export. Go's
// client sends the URL's user and password as basic auth.
func Sessions(ctx context.Context, statsURL string) ([]stack.Counter, error) {
	body, err := probe.Get(ctx, strings.TrimSuffix(statsURL, "/")+"/;csv")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("read stats csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	get := func(rec []string, k string) string {
		if i, ok := col[k]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []stack.Counter
	for _, rec := range recs[1:] {
		sv := get(rec, "svname")
		if get(rec, "pxname") != "rabbitmq" || sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		out = append(out, stack.Counter{Key: SessionsKey(sv), Label: "sessions " + sv,
			Value: fmt.Sprintf("%s (%s)", get(rec, "scur"), get(rec, "status"))})
	}
	return out, nil
}
