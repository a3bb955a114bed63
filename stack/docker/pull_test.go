package docker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []stack.Event
}

func (r *recorder) Event(e stack.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []stack.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stack.Event(nil), r.events...)
}

// requireEngine skips (or fails in CI) when no engine answers.
// skipOrFail skips locally but fails where a stack is required (CI):
// a missing image must never count as a pass there.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if stacktest.Required() {
		t.Fatal(why)
	}
	t.Skip(why)
}

func requireEngine(t *testing.T) {
	t.Helper()
	requireDocker(t, "redis-0")
}

func openWith(t *testing.T, cfg stack.Config) *stack.Stack {
	t.Helper()
	cfg.Backend, cfg.Options = "docker", light
	if cfg.Root == "" {
		cfg.Root = newRoot(t)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	s, err := platform.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Down(context.Background(), false) })
	return s
}

// nothingMade fails if the stack left anything: a container, network,
// volume or process with its label, or its directory (state, env file).
func nothingMade(t *testing.T, s *stack.Stack) {
	t.Helper()
	if left := leftovers(t, s.Dir()); len(left) > 0 {
		t.Errorf("a failed pull left %v", left)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed pull left the stack directory %s (%v)", s.Dir(), err)
	}
	if s.Exists() {
		t.Error("a failed pull left the stack's state")
	}
}

// An image that cannot be had (no registry answers for it) fails up within
// seconds with ErrImageMissing, naming the image, the engine's reason and
// the fixes, and leaves no stack behind: no container, network, volume,
// state or directory.
func TestPullThatCannotBeHadFailsFastAndMakesNothing(t *testing.T) {
	requireEngine(t)
	const absent = "mossdev-nonexistent.invalid/none:1"
	t.Setenv("MOSSDEV_IMAGE_REDIS", absent)
	rec := &recorder{}
	s := openWith(t, stack.Config{Name: "nopull", Sink: rec})
	t0 := time.Now()
	_, err := s.Up(t.Context(), []string{"redis-0"})
	took := time.Since(t0)
	if !errors.Is(err, stack.ErrImageMissing) {
		t.Fatalf("up with image %s: %v; want ErrImageMissing", absent, err)
	}
	if took > 10*time.Second {
		t.Errorf("the failed pull took %s; want seconds", took)
	}
	msg := err.Error()
	for _, want := range []string{"pull image " + absent, "the engine could not pull it", "mossdev-nonexistent.invalid"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "not present") {
		t.Errorf("error %q calls a failed pull \"not present\"", msg)
	}
	for _, want := range []string{"MOSSDEV_IMAGE_REDIS", "`mossdev pull`", "--backend native"} {
		if !strings.Contains(stack.Hint(err), want) {
			t.Errorf("fix %q does not say %q", stack.Hint(err), want)
		}
	}
	var failed bool
	for _, e := range rec.all() {
		if e.Kind == stack.EventStarting {
			t.Errorf("a service started despite the failed pull: %+v", e)
		}
		failed = failed || (e.Kind == stack.EventFailed && e.Step == stack.StepPull && e.Service == absent)
	}
	if !failed {
		t.Errorf("no failed pull event for %s in %+v", absent, rec.all())
	}
	nothingMade(t, s)
}

// Ctrl-C during a pull stops it: the error says the pull was interrupted
// (context.Canceled, so exit 130), not that the image is absent, and
// nothing of the stack is made.
func TestInterruptedPullSaysSoAndMakesNothing(t *testing.T) {
	requireEngine(t)
	ref := fmt.Sprintf("mossdev-pulltest-%d/slow:1", os.Getpid())
	t.Setenv("MOSSDEV_IMAGE_REDIS", ref)
	started := make(chan struct{})
	t.Cleanup(docker.SetFetch(func(ctx context.Context, _ string, progress func(done, total int64)) error {
		progress(1e6, 40e6)
		close(started)
		<-ctx.Done() // a registry far away
		return ctx.Err()
	}))
	s := openWith(t, stack.Config{Name: "cancelpull"})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	_, err := s.Up(ctx, []string{"redis-0"})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, stack.ErrImageMissing) {
		t.Fatalf("interrupted pull: %v; want context.Canceled and ErrImageMissing", err)
	}
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "pull interrupted after 1.0 of 40.0 MB") {
		t.Errorf("error %q does not name the image and how far the pull got", err)
	}
	nothingMade(t, s)
}

// The start deadline (Config.Timeout, --timeout) starts after the pull: a
// pull that takes longer than the whole timeout still ends in a healthy
// stack. The registry is stood in for by a slow tag of the local stand-in
// image; the inspect before, the start and the probe are the engine's.
func TestStartDeadlineExcludesThePull(t *testing.T) {
	requireEngine(t)
	source := os.Getenv("MOSSDEV_IMAGE_REDIS")
	if source == "" {
		skipOrFail(t, "MOSSDEV_IMAGE_REDIS names no local stand-in image (source .cache/images.env)")
	}
	cli := engine(t)
	ref := fmt.Sprintf("mossdev-pulltest-%d/redis:1", os.Getpid())
	untag(t, cli, ref)
	t.Cleanup(func() { untag(t, cli, ref) })
	t.Setenv("MOSSDEV_IMAGE_REDIS", ref)
	const pullTakes, timeout = 4 * time.Second, 3 * time.Second
	t.Cleanup(docker.SetFetch(func(ctx context.Context, got string, progress func(done, total int64)) error {
		for i := range int64(4) {
			progress(i*10e6, 40e6)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pullTakes / 4):
			}
		}
		_, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: got})
		return err
	}))
	rec := &recorder{}
	s := openWith(t, stack.Config{Name: "slowpull", Sink: rec, Timeout: timeout})
	if _, err := s.Up(t.Context(), []string{"redis-0"}); err != nil {
		t.Fatalf("up after a %s pull with --timeout %s: %v\n%s", pullTakes, timeout, err, stack.Tail(err))
	}
	var pulling, pulled, starting time.Time
	var progressed bool
	for _, e := range rec.all() {
		switch {
		case e.Kind == stack.EventPulling && e.Service == ref:
			if pulling.IsZero() {
				pulling = e.Time
			}
			progressed = progressed || e.Total == 40e6
		case e.Kind == stack.EventPulled && e.Service == ref:
			pulled = e.Time
		case e.Kind == stack.EventStarting && starting.IsZero():
			starting = e.Time
		}
	}
	if pulling.IsZero() || pulled.IsZero() || starting.IsZero() || !progressed {
		t.Fatalf("events lack the pull's progress or the start: %+v", rec.all())
	}
	if d := pulled.Sub(pulling); d < timeout {
		t.Errorf("the pull took %s, less than the %s timeout: the test proves nothing", d, timeout)
	}
	if starting.Before(pulled) {
		t.Errorf("redis-0 started at %s, before its image was pulled at %s", starting, pulled)
	}
}

// mossdev.lock pins an image by content: when its tag is moved to other
// bytes (docker tag another image to it), up refuses it naming the image
// and both pins, and makes nothing; with the bytes the lock pins, up runs.
func TestLockReportsATagThatNowNamesOtherBytes(t *testing.T) {
	requireDocker(t, "redis-0", "haproxy")
	redisImg, otherImg := os.Getenv("MOSSDEV_IMAGE_REDIS"), os.Getenv("MOSSDEV_IMAGE_HAPROXY")
	if redisImg == "" || otherImg == "" {
		skipOrFail(t, "MOSSDEV_IMAGE_REDIS and MOSSDEV_IMAGE_HAPROXY name no local stand-in images (source .cache/images.env)")
	}
	cli := engine(t)
	ref := fmt.Sprintf("mossdev-locktest-%d/redis:1", os.Getpid())
	tag := func(src string) {
		t.Helper()
		if _, err := cli.ImageTag(t.Context(), client.ImageTagOptions{Source: src, Target: ref}); err != nil {
			t.Fatal(err)
		}
	}
	tag(redisImg)
	t.Cleanup(func() { untag(t, cli, ref) })
	t.Setenv("MOSSDEV_IMAGE_REDIS", ref)
	lock := filepath.Join(t.TempDir(), stack.LockFile)
	rec := &recorder{}
	s := openWith(t, stack.Config{Name: "locked", Sink: rec, Lock: lock})

	imgs, ok, err := s.Pull(t.Context(), []string{"redis-0"})
	if err != nil || !ok || len(imgs) != 1 || imgs[0].Ref != ref || !imgs[0].Local || imgs[0].ID == "" {
		t.Fatalf("pull: %+v, %v, %v; want %s present, local, with its ID", imgs, ok, err, ref)
	}
	if err := stack.NewLock(imgs).Write(lock); err != nil {
		t.Fatal(err)
	}

	tag(otherImg) // same tag, other bytes
	_, err = s.Up(t.Context(), []string{"redis-0"})
	if !errors.Is(err, stack.ErrDrift) || !errors.Is(err, stack.ErrImageMissing) {
		t.Fatalf("up with a moved tag: %v; want ErrDrift (an ErrImageMissing)", err)
	}
	short := imgs[0].ID[:19]
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "the lock pins "+short) {
		t.Errorf("error %q does not name the image and the pinned ID %s", err, short)
	}
	if !strings.Contains(stack.Hint(err), "`mossdev pull`") || !strings.Contains(stack.Hint(err), lock) {
		t.Errorf("fix %q does not say `mossdev pull` or to delete %s", stack.Hint(err), lock)
	}
	var drifted bool
	for _, e := range rec.all() {
		drifted = drifted || (e.Kind == stack.EventDrifted && e.Service == ref)
	}
	if !drifted {
		t.Errorf("no drifted event for %s: %+v", ref, rec.all())
	}
	nothingMade(t, s)

	tag(redisImg) // the pinned bytes again
	if _, err := s.Up(t.Context(), []string{"redis-0"}); err != nil {
		t.Fatalf("up with the pinned image: %v\n%s", err, stack.Tail(err))
	}
}

// untag removes a test's tag, never the image under it (another tag
// holds that).
func untag(t *testing.T, cli *client.Client, ref string) {
	t.Helper()
	_, err := cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("untag %s: %v", ref, err)
	}
}

// An image the lock pins by registry digest, and that is not here, is
// pulled by that digest, not by its tag (which may name other bytes
// today); a failure names the digest asked for.
func TestLockedImageIsPulledByItsDigest(t *testing.T) {
	requireEngine(t)
	repo := fmt.Sprintf("mossdev-pulltest-%d/pinned", os.Getpid())
	ref, digest := repo+":1", fmt.Sprintf("%s@sha256:%064x", repo, 1)
	t.Setenv("MOSSDEV_IMAGE_REDIS", ref)
	lock := filepath.Join(t.TempDir(), stack.LockFile)
	if err := stack.NewLock([]stack.Image{{Ref: ref, Digest: digest, ID: "sha256:2"}}).Write(lock); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	t.Cleanup(docker.SetFetch(func(_ context.Context, from string, _ func(done, total int64)) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, from)
		return errors.New("no registry on this machine")
	}))
	s := openWith(t, stack.Config{Name: "pinned", Lock: lock})
	_, err := s.Up(t.Context(), []string{"redis-0"})
	if !errors.Is(err, stack.ErrImageMissing) || errors.Is(err, stack.ErrDrift) {
		t.Fatalf("up with a pinned image the registry cannot give: %v; want ErrImageMissing from the pull", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != digest {
		t.Errorf("pulled %q; want only the pinned %s", asked, digest)
	}
	if !strings.Contains(err.Error(), "pull image "+digest) || !strings.Contains(err.Error(), "no registry on this machine") {
		t.Errorf("error %q does not name the pinned digest and the reason", err)
	}
	nothingMade(t, s)
}
