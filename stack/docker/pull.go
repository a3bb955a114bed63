package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"

	"github.com/mossdev/mossdev/stack"
)

var _ stack.Puller = (*Backend)(nil)

// pullEvery is how often a pull reports its bytes: often enough for a bar,
// rarely enough that JSON lines stay readable.
const pullEvery = 250 * time.Millisecond

// Pull makes every image the services run from present (see stack.Puller):
// an image already here is left alone, the others are pulled at once, side
// by side, each reporting its bytes. The pulls share ctx only: the start
// deadline is not theirs.
func (b *Backend) Pull(ctx context.Context, svcs []stack.Service, pinned *stack.ImageLock, sink stack.Sink) ([]stack.Image, error) {
	refs := imageUsers(svcs)
	if len(refs) == 0 {
		return nil, nil
	}
	cli, err := b.engine(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(refs))
	for ref := range refs {
		names = append(names, ref)
	}
	sort.Strings(names)
	imgs := make([]stack.Image, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, ref := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = b.present(ctx, cli, ref, pinned.Pinned(ref), refs[ref], sink)
		}()
	}
	wg.Wait()
	if err := joinPullErrors(names, errs, refs); err != nil {
		return nil, err
	}
	return imgs, nil
}

// joinPullErrors is the first failure in name order (so a run is
// reproducible), naming the other images that failed too and every
// variable that could point them elsewhere.
func joinPullErrors(names []string, errs []error, users map[string][]stack.Service) error {
	var first *stack.Error
	var failed []stack.Service
	var more []string
	for i, err := range errs {
		var se *stack.Error
		switch {
		case err == nil:
			continue
		case !errors.As(err, &se) || !errors.Is(err, stack.ErrImageMissing):
			return err // the engine itself failed: that says it all
		case first == nil:
			c := *se
			first = &c
		default:
			more = append(more, names[i])
		}
		failed = append(failed, users[names[i]]...)
	}
	if first == nil {
		return nil
	}
	if len(more) > 0 {
		first.Detail += fmt.Sprintf(" (and %d more images failed: %s)", len(more), strings.Join(more, ", "))
		first.Fix = pullFix(failed)
	}
	return first
}

// imageUsers maps each image the services run in containers to the
// services that run it (services run on the host have none).
func imageUsers(svcs []stack.Service) map[string][]stack.Service {
	out := map[string][]stack.Service{}
	for _, s := range svcs {
		if s.Docker == nil {
			continue
		}
		// The image does not depend on ports or secrets, so a bare Runtime
		// is enough before the stack exists.
		spec, err := s.Docker(&stack.Runtime{Backend: "docker"})
		if err != nil || spec.Host || spec.Image == "" {
			continue
		}
		out[spec.Image] = append(out[spec.Image], s)
	}
	return out
}

// present makes one image present and describes it. With a digest (the
// lock's pin) an absent image is pulled by it, then tagged ref.
func (b *Backend) present(ctx context.Context, cli *client.Client, ref, digest string, users []stack.Service, sink stack.Sink) (stack.Image, error) {
	t0 := time.Now()
	ev := func(kind stack.EventKind, done, total int64, msg string) {
		sink.Event(stack.Event{Time: time.Now(), Service: ref, Kind: kind, Step: stack.StepPull,
			Done: done, Total: total, Elapsed: time.Since(t0), Message: msg})
	}
	img, err := cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		ev(stack.EventPulled, 0, 0, "already present")
	case !cerrdefs.IsNotFound(err):
		return stack.Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	default:
		if err := b.download(ctx, cli, ref, digest, users, ev); err != nil {
			return stack.Image{}, err
		}
		if img, err = cli.ImageInspect(ctx, ref); err != nil {
			return stack.Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	out := stack.Image{Ref: ref, ID: img.ID, Digest: repoDigest(ref, img.RepoDigests)}
	out.Local = out.Digest == ""
	for _, s := range users {
		out.Services = append(out.Services, s.Name)
	}
	return out, nil
}

// download pulls ref, or its pinned digest then tags it ref, reporting
// progress through ev.
func (b *Backend) download(ctx context.Context, cli *client.Client, ref, digest string, users []stack.Service,
	ev func(kind stack.EventKind, done, total int64, msg string)) error {
	from, msg := ref, ""
	if digest != "" {
		from, msg = digest, "pinned by mossdev.lock: "+digest
	}
	ev(stack.EventPulling, 0, 0, msg)
	var n sofar
	var last time.Time // touched by the pull's goroutine only
	err := b.pull(ctx, cli, from, func(d, t int64) {
		n.set(d, t)
		if time.Since(last) >= pullEvery {
			last = time.Now()
			ev(stack.EventPulling, d, t, "")
		}
	})
	if err == nil && digest != "" {
		_, err = cli.ImageTag(ctx, client.ImageTagOptions{Source: digest, Target: ref})
	}
	if err != nil {
		se := pullError(ctx, from, users, &n, err)
		d, t := n.get()
		ev(stack.EventFailed, d, t, se.Detail)
		return se
	}
	_, t := n.get()
	ev(stack.EventPulled, t, t, "pulled")
	return nil
}

// repoDigest picks, among an image's registry digests, the one of ref's
// repository (an image pulled from two mirrors has one per mirror).
func repoDigest(ref string, digests []string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	for _, d := range digests {
		if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
			return d
		}
	}
	return ""
}

// pull is one image pull shared by the callers that need the image.
type pull struct {
	done chan struct{}
	err  error
}

// pull pulls an image once for every caller that needs it at the same
// time; progress goes to the first caller's function.
func (b *Backend) pull(ctx context.Context, cli *client.Client, ref string, progress func(done, total int64)) error {
	b.pullMu.Lock()
	p, ok := b.pulls[ref]
	if !ok {
		p = &pull{done: make(chan struct{})}
		b.pulls[ref] = p
		go func() {
			p.err = fetch(ctx, cli, ref, progress)
			close(p.done)
			b.pullMu.Lock()
			delete(b.pulls, ref)
			b.pullMu.Unlock()
		}()
	}
	b.pullMu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch downloads an image from its registry. It is a variable so that a
// test can stand in for the one thing this machine lacks, a registry
// (export_test.go); everything around it talks to the real engine.
var fetch = fetchImage

// fetchImage pulls ref and reports bytes downloaded of the layers' sizes
// known so far (the engine learns a layer's size when its download
// starts, so Total grows at first, as docker pull's own bars do).
func fetchImage(ctx context.Context, cli *client.Client, ref string, progress func(done, total int64)) error {
	resp, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	type layer struct{ done, total int64 }
	layers := map[string]*layer{}
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if msg.Error != nil {
			return msg.Error
		}
		if msg.ID == "" {
			continue
		}
		l := layers[msg.ID]
		if l == nil {
			l = &layer{}
			layers[msg.ID] = l
		}
		switch {
		case msg.Status == "Downloading" && msg.Progress != nil:
			l.done, l.total = msg.Progress.Current, max(msg.Progress.Total, l.total)
		case msg.Status == "Download complete", msg.Status == "Already exists", msg.Status == "Pull complete":
			l.done = l.total
		default:
			continue
		}
		var done, total int64
		for _, l := range layers {
			done, total = done+l.done, total+l.total
		}
		progress(done, total)
	}
	return nil
}

// pullError is a failed or interrupted pull: the image, what the engine
// said (or that it was interrupted, with how far it got), and the ways
// out. It is never "not present": the image may well exist upstream.
func pullError(ctx context.Context, ref string, users []stack.Service, n *sofar, cause error) *stack.Error {
	var names []string
	for _, s := range users {
		names = append(names, s.Name)
	}
	e := &stack.Error{Op: "pull image " + ref, Service: strings.Join(names, ","), Err: stack.ErrImageMissing, Fix: pullFix(users)}
	if stop := context.Cause(ctx); stop != nil {
		// Ctrl-C (exit 130), or the caller's own deadline: said as such,
		// since the image may well be pullable.
		e.Err = fmt.Errorf("%w, %w", stack.ErrImageMissing, stop)
		what := "pull interrupted"
		if errors.Is(stop, context.DeadlineExceeded) {
			what = "pull ran out of time"
		}
		e.Detail = what + n.String() + "; nothing was started"
		return e
	}
	e.Detail = "the engine could not pull it" + n.String() + ": " + stack.FirstLine(cause.Error())
	return e
}

// sofar is how far a pull got. A pull runs in its own goroutine, which an
// interrupted caller does not wait for, hence the atomics.
type sofar struct{ done, total atomic.Int64 }

func (n *sofar) set(done, total int64)    { n.done.Store(done); n.total.Store(total) }
func (n *sofar) get() (done, total int64) { return n.done.Load(), n.total.Load() }

// pullFix is the way out of failed pulls: the override variables of the
// services' kinds, pulling ahead of time, or no images at all.
func pullFix(svcs []stack.Service) string {
	var vars []string
	for _, s := range svcs {
		if v := ImageEnvVar(s.Kind); !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	return fmt.Sprintf("point %s at a mirror or a local image, run `mossdev pull` ahead of time where its registry is reachable, or use --backend native",
		strings.Join(vars, " / "))
}

func (n *sofar) String() string {
	done, total := n.get()
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf(" after %.1f of %.1f MB", float64(done)/1e6, float64(total)/1e6)
}
