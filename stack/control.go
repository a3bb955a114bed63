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
