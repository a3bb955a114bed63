package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	// Services builds the platform's final service list for the given
	// options and backend; nothing rewrites it afterwards.
	Services func(o Options, backend string) []Service
	// NewBackend builds a backend by name for a stack directory.
	NewBackend func(name, stack, dir string) (Backend, error)
	// Timeout bounds Up's start (default 3 minutes); the pull phase before
	// it is bounded by Up's ctx alone (see Puller).
	Timeout time.Duration
	// WaitReport is how often Up reports a service that does not answer
	// yet (EventWaiting); default 5 s.
	WaitReport time.Duration
	// Lock is an image lock file (LockFile) Up checks the pulled images
	// against when it exists; empty: no check.
	Lock string
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
	if err := checkConfig(cfg); err != nil {
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
	if cfg.WaitReport <= 0 {
		cfg.WaitReport = 5 * time.Second
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
		if err := cfg.Options.OrDefault().Validate(); err != nil {
			return nil, err
		}
		if err := st.Options.Differs(cfg.Options, cfg.Name); err != nil {
			return nil, err
		}
		cfg.Backend = st.Backend
		s.cfg.Options = st.Options
	case errors.Is(err, ErrNoStack):
		if cfg.Backend == "" {
			cfg.Backend = "native"
		}
		s.cfg.Options = s.cfg.Options.OrDefault()
		if err := s.cfg.Options.Validate(); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	s.cfg.Backend = cfg.Backend
	s.all = cfg.Services(s.cfg.Options, cfg.Backend)
	if err := CheckGraph(s.all); err != nil {
		return nil, err
	}
	if err := CheckFixedPorts(s.all, cfg.Ports); err != nil {
		return nil, err
	}
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
		return &Error{Op: "create stack dir", Err: err, Detail: s.dir,
			Fix: "stacks live under MOSSDEV_HOME (or --home), default " + DefaultRoot() + ": point it at a writable directory"}
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
