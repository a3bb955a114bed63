package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mossdev/mossdev/stack/probe"
)

// Config opens a stack. Services and NewBackend are the composition root's
// (package platform) so that this package imports neither services nor
// backends.
type Config struct {
	Name    string
	Root    string // directory holding all stacks; DefaultRoot() when empty
	Backend string // used when the stack is created; later commands read it from state
	Options Options
	// Ports asks for fixed host ports: "postgres" or "rabbitmq-1:dist" → port.
	Ports map[string]int
	Sink  Sink
	// Exe runs mossdev's fakes in serve mode; os.Executable() when empty.
	Exe string
	// Services builds the platform's service list for the given options.
	Services func(Options) []Service
	// NewBackend builds a backend by name for a stack directory.
	NewBackend func(name, stack, dir string) (Backend, error)
	// Timeout bounds Up (default 3 minutes).
	Timeout time.Duration
}

// Stack is one named copy of the platform.
type Stack struct {
	cfg     Config
	dir     string
	state   *State // nil until the stack is created by Up
	backend Backend
	all     []Service
}

// Open prepares a stack handle. Nothing starts; an existing stack's state is
// loaded so later commands see the backend, ports and secrets it was made with.
func Open(cfg Config) (*Stack, error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if err := CheckName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Root == "" {
		cfg.Root = DefaultRoot()
	}
	if cfg.Sink == nil {
		cfg.Sink = Discard
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Minute
	}
	if cfg.Exe == "" {
		cfg.Exe = exePath()
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("resolve stack root: %w", err)
	}
	s := &Stack{cfg: cfg, dir: filepath.Join(root, cfg.Name)}
	st, err := LoadState(s.dir)
	switch {
	case err == nil:
		s.state = st
		if cfg.Backend != "" && cfg.Backend != st.Backend {
			return nil, &Error{Op: "open stack " + cfg.Name, Err: ErrBadInput,
				Detail: fmt.Sprintf("it runs on the %s backend, not %s", st.Backend, cfg.Backend),
				Fix:    fmt.Sprintf("run `mossdev down --name %s` first, or pick another --name", cfg.Name)}
		}
		cfg.Backend = st.Backend
		s.cfg.Options = st.Options
	case errors.Is(err, ErrNoStack):
		if cfg.Backend == "" {
			cfg.Backend = "native"
		}
		if s.cfg.Options == (Options{}) {
			s.cfg.Options = DefaultOptions()
		}
		if err := s.cfg.Options.Validate(); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	s.cfg.Backend = cfg.Backend
	s.all = cfg.Services(s.cfg.Options)
	s.backend, err = cfg.NewBackend(cfg.Backend, cfg.Name, s.dir)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Name is the stack's name; Dir its directory; Backend its backend's name.
func (s *Stack) Name() string    { return s.cfg.Name }
func (s *Stack) Dir() string     { return s.dir }
func (s *Stack) Backend() string { return s.backend.Name() }

// Exists reports whether the stack was brought up (and not brought down).
func (s *Stack) Exists() bool { return s.state != nil }

// Services lists the platform's services for this stack's options.
func (s *Stack) Services() []Service { return s.all }

// Service finds a service by name.
func (s *Stack) Service(name string) (Service, error) {
	for _, sv := range s.all {
		if sv.Name == name {
			return sv, nil
		}
	}
	_, err := Select(s.all, []string{name})
	return Service{}, err
}

// Runtime returns the runtime facts services are configured from. It errors
// with ErrNoStack before the first Up.
func (s *Stack) Runtime() (*Runtime, error) {
	if s.state == nil {
		return nil, s.noStack()
	}
	e := &Runtime{Stack: s.cfg.Name, Dir: s.dir, Backend: s.backend.Name(), Ports: s.state.Ports,
		Secrets: s.state.Secrets, Options: s.state.Options, Exe: s.cfg.Exe}
	if x, ok := s.backend.(Execer); ok {
		e.Exec = func(ctx context.Context, service string, args ...string) (string, error) {
			sv, err := s.Service(service)
			if err != nil {
				return "", err
			}
			return x.Exec(ctx, sv, e, args...)
		}
	}
	return e, nil
}

func (s *Stack) noStack() error {
	return &Error{Op: "find stack " + s.cfg.Name, Err: ErrNoStack, Detail: s.dir,
		Fix: fmt.Sprintf("bring it up with `mossdev up --name %s`", s.cfg.Name)}
}

// create writes the state (ports, secrets) on the first up; later ups keep
// it and only add ports for services that were not there before.
func (s *Stack) create() error {
	if err := os.MkdirAll(filepath.Join(s.dir, "marks"), 0o755); err != nil {
		return fmt.Errorf("create stack dir: %w", err)
	}
	st := s.state
	if st == nil {
		st = &State{Name: s.cfg.Name, Backend: s.cfg.Backend, Created: time.Now().UTC(),
			Options: s.cfg.Options, Secrets: newSecrets()}
	}
	ports, err := allocatePorts(s.all, st.Ports, s.cfg.Ports)
	if err != nil {
		return err
	}
	st.Ports = ports
	if err := saveState(s.dir, st); err != nil {
		return err
	}
	s.state = st
	return s.writeDotenv()
}

func (s *Stack) writeDotenv() error {
	vars, err := s.Vars()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v.Name, DotenvQuote(v.Value))
	}
	return writeFileAtomic(s.DotenvPath(), []byte(b.String()), 0o600)
}

// DotenvQuote single-quotes a value that a shell or a dotenv parser would
// otherwise split or expand (the MariaDB DSN has parentheses), so the file
// works with `set -a; . mossdev.env` and with dotenv libraries alike.
func DotenvQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`()&;|<>*?[]#~!{}") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// DotenvPath is the .env file written at up (mode 0600: it holds secrets).
func (s *Stack) DotenvPath() string { return filepath.Join(s.dir, "mossdev.env") }

// Var is one exported environment variable.
type Var struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Vars are the variables an app needs: one URL per service plus extras.
func (s *Stack) Vars() ([]Var, error) {
	e, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	out := []Var{{"MOSSDEV_STACK", s.cfg.Name}}
	for _, sv := range s.all {
		if sv.URL != nil {
			out = append(out, Var{sv.EnvVar(), sv.URL(e)})
		}
		if sv.Extra != nil {
			ex := sv.Extra(e)
			keys := make([]string, 0, len(ex))
			for k := range ex {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = append(out, Var{k, ex[k]})
			}
		}
	}
	return out, nil
}

// URL returns the URL apps use for a service.
func (s *Stack) URL(service string) (string, error) {
	sv, err := s.Service(service)
	if err != nil {
		return "", err
	}
	e, err := s.Runtime()
	if err != nil {
		return "", err
	}
	if sv.URL == nil {
		return "", fmt.Errorf("service %s has no URL", service)
	}
	return sv.URL(e), nil
}

// Report is what Up did.
type Report struct {
	Stack    string        `json:"stack"`
	Backend  string        `json:"backend"`
	Plan     Plan          `json:"-"`
	Started  int           `json:"started"`
	Kept     int           `json:"kept"`
	Elapsed  time.Duration `json:"elapsedMs"`
	Timeline []Timing      `json:"timeline"`
	Critical []string      `json:"criticalChain"`
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

// Up starts what is not running among the selected services (all when only
// is empty, plus their needs) and returns when every one answers its probe.
// A second Up changes nothing. If ctx is cancelled (Ctrl-C), the services
// this call started are stopped again, so nothing is left half-started.
func (s *Stack) Up(ctx context.Context, only []string) (*Report, error) {
	sel, err := Select(s.all, only)
	if err != nil {
		return nil, err
	}
	if err := s.create(); err != nil {
		return nil, err
	}
	env, _ := s.Runtime()
	t0 := time.Now()
	obs, err := s.backend.Observe(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe stack: %w", err)
	}
	healthy := s.probeAll(ctx, sel, obs, env, 2*time.Second)
	plan := MakePlan(sel, obs, healthy)
	rep := &Report{Stack: s.cfg.Name, Backend: s.backend.Name(), Plan: plan}
	for _, st := range plan {
		s.cfg.Sink.Event(Event{Time: time.Now(), Service: st.Service, Kind: EventPlanned, Message: string(st.Action)})
	}

	upCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	ex := &executor{s: s, env: env, t0: t0, ctx: upCtx, cancel: cancel,
		done: map[string]chan struct{}{}, failed: map[string]error{}}
	for _, st := range plan {
		ex.done[st.Service] = make(chan struct{})
	}
	byName := map[string]Service{}
	for _, sv := range sel {
		byName[sv.Name] = sv
	}
	var wg sync.WaitGroup
	for _, st := range plan {
		wg.Add(1)
		go func(st Step) {
			defer wg.Done()
			ex.run(byName[st.Service], st)
		}(st)
	}
	wg.Wait()
	rep.Elapsed = time.Since(t0)
	rep.Timeline = ex.timings()
	rep.Critical = critical(sel, rep.Timeline)
	for _, st := range plan {
		if st.Action == ActKeep {
			rep.Kept++
		} else {
			rep.Started++
		}
	}
	if err := ex.firstErr(); err != nil {
		if ctx.Err() != nil {
			// Interrupted: undo what this call started so nothing is orphaned.
			stopCtx, c2 := context.WithTimeout(context.Background(), 30*time.Second)
			defer c2()
			for _, name := range ex.startedNames() {
				_ = s.backend.Stop(stopCtx, byName[name])
				s.cfg.Sink.Event(Event{Time: time.Now(), Service: name, Kind: EventStopped, Message: "interrupted"})
			}
			return rep, &Error{Op: "up " + s.cfg.Name, Err: context.Canceled,
				Detail: fmt.Sprintf("interrupted; stopped the %d services this run had started", len(ex.startedNames())),
				Fix:    "run `mossdev up` again to finish"}
		}
		if errors.Is(upCtx.Err(), context.DeadlineExceeded) {
			var se *Error
			if !errors.As(err, &se) {
				err = &Error{Op: "up " + s.cfg.Name, Err: ErrTimeout, Detail: err.Error(),
					Fix: "raise --timeout on a slow machine, and look at `mossdev status`"}
			}
		}
		return rep, err
	}
	return rep, nil
}

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

// Stop stops one service on purpose (fault injection); Status then says
// "stopped" for it and "unhealthy" for whatever depended on it.
func (s *Stack) Stop(ctx context.Context, name string) error {
	sv, err := s.Service(name)
	if err != nil {
		return err
	}
	if s.state == nil {
		return s.noStack()
	}
	s.mark(name, "stopped", true)
	if err := s.backend.Stop(ctx, sv); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	s.cfg.Sink.Event(Event{Time: time.Now(), Service: name, Kind: EventStopped})
	return nil
}

// Start starts one service (and anything it needs that is not running).
func (s *Stack) Start(ctx context.Context, name string) (*Report, error) {
	if _, err := s.Service(name); err != nil {
		return nil, err
	}
	if s.state == nil {
		return nil, s.noStack()
	}
	return s.Up(ctx, []string{name})
}

// Counters reads a service's live figures; nil when it has none.
func (s *Stack) Counters(ctx context.Context, name string) ([]Counter, error) {
	sv, err := s.Service(name)
	if err != nil {
		return nil, err
	}
	e, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	if sv.Counters == nil {
		return nil, nil
	}
	return sv.Counters(ctx, e)
}

// Logs opens a service's log.
func (s *Stack) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	if _, err := s.Service(name); err != nil {
		return nil, err
	}
	if s.state == nil {
		return nil, s.noStack()
	}
	return s.backend.Logs(ctx, name, follow)
}

// Down stops everything of the stack and removes it; with keepData the
// state (ports, secrets) and data stay for the next up.
func (s *Stack) Down(ctx context.Context, keepData bool) error {
	if err := s.backend.Remove(ctx, keepData); err != nil {
		return fmt.Errorf("down %s: %w", s.cfg.Name, err)
	}
	if keepData {
		_ = os.RemoveAll(filepath.Join(s.dir, "marks"))
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove %s: %w", s.dir, err)
	}
	s.state = nil
	return nil
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
