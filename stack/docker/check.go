package docker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/mossdev/mossdev/stack"
)

// Images lists the images the services run in containers (services run on
// the host have none), one entry per image, sorted.
func Images(svcs []stack.Service) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range svcs {
		if s.Docker == nil {
			continue
		}
		spec, err := s.Docker(&stack.Runtime{Backend: "docker"})
		if err != nil || spec.Host || spec.Image == "" || seen[spec.Image] {
			continue
		}
		seen[spec.Image] = true
		out = append(out, spec.Image)
	}
	sort.Strings(out)
	return out
}

// Check tells whether the docker backend can run these images on this
// machine now: the engine answers a ping, and every image is present, or
// its registry knows it (it would be pulled at the first up). It takes at
// most timeout. The error is a *stack.Error saying which of the two failed
// and how to fix it; Engine is the engine's version when it answered.
func Check(ctx context.Context, refs []string, timeout time.Duration) (engine string, err error) {
	configure()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cli, err := newClient(ctx)
	if err == nil {
		defer cli.Close()
		var v client.ServerVersionResult
		if v, err = cli.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
			engine = v.Version
		}
	}
	if err != nil {
		return "", unreachable(err)
	}
	var mu sync.Mutex
	var missing []string
	var causes []error
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Add(1)
		go func(ref string) {
			defer wg.Done()
			if _, err := cli.ImageInspect(ctx, ref); err == nil {
				return
			} else if !cerrdefs.IsNotFound(err) {
				mu.Lock()
				missing, causes = append(missing, ref), append(causes, err)
				mu.Unlock()
				return
			}
			// Not here: does its registry have it? (A manifest lookup, not a pull.)
			if _, err := cli.DistributionInspect(ctx, ref, client.DistributionInspectOptions{}); err != nil {
				mu.Lock()
				missing, causes = append(missing, ref), append(causes, err)
				mu.Unlock()
			}
		}(ref)
	}
	wg.Wait()
	if len(missing) == 0 {
		return engine, nil
	}
	sort.Strings(missing)
	return engine, &stack.Error{Op: "check images", Err: stack.ErrImageMissing,
		Detail: fmt.Sprintf("%s is not present and cannot be pulled (%s)", strings.Join(missing, ", "), firstLine(errors.Join(causes...).Error())),
		Fix:    "pull them (docker pull IMAGE), point MOSSDEV_IMAGE_<KIND> at a mirror or a local image, or use --backend native"}
}

var (
	notesMu sync.Mutex
	notes   = map[string]string{} // image → stand-in label, per process
)

// Adapt fits the service list of the stack in dir to the docker backend.
// Needs come from DockerSpec.Needs where it says so. A containerised
// service's stand-in note is its image's org.mossdev.stand-in label (CI's
// stand-ins say what they are), nothing for an official image: the label
// of the image its container runs, else of the image it would run now. A
// service run on the host keeps its note and says where it runs.
func Adapt(ctx context.Context, dir string, svcs []stack.Service) {
	refs := map[int]string{}
	for i, s := range svcs {
		if s.Docker == nil {
			continue
		}
		spec, err := s.Docker(&stack.Runtime{Backend: "docker"})
		if err != nil {
			continue
		}
		if spec.Needs != nil {
			svcs[i].Needs = spec.Needs
		}
		if spec.Host {
			if s.StandIn != "" {
				svcs[i].StandIn = s.StandIn + "; on the host, not in a container"
			}
			continue
		}
		refs[i] = spec.Image
	}
	running := containerNotes(ctx, dir)
	labels := standIns(ctx, refs)
	for i, ref := range refs {
		if note, ok := running[svcs[i].Name]; ok {
			svcs[i].StandIn = note
		} else {
			svcs[i].StandIn = labels[ref]
		}
	}
}

// containerNotes reads the stand-in label Start put on each container of
// the stack (absent for official images).
func containerNotes(ctx context.Context, dir string) map[string]string {
	out := map[string]string{}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return out
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", LabelStackDir+"="+dir)})
	if err != nil {
		return out
	}
	for _, c := range res.Items {
		if name := c.Labels[LabelService]; name != "" {
			out[name] = c.Labels[LabelStandIn]
		}
	}
	return out
}

// standIns reads the stand-in label of each image (cached per process).
func standIns(ctx context.Context, refs map[int]string) map[string]string {
	out := map[string]string{}
	var todo []string
	notesMu.Lock()
	for _, ref := range refs {
		if v, ok := notes[ref]; ok {
			out[ref] = v
		} else if _, dup := out[ref]; !dup {
			out[ref] = ""
			todo = append(todo, ref)
		}
	}
	notesMu.Unlock()
	if len(todo) == 0 {
		return out
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return out
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ref := range todo {
		wg.Add(1)
		go func(ref string) {
			defer wg.Done()
			img, err := cli.ImageInspect(ctx, ref)
			if err != nil {
				return // absent (not pulled yet) or no engine: no note, not cached
			}
			label := ""
			if img.Config != nil {
				label = img.Config.Labels[LabelStandIn]
			}
			mu.Lock()
			out[ref] = label
			mu.Unlock()
			notesMu.Lock()
			notes[ref] = label
			notesMu.Unlock()
		}(ref)
	}
	wg.Wait()
	return out
}
