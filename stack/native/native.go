// Package native runs the platform's servers as supervised OS processes:
// real PostgreSQL, MariaDB, Redis, RabbitMQ, HAProxy and PgBouncer binaries
// from Debian packages, and mossdev's own fakes (the mossdev binary in serve
// mode).
//
// Every process is started in its own process group (so a stop reaches the
// workers a server forks) and carries the stack's label in its environment
// (MOSSDEV_STACK_DIR, MOSSDEV_SERVICE). Observation reads pid files written
// at start; Remove scans the process table for the label, so `down` finds
// everything, including daemons a server spawned outside its group
// (Erlang's epmd) and processes left by an `up` that was killed before it
// wrote a pid file.
//
// Reading the process table is per OS (proc_linux.go, proc_darwin.go). On
// macOS only mossdev's own fakes run natively (the docker backend's S3 and
// CDN on the host); Debian's servers are refused with a pointer at the
// docker backend. Elsewhere every operation says "not supported".
package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/shirou/gopsutil/v4/process"
)

// Label keys put in every process's environment.
const (
	LabelDir     = "MOSSDEV_STACK_DIR"
	LabelService = "MOSSDEV_SERVICE"
	LabelKind    = "MOSSDEV_KIND"
)

// RunUser is the unprivileged account servers run as when mossdev runs as
// root: PostgreSQL and PgBouncer refuse root, and the others need no more.
const RunUser = "mossdev"

// Backend is the native backend of one stack.
type Backend struct {
	stack string
	dir   string

	exeMu sync.Mutex // serialises serverExe
	mu    sync.Mutex
	procs map[int32]*process.Process // cached for CPU percent between observations
	// The last memory measurement, reused for memEvery while the same
	// services run.
	memAt   time.Time
	memLive map[string]int
	memLast map[string]memUse
}

var _ stack.Backend = (*Backend)(nil)

// New returns the native backend for the stack in dir.
func New(stackName, dir string) *Backend {
	return &Backend{stack: stackName, dir: dir, procs: map[int32]*process.Process{}}
}

func (b *Backend) Name() string { return "native" }

type cred struct {
	uid, gid uint32
	set      bool
}

// runCred is the credential servers run with: the invoking user, or RunUser
// when that is root.
func runCred() (cred, error) {
	if os.Geteuid() != 0 {
		return cred{}, nil
	}
	u, err := user.Lookup(RunUser)
	if err != nil {
		return cred{}, &stack.Error{Op: "find user " + RunUser, Err: stack.ErrBinaryMissing,
			Detail: "mossdev runs as root and runs servers as the unprivileged user " + RunUser + ", which does not exist",
			Fix:    "run scripts/install-native.sh (or: useradd --system --no-create-home " + RunUser + ")"}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return cred{uid: uint32(uid), gid: uint32(gid), set: true}, nil
}

func (c cred) chown(paths ...string) {
	if !c.set {
		return
	}
	for _, p := range paths {
		_ = filepath.Walk(p, func(path string, _ os.FileInfo, err error) error {
			if err == nil {
				_ = os.Lchown(path, int(c.uid), int(c.gid))
			}
			return nil
		})
	}
}

// Start prepares directories and config, runs one-time preparation, and
// launches the server in its own process group.
func (b *Backend) Start(ctx context.Context, svc stack.Service, env *stack.Runtime) (<-chan error, error) {
	if svc.Native == nil {
		return nil, fmt.Errorf("service %s has no native form", svc.Name)
	}
	spec, err := svc.Native(env)
	if err != nil {
		return nil, err
	}
	if err := hostRuns(spec, env); err != nil {
		return nil, withService(err, svc.Name)
	}
	// Every server runs as the unprivileged server user when mossdev runs
	// as root, mossdev's own fakes (S3, CDN, the stand-ins) included: they
	// run a copy of this binary that the server user can reach.
	cr, err := runCred()
	if err != nil {
		return nil, err
	}
	if spec.Run.Path == env.Exe && cr.set {
		if spec.Run.Path, err = b.serverExe(env.Exe); err != nil {
			return nil, err
		}
	}
	data, run, logs := env.DataDir(svc.Name), env.RunDir(svc.Name), filepath.Dir(env.LogFile(svc.Name))
	for _, d := range []string{data, run, logs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	// The servers' user must reach its dirs through the stack dir.
	for _, d := range []string{b.dir, filepath.Join(b.dir, "data"), filepath.Join(b.dir, "run")} {
		_ = os.Chmod(d, 0o711)
	}
	if cr.set {
		if err := reachable(b.dir, cr); err != nil {
			return nil, err
		}
	}
	for p, content := range spec.Files {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
	}
	cr.chown(data, run)

	logf, err := os.OpenFile(env.LogFile(svc.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n--- mossdev: starting %s at %s ---\n", svc.Name, time.Now().Format(time.RFC3339))

	marker := filepath.Join(data, ".mossdev-prepared")
	if _, err := os.Stat(marker); err != nil && len(spec.Prepare) > 0 {
		// Not prepared, or a prepare was interrupted: start from empty.
		_ = os.RemoveAll(data)
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		cr.chown(data)
		for _, c := range spec.Prepare {
			cmd, err := b.command(ctx, c, svc, env, cr, logf)
			if err != nil {
				return nil, err
			}
			if err := cmd.Run(); err != nil {
				return nil, &stack.Error{Op: "prepare " + svc.Name, Service: svc.Name, Err: stack.ErrExited,
					Detail:  fmt.Sprintf("%s: %v", filepath.Base(c.Path), err),
					LogTail: stack.TailFile(env.LogFile(svc.Name), 15), Fix: fmt.Sprintf("see `mossdev logs %s`", svc.Name)}
			}
		}
		if err := os.WriteFile(marker, []byte(time.Now().Format(time.RFC3339)), 0o644); err != nil {
			return nil, err
		}
	}

	// The server must outlive this command: not tied to ctx.
	cmd, err := b.command(context.Background(), spec.Run, svc, env, cr, logf)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launch %s: %w", svc.Name, err)
	}
	pid := cmd.Process.Pid
	_ = os.WriteFile(pidFile(env, svc.Name), []byte(fmt.Sprintf("%d %d\n", pid, startTime(pid))), 0o644)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child while this process lives
	return exited, nil
}

// serverExe returns a copy of exe under the stack's directory that the
// server user can run: the binary itself may sit where that user cannot
// reach (a go test binary under a 0700 build directory, ~/go/bin under a
// 0700 home). A hard link costs nothing when the filesystem allows one;
// otherwise it is copied. The name carries the binary's size and time, so
// a rebuilt mossdev gets a fresh copy and a running fake keeps its own.
func (b *Backend) serverExe(exe string) (string, error) {
	// One copy at a time: the fakes start concurrently and share the
	// temporary name, so one's rename left the other's chmod without a
	// file (seen on a warm up: "chmod ….tmp: no such file or directory").
	b.exeMu.Lock()
	defer b.exeMu.Unlock()
	fi, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("find mossdev's own binary: %w", err)
	}
	dir := filepath.Join(b.dir, "run", "bin")
	dst := filepath.Join(dir, fmt.Sprintf("%s-%d-%d", filepath.Base(exe), fi.Size(), fi.ModTime().UnixNano()))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", err
	}
	_ = os.Chmod(dir, 0o711)
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Link(exe, tmp); err != nil {
		if err := copyFile(exe, tmp); err != nil {
			return "", fmt.Errorf("copy mossdev's binary for the server user: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func pidFile(env *stack.Runtime, svc string) string {
	return filepath.Join(env.Dir, "run", svc+".pid")
}

// reachable checks that the server user can traverse every parent of dir
// (a t.TempDir or /root is 0700 and would make the server fail obscurely).
func reachable(dir string, cr cred) error {
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return nil
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := st.Mode().Perm()
		if sys.Uid != cr.uid && mode&0o001 == 0 {
			return &stack.Error{Op: "check stack dir", Err: stack.ErrBadInput,
				Detail: fmt.Sprintf("%s (mode %o) is not reachable by the server user %s", d, mode, RunUser),
				Fix:    "put stacks under a reachable directory with MOSSDEV_HOME (default for root: /var/lib/mossdev)"}
		}
	}
	return nil
}

// command builds an exec.Cmd with the stack's labels, its own process group,
// output to the service log, and the server user's credentials.
func (b *Backend) command(ctx context.Context, c stack.Command, svc stack.Service, env *stack.Runtime, cr cred, log *os.File) (*exec.Cmd, error) {
	path, err := Look(c.Path)
	if err != nil {
		return nil, &stack.Error{Op: "start " + svc.Name, Service: svc.Name, Err: stack.ErrBinaryMissing,
			Detail: fmt.Sprintf("%s not found on PATH or in Debian's locations", c.Path),
			Fix:    "run scripts/install-native.sh (installs the Debian server packages), or use --backend docker"}
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Dir = c.Dir
	if cmd.Dir == "" {
		cmd.Dir = env.RunDir(svc.Name)
	}
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH") + ":/usr/sbin:/sbin",
		"HOME=" + env.RunDir(svc.Name),
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		LabelDir + "=" + b.dir,
		LabelService + "=" + svc.Name,
		LabelKind + "=" + svc.Kind,
	}, c.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cr.set {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: cr.uid, Gid: cr.gid}
	}
	return cmd, nil
}

var _ stack.Execer = (*Backend)(nil)

// Exec runs a program in a service's context, as docker exec does in a
// container: with the environment and user its server runs with (the
// NativeSpec's Run.Env, HOME = its run dir), labelled with the stack so
// anything it leaves behind is found by down. RabbitMQ's setup runs
// rabbitmqctl through it. The combined output is returned; a non-zero exit
// is an error.
func (b *Backend) Exec(ctx context.Context, svc stack.Service, env *stack.Runtime, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("exec: no program given")
	}
	if svc.Native == nil {
		return "", fmt.Errorf("service %s has no native form", svc.Name)
	}
	spec, err := svc.Native(env)
	if err != nil {
		return "", err
	}
	cr := cred{}
	if spec.Run.Path != env.Exe {
		if cr, err = runCred(); err != nil {
			return "", err
		}
	}
	cmd, err := b.command(ctx, stack.Command{Path: args[0], Args: args[1:], Env: spec.Run.Env}, svc, env, cr, nil)
	if err != nil {
		return "", err
	}
	cmd.SysProcAttr.Setpgid = false // dies with ctx, like any child
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w", filepath.Base(args[0]), err)
	}
	return out.String(), nil
}

// Look finds a server binary on PATH or where Debian installs servers
// outside PATH (PostgreSQL's versioned bin dir, /usr/sbin, /usr/lib/rabbitmq).
func Look(name string) (string, error) {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err != nil {
			return "", err
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	var cands []string
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	sort.Sort(sort.Reverse(sort.StringSlice(pg))) // newest major first
	cands = append(cands, pg...)
	cands = append(cands, "/usr/sbin/"+name, "/sbin/"+name, "/usr/lib/rabbitmq/bin/"+name)
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", exec.ErrNotFound
}

// Stop signals the service's process group, waits up to stack.Grace, then kills
// the group and any labelled stragglers.
func (b *Backend) Stop(ctx context.Context, svc stack.Service) error {
	if err := sys.supervise(); err != nil {
		return err
	}
	sig := syscall.SIGTERM
	switch svc.StopSignal {
	case "INT":
		sig = syscall.SIGINT
	case "QUIT":
		sig = syscall.SIGQUIT
	}
	// A shared helper (Service.Shared: Erlang's epmd) carries the label of
	// the instance that happened to start it, but every instance of the kind
	// uses it: stopping one instance leaves it; the last one takes it along.
	find := func() []int {
		var procs []int
		for _, p := range b.labelled(LabelService + "=" + svc.Name) {
			if !slices.Contains(svc.Shared, comm(p)) {
				procs = append(procs, p)
			}
		}
		if pid := b.pidFiles()[svc.Name]; pid > 0 {
			procs = append(procs, pid)
		}
		return procs
	}
	b.terminate(find, sig)
	if len(svc.Shared) > 0 {
		b.stopShared(svc)
	}
	_ = os.Remove(filepath.Join(b.dir, "run", svc.Name+".pid"))
	return nil
}

// stopShared stops svc's shared helpers once no other instance of its kind
// runs.
func (b *Backend) stopShared(svc stack.Service) {
	var helpers []int
	for _, p := range b.labelled(LabelKind + "=" + svc.Kind) {
		if !slices.Contains(svc.Shared, comm(p)) {
			return // another instance still needs them
		}
		helpers = append(helpers, p)
	}
	b.terminate(func() []int {
		var left []int
		for _, p := range helpers {
			if alive(p) {
				left = append(left, p)
			}
		}
		return left
	}, syscall.SIGTERM)
}

// terminate sends sig to each process's group, waits for all to be gone,
// then SIGKILLs what is left. find is called again after the kill: a server
// still booting may have spawned helpers (in their own session) meanwhile.
func (b *Backend) terminate(find func() []int, sig syscall.Signal) {
	pids := find()
	if len(pids) == 0 {
		return
	}
	for _, p := range pids {
		if pg, err := syscall.Getpgid(p); err == nil && pg == p {
			_ = syscall.Kill(-p, sig)
		}
		_ = syscall.Kill(p, sig)
	}
	deadline := time.Now().Add(stack.Grace)
	for time.Now().Before(deadline) {
		if !anyAlive(pids) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for round := 0; round < 5 && len(pids) > 0; round++ {
		for _, p := range pids {
			_ = syscall.Kill(-p, syscall.SIGKILL)
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		for i := 0; i < 40 && anyAlive(pids); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		pids = find()
	}
}

// labelled lists live processes carrying this stack's label (and, when
// label is not empty, that KEY=VALUE label too) that mossdev could have
// started: owned by the caller or by the server user. Anyone can put the
// label in a process's environment; counting another user's processes would
// let that user make `down` fail forever.
func (b *Backend) labelled(label string) []int {
	owners := map[uint32]bool{uint32(os.Geteuid()): true}
	if cr, err := runCred(); err == nil && cr.set {
		owners[cr.uid] = true
	}
	ps, _ := sys.list(true)
	want := LabelDir + "=" + b.dir
	var out []int
	for _, p := range ps {
		if p.pid == os.Getpid() || p.zombie || !owners[p.uid] || !hasLabel(p.env, want) {
			continue
		}
		if label == "" || hasLabel(p.env, label) {
			out = append(out, p.pid)
		}
	}
	return out
}

// hostRuns says whether this OS runs the spec's program natively: mossdev's
// own binary wherever processes can be supervised, another server only
// where the OS allows servers (not on macOS).
func hostRuns(spec stack.NativeSpec, env *stack.Runtime) error {
	if err := sys.supervise(); err != nil {
		return err
	}
	if spec.Run.Path != env.Exe {
		return sys.servers()
	}
	return nil
}

// withService names the service a user-facing error is about.
func withService(err error, name string) error {
	var se *stack.Error
	if !errors.As(err, &se) {
		return err
	}
	c := *se
	c.Op, c.Service = "start "+name, name
	return &c
}

// Observe reads the pid files and checks each process is alive and is the
// one we started: the pid file holds the process's start time too, since a
// pid can be reused (after a reboot, say). The environment label cannot be
// used here: Redis rewrites its process title over its environment.
func (b *Backend) Observe(ctx context.Context) (map[string]stack.Observed, error) {
	if err := sys.supervise(); err != nil {
		return nil, err
	}
	out := map[string]stack.Observed{}
	live := map[string]int{}
	for name, pid := range b.pidFiles() {
		o := stack.Observed{Name: name, PID: pid}
		if pid > 0 {
			o.Running = true
			live[name] = pid
			b.usage(&o)
		}
		out[name] = o
	}
	for name, m := range b.memory(live) {
		if o, ok := out[name]; ok && o.Running {
			o.MemBytes, o.MemKind, o.Procs = m.bytes, m.kind, m.procs
			out[name] = o
		}
	}
	return out, nil
}

// pidFiles maps each service with a pid file to its live pid, or 0 when the
// process is gone or the pid now belongs to another process.
func (b *Backend) pidFiles() map[string]int {
	files, _ := filepath.Glob(filepath.Join(b.dir, "run", "*.pid"))
	out := map[string]int{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var pid int
		var st uint64
		if n, _ := fmt.Sscan(string(raw), &pid, &st); n < 1 {
			continue
		}
		if !alive(pid) || (st != 0 && startTime(pid) != st) {
			pid = 0
		}
		out[name] = pid
	}
	return out
}

// usage fills the start time and the CPU share since the last observation.
func (b *Backend) usage(o *stack.Observed) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.procs[int32(o.PID)]
	if !ok {
		var err error
		if p, err = process.NewProcess(int32(o.PID)); err != nil {
			return
		}
		b.procs[int32(o.PID)] = p
	}
	if ct, err := p.CreateTime(); err == nil {
		o.Since = time.UnixMilli(ct)
	}
	o.CPUPercent, _ = p.Percent(0)
}

// memUse is one service's memory: every process of it, summed.
type memUse struct {
	bytes uint64
	kind  string
	procs int
}

// memEvery bounds how often memory is measured: the UI observes once a
// second, memory moves slowly, and a measurement reads two files per
// process of the machine (the label scan) and each server's smaps_rollup,
// which makes the kernel walk every mapping of the process.
const memEvery = 5 * time.Second

// memory attributes every process of the stack to a service and sums
// their PSS (RSS where the kernel gives no PSS). A service's processes are
// its server's process tree (workers it forks) plus every process carrying
// the stack's label for it: daemons a server spawned outside its tree, like
// the epmd of RabbitMQ node 1. live maps each running service to its pid.
func (b *Backend) memory(live map[string]int) map[string]memUse {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.memAt) < memEvery && maps.Equal(live, b.memLive) {
		return b.memLast
	}
	ps, _ := sys.list(true)
	kids := map[int][]int{}
	for _, p := range ps {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	owner := map[int]string{}
	var walk func(pid int, svc string)
	walk = func(pid int, svc string) {
		if _, seen := owner[pid]; seen {
			return
		}
		owner[pid] = svc
		for _, k := range kids[pid] {
			walk(k, svc)
		}
	}
	for svc, pid := range live {
		walk(pid, svc)
	}
	for _, p := range ps {
		if _, seen := owner[p.pid]; seen || p.zombie || !hasLabel(p.env, LabelDir+"="+b.dir) {
			continue
		}
		for _, kv := range p.env {
			if svc, ok := strings.CutPrefix(kv, LabelService+"="); ok {
				if _, running := live[svc]; running {
					walk(p.pid, svc)
				}
				break
			}
		}
	}
	out := map[string]memUse{}
	for pid, svc := range owner {
		n, pss, ok := sys.mem(pid)
		if !ok {
			continue
		}
		u := out[svc]
		u.bytes += n
		u.procs++
		if u.kind == "" || (u.kind == stack.MemPSS && !pss) {
			u.kind = stack.MemRSS
			if pss {
				u.kind = stack.MemPSS
			}
		}
		out[svc] = u
	}
	b.memAt, b.memLive, b.memLast = time.Now(), live, out
	return out
}

// Logs opens the service's log file; with follow the reader waits for more.
func (b *Backend) Logs(ctx context.Context, service string, follow bool) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(b.dir, "logs", service+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &stack.Error{Op: "read logs of " + service, Err: stack.ErrBadInput,
			Detail: "no log yet", Fix: fmt.Sprintf("the service has not been started: `mossdev start %s`", service)}
	}
	if err != nil {
		return nil, err
	}
	if !follow {
		return f, nil
	}
	return &follower{ctx: ctx, f: f}, nil
}

type follower struct {
	ctx context.Context
	f   *os.File
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		select {
		case <-r.ctx.Done():
			return 0, io.EOF
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *follower) Close() error { return r.f.Close() }

// Remove stops every labelled process of the stack (whatever started it)
// and deletes runtime files; without keepData the caller deletes the rest.
func (b *Backend) Remove(ctx context.Context, keepData bool) error {
	if err := sys.supervise(); err != nil {
		return err
	}
	b.terminate(func() []int {
		procs := b.labelled("")
		for _, pid := range b.pidFiles() {
			if pid > 0 {
				procs = append(procs, pid)
			}
		}
		return procs
	}, syscall.SIGTERM)
	if left := b.labelled(""); len(left) > 0 {
		return fmt.Errorf("processes still running after SIGKILL: %v", left)
	}
	_ = os.RemoveAll(filepath.Join(b.dir, "run"))
	return nil
}
