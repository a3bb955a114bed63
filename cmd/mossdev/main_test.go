package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mossdev/mossdev/fakes/serve"
)

func TestMain(m *testing.M) {
	if serve.IfAsked() {
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){
		"mossdev": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar: CLI behaviour end to end, each
// script named for the obligation it checks.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			// The servers' unprivileged user must reach the stack root, which
			// $WORK (0700) forbids.
			root, err := os.MkdirTemp("", "mossdev-script-")
			if err != nil {
				return err
			}
			_ = os.Chmod(root, 0o711)
			e.Defer(func() { os.RemoveAll(root) })
			e.Setenv("MOSSDEV_HOME", root)
			e.Setenv("MOSSDEV_STACK", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":   cmdExits,
			"hold":    cmdHold,
			"waitfor": cmdWaitFor,
			"nolabel": cmdNoLabel,
		},
	})
}

// exits CODE ARGS... runs mossdev in-process and checks its exit code.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: exits CODE [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	// In-process, and scripts run in parallel: pass the script's stack root
	// and working directory (where mossdev.toml is looked for) as flags
	// rather than through the process-wide environment and cwd.
	got := run(append([]string{"--home", ts.Getenv("MOSSDEV_HOME"), "--workdir", ts.MkAbs(".")}, args[1:]...), ts.Stdout(), ts.Stderr())
	if (got == want) == neg {
		ts.Fatalf("mossdev %v exited %d, want %d", args[1:], got, want)
	}
}

// hold VAR listens on a free loopback port, stores it in $VAR, and keeps it
// until the script ends: a port some other program holds.
func cmdHold(ts *testscript.TestScript, neg bool, args []string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("hold: %v", err)
	}
	ts.Defer(func() { l.Close() })
	ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}

// waitfor PATH waits up to 60 s for a file to exist.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	for range 1200 {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("waitfor: %s did not appear within 60s", p)
}

// nolabel DIR fails if any live process carries the stack dir's label.
func cmdNoLabel(ts *testscript.TestScript, neg bool, args []string) {
	want := "MOSSDEV_STACK_DIR=" + ts.MkAbs(args[0]) + "\x00"
	ents, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !contains(string(env), want) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if !contains(string(stat), ") Z ") {
			left = append(left, e.Name())
		}
	}
	if len(left) > 0 {
		ts.Fatalf("processes of %s still running: %v", args[0], left)
	}
	fmt.Fprintf(ts.Stdout(), "no process labelled %s\n", args[0])
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
