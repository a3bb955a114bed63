package tui

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test runs the real binary in tmux against a running stack
// and reads the screen as a person would (send-keys, capture-pane):
//   - every service has a row;
//   - stopping postgres from the UI (with its confirmation) shows postgres
//     stopped and PgBouncer unhealthy within 2 s; starting it brings every
//     service back to healthy;
//   - a Redis shard killed with SIGKILL shows unhealthy within 2 s;
//   - q leaves the UI and the stack keeps running.
//
// It brings up a stack of its own (a minute on a slow machine), or uses the
// one named by MOSSDEV_E2E_STACK and leaves it as it found it. -short skips
// it; without tmux it skips locally and fails under MOSSDEV_REQUIRE_STACK=1.

type e2e struct {
	t      *testing.T
	bin    string
	stack  string
	socket string
}

func TestUIEndToEndInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: needs a running stack")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("MOSSDEV_REQUIRE_STACK") == "1" || os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (scripts/install-native.sh installs it)")
		}
		t.Skip("tmux is not installed")
	}
	e := &e2e{t: t, bin: filepath.Join(t.TempDir(), "mossdev"), socket: fmt.Sprintf("mossdev-e2e-%d", os.Getpid())}
	if out, err := exec.Command("go", "build", "-o", e.bin, "github.com/mossdev/mossdev/cmd/mossdev").CombinedOutput(); err != nil {
		t.Fatalf("build mossdev: %v\n%s", err, out)
	}
	e.stack = os.Getenv("MOSSDEV_E2E_STACK")
	if e.stack == "" {
		e.stack = fmt.Sprintf("tui-e2e-%d", os.Getpid()%100000)
		t.Cleanup(func() { e.run("down") })
		if out, err := e.run("up", "--no-tui", "--backend", "native"); err != nil {
			t.Fatalf("mossdev up: %v\n%s", err, out)
		}
	}
	before := e.states()
	var names []string
	for _, s := range before {
		names = append(names, s.Name)
	}
	healthyBefore := func() []string {
		var out []string
		for _, s := range before {
			if s.State == "healthy" {
				out = append(out, s.Name)
			}
		}
		return out
	}()
	for _, need := range []string{"postgres", "pgbouncer", "redis-1"} {
		if !contains(healthyBefore, need) {
			t.Fatalf("%s is not healthy before the test: %+v", need, before)
		}
	}

	t.Cleanup(func() { _ = exec.Command("tmux", "-L", e.socket, "kill-server").Run() })
	cmd := fmt.Sprintf("%s ui --name %s; echo UI-EXITED $?; sleep 600", e.bin, e.stack)
	tm := exec.Command("tmux", "-L", e.socket, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80", "-y", "24", cmd)
	tm.Env = os.Environ()
	if out, err := tm.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}

	// Every service has a row, with its state in words.
	scr, _ := e.waitScreen(10*time.Second, "every service's row", func(s string) bool {
		for _, n := range names {
			if rowState(s, n) == "" || rowState(s, n) == "waiting" {
				return false
			}
		}
		return true
	})
	t.Logf("services view at 80×24:\n%s", scr)

	// Stop postgres from the UI: it asks first.
	e.selectRow(names, "postgres")
	e.keys("s")
	e.waitScreen(2*time.Second, "the stop confirmation", func(s string) bool { return strings.Contains(s, "Stop postgres?") })
	if rowState(e.capture(), "postgres") != "healthy" {
		t.Fatal("postgres stopped before the confirmation")
	}
	e.keys("y")
	scr, took := e.waitScreen(5*time.Second, "postgres stopped and pgbouncer unhealthy", func(s string) bool {
		return rowState(s, "postgres") == "stopped" && rowState(s, "pgbouncer") == "unhealthy"
	})
	t.Logf("stop postgres: postgres stopped and pgbouncer unhealthy on screen %.2fs after y (mongodb: %s)",
		took.Seconds(), rowState(scr, "mongodb"))
	if took > 2*time.Second {
		t.Errorf("stopping postgres took %.2fs to show, want ≤ 2s", took.Seconds())
	}

	// Start it again: everything healthy before is healthy again
	// (PgBouncer retries its server login after up to 15 s).
	e.keys("u")
	_, took = e.waitScreen(60*time.Second, "every service healthy again", func(s string) bool {
		for _, n := range healthyBefore {
			if rowState(s, n) != "healthy" {
				return false
			}
		}
		return true
	})
	t.Logf("start postgres: all healthy again after %.1fs", took.Seconds())

	// Kill a Redis shard behind the stack's back.
	pid := 0
	for _, s := range e.states() {
		if s.Name == "redis-1" {
			pid = s.PID
		}
	}
	if pid == 0 {
		t.Fatal("no pid for redis-1 in `mossdev status --json`")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill redis-1 (pid %d): %v", pid, err)
	}
	_, took = e.waitScreen(5*time.Second, "redis-1 unhealthy", func(s string) bool { return rowState(s, "redis-1") == "unhealthy" })
	t.Logf("kill -9 redis-1: unhealthy on screen after %.2fs", took.Seconds())
	if took > 2*time.Second {
		t.Errorf("a killed shard took %.2fs to show unhealthy, want ≤ 2s", took.Seconds())
	}
	e.selectRow(names, "redis-1")
	e.keys("u")
	e.waitScreen(30*time.Second, "redis-1 healthy again", func(s string) bool { return rowState(s, "redis-1") == "healthy" })

	// q leaves the UI; the stack keeps running.
	e.keys("q")
	e.waitScreen(5*time.Second, "the UI to exit", func(s string) bool { return strings.Contains(s, "UI-EXITED 0") })
	if !strings.Contains(e.capture(), "keeps running") {
		t.Errorf("no word that the stack keeps running:\n%s", e.capture())
	}
	for _, s := range e.states() {
		if contains(healthyBefore, s.Name) && s.State != "healthy" {
			t.Errorf("after q, %s is %s", s.Name, s.State)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (e *e2e) run(args ...string) ([]byte, error) {
	cmd := exec.Command(e.bin, append(args, "--name", e.stack)...)
	return cmd.CombinedOutput()
}

type e2eStatus struct {
	Name  string `json:"name"`
	State string `json:"state"`
	PID   int    `json:"pid"`
}

func (e *e2e) states() []e2eStatus {
	e.t.Helper()
	out, _ := exec.Command(e.bin, "status", "--json", "--name", e.stack).Output() // exit 3 when unhealthy
	var st struct{ Services []e2eStatus }
	if err := json.Unmarshal(out, &st); err != nil {
		e.t.Fatalf("mossdev status --json: %v\n%s", err, out)
	}
	return st.Services
}

func (e *e2e) keys(keys ...string) {
	e.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command("tmux", "-L", e.socket, "send-keys", "-t", "ui", k).CombinedOutput(); err != nil {
			e.t.Fatalf("tmux send-keys %s: %v\n%s", k, err, out)
		}
	}
}

// selectRow moves the services view's cursor to a service.
func (e *e2e) selectRow(names []string, name string) {
	e.t.Helper()
	e.keys("1", "g")
	for _, n := range names {
		if n == name {
			break
		}
		e.keys("j")
	}
	e.waitScreen(2*time.Second, name+" selected", func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "▸" && f[1] == name {
				return true
			}
		}
		return false
	})
}

func (e *e2e) capture() string {
	out, err := exec.Command("tmux", "-L", e.socket, "capture-pane", "-p", "-t", "ui").Output()
	if err != nil {
		e.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// waitScreen polls the pane every 100 ms until cond holds and reports how
// long that took; it fails the test with the last screen after d.
func (e *e2e) waitScreen(d time.Duration, what string, cond func(string) bool) (string, time.Duration) {
	e.t.Helper()
	t0 := time.Now()
	var s string
	for time.Since(t0) < d {
		s = e.capture()
		if cond(s) {
			return s, time.Since(t0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("waited %s for %s; the screen:\n%s", d, what, s)
	return s, 0
}

// rowState reads a service's state word from its row on the services view.
func rowState(scr, name string) string {
	for _, l := range strings.Split(scr, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(f) >= 3 && f[0] == name {
			return f[2]
		}
	}
	return ""
}
