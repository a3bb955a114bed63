package native

import (
	"slices"
	"strings"
)

// proc is what supervision reads about one host process.
type proc struct {
	pid, ppid int
	uid       uint32 // effective owner
	name      string // the kernel's short command name: epmd, beam.smp
	// start is when the process started, in the OS's own unit: a pid file
	// keeps it, and a process with the same pid but another start is not
	// ours (pids are reused, after a reboot say).
	start uint64
	// zombie: exited and waiting for its parent's wait. Its ports and files
	// are released, so for supervision it is gone.
	zombie bool
	env    []string // read only when asked for; nil when unreadable
}

// host is the operating system as supervision sees it. There is one
// implementation per OS, chosen at build time: proc_linux.go reads /proc,
// proc_darwin.go asks the kernel through sysctl (macOS has no /proc), and
// proc_other.go says "not supported" instead of failing to build. The
// package reads the OS through sys only, so tests drive every path, the
// unsupported ones included, on the machine they run on.
type host interface {
	// supervise is nil when processes can be listed and watched here, else
	// the user-facing reason they cannot.
	supervise() error
	// servers is nil when third-party servers (PostgreSQL, Redis, ...) run
	// natively here, else the user-facing reason. mossdev's own fakes run
	// wherever supervise allows, since the docker backend needs them.
	servers() error
	// list reads every visible process; withEnv reads environments too
	// (one more read per process, so only when labels are wanted).
	list(withEnv bool) ([]proc, error)
	// get reads one process; ok is false when it does not exist or cannot
	// be seen.
	get(pid int) (p proc, ok bool)
	// mem is the process's memory: its proportional set size (shared pages
	// divided among the processes sharing them, so a sum over processes
	// counts each page once) where the OS gives it, pss true; else its
	// resident set size. ok is false when the process cannot be read.
	mem(pid int) (bytes uint64, pss, ok bool)
}

// sys is this machine's OS; tests replace it.
var sys host = newHost()

func comm(pid int) string {
	p, _ := sys.get(pid)
	return p.name
}

func anyAlive(pids []int) bool {
	return slices.ContainsFunc(pids, alive)
}

// alive is true for a process that exists and is not a zombie.
func alive(pid int) bool {
	p, ok := sys.get(pid)
	return ok && !p.zombie
}

// startTime is the process's start stamp (see proc.start), 0 when gone.
func startTime(pid int) uint64 {
	p, _ := sys.get(pid)
	return p.start
}

// hasLabel tells whether env carries the label kv ("KEY=value").
func hasLabel(env []string, kv string) bool {
	return slices.Contains(env, kv)
}

// childrenMap maps each pid to its children, read once per observation:
// gopsutil's Children() re-reads the whole process table per call, which
// made one Status cost half a second of CPU with a full stack.
func childrenMap() map[int32][]int32 {
	ps, _ := sys.list(false)
	out := map[int32][]int32{}
	for _, p := range ps {
		out[int32(p.ppid)] = append(out[int32(p.ppid)], int32(p.pid))
	}
	return out
}

// parseEnv splits a NUL-separated environment block.
func parseEnv(b []byte) []string {
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
