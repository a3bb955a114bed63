package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Running reports whether the backend sees the service running.
func (s *Stack) Running(ctx context.Context, name string) (bool, error) {
	if _, err := s.Service(name); err != nil {
		return false, err
	}
	if s.state == nil {
		return false, s.noStack()
	}
	obs, err := s.backend.Observe(ctx)
	if err != nil {
		return false, fmt.Errorf("observe stack: %w", err)
	}
	return obs[name].Running, nil
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
//
// A process can appear while the stack goes (a helper a dying server
// spawns, a daemon that forks on its way out), and a busy machine can make
// the first sweep miss it: Down sweeps again until the backend finds
// nothing and the directory is gone, up to DownRounds times, and then says
// what is left.
func (s *Stack) Down(ctx context.Context, keepData bool) error {
	var last error
	for round := 1; round <= DownRounds; round++ {
		if round > 1 {
			s.cfg.Sink.Event(Event{Time: time.Now(), Kind: EventWaiting, Service: s.cfg.Name,
				Message: fmt.Sprintf("down: sweeping again (%d of %d): %v", round, DownRounds, last)})
			select {
			case <-ctx.Done():
				return fmt.Errorf("down %s: %w (left: %v)", s.cfg.Name, ctx.Err(), last)
			case <-time.After(time.Duration(round) * 200 * time.Millisecond):
			}
		}
		if last = s.backend.Remove(ctx, keepData); last != nil {
			continue
		}
		if keepData {
			_ = os.RemoveAll(filepath.Join(s.dir, "marks"))
			return nil
		}
		if last = os.RemoveAll(s.dir); last != nil {
			continue
		}
		if _, err := os.Lstat(s.dir); err == nil {
			last = fmt.Errorf("%s reappeared while it was removed", s.dir)
			continue
		}
		s.state = nil
		return nil
	}
	return &Error{Op: "down " + s.cfg.Name, Err: last,
		Detail: fmt.Sprintf("still there after %d sweeps", DownRounds),
		Fix:    fmt.Sprintf("run `mossdev down --name %s` again; if it stays, `mossdev doctor` and the processes named above", s.cfg.Name)}
}

// DownRounds bounds Down's sweeps.
const DownRounds = 4
