package tui

import (
	"context"
	"io"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// Source is what the UI needs from a stack. *stack.Stack satisfies it;
// tests use an in-memory one.
type Source interface {
	// Name and Backend label the header.
	Name() string
	Backend() string
	// Services lists the platform's services in display order.
	Services() []stack.Service
	// Status observes every service and probes the running ones, each
	// probe bounded by limit.
	Status(ctx context.Context, limit time.Duration) ([]stack.Status, error)
	// Counters reads a service's live figures (nil when it has none).
	Counters(ctx context.Context, name string) ([]stack.Counter, error)
	// Logs opens a service's log; the UI reads its end and closes it.
	Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error)
	// Stop and Start are `mossdev stop` and `mossdev start`.
	Stop(ctx context.Context, name string) error
	Start(ctx context.Context, name string) (*stack.Report, error)
}

var _ Source = (*stack.Stack)(nil)

// Varser is an optional Source capability: the environment variables apps
// use (`mossdev env`). When the source has it, the detail pane shows each
// service's connection variables, secrets masked until asked; without it,
// the URL from the status.
type Varser interface {
	Vars() ([]stack.Var, error)
}

var _ Varser = (*stack.Stack)(nil)

// Options tune the polling. The zero value is the interactive default.
type Options struct {
	// StatusEvery is the status refresh (1 s): with ProbeLimit it bounds
	// how long a dead service looks alive on screen.
	StatusEvery time.Duration
	// ProbeLimit bounds each probe (800 ms), so a hung service turns
	// unhealthy within StatusEvery+ProbeLimit < 2 s.
	ProbeLimit time.Duration
	// CountersEvery is how often live counters are read (2 s): only for the
	// selected service, or for every service in the architecture view.
	CountersEvery time.Duration
	// LogLines is how many lines of the selected service's log are kept.
	LogLines int
	// Start is the view shown first.
	Start Screen
}

func (o Options) withDefaults() Options {
	if o.StatusEvery <= 0 {
		o.StatusEvery = time.Second
	}
	if o.ProbeLimit <= 0 {
		o.ProbeLimit = 800 * time.Millisecond
	}
	if o.CountersEvery <= 0 {
		o.CountersEvery = 2 * time.Second
	}
	if o.LogLines <= 0 {
		o.LogLines = 20
	}
	return o
}

// Screen is one of the UI's views.
type Screen int

const (
	ScreenServices Screen = iota
	ScreenArchitecture
	ScreenDetail
)

func (s Screen) String() string {
	switch s {
	case ScreenArchitecture:
		return "architecture"
	case ScreenDetail:
		return "detail"
	}
	return "services"
}
