package tui

import (
	"sort"
	"time"

	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
)

// historyLen is how many probes the sparkline remembers.
const historyLen = 24

// sample is one probe as the sparkline draws it.
type sample struct {
	lat    time.Duration
	ok     bool
	probed bool // false when the service was not running (no probe)
}

// svcState is everything the UI knows about one service. Only Update
// writes it, from messages; components read it to draw.
type svcState struct {
	svc    stack.Service
	status stack.Status
	seen   bool // a status has arrived
	hist   []sample

	lastErr   string // the last probe error seen, kept after recovery
	lastErrAt time.Time

	counters   []stack.Counter
	countersAt time.Time
	countErr   string

	logs   []string
	logErr string

	busy string // "stopping", "starting", "restarting" while an action runs

	vars []stack.Var // how apps connect (from Varser), fixed for the stack's life
}

func (s *svcState) state() string {
	if !s.seen {
		return ""
	}
	return s.status.State
}

// counter returns a counter's value by key (the service package's
// constant).
func (s *svcState) counter(key string) (string, bool) {
	for _, c := range s.counters {
		if c.Key == key {
			return c.Value, true
		}
	}
	return "", false
}

// world is the UI's data: the last observation of every service.
type world struct {
	name, backend string
	svcs          []*svcState
	by            map[string]*svcState
	dependents    map[string][]string // who needs a service, transitively

	selected string    // the selected service, shared by every screen
	now      time.Time // time of the last status, for uptimes
	polled   bool      // a status has arrived
	took     time.Duration
	statErr  string
	mem      stack.Memory // the stack's total, from the last status

	// traffic is a running traffic command's latest figures (nil when
	// none runs): the architecture view's arrows show its rates.
	traffic *traffic.Snapshot
}

func newWorld(src Source) *world {
	w := &world{name: src.Name(), backend: src.Backend(), by: map[string]*svcState{}}
	for _, sv := range src.Services() {
		s := &svcState{svc: sv}
		w.svcs = append(w.svcs, s)
		w.by[sv.Name] = s
	}
	if len(w.svcs) > 0 {
		w.selected = w.svcs[0].svc.Name
	}
	w.dependents = dependents(src.Services())
	if v, ok := src.(Varser); ok {
		// Ports and secrets are fixed when the stack is created, so the
		// variables are read once, here, not while drawing.
		if vars, err := v.Vars(); err == nil {
			for _, s := range w.svcs {
				s.vars = varsOf(s.svc.Name, vars)
			}
		}
	}
	return w
}

// varsOf picks the variables a service exports.
func varsOf(service string, vars []stack.Var) []stack.Var {
	var out []stack.Var
	for _, v := range vars {
		if v.Service == service {
			out = append(out, v)
		}
	}
	return out
}

// dependents maps each service to the services that need it, directly or
// through others: what turns unhealthy when it stops.
func dependents(svcs []stack.Service) map[string][]string {
	direct := map[string][]string{}
	for _, s := range svcs {
		for _, n := range s.Needs {
			direct[n] = append(direct[n], s.Name)
		}
	}
	out := map[string][]string{}
	for _, s := range svcs {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			for _, d := range direct[n] {
				if !seen[d] {
					seen[d] = true
					walk(d)
				}
			}
		}
		walk(s.Name)
		var names []string
		for _, sv := range svcs { // display order
			if seen[sv.Name] {
				names = append(names, sv.Name)
			}
		}
		out[s.Name] = names
	}
	return out
}

func (w *world) sel() *svcState { return w.by[w.selected] }

func (w *world) index(name string) int {
	for i, s := range w.svcs {
		if s.svc.Name == name {
			return i
		}
	}
	return 0
}

// applyStatus records one observation of every service.
func (w *world) applyStatus(m statusMsg) {
	w.took = m.took
	if m.err != nil {
		w.statErr = shortErr(m.err.Error())
		return
	}
	w.statErr = ""
	w.polled = true
	w.now = m.at
	w.mem = stack.MemoryOf(m.statuses)
	for _, st := range m.statuses {
		s, ok := w.by[st.Name]
		if !ok {
			continue
		}
		s.status, s.seen = st, true
		probed := st.PID != 0 || st.Latency > 0
		s.hist = append(s.hist, sample{lat: st.Latency, ok: st.State == stack.StateHealthy, probed: probed})
		if len(s.hist) > historyLen {
			s.hist = s.hist[len(s.hist)-historyLen:]
		}
		if st.Error != "" && st.State != stack.StateHealthy {
			s.lastErr, s.lastErrAt = st.Error, m.at
		}
	}
}

// counts tallies services by state for the header.
func (w *world) counts() map[string]int {
	out := map[string]int{}
	for _, s := range w.svcs {
		out[s.state()]++
	}
	return out
}

// withCounters lists the services that have live counters.
func (w *world) withCounters() []string {
	var out []string
	for _, s := range w.svcs {
		if s.svc.Counters != nil {
			out = append(out, s.svc.Name)
		}
	}
	sort.Strings(out)
	return out
}
