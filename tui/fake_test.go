package tui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/cdn"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/services/redis"
)

// fakeSource is an in-memory stack: states are set by the test, Stop and
// Start change them as the real stack would (a stopped service is
// "stopped", what needs it "unhealthy").
type fakeSource struct {
	mu       sync.Mutex
	svcs     []stack.Service
	state    map[string]string
	errs     map[string]string
	counters map[string][]stack.Counter
	logs     map[string]string
	calls    map[string]int // method → calls
	actions  []string       // "stop postgres", "start postgres"
	since    time.Time
}

var _ Source = (*fakeSource)(nil)

func platformServices() []stack.Service {
	counters := func(context.Context, *stack.Runtime) ([]stack.Counter, error) { return nil, nil }
	sv := func(name, kind, role string, needs ...string) stack.Service {
		return stack.Service{Name: name, Kind: kind, Role: role, Needs: needs, Counters: counters,
			URL: func(*stack.Runtime) string { return "" }}
	}
	out := []stack.Service{
		sv("postgres", "postgres", "main database"),
		sv("pgbouncer", "pgbouncer", "connection pooler in front of PostgreSQL", "postgres"),
		sv("mariadb", "mariadb", "hashtag search"),
		sv("mongodb", "mongodb", "view logs", "postgres"),
	}
	for i := range 3 {
		out = append(out, sv(fmt.Sprintf("redis-%d", i), "redis", fmt.Sprintf("cache shard %d of 3", i)))
	}
	for i := 1; i <= 3; i++ {
		out = append(out, sv(fmt.Sprintf("rabbitmq-%d", i), "rabbitmq", "Celery broker node"))
	}
	out = append(out, sv("haproxy", "haproxy", "load balancer in front of RabbitMQ", "rabbitmq-1", "rabbitmq-2", "rabbitmq-3"),
		sv("elasticsearch", "elasticsearch", "search"), sv("s3", "s3", "images"), sv("cdn", "cdn", "CDN", "s3"))
	out[3].StandIn = "FerretDB 1.24 (stand-in for MongoDB)"
	// The explanations are the real services' own.
	explain := map[string]string{}
	for _, s := range []stack.Service{postgres.Service(), pgbouncer.Service(), mariadb.Service(),
		redis.Shards(1)[0], rabbitmq.Nodes(1)[0], haproxy.Service(1)} {
		explain[s.Kind] = s.Explain
	}
	for i := range out {
		out[i].Explain = explain[out[i].Kind]
	}
	return out
}

func newFake() *fakeSource {
	f := &fakeSource{svcs: platformServices(), state: map[string]string{}, errs: map[string]string{},
		counters: map[string][]stack.Counter{}, logs: map[string]string{}, calls: map[string]int{},
		since: time.Now().Add(-90 * time.Minute)}
	for _, s := range f.svcs {
		f.state[s.Name] = stack.StateHealthy
		f.logs[s.Name] = fmt.Sprintf("%s line 1\n%s line 2\n", s.Name, s.Name)
	}
	f.counters["pgbouncer"] = []stack.Counter{{Key: pgbouncer.ClientsActive, Label: "clients active", Value: "3"},
		{Key: pgbouncer.ClientsWaiting, Label: "clients waiting", Value: "1"},
		{Key: pgbouncer.ServerActive, Label: "server active", Value: "2"}, {Key: pgbouncer.ServerIdle, Label: "server idle", Value: "1"}}
	f.counters["postgres"] = []stack.Counter{{Key: postgres.Connections, Label: "connections", Value: "5 (1 active)"},
		{Key: postgres.Cards, Label: "cards", Value: "12000"}}
	f.counters["redis-0"] = []stack.Counter{{Key: redis.Keys, Label: "keys", Value: "1000"}}
	f.counters["redis-1"] = []stack.Counter{{Key: redis.Keys, Label: "keys", Value: "1100"}}
	f.counters["redis-2"] = []stack.Counter{{Key: redis.Keys, Label: "keys", Value: "900"}}
	f.counters["haproxy"] = []stack.Counter{{Key: haproxy.SessionsKey("rabbitmq-1"), Label: "sessions rabbitmq-1", Value: "2 (UP)"},
		{Key: haproxy.SessionsKey("rabbitmq-2"), Label: "sessions rabbitmq-2", Value: "1 (UP)"},
		{Key: haproxy.SessionsKey("rabbitmq-3"), Label: "sessions rabbitmq-3", Value: "0 (UP)"},
		{Key: rabbitmq.QueueKey("writebehind"), Label: "queue writebehind", Value: "120 ready, 0 consumers"}}
	f.counters["mariadb"] = []stack.Counter{{Key: mariadb.Hashtags, Label: "hashtags", Value: "≈6000000 (statistics estimate)"}}
	f.counters["cdn"] = []stack.Counter{{Key: cdn.HitRatio, Label: "hit ratio", Value: "93.5%"}}
	return f
}

func (f *fakeSource) count(m string) {
	f.mu.Lock()
	f.calls[m]++
	f.mu.Unlock()
}

func (f *fakeSource) set(name, state, err string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name], f.errs[name] = state, err
}

func (f *fakeSource) Name() string              { return "fake" }
func (f *fakeSource) Backend() string           { return "memory" }
func (f *fakeSource) Services() []stack.Service { return f.svcs }

func (f *fakeSource) Status(ctx context.Context, limit time.Duration) ([]stack.Status, error) {
	f.count("status")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []stack.Status
	for i, s := range f.svcs {
		st := stack.Status{Name: s.Name, Kind: s.Kind, State: f.state[s.Name], StandIn: s.StandIn,
			Address: fmt.Sprintf("127.0.0.1:%d", 20000+i), Error: f.errs[s.Name],
			URL: fmt.Sprintf("proto://mossi:s3cret@127.0.0.1:%d/db", 20000+i)}
		if st.State != stack.StateStopped && st.Error != "not running" {
			st.PID, st.Since, st.Latency = 1000+i, f.since, time.Duration(1+i%4)*time.Millisecond
			st.CPU, st.Mem = 0.5, 40<<20
		}
		out = append(out, st)
	}
	return out, nil
}

func (f *fakeSource) Counters(ctx context.Context, name string) ([]stack.Counter, error) {
	f.count("counters")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state[name] != stack.StateHealthy {
		return nil, fmt.Errorf("dial tcp 127.0.0.1:1: connect: connection refused")
	}
	return f.counters[name], nil
}

func (f *fakeSource) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	f.count("logs")
	f.mu.Lock()
	defer f.mu.Unlock()
	return io.NopCloser(strings.NewReader(f.logs[name])), nil
}

func (f *fakeSource) Stop(ctx context.Context, name string) error {
	f.count("stop")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "stop "+name)
	f.state[name] = stack.StateStopped
	for _, s := range f.svcs {
		for _, n := range s.Needs {
			if n == name {
				f.state[s.Name], f.errs[s.Name] = stack.StateUnhealthy, "connection refused"
			}
		}
	}
	return nil
}

func (f *fakeSource) Start(ctx context.Context, name string) (*stack.Report, error) {
	f.count("start")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "start "+name)
	for n := range f.state {
		f.state[n], f.errs[n] = stack.StateHealthy, ""
	}
	return &stack.Report{Started: 1}, nil
}

func (f *fakeSource) actionsDone() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.actions...)
}
