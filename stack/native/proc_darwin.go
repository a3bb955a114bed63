//go:build darwin

package native

import (
	"bytes"
	"os"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

// kernel asks macOS's kernel through sysctl: kern.proc.all gives every
// process's pid, parent, name, state and start time in one call, and
// gopsutil reads an environment from kern.procargs2 (its parser knows the
// layout of that buffer, which is easy to get wrong).
type kernel struct{}

func newHost() host { return kernel{} }

// szomb is a zombie's p_stat (SZOMB in XNU's sys/proc.h).
const szomb = 5

func (kernel) supervise() error { return nil }

func (kernel) servers() error { return errNoServers }

func (kernel) list(withEnv bool) ([]proc, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, err
	}
	uid := uint32(os.Getuid())
	out := make([]proc, 0, len(kps))
	for i := range kps {
		p := fromKinfo(&kps[i])
		// Another user's environment needs root: do not ask for it.
		if withEnv && (uid == 0 || kps[i].Eproc.Ucred.Uid == uid) {
			p.env, _ = (&process.Process{Pid: int32(p.pid)}).Environ()
		}
		out = append(out, p)
	}
	return out, nil
}

func (kernel) get(pid int) (proc, bool) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(k.Proc.P_pid) != pid {
		return proc{}, false
	}
	return fromKinfo(k), true
}

func fromKinfo(k *unix.KinfoProc) proc {
	name := k.Proc.P_comm[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	st := k.Proc.P_starttime
	return proc{
		pid: int(k.Proc.P_pid), ppid: int(k.Eproc.Ppid), uid: k.Eproc.Ucred.Uid, name: string(name),
		start:  uint64(st.Sec)*1_000_000 + uint64(st.Usec),
		zombie: k.Proc.P_stat == szomb,
	}
}

// mem is the resident set size: macOS gives no proportional set size
// without walking every region of the task (vmmap does, as root).
func (kernel) mem(pid int) (uint64, bool, bool) {
	mi, err := (&process.Process{Pid: int32(pid)}).MemoryInfo()
	if err != nil {
		return 0, false, false
	}
	return mi.RSS, false, true
}
