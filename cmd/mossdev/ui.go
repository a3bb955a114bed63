package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/tui"
	"github.com/spf13/cobra"
)

func newUI(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ui",
		Short: "Watch a running stack in the terminal UI (q leaves; the stack keeps running)",
		Long: `Attaches the terminal UI to a running stack: the live state of every service (probed once a
second), what each one is for, how data flows through the platform, live counters from the services
themselves, and log tails. Stop, start or restart a service from the UI to see what the platform does
without it. 'mossdev up' ends here on a terminal. q leaves the UI; the stack keeps running.

Keys: ↑/↓ or j/k select, enter detail, tab architecture, s stop, u start, r restart, v show secrets,
t start/stop app-shaped traffic (its rates then show on the architecture view's arrows; so do a
'mossdev traffic' run's in another terminal), ? all keys, q quit. NO_COLOR turns colour off.`,
		Example: "  mossdev ui\n  mossdev ui --name ci-1",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			if !isTerminal(g.stdout) {
				return usageError{fmt.Errorf("mossdev ui needs a terminal; in scripts use `mossdev status` (or --json)")}
			}
			return runUI(c.Context(), g, s)
		},
	}
}

// runUI shows the UI until q; the stack stays up.
func runUI(ctx context.Context, g *globals, s *stack.Stack) error {
	// What libraries print on stderr while the UI owns the screen goes to
	// the stack's log directory instead.
	libLog := filepath.Join(s.Dir(), "logs", "ui.stderr.log")
	src := uiSource{s, g, &uiTraffic{}}
	err := tui.Run(ctx, src, tui.Options{}, libLog)
	src.tr.stop() // traffic started with `t` ends with the UI
	if err != nil {
		return fmt.Errorf("run ui: %w", err)
	}
	fmt.Fprintf(g.stdout, "stack %s keeps running: `mossdev ui --name %[1]s` to come back, `mossdev down --name %[1]s` to remove it\n", s.Name())
	return nil
}

// uiSource is the stack as the UI sees it. Stop and Start go through a
// handle of their own, as if `mossdev stop` or `start` ran in another
// terminal: Start writes the stack's state while the UI's refresh reads it
// through the first handle, and separate handles share no memory.
type uiSource struct {
	*stack.Stack
	g  *globals
	tr *uiTraffic
}

// uiTraffic is the traffic run `t` started, if any.
type uiTraffic struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// uiTrafficRate and uiTrafficFor are `t`'s run: gentle enough to leave the
// machine usable, long enough for a demo, bounded like every run.
const (
	uiTrafficRate = 200
	uiTrafficFor  = 10 * time.Minute
)

// ToggleTraffic starts `mossdev traffic`'s default run in this process,
// publishing its figures where the architecture view reads them, or stops
// the run it started.
func (u uiSource) ToggleTraffic() (string, error) {
	t := u.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		select {
		case <-t.done: // it ended by itself
		default:
			t.cancel()
			<-t.done
			t.cancel = nil
			return "traffic stopped", nil
		}
	}
	env, err := u.Runtime()
	if err != nil {
		return "", err
	}
	tg := load.TargetsFor(env)
	if _, err := traffic.SeededParams(context.Background(), tg.Postgres); err != nil {
		return "", fmt.Errorf("%w: seed the stack first (`mossdev seed --name %s`)", err, u.Name())
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	dir := u.Dir()
	go func(done chan struct{}) {
		defer close(done)
		defer traffic.RemoveLive(dir)
		// A new workload seed each time: a demo wants new viewers, not a replay.
		_, _ = traffic.Run(ctx, tg, traffic.Options{Rate: uiTrafficRate, Duration: uiTrafficFor, Worker: true, Seed: uint64(time.Now().UnixNano()),
			OnSnapshot: func(s traffic.Snapshot) { _ = traffic.WriteLive(dir, s) }})
	}(t.done)
	return fmt.Sprintf("traffic started: %d ops/s for up to %s, through every data path (t stops it)", uiTrafficRate, uiTrafficFor), nil
}

func (t *uiTraffic) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		t.cancel()
		<-t.done
		t.cancel = nil
	}
}

func (u uiSource) Stop(ctx context.Context, name string) error {
	s, err := u.g.existing()
	if err != nil {
		return err
	}
	return s.Stop(ctx, name)
}

func (u uiSource) Start(ctx context.Context, name string) (*stack.Report, error) {
	s, err := u.g.existing()
	if err != nil {
		return nil, err
	}
	return s.Start(ctx, name)
}

// isTerminal reports whether w is a terminal, and stdin with it: the UI
// reads keys.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd()) && term.IsTerminal(os.Stdin.Fd())
}
