package native

import (
	"github.com/mossdev/mossdev/stack"
)

// unsupported is an OS where mossdev cannot find and watch processes
// (no /proc, no sysctl process table it knows): every operation says so
// instead of the package failing to build or guessing.
type unsupported struct{ goos string }

func (u unsupported) supervise() error {
	return &stack.Error{Op: "supervise processes", Err: stack.ErrBadInput,
		Detail: "not supported on " + u.goos + " (mossdev reads the process table on Linux and macOS only)",
		Fix:    "run mossdev on Linux or macOS"}
}

func (u unsupported) servers() error             { return u.supervise() }
func (u unsupported) list(bool) ([]proc, error)  { return nil, u.supervise() }
func (unsupported) get(int) (proc, bool)         { return proc{}, false }
func (unsupported) mem(int) (uint64, bool, bool) { return 0, false, false }

// errNoServers is macOS's answer to running a third-party server natively.
// The native backend runs the server binaries Debian installs (their paths,
// versions and the mossdev user), and Homebrew's differ in all three; on a
// Mac the docker backend runs the same platform.
var errNoServers = &stack.Error{Op: "run servers natively", Err: stack.ErrBadInput,
	Detail: "the native backend runs Debian's server packages and is not supported on macOS",
	Fix:    "use the docker backend: start Docker Desktop, Colima (colima start) or OrbStack, then `mossdev up --backend docker`"}
