// Package leasetest tests stacktest.WithShared with real processes: the
// test binary re-executes itself as a "package" that shares a stack (a
// Redis shard: quick to start), and the parent watches the stack.
package leasetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// The child's parameters, from its parent.
const (
	childRoot   = "LEASETEST_ROOT"   // the shared stack's root
	childID     = "LEASETEST_ID"     // names its ready/go files
	childShards = "LEASETEST_SHARDS" // redis shards it asks for
	childSeeded = "LEASETEST_SEEDED" // "1": the whole platform, seeded
)

const stackName = "shared"

func TestMain(m *testing.M) {
	if root := os.Getenv(childRoot); root != "" {
		shards, _ := strconv.Atoi(os.Getenv(childShards))
		opts := []stacktest.Option{stacktest.WithShared(stackName, root),
			stacktest.WithOptions(stack.Options{RedisShards: shards, RabbitNodes: 1}), stacktest.WithTimeout(4 * time.Minute)}
		if os.Getenv(childSeeded) == "1" {
			opts = append(opts, stacktest.WithSeed(seed.Small))
		} else {
			opts = append(opts, stacktest.WithOnly("redis-0"))
		}
		stacktest.Main(m, opts...)
		return
	}
	os.Exit(m.Run())
}

// TestChild is the child's one test: it uses the shared stack, says it is
// ready (with the Redis URL), then holds its lease until the parent says
// go. Run by the parent only; alone it does nothing.
func TestChild(t *testing.T) {
	root := os.Getenv(childRoot)
	if root == "" {
		return
	}
	u := stacktest.URL(t, "redis-0")
	if err := ping(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	id := os.Getenv(childID)
	ready := u
	if os.Getenv(childSeeded) == "1" {
		// Reset in a subtest: its lock, held until the subtest ends, keeps
		// the other process's Isolated waiting meanwhile, not forever
		// (and a Reset waits for every live isolation to end).
		if os.Getenv("LEASETEST_RESET") == "1" {
			t.Run("reset", func(t *testing.T) { stacktest.Reset(t) })
		}
		iso := stacktest.Isolated(t)
		ready += "|" + strconv.Itoa(iso.Slot)
	}
	if err := os.WriteFile(filepath.Join(root, id+".ready"), []byte(ready), 0o600); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 3*time.Minute, func() error {
		_, err := os.Stat(filepath.Join(root, id+".go"))
		return err
	})
}

func ping(ctx context.Context, u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// child is one re-executed test binary sharing the stack.
type child struct {
	id     string
	root   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{} // closed when it exits, err set
	err    error
}

func start(t *testing.T, root, id string, shards int, env ...string) *child {
	t.Helper()
	c := &child{id: id, root: root, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
	c.cmd.Env = append(os.Environ(), childRoot+"="+root, childID+"="+id, childShards+"="+strconv.Itoa(shards))
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Stderr, c.cmd.Stdout = c.stderr, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
			return // ended already: no go file to leave behind
		default:
		}
		_ = os.WriteFile(filepath.Join(root, id+".go"), nil, 0o600)
		select {
		case <-c.done:
		case <-time.After(2 * time.Minute):
			_ = c.cmd.Process.Kill()
		}
	})
	return c
}

// ready waits until the child holds its lease and returns the Redis URL.
func (c *child) ready(t *testing.T) string {
	t.Helper()
	var u []byte
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var err error
		if u, err = os.ReadFile(filepath.Join(c.root, c.id+".ready")); err == nil && len(u) > 0 {
			return string(u)
		}
		select {
		case <-c.done:
			t.Fatalf("child %s exited before it was ready (%v):\n%s", c.id, c.err, c.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %s not ready in 3 minutes:\n%s", c.id, c.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// finish lets the child end and waits for it.
func (c *child) finish(t *testing.T) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.root, c.id+".go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
		if c.err != nil {
			t.Fatalf("child %s: %v\n%s", c.id, c.err, c.stderr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("child %s did not end:\n%s", c.id, c.stderr)
	}
	return c.stderr.String()
}

func newRoot(t *testing.T) string {
	t.Helper()
	// Not t.TempDir: 0700 would lock out the server user under root.
	root, err := os.MkdirTemp("", "mossdev-lease-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(root, 0o711)
	t.Cleanup(func() {
		// Whatever the test left running goes.
		if s, err := stackOpen(root); err == nil {
			_ = s.Down(context.Background(), false)
		}
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("remove the test's root: %v", err)
		}
	})
	return root
}

func leases(t *testing.T, root string) []string {
	t.Helper()
	l, _ := filepath.Glob(filepath.Join(root, "."+stackName+".leases", "*.lease"))
	return l
}

// Two packages started at once: exactly one brings the stack up, the
// other reuses it; the stack outlives the first to end and goes with the
// last.
func TestTwoProcessesShareOneStackAndTheLastTakesItDown(t *testing.T) {
	root := newRoot(t)
	a, b := start(t, root, "a", 1), start(t, root, "b", 1)
	ua, ub := a.ready(t), b.ready(t)
	if ua != ub {
		t.Fatalf("two stacks: %s and %s", ua, ub)
	}
	if n := len(leases(t, root)); n != 2 {
		t.Errorf("%d leases while both run, want 2", n)
	}
	outA := a.finish(t)
	if err := ping(t.Context(), ua); err != nil {
		t.Fatalf("the stack went down with the first holder while the second holds it: %v", err)
	}
	outB := b.finish(t)
	created := strings.Count(outA+outB, "stacktest: stack "+stackName+" up in")
	reused := strings.Count(outA+outB, "stacktest: reusing shared stack "+stackName)
	if created != 1 || reused != 1 {
		t.Errorf("brought up %d times, reused %d times; want 1 and 1:\n--- a\n%s\n--- b\n%s", created, reused, outA, outB)
	}
	if err := ping(t.Context(), ua); err == nil {
		t.Error("the stack is still up after the last holder ended")
	}
	if l := leases(t, root); len(l) != 0 {
		t.Errorf("leases left: %v", l)
	}
}

// A holder killed with kill -9 leaves a lease that is dead at once: the
// next process removes it, and the stack goes when that one ends.
func TestKilledHoldersLeaseExpires(t *testing.T) {
	root := newRoot(t)
	k := start(t, root, "killed", 1)
	u := k.ready(t)
	if err := k.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-k.done
	if len(leases(t, root)) != 1 {
		t.Fatalf("the killed process's lease file: %v", leases(t, root))
	}
	n := start(t, root, "next", 1)
	if n.ready(t) != u {
		t.Error("the next process did not reuse the stack left running")
	}
	out := n.finish(t)
	if !strings.Contains(out, "removed the expired lease "+strconv.Itoa(k.cmd.Process.Pid)+"-") {
		t.Errorf("the next process did not report the killed one's lease (pid %d) expired:\n%s", k.cmd.Process.Pid, out)
	}
	if err := ping(t.Context(), u); err == nil {
		t.Error("the stack is still up after the last live holder ended")
	}
	if l := leases(t, root); len(l) != 0 {
		t.Errorf("leases left: %v", l)
	}
}

// A package asking for another shape of the same named stack is refused
// with an error naming both; the holder is not disturbed.
func TestOtherOptionsForTheSameStackAreRefused(t *testing.T) {
	root := newRoot(t)
	h := start(t, root, "holder", 1)
	u := h.ready(t)
	o := start(t, root, "other", 2)
	<-o.done
	out := o.stderr.String()
	if o.err == nil {
		t.Fatalf("a process asking for 2 shards of a 1-shard shared stack succeeded:\n%s", out)
	}
	for _, want := range []string{"held with other options", fmt.Sprintf("pid %d", h.cmd.Process.Pid), "1 redis shards", "2 redis shards"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "held with other options") {
			t.Log(line)
		}
	}
	if err := ping(t.Context(), u); err != nil {
		t.Errorf("the holder's stack was disturbed: %v", err)
	}
	h.finish(t)
}

// Two packages share one seeded stack of the whole platform: it is seeded
// once, one process's Reset and the other's Isolated take turns, and
// their Isolations get their own slots (names) across the two processes.
func TestSharedSeededStackGivesEachProcessItsOwnIsolation(t *testing.T) {
	root := newRoot(t)
	// a resets then holds an isolation; b comes once a is ready (b's
	// isolation would otherwise hold a's Reset off until b ends).
	a := start(t, root, "a", 2, childSeeded+"=1", "LEASETEST_RESET=1")
	ra := a.ready(t)
	b := start(t, root, "b", 2, childSeeded+"=1")
	rb := b.ready(t)
	ua, sa, _ := strings.Cut(ra, "|")
	ub, sb, _ := strings.Cut(rb, "|")
	if ua != ub {
		t.Fatalf("two stacks: %s and %s", ua, ub)
	}
	if sa == "" || sa == sb {
		t.Errorf("isolation slots %q and %q: want one each", sa, sb)
	}
	out := a.finish(t) + b.finish(t)
	if n := strings.Count(out, "seeded (small scale)"); n != 1 {
		t.Errorf("seeded %d times, want once:\n%s", n, out)
	}
	if err := ping(t.Context(), ua); err == nil {
		t.Error("the stack is still up after the last holder ended")
	}
}

func stackOpen(root string) (*stack.Stack, error) {
	if platform.Existing(stackName, root) == "" {
		return nil, os.ErrNotExist
	}
	return platform.Open(stack.Config{Name: stackName, Root: root})
}
