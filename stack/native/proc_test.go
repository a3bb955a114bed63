package native

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// useHost makes the package read the OS through h for one test.
func useHost(t *testing.T, h host) {
	t.Helper()
	old := sys
	sys = h
	t.Cleanup(func() { sys = old })
}

// testRuntime is a stack dir the server user can reach when the tests run
// as root (t.TempDir is 0700), and a shell standing for mossdev's own
// binary: a real file, since a server user may run a copy of it.
func testRuntime(t *testing.T) (*Backend, *stack.Runtime) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mossdev-native-proc-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o711)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return New("t", dir), &stack.Runtime{Stack: "t", Dir: dir, Backend: "native", Exe: sh}
}

func service(name, path string, args ...string) stack.Service {
	return stack.Service{Name: name, Native: func(*stack.Runtime) (stack.NativeSpec, error) {
		return stack.NativeSpec{Run: stack.Command{Path: path, Args: args}}, nil
	}}
}

func TestUnsupportedOSSaysSoEverywhere(t *testing.T) {
	useHost(t, unsupported{goos: "plan9"})
	b, env := testRuntime(t)
	ctx := context.Background()
	_, startErr := b.Start(ctx, service("s3", env.Exe, "-c", "exit 0"), env)
	_, obsErr := b.Observe(ctx)
	for what, err := range map[string]error{
		"start":   startErr,
		"observe": obsErr,
		"stop":    b.Stop(ctx, service("s3", env.Exe)),
		"remove":  b.Remove(ctx, false),
	} {
		if !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), "not supported on plan9") {
			t.Errorf("%s: err = %v, want ErrBadInput naming the OS", what, err)
		}
		if stack.Hint(err) == "" {
			t.Errorf("%s: no fix given", what)
		}
	}
	if ps, err := sys.list(true); err == nil || ps != nil {
		t.Errorf("list = %v, %v; want no processes and an error", ps, err)
	}
}

// noServers is an OS like macOS: processes can be supervised, Debian's
// servers cannot run.
type noServers struct{ host }

func (noServers) servers() error { return errNoServers }

func TestServersRefusedWhereOnlyFakesRun(t *testing.T) {
	useHost(t, noServers{newHost()})
	b, env := testRuntime(t)
	ctx := context.Background()
	_, err := b.Start(ctx, service("postgres", "/bin/sleep", "60"), env)
	if !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), "start postgres") {
		t.Fatalf("err = %v, want ErrBadInput about start postgres", err)
	}
	if !strings.Contains(stack.Hint(err), "--backend docker") {
		t.Fatalf("fix %q does not point at the docker backend", stack.Hint(err))
	}
	// mossdev's own binary (env.Exe) still runs: the docker backend's S3 and
	// CDN are such processes.
	exited, err := b.Start(ctx, service("s3", env.Exe, "-c", "exec sleep 60"), env)
	if err != nil {
		t.Fatalf("own binary refused: %v", err)
	}
	t.Cleanup(func() { _ = b.Remove(context.Background(), false) })
	obs, err := b.Observe(ctx)
	if err != nil || !obs["s3"].Running {
		t.Fatalf("observe = %+v, %v; want s3 running", obs, err)
	}
	if err := b.Remove(ctx, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("s3 still running after remove")
	}
	if errNoServers.Service != "" || errNoServers.Op != "run servers natively" {
		t.Fatalf("the shared error was changed: %+v", errNoServers)
	}
}

func TestParseEnv(t *testing.T) {
	got := parseEnv([]byte("A=1\x00" + LabelDir + "=/x y\x00\x00"))
	if len(got) != 2 || !hasLabel(got, LabelDir+"=/x y") || hasLabel(got, LabelDir+"=/x") {
		t.Fatalf("parseEnv = %q", got)
	}
	if parseEnv(nil) != nil {
		t.Fatal("empty block must give no variables")
	}
}
