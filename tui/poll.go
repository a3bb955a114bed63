package tui

import (
	"context"
	"io"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
)

// Messages brought by the commands below. Every call to the stack happens
// in a command; Update stores the result; View draws it.
type (
	// statusTickMsg drives the status refresh (and the log tail).
	statusTickMsg struct{}
	// countersTickMsg drives the counters refresh.
	countersTickMsg struct{}
	// settledMsg arrives shortly after the selection moved; if the
	// selection is still there, its counters and log are read at once.
	settledMsg struct{ seq int }

	statusMsg struct {
		statuses []stack.Status
		err      error
		at       time.Time
		took     time.Duration
	}
	countersMsg struct {
		name     string
		counters []stack.Counter
		err      error
		at       time.Time
	}
	logsMsg struct {
		name  string
		lines []string
		err   error
	}
	// trafficMsg carries a running traffic command's latest figures; nil
	// when none runs.
	trafficMsg struct{ snap *traffic.Snapshot }
	// actionMsg reports a stop, start or restart that finished.
	actionMsg struct {
		op, name string
		err      error
		took     time.Duration
	}
)

func tickStatus(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return statusTickMsg{} })
}

func tickCounters(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return countersTickMsg{} })
}

// Direr is an optional Source capability: the stack's directory, where a
// running `mossdev traffic` publishes its figures (traffic.LiveFile).
// Without it the architecture view shows stored counts only.
type Direr interface{ Dir() string }

var _ Direr = (*stack.Stack)(nil)

// TrafficToggler is an optional Source capability: `t` starts app-shaped
// traffic (as `mossdev traffic` does) or stops the run it started, and
// says what it did. Without it `t` says how to run traffic from a shell.
type TrafficToggler interface {
	ToggleTraffic() (string, error)
}

// trafficToggledMsg reports a toggle.
type trafficToggledMsg struct {
	text string
	err  error
}

func toggleTraffic(src Source) tea.Cmd {
	return func() tea.Msg {
		t, ok := src.(TrafficToggler)
		if !ok {
			return trafficToggledMsg{text: "run `mossdev traffic` in another terminal: its rates show on the arrows here"}
		}
		text, err := t.ToggleTraffic()
		return trafficToggledMsg{text, err}
	}
}

// trafficFresh is how old published figures may be: a run publishes every
// second; older means it ended (or died) and the arrows go back to counts.
const trafficFresh = 3 * time.Second

// pollTraffic reads the figures a traffic run publishes.
func pollTraffic(src Source) tea.Cmd {
	d, ok := src.(Direr)
	if !ok {
		return nil
	}
	return func() tea.Msg {
		if s, ok := traffic.ReadLive(d.Dir(), trafficFresh); ok {
			return trafficMsg{&s}
		}
		return trafficMsg{}
	}
}

// pollStatus observes the stack once, every probe bounded by limit.
func pollStatus(ctx context.Context, src Source, limit time.Duration) tea.Cmd {
	return func() tea.Msg {
		t := time.Now()
		// Status bounds each probe by limit itself, after observing the
		// processes. No tighter deadline here: one that expired during a
		// slow observation would fail every probe at once and paint the
		// whole stack unhealthy. This one only stops a wedged backend
		// from holding the refresh forever (statusBusy skips ticks meanwhile).
		ctx, cancel := context.WithTimeout(ctx, statusTimeout)
		defer cancel()
		sts, err := src.Status(ctx, limit)
		return statusMsg{statuses: sts, err: err, at: time.Now(), took: time.Since(t)}
	}
}

// statusTimeout bounds a whole status refresh.
const statusTimeout = 15 * time.Second

// countersTimeout bounds one counters read; each service's own read is
// bounded tighter (1.5 s, 2.5 s for the MongoDB stand-in's count).
const countersTimeout = 3 * time.Second

// pollCounters reads one service's live figures.
func pollCounters(ctx context.Context, src Source, name string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, countersTimeout)
		defer cancel()
		cs, err := src.Counters(ctx, name)
		return countersMsg{name: name, counters: cs, err: err, at: time.Now()}
	}
}

// countersBatchMsg carries several services' counters read together.
type countersBatchMsg []countersMsg

// pollCountersAll reads several services' counters concurrently and
// reports them in one message, so the architecture view redraws once per
// refresh rather than once per service.
func pollCountersAll(ctx context.Context, src Source, names []string) tea.Cmd {
	return func() tea.Msg {
		out := make(countersBatchMsg, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = pollCounters(ctx, src, n)().(countersMsg)
			}()
		}
		wg.Wait()
		return out
	}
}

// pollLogs reads the last n lines of a service's log and closes it: the UI
// holds no file open between refreshes.
func pollLogs(ctx context.Context, src Source, name string, n int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		r, err := src.Logs(ctx, name, false)
		if err != nil {
			return logsMsg{name: name, err: err}
		}
		defer r.Close()
		lines, err := lastLines(r, n)
		return logsMsg{name: name, lines: lines, err: err}
	}
}

// lastLines returns the last n lines of r, cleaned for the terminal.
func lastLines(r io.Reader, n int) ([]string, error) {
	lines, err := stack.LastLines(r, n)
	for i, l := range lines {
		lines[i] = clean(l)
	}
	return lines, err
}

// stopTimeout and startTimeout bound the actions: a stop waits out a grace
// period before SIGKILL; a start waits for the probe (RabbitMQ takes ~10 s).
const (
	stopTimeout  = 60 * time.Second
	startTimeout = 3 * time.Minute
)

// runAction stops, starts or restarts a service, as `mossdev stop` and
// `mossdev start` do.
func runAction(ctx context.Context, src Source, op, name string) tea.Cmd {
	return func() tea.Msg {
		t := time.Now()
		var err error
		if op == "stop" || op == "restart" {
			c, cancel := context.WithTimeout(ctx, stopTimeout)
			err = src.Stop(c, name)
			cancel()
		}
		if err == nil && (op == "start" || op == "restart") {
			c, cancel := context.WithTimeout(ctx, startTimeout)
			_, err = src.Start(c, name)
			cancel()
		}
		return actionMsg{op: op, name: name, err: err, took: time.Since(t)}
	}
}
