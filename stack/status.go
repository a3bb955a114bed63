package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mossdev/mossdev/stack/probe"
)

// Status is one service's observed state.
type Status struct {
	Name    string        `json:"name"`
	Kind    string        `json:"kind"`
	State   string        `json:"state"` // starting|healthy|unhealthy|stopped
	Address string        `json:"address,omitempty"`
	URL     string        `json:"url,omitempty"`
	StandIn string        `json:"standIn,omitempty"`
	Latency time.Duration `json:"latencyNs,omitempty"`
	Error   string        `json:"error,omitempty"`
	PID     int           `json:"pid,omitempty"`
	Since   time.Time     `json:"since,omitzero"`
	CPU     float64       `json:"cpuPercent,omitempty"`
	Mem     uint64        `json:"memBytes,omitempty"`
}

// States.
const (
	StateStarting  = "starting"
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateStopped   = "stopped"
)

// Status observes every service and probes the running ones concurrently.
// Each probe is bounded by limit, so a dead service is reported within it.
func (s *Stack) Status(ctx context.Context, limit time.Duration) ([]Status, error) {
	env, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	obs, err := s.backend.Observe(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe stack: %w", err)
	}
	out := make([]Status, len(s.all))
	var wg sync.WaitGroup
	for i, sv := range s.all {
		st := Status{Name: sv.Name, Kind: sv.Kind, StandIn: sv.StandIn}
		if len(sv.Ports) > 0 {
			st.Address = env.Addr(sv.Name, sv.Ports[0])
		}
		if sv.URL != nil {
			st.URL = sv.URL(env)
		}
		o, running := obs[sv.Name]
		if !running || !o.Running {
			st.State = StateStopped
			if !s.marked(sv.Name, "stopped") && s.marked(sv.Name, "healthy") {
				st.State = StateUnhealthy
				st.Error = "not running"
				if o.ExitCode != 0 {
					st.Error = fmt.Sprintf("exited with code %d", o.ExitCode)
				}
			}
			out[i] = st
			continue
		}
		st.PID, st.Since, st.CPU, st.Mem = o.PID, o.Since, o.CPUPercent, o.MemBytes
		if o.StandIn != "" {
			st.StandIn = o.StandIn
		}
		wg.Add(1)
		go func(i int, st Status, sv Service) {
			defer wg.Done()
			lat, err := probe.Once(ctx, sv.Probe(env), limit)
			st.Latency = lat
			switch {
			case err == nil:
				st.State = StateHealthy
			case s.marked(sv.Name, "healthy"):
				st.State, st.Error = StateUnhealthy, err.Error()
			default:
				st.State, st.Error = StateStarting, err.Error()
			}
			out[i] = st
		}(i, st, sv)
	}
	wg.Wait()
	return out, nil
}

// marks record intent that outlives processes: a service stopped on purpose
// (so Status says "stopped", not "unhealthy"), and one that was healthy once
// (so a failing probe means "unhealthy", not "starting").
func (s *Stack) mark(svc, kind string, on bool) {
	p := filepath.Join(s.dir, "marks", svc+"."+kind)
	if on {
		_ = os.WriteFile(p, nil, 0o644)
	} else {
		_ = os.Remove(p)
	}
}

func (s *Stack) marked(svc, kind string) bool {
	_, err := os.Stat(filepath.Join(s.dir, "marks", svc+"."+kind))
	return err == nil
}

// probeAll probes the running services once, concurrently.
func (s *Stack) probeAll(ctx context.Context, svcs []Service, obs map[string]Observed, env *Runtime, limit time.Duration) map[string]bool {
	var mu sync.Mutex
	ok := map[string]bool{}
	var wg sync.WaitGroup
	for _, sv := range svcs {
		if o, run := obs[sv.Name]; !run || !o.Running {
			continue
		}
		wg.Add(1)
		go func(sv Service) {
			defer wg.Done()
			if _, err := probe.Once(ctx, sv.Probe(env), limit); err == nil {
				mu.Lock()
				ok[sv.Name] = true
				mu.Unlock()
			}
		}(sv)
	}
	wg.Wait()
	return ok
}
