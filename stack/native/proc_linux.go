//go:build linux

package native

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procfs reads the process table from /proc (root, so tests can point it
// at a tree of their own). Hand-written rather than through gopsutil: one
// read of /proc/PID/stat gives name, state, parent and start time at once,
// where gopsutil reads several files per field, and Status walks every
// process of the machine each second.
type procfs struct{ root string }

func newHost() host { return procfs{root: "/proc"} }

func (procfs) supervise() error { return nil }
func (procfs) servers() error   { return nil }

func (f procfs) list(withEnv bool) ([]proc, error) {
	ents, err := os.ReadDir(f.root)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([]proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := f.get(pid)
		if !ok {
			continue
		}
		if withEnv {
			b, _ := os.ReadFile(filepath.Join(f.root, e.Name(), "environ"))
			p.env = parseEnv(b)
		}
		out = append(out, p)
	}
	return out, nil
}

func (f procfs) get(pid int) (proc, bool) {
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return proc{}, false
	}
	p, ok := parseStat(pid, string(b))
	// /proc/PID belongs to the process's effective user.
	if fi, err := os.Stat(dir); err == nil {
		if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix {
			p.uid = st.Uid
		}
	}
	return p, ok
}

// parseStat reads /proc/PID/stat: "pid (name) state ppid ... starttime ...".
// The name may itself hold spaces and parentheses, so fields are counted
// from the last ')'. Field 22, starttime, is in clock ticks since boot.
func parseStat(pid int, s string) (proc, bool) {
	open, shut := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || shut < open {
		return proc{}, false
	}
	f := strings.Fields(s[shut+1:])
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return proc{pid: pid, ppid: ppid, name: s[open+1 : shut], start: start, zombie: f[0] == "Z"}, true
}

// mem reads Pss from /proc/PID/smaps_rollup (Linux 4.14+; the kernel sums
// every mapping, which reading smaps would do line by line), else VmRSS
// from /proc/PID/status. Another user's smaps_rollup needs root or the
// same user: then RSS stands in.
func (f procfs) mem(pid int) (uint64, bool, bool) {
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if b, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
		if kb, ok := kbField(string(b), "Pss:"); ok {
			return kb << 10, true, true
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		if kb, ok := kbField(string(b), "VmRSS:"); ok {
			return kb << 10, false, true
		}
	}
	return 0, false, false
}

// kbField finds "Name:   1234 kB" in a /proc file.
func kbField(s, name string) (uint64, bool) {
	for line := range strings.Lines(s) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseUint(f[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
