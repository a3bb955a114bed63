package docker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"

	"github.com/mossdev/mossdev/fakes/serve"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/mossdev/mossdev/stack/services"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// childUp, when set, makes the test binary a bare `up` of the stack it
// names (root|name|services), so a test can kill it mid-start.
const childUp = "MOSSDEV_TEST_CHILD_UP"

func TestMain(m *testing.M) {
	if serve.IfAsked() { // the S3 and CDN fakes run as this binary
		os.Exit(0)
	}
	if spec := os.Getenv(childUp); spec != "" {
		p := strings.Split(spec, "|")
		s, err := platform.Open(stack.Config{Root: p[0], Name: p[1], Backend: "docker", Options: light})
		if err == nil {
			_, err = s.Up(context.Background(), strings.Split(p[2], ","))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child up:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// light is a small platform: fewer containers to start per test.
var light = stack.Options{RedisShards: 2, RabbitNodes: 1}

// requireDocker skips (or fails in CI) when the engine or the images the
// named services need are missing.
func requireDocker(t *testing.T, only ...string) {
	t.Helper()
	sel, err := stack.Select(services.Platform(light, "docker"), only)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docker.Check(t.Context(), docker.Images(sel), 10*time.Second); err != nil {
		if stacktest.Required() {
			t.Fatalf("docker backend unavailable: %v (fix: %s)", err, stack.Hint(err))
		}
		t.Skipf("docker backend unavailable: %v (fix: %s)", err, stack.Hint(err))
	}
}

func newRoot(t *testing.T) string {
	root, err := os.MkdirTemp("", "mossdev-docker-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(root, 0o711)
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

func open(t *testing.T, root, name string) *stack.Stack {
	t.Helper()
	s, err := platform.Open(stack.Config{Root: root, Name: name, Backend: "docker", Options: light, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// leftovers lists what carries the stack's label: containers (any state),
// networks, volumes, and host processes of the fakes.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	cli := engine(t)
	f := make(client.Filters).Add("label", docker.LabelStackDir+"="+dir)
	var out []string
	cs, err := cli.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		out = append(out, fmt.Sprintf("container %s (%s)", c.Names, c.State))
	}
	ns, err := cli.NetworkList(t.Context(), client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(t.Context(), client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		out = append(out, "volume "+v.Name)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && strings.Contains(string(env), "MOSSDEV_STACK_DIR="+dir+"\x00") {
			if stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); !strings.Contains(string(stat), ") Z ") {
				out = append(out, "process "+e.Name())
			}
		}
	}
	return out
}

// down must leave nothing labelled with the stack: no container, network,
// volume or host process. down --keep-data keeps the volumes (and the
// data in them) for the next up, and nothing else.
func TestDownLeavesNothingLabelled(t *testing.T) {
	only := []string{"redis-0", "redis-1", "cdn"}
	requireDocker(t, only...)
	s := open(t, newRoot(t), "down")
	t.Cleanup(func() { _ = s.Down(context.Background(), false) })
	if _, err := s.Up(t.Context(), only); err != nil {
		t.Fatalf("up: %v\n%s", err, stack.Tail(err))
	}
	// Usage comes from docker stats streams, a sample a second: repeated
	// observations (the terminal UI's) see it.
	stacktest.Eventually(t, 5*time.Second, func() error {
		sts, err := s.Status(t.Context(), 2*time.Second)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.Name == "redis-0" && (st.State != stack.StateHealthy || st.PID == 0 || st.Mem == 0) {
				return fmt.Errorf("redis-0: %+v; want healthy with a pid and memory use", st)
			}
		}
		return nil
	})
	u, _ := s.URL("redis-0")
	opt, _ := redis.ParseURL(u)
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.Set(t.Context(), "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}

	if err := s.Down(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	for _, l := range leftovers(t, s.Dir()) {
		if !strings.HasPrefix(l, "volume ") {
			t.Errorf("down --keep-data left %s", l)
		}
	}
	if _, err := s.Up(t.Context(), only); err != nil {
		t.Fatalf("up after down --keep-data: %v", err)
	}
	if got, err := rc.Get(t.Context(), "kept").Result(); err != nil || got != "yes" {
		t.Fatalf("redis-0 after down --keep-data and up: %q, %v; want the key kept", got, err)
	}

	if err := s.Down(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, s.Dir()); len(left) > 0 {
		t.Fatalf("down left: %v", left)
	}
}

// An up killed with SIGKILL mid-start leaves containers, a network and
// volumes; the next down finds them by label and removes them all, and an
// up after such a kill adopts what runs and finishes the rest.
func TestKilledUpIsCleaned(t *testing.T) {
	only := []string{"redis-0", "rabbitmq-1"} // RabbitMQ takes seconds to boot
	requireDocker(t, only...)
	root := newRoot(t)
	killedUp := func(name string) *stack.Stack {
		s := open(t, root, name)
		t.Cleanup(func() { _ = s.Down(context.Background(), false) })
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childUp+"="+root+"|"+name+"|"+strings.Join(only, ","))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once RabbitMQ's container exists, long before it answers.
		stacktest.Eventually(t, 2*time.Minute, func() error {
			for _, l := range leftovers(t, s.Dir()) {
				if strings.Contains(l, "rabbitmq-1") && strings.HasPrefix(l, "container") {
					return nil
				}
			}
			return errors.New("no rabbitmq-1 container yet")
		})
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if len(leftovers(t, s.Dir())) == 0 {
			t.Fatal("the killed up left nothing: the test proves nothing")
		}
		return open(t, root, name) // a new process's view: state from disk
	}

	t.Run("down", func(t *testing.T) {
		s := killedUp("killed-down")
		if err := s.Down(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		if left := leftovers(t, s.Dir()); len(left) > 0 {
			t.Fatalf("down after a killed up left: %v", left)
		}
	})
	t.Run("up", func(t *testing.T) {
		s := killedUp("killed-up")
		if _, err := s.Up(t.Context(), only); err != nil {
			t.Fatalf("up after a killed up: %v\n%s", err, stack.Tail(err))
		}
		if err := s.Down(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		if left := leftovers(t, s.Dir()); len(left) > 0 {
			t.Fatalf("down left: %v", left)
		}
	})
}

// auto is docker when the engine answers and every image is present, and
// native, saying why, when an image is missing or no engine answers.
func TestAutoChoosesTheBackend(t *testing.T) {
	requireDocker(t) // every image of the platform
	if b, why := platform.Choose(t.Context(), stack.DefaultOptions()); b != "docker" {
		t.Fatalf("auto with every image present chose %s: %s", b, why)
	}
	t.Run("image missing", func(t *testing.T) {
		t.Setenv("MOSSDEV_IMAGE_MONGODB", "mossdev-test/absent:never")
		b, why := platform.Choose(t.Context(), stack.DefaultOptions())
		if b != "native" || !strings.Contains(why, "mossdev-test/absent:never") {
			t.Fatalf("auto with a missing image chose %s: %q; want native naming the image", b, why)
		}
	})
	t.Run("no engine", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "dead.sock"))
		b, why := platform.Choose(t.Context(), stack.DefaultOptions())
		if b != "native" || !strings.Contains(why, "engine") {
			t.Fatalf("auto without an engine chose %s: %q; want native saying so", b, why)
		}
	})
}
