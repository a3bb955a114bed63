package stack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/mossdev/mossdev/stack/probe"
)

// executor runs a plan: one goroutine per service, each waiting for its
// needs to be healthy, so independent services start concurrently and
// dependents start the moment their dependencies answer.
type executor struct {
	s      *Stack
	env    *Runtime
	t0     time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	done    map[string]chan struct{} // closed when the service is healthy or failed
	failed  map[string]error
	first   error
	started []string
	times   []Timing
}

// execute runs the plan's steps concurrently and returns when every one
// is healthy or failed.
func (s *Stack) execute(ctx context.Context, cancel context.CancelFunc, env *Runtime, t0 time.Time, plan Plan, byName map[string]Service) *executor {
	x := &executor{s: s, env: env, t0: t0, ctx: ctx, cancel: cancel,
		done: map[string]chan struct{}{}, failed: map[string]error{}}
	for _, st := range plan {
		x.done[st.Service] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for _, st := range plan {
		wg.Add(1)
		go func(st Step) {
			defer wg.Done()
			x.run(byName[st.Service], st)
		}(st)
	}
	wg.Wait()
	return x
}

func (x *executor) emit(svc string, k EventKind, msg string) {
	x.s.cfg.Sink.Event(Event{Time: time.Now(), Service: svc, Kind: k, Message: msg})
}

// wait blocks until name is healthy; it errors if name failed or is not part
// of this run (then it must already be healthy, or nothing waits for it).
func (x *executor) wait(name string) error {
	ch, ok := x.done[name]
	if !ok {
		return nil
	}
	select {
	case <-ch:
	case <-x.ctx.Done():
		return x.ctx.Err()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.failed[name]; err != nil {
		return fmt.Errorf("%s did not come up", name)
	}
	return nil
}

func (x *executor) run(svc Service, st Step) {
	tm := Timing{Service: svc.Name, Action: string(st.Action)}
	err := x.bring(svc, st, &tm)
	x.mu.Lock()
	if err != nil {
		x.failed[svc.Name] = err
		if x.first == nil && !errors.Is(err, errDependency) {
			x.first = err
		}
	}
	x.times = append(x.times, tm)
	x.mu.Unlock()
	close(x.done[svc.Name])
	if err != nil {
		x.emit(svc.Name, EventFailed, err.Error())
		if !errors.Is(err, errDependency) {
			x.cancel() // the rest cannot be trusted to come up; fail fast
		}
	}
}

var errDependency = errors.New("dependency failed")

func (x *executor) bring(svc Service, st Step, tm *Timing) error {
	for _, n := range svc.Needs {
		if err := x.wait(n); err != nil {
			return fmt.Errorf("start %s: %w: %v", svc.Name, errDependency, err)
		}
	}
	tm.Queued = time.Since(x.t0)
	if st.Action == ActKeep {
		tm.Started, tm.Healthy = tm.Queued, tm.Queued
		x.emit(svc.Name, EventKept, "already healthy")
		return nil
	}
	var exited <-chan error
	if st.Action == ActStart && svc.StartAfter != nil {
		for _, n := range svc.StartAfter(x.env) {
			if err := x.wait(n); err != nil {
				return fmt.Errorf("start %s: %w: %v", svc.Name, errDependency, err)
			}
		}
	}
	if st.Action == ActStart {
		if err := checkPorts(svc, x.env); err != nil {
			return err
		}
		x.s.mark(svc.Name, "stopped", false)
		x.s.mark(svc.Name, "healthy", false)
		var err error
		exited, err = x.s.backend.Start(x.ctx, svc, x.env)
		if err != nil {
			return fmt.Errorf("start %s: %w", svc.Name, err)
		}
		x.mu.Lock()
		x.started = append(x.started, svc.Name)
		x.mu.Unlock()
	}
	tm.Started = time.Since(x.t0)
	x.emit(svc.Name, EventStarting, "")
	var exitErr error
	stop := func() error {
		if exited == nil {
			return nil
		}
		select {
		case e := <-exited:
			exitErr = e
			exited = nil
			return errExited
		default:
			return nil
		}
	}
	pr := svc.Probe(x.env)
	if err := probe.Until(x.ctx, pr, svc.Readiness, stop, x.waiting(svc.Name, pr)); err != nil {
		return x.failure(svc, err, exitErr)
	}
	if svc.Setup != nil {
		x.emit(svc.Name, EventSetup, "")
		if err := svc.Setup(x.ctx, x.env, x.wait); err != nil {
			return x.failure(svc, fmt.Errorf("setup: %w", err), nil)
		}
	}
	tm.Healthy = time.Since(x.t0)
	x.s.mark(svc.Name, "healthy", true)
	x.emit(svc.Name, EventHealthy, fmt.Sprintf("%.2fs", (tm.Healthy-tm.Started).Seconds()))
	return nil
}

var errExited = errors.New("process exited")

// waiting returns the probe's failure hook: an EventWaiting every
// Config.WaitReport (often enough that a slow start never looks like a
// hang, rarely enough that a plain log stays readable) that says what is
// being checked and what it last saw.
func (x *executor) waiting(name string, pr probe.Probe) func(int, error) {
	every := x.s.cfg.WaitReport
	var last time.Time
	start := time.Now()
	return func(n int, err error) {
		if time.Since(start) < every || time.Since(last) < every {
			return
		}
		last = time.Now()
		x.emit(name, EventWaiting, fmt.Sprintf("%s: %d attempts in %s; last error: %v",
			pr, n, time.Since(start).Round(100*time.Millisecond), err))
	}
}

// failure builds the user-facing error: what was observed, the log tail,
// and what to do.
func (x *executor) failure(svc Service, err, exitErr error) error {
	e := &Error{Op: "start " + svc.Name, Service: svc.Name, LogTail: TailFile(x.env.LogFile(svc.Name), 15)}
	switch {
	case errors.Is(err, errExited):
		e.Err = ErrExited
		e.Detail = fmt.Sprintf("the server exited during start (%v)", exitErr)
		e.Fix = fmt.Sprintf("read the log tail below or `mossdev logs %s`; `mossdev doctor` checks binaries and ports", svc.Name)
	case errors.Is(err, context.DeadlineExceeded):
		e.Err = ErrTimeout
		e.Detail = fmt.Sprintf("not answering after %s: %v", x.s.cfg.Timeout, err)
		var nr *probe.NotReadyError
		if errors.As(err, &nr) {
			e.Detail = fmt.Sprintf("%s not answering after %s; last error: %v", nr.Probe, x.s.cfg.Timeout, nr.Last)
		}
		e.Fix = fmt.Sprintf("see `mossdev logs %s`; on a slow machine raise --timeout", svc.Name)
	case errors.Is(err, context.Canceled):
		e.Err = context.Canceled
		e.Detail = "interrupted"
	default:
		e.Err = ErrUnhealthy
		e.Detail = err.Error()
		e.Fix = fmt.Sprintf("see `mossdev logs %s`", svc.Name)
	}
	return e
}

func (x *executor) firstErr() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.first != nil {
		return x.first
	}
	for _, err := range x.failed {
		return err
	}
	return nil
}

func (x *executor) startedNames() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.started...)
}

func (x *executor) timings() []Timing {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := append([]Timing(nil), x.times...)
	sort.Slice(out, func(i, j int) bool { return out[i].Healthy < out[j].Healthy })
	return out
}

// critical walks back from the last service to become healthy through the
// need that became healthy last: the chain that decided Up's wall time.
func critical(svcs []Service, tl []Timing) []string {
	if len(tl) == 0 {
		return nil
	}
	at := map[string]time.Duration{}
	for _, t := range tl {
		at[t.Service] = t.Healthy
	}
	needs := map[string][]string{}
	for _, s := range svcs {
		needs[s.Name] = s.Needs
	}
	cur := tl[len(tl)-1].Service
	chain := []string{cur}
	for len(chain) <= len(svcs) {
		best, bestAt := "", time.Duration(-1)
		for _, n := range needs[cur] {
			if v, ok := at[n]; ok && v > bestAt {
				best, bestAt = n, v
			}
		}
		if best == "" {
			break
		}
		chain = append([]string{best}, chain...)
		cur = best
	}
	return chain
}
