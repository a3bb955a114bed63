package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// MemKind says what Mem measures: pss, rss or cgroup (see MemPSS).
	MemKind string `json:"memKind,omitempty"`
	// Procs is how many processes Mem sums, where the backend counts them.
	Procs int `json:"procs,omitempty"`
}

// Memory is the whole stack's memory: the sum over its running services.
type Memory struct {
	Bytes uint64 `json:"bytes"`
	// Kind is pss when every service's figure is a PSS sum, else what the
	// weakest figure is (rss: shared pages counted once per process).
	Kind     string `json:"kind"`
	Procs    int    `json:"procs,omitempty"`
	Services int    `json:"services"`
}

// String reads "812 MiB PSS over 27 processes".
func (m Memory) String() string {
	s := fmt.Sprintf("%d MiB %s", (m.Bytes+1<<19)>>20, strings.ToUpper(m.Kind))
	if m.Procs > 0 {
		s += fmt.Sprintf(" over %d processes", m.Procs)
	}
	return s
}

// MemoryOf sums the memory of the services in sts; Services is 0 when no
// figure is known.
func MemoryOf(sts []Status) Memory {
	var m Memory
	for _, st := range sts {
		if st.Mem == 0 {
			continue
		}
		m.Bytes += st.Mem
		m.Procs += st.Procs
		m.Services++
		if m.Kind == "" || m.Kind == MemPSS {
			m.Kind = st.MemKind
		}
	}
	return m
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
		st.PID, st.Since, st.CPU, st.Mem, st.MemKind, st.Procs = o.PID, o.Since, o.CPUPercent, o.MemBytes, o.MemKind, o.Procs
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
