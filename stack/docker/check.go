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
	var out []string
	for ref := range imageUsers(svcs) {
		out = append(out, ref)
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
		Detail: fmt.Sprintf("%s: not here, and the registry lookup failed (%s)", strings.Join(missing, ", "), stack.FirstLine(errors.Join(causes...).Error())),
		Fix:    "run `mossdev pull` where the registry is reachable, point MOSSDEV_IMAGE_<KIND> at a mirror or a local image, or use --backend native"}
}
