package stack

import (
	"context"
	"io"
	"time"
)

// Backend runs services. It is small on purpose: start one, stop one, say
// what exists, remove everything. Readiness is not its business: probes
// speak the services' own protocols and never depend on how they run.
type Backend interface {
	// Name is "native" or "docker".
	Name() string
	// Start launches a service and returns once it is launched, not ready.
	// The channel receives the exit error if the service ends, so a server
	// that dies during start fails Up at once instead of at the deadline.
	Start(ctx context.Context, svc Service, env *Runtime) (exited <-chan error, err error)
	// Stop stops one service: signal, grace period, then kill.
	Stop(ctx context.Context, svc Service) error
	// Observe reports what exists for this stack, found by label, so it
	// works after the process that started the stack is gone.
	Observe(ctx context.Context) (map[string]Observed, error)
	// Logs opens a service's log; with follow it keeps reading until ctx ends.
	Logs(ctx context.Context, service string, follow bool) (io.ReadCloser, error)
	// Remove stops everything of the stack and deletes its resources; with
	// keepData the data directories or volumes stay for the next up.
	Remove(ctx context.Context, keepData bool) error
}

// Observed is one service instance as the backend sees it.
type Observed struct {
	Name     string    `json:"name"`
	Running  bool      `json:"running"`
	PID      int       `json:"pid,omitempty"`
	Since    time.Time `json:"since,omitempty"`
	ExitCode int       `json:"exitCode,omitempty"`
	// StandIn is what the running thing says it is, when it says it is a
	// stand-in (a CI image's label); it overrides the service's own note.
	StandIn string `json:"standIn,omitempty"`
	// Usage is filled by backends that can measure it cheaply.
	CPUPercent float64 `json:"cpuPercent,omitempty"`
	MemBytes   uint64  `json:"memBytes,omitempty"`
	// MemKind says what MemBytes measures (one of the Mem* kinds).
	MemKind string `json:"memKind,omitempty"`
	// Procs is how many processes MemBytes sums, when the backend counts
	// processes (native: the server, its workers, daemons it spawned).
	Procs int `json:"procs,omitempty"`
}

// What a memory figure measures.
const (
	// MemPSS is the proportional set size summed over processes: shared
	// pages divided among their sharers, so sums over services add up.
	MemPSS = "pss"
	// MemRSS is resident memory summed over processes: pages shared
	// between processes (a forking server's workers) count once per
	// process, so sums overstate.
	MemRSS = "rss"
	// MemCgroup is a container's cgroup memory usage (docker).
	MemCgroup = "cgroup"
)

// Execer is a Backend that can run a program where a service runs, so a
// service's setup has one code path on every backend (RabbitMQ's
// rabbitmqctl join). Stack fills Runtime.Exec from it; without it Runtime.Exec is
// nil and setups that need it fail with a clear error.
type Execer interface {
	Exec(ctx context.Context, svc Service, env *Runtime, args ...string) (string, error)
}
