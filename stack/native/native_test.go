package native_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/native"
	"github.com/mossdev/mossdev/stack/probe"
)

// A test "server" is /bin/sh: these tests exercise supervision, not servers.
func shell(name, script string, p probe.Probe) stack.Service {
	return stack.Service{
		Name: name, Kind: "test", Ports: []string{"main"},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			return stack.NativeSpec{Run: stack.Command{Path: "/bin/sh", Args: []string{"-c", script}}}, nil
		},
		Probe: func(e *stack.Runtime) probe.Probe { return p },
	}
}

var pass = probe.New("always passes", func(context.Context) error { return nil })
var never = probe.New("never passes", func(context.Context) error { return errors.New("not yet") })

func open(t *testing.T, svcs ...stack.Service) *stack.Stack {
	t.Helper()
	root, err := os.MkdirTemp("", "mossdev-native-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(root, 0o711)
	t.Cleanup(func() { os.RemoveAll(root) })
	s, err := stack.Open(stack.Config{Name: "t", Root: root, Timeout: 20 * time.Second,
		Services:   func(stack.Options, string) []stack.Service { return svcs },
		NewBackend: func(_, name, dir string) (stack.Backend, error) { return native.New(name, dir), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Down(context.Background(), false) })
	return s
}

func TestMissingBinaryNamesTheFix(t *testing.T) {
	svc := shell("ghost", "", pass)
	svc.Native = func(*stack.Runtime) (stack.NativeSpec, error) {
		return stack.NativeSpec{Run: stack.Command{Path: "mossdev-no-such-server"}}, nil
	}
	_, err := open(t, svc).Up(t.Context(), nil)
	if !errors.Is(err, stack.ErrBinaryMissing) {
		t.Fatalf("err = %v, want ErrBinaryMissing", err)
	}
	if !strings.Contains(stack.Hint(err), "install-native.sh") {
		t.Fatalf("fix %q does not say how to install", stack.Hint(err))
	}
}

func TestExitAtStartShowsLogTail(t *testing.T) {
	s := open(t, shell("crash", "echo 'FATAL: could not open config'; exit 3", never))
	t0 := time.Now()
	_, err := s.Up(t.Context(), nil)
	if !errors.Is(err, stack.ErrExited) {
		t.Fatalf("err = %v, want ErrExited", err)
	}
	if !strings.Contains(stack.Tail(err), "FATAL: could not open config") {
		t.Fatalf("log tail %q lacks the server's last words", stack.Tail(err))
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error %q does not give the exit status", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("took %s to notice the exit; it must not wait for the deadline", d)
	}
}

func TestPortInUseNamesTheHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	root, _ := os.MkdirTemp("", "mossdev-native-test-")
	_ = os.Chmod(root, 0o711)
	defer os.RemoveAll(root)
	s, err := stack.Open(stack.Config{Name: "t", Root: root, Ports: map[string]int{"web": port},
		Services:   func(stack.Options, string) []stack.Service { return []stack.Service{shell("web", "sleep 60", pass)} },
		NewBackend: func(_, name, dir string) (stack.Backend, error) { return native.New(name, dir), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Down(context.Background(), false)
	_, err = s.Up(t.Context(), nil)
	if !errors.Is(err, stack.ErrPortInUse) {
		t.Fatalf("err = %v, want ErrPortInUse", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the holder (%s)", err, want)
	}
	if !strings.Contains(stack.Hint(err), "--port web=") {
		t.Fatalf("fix %q does not name the flag", stack.Hint(err))
	}
}

func TestInterruptedUpStopsWhatItStarted(t *testing.T) {
	s := open(t, shell("slow", "exec sleep 300", never), shell("quick", "exec sleep 300", pass))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	_, err := s.Up(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	obs, err := observe(s)
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range obs {
		if o.Running {
			t.Errorf("%s still running (pid %d) after an interrupted up", name, o.PID)
		}
	}
}

func TestDownLeavesNothing(t *testing.T) {
	// The server forks a child into a new session, as epmd does: down must
	// find it by label even though it left the process group.
	s := open(t, shell("forker", "setsid sleep 300 & exec sleep 300", pass))
	if _, err := s.Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	deadline := time.Now().Add(5 * time.Second)
	for labelled(dir) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the shell forks after the probe passed
	}
	if n := labelled(dir); n < 2 {
		t.Fatalf("%d labelled processes before down, want 2", n)
	}
	if err := s.Down(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if n := labelled(dir); n != 0 {
		t.Fatalf("%d labelled processes left after down", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stack dir %s left after down (%v)", dir, err)
	}
}

func observe(s *stack.Stack) (map[string]stack.Observed, error) {
	b := native.New(s.Name(), s.Dir())
	return b.Observe(context.Background())
}

// labelled counts live processes carrying the stack's label.
func labelled(dir string) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(env), native.LabelDir+"="+dir+"\x00") && !strings.Contains(string(stat), ") Z ") {
			n++
		}
	}
	return n
}

// A service that does not answer yet is reported while Up waits, naming
// the probe and its last error; the deadline's error says the same.
func TestWaitIsReportedAndTimeoutNamesTheProbe(t *testing.T) {
	root, err := os.MkdirTemp("", "mossdev-native-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(root, 0o711)
	t.Cleanup(func() { os.RemoveAll(root) })
	var mu sync.Mutex
	var waits []stack.Event
	sink := stack.SinkFunc(func(e stack.Event) {
		if e.Kind == stack.EventWaiting {
			mu.Lock()
			waits = append(waits, e)
			mu.Unlock()
		}
	})
	refused := probe.New("SELECT 1 through 127.0.0.1:1 as nobody", func(context.Context) error {
		return errors.New("connection refused")
	})
	s, err := stack.Open(stack.Config{Name: "t", Root: root, Timeout: 1500 * time.Millisecond,
		WaitReport: 300 * time.Millisecond, Sink: sink,
		Services: func(stack.Options, string) []stack.Service {
			return []stack.Service{shell("slow", "exec sleep 60", refused)}
		},
		NewBackend: func(_, name, dir string) (stack.Backend, error) { return native.New(name, dir), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Down(context.Background(), false) })
	_, err = s.Up(t.Context(), nil)
	if !errors.Is(err, stack.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	want := "SELECT 1 through 127.0.0.1:1 as nobody not answering after 1.5s; last error: connection refused"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("timeout error %q\nwant it to contain %q", err, want)
	}
	mu.Lock()
	defer mu.Unlock()
	// 1.5 s of waiting reported every 0.3 s after the first 0.3 s: 3 to 4.
	if len(waits) < 2 || len(waits) > 5 {
		t.Fatalf("%d waiting events in 1.5s at one per 0.3s: %+v", len(waits), waits)
	}
	for _, w := range waits {
		if w.Service != "slow" || !strings.Contains(w.Message, "SELECT 1 through 127.0.0.1:1 as nobody") ||
			!strings.Contains(w.Message, "last error: connection refused") {
			t.Fatalf("waiting event %+v does not name the probe and its last error", w)
		}
	}
}

// Under CPU load, with servers that spawn a new-session helper as they
// stop (as an Erlang node may start epmd on its way), down still leaves no
// process and no directory: it sweeps again until nothing is found.
func TestDownUnderLoadCatchesLateHelpers(t *testing.T) {
	const script = `trap 'setsid sleep 300 & exit 0' TERM; while :; do sleep 0.05; done`
	var svcs []stack.Service
	for i := range 4 {
		svcs = append(svcs, shell(fmt.Sprintf("late-%d", i), script, pass))
	}
	s := open(t, svcs...)
	if _, err := s.Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() { // keep every core busy while down runs
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	err := s.Down(t.Context(), false)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n := labelled(dir); n != 0 {
		t.Fatalf("%d labelled processes left after down under load", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stack dir %s left after down (%v)", dir, err)
	}
}

// Processes another user starts with the stack's label are not the stack's:
// down neither waits for them nor fails because of them.
func TestDownIgnoresAnotherUsersLabelledProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to start a process as another user (CI runs as root)")
	}
	s := open(t, shell("web", "exec sleep 300", pass))
	if _, err := s.Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "300")
	cmd.Env = []string{native.LabelDir + "=" + s.Dir(), native.LabelService + "=web"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := s.Down(t.Context(), false); err != nil {
		t.Fatalf("down with a foreign labelled process: %v", err)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("down killed another user's process: %v", err)
	}
}
