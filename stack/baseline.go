package stack

import (
	"context"
	"fmt"
	"time"
)

// Baseline boots the selected services (all when only is empty, plus their
// needs) the straightforward way a person would script it, for `bench up`
// to hold Up against in the same run: every server launched at once, except
// that one which cannot run without another is launched when that one
// answers (FerretDB exits without its PostgreSQL database), each one's probe
// polled, then its setup run; byHand replaces services by name with their
// hand-run form (RabbitMQ nodes: the stock server script, all launched at
// once, 2..N joined with stop_app/join_cluster/start_app once node 1
// answers). Start ordering that is not a need (StartAfter) is dropped.
// It runs on a stack with nothing running (a new one, or one stopped) and
// leaves it up; the caller removes it. The returned time runs from the
// launch of the first server to the last service ready.
func (s *Stack) Baseline(ctx context.Context, only []string, byHand []Service) (time.Duration, error) {
	sel, err := Select(s.all, only)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := s.pull(ctx, sel); err != nil {
		return 0, err
	}
	if err := s.create(); err != nil {
		return 0, err
	}
	env, err := s.Runtime()
	if err != nil {
		return 0, err
	}
	hand := map[string]Service{}
	for _, sv := range byHand {
		hand[sv.Name] = sv
	}
	plan := make(Plan, 0, len(sel))
	byName := map[string]Service{}
	for _, sv := range sel {
		if h, ok := hand[sv.Name]; ok {
			sv = h
		}
		sv.StartAfter = nil
		byName[sv.Name] = sv
		plan = append(plan, Step{Service: sv.Name, Action: ActStart, Cause: "baseline"})
	}
	upCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	ex := s.execute(upCtx, cancel, env, t0, plan, byName)
	elapsed := time.Since(t0)
	if err := ex.firstErr(); err != nil {
		return elapsed, fmt.Errorf("baseline boot: %w", err)
	}
	return elapsed, nil
}
