package stack

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel causes, checked with errors.Is. The CLI maps them to exit codes.
var (
	ErrBadInput      = errors.New("bad input")
	ErrPortInUse     = errors.New("port in use")
	ErrBinaryMissing = errors.New("binary missing")
	ErrImageMissing  = errors.New("image missing")
	ErrUnhealthy     = errors.New("unhealthy")
	ErrExited        = errors.New("exited")
	ErrNoStack       = errors.New("no such stack")
	ErrUnknown       = errors.New("unknown service")
	ErrTimeout       = errors.New("timed out")
	// ErrDamaged is a state file that cannot be trusted; it is bad input,
	// and `mossdev down` still removes the stack by its labels.
	ErrDamaged = fmt.Errorf("damaged stack state: %w", ErrBadInput)
)

// Error is a user-facing failure: which service or input, what was observed,
// and the fix as a command or flag. It wraps a sentinel cause.
type Error struct {
	Op      string // "start postgres"
	Service string
	Err     error  // cause, usually a sentinel or wrapping one
	Detail  string // what was observed: last probe error, exit code
	Fix     string // what to do
	LogTail string // last lines of the service's log, when it helps
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Hint returns the fix carried by the first *Error in err's chain.
func Hint(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Fix
	}
	return ""
}

// Tail returns the log tail carried by the first *Error in err's chain.
func Tail(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.LogTail
	}
	return ""
}
