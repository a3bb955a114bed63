package stack

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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

// checkPortChanges refuses a --port that moves a running service: the
// state would name the new port while the server listens on the old one.
func (s *Stack) checkPortChanges(sel []Service, obs map[string]Observed) error {
	if s.state == nil {
		return nil
	}
	for name, what := range portChanges(s.state.Ports, sel, s.cfg.Ports) {
		if o := obs[name]; o.Running {
			return &Error{Op: "up " + s.cfg.Name, Service: name, Err: ErrBadInput,
				Detail: what + " and it is running there",
				Fix:    fmt.Sprintf("drop --port to keep it, or `mossdev stop %s --name %s` and up again with the new port", name, s.cfg.Name)}
		}
	}
	return nil
}

// Up starts what is not running among the selected services (all when only
// is empty, plus their needs) and returns when every one answers its probe.
// A second Up changes nothing. On a backend with images (Puller) they are
// made present first, bounded by ctx but not by Config.Timeout, which
// bounds only the start after them. If ctx is cancelled (Ctrl-C), the services
// this call started are stopped again, so nothing is left half-started.
func (s *Stack) Up(ctx context.Context, only []string) (*Report, error) {
	sel, err := Select(s.all, only)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	obs, err := s.backend.Observe(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe stack: %w", err)
	}
	if err := s.checkPortChanges(sel, obs); err != nil {
		return nil, err
	}
	// Images first, on their own clock: before the state is written (a
	// failed pull leaves no stack behind) and before the start deadline
	// begins, so a first download on a slow line is not a start timeout.
	if err := s.pull(ctx, sel); err != nil {
		return nil, err
	}
	if err := s.create(); err != nil {
		return nil, err
	}
	env, _ := s.Runtime()
	healthy := s.probeAll(ctx, sel, obs, env, 2*time.Second)
	plan := MakePlan(sel, obs, healthy)
	rep := &Report{Stack: s.cfg.Name, Backend: s.backend.Name(), Plan: plan}
	for _, st := range plan {
		s.cfg.Sink.Event(Event{Time: time.Now(), Service: st.Service, Kind: EventPlanned,
			Message: fmt.Sprintf("%s (%s)", st.Action, st.Cause)})
	}

	upCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	byName := map[string]Service{}
	for _, sv := range sel {
		byName[sv.Name] = sv
	}
	ex := s.execute(upCtx, cancel, env, t0, plan, byName)
	rep.Elapsed = time.Since(t0)
	rep.Timeline = ex.timings()
	rep.Critical = critical(sel, rep.Timeline)
	rep.Started = plan.Changes()
	rep.Kept = len(plan) - rep.Started
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
