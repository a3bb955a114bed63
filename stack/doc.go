// Package stack is the core of mossdev: the service model of the Mossi data
// platform, the backends that run it, and the lifecycle verbs the CLI, the TUI
// and the Go API share (Up, Status, Stop, Start, Down).
//
// The shape follows docker compose: desired state is plain data (a list of
// Service values built by package services), observed state is read back from
// the backend by label (never from memory, so a stack survives the command
// that started it and a crashed run can be cleaned up), and a pure function
// (Plan) turns the two into actions that run in dependency order, concurrently
// where dependencies allow. Progress goes to a Sink chosen by the caller, so
// this package never knows whether a terminal, a JSON reader or a test listens.
//
// Files by job: service.go (Service, Runtime, Secrets, Options), open.go
// (Config, Open: state loaded and checked, services built once for the
// backend), validate.go (bad input refused before anything is written),
// plan.go (MakePlan, CheckGraph), up.go and executor.go (Up, waits reported
// as events), pull.go (Puller: images present before the start deadline),
// imagelock.go (mossdev.lock pins them), status.go (Status, marks), control.go (Stop, Start, Logs,
// Down), vars.go (env vars and the env file), state.go, ports.go, errors.go,
// events.go, tail.go, mask.go.
package stack
