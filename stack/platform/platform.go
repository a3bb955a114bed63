// Package platform is the composition root: it opens a stack of the Mossi
// platform (package services) on a backend by name. The CLI and the Go API
// (stacktest) both open stacks through it, so they cannot drift apart.
package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/native"
	"github.com/mossdev/mossdev/stack/services"
)

// Backends lists the backend names Open accepts. "auto" is docker when the
// engine answers and every image is present or pullable, else native.
var Backends = []string{"auto", "native", "docker"}

// Open opens (without starting) the named stack of the Mossi platform. An
// existing stack keeps the backend it was created with; "auto" chooses one
// for a new stack (see Choose), which is the only case where opening a
// stack contacts anything: the service list is final once built for the
// backend, so `mossdev env` on a docker stack makes no call to the engine.
func Open(cfg stack.Config) (*stack.Stack, error) {
	if cfg.Backend == "auto" {
		cfg.Backend, _ = Pick(context.Background(), cfg)
	}
	cfg.Services = services.Platform
	cfg.NewBackend = newBackend
	return stack.Open(cfg)
}

// Existing returns the backend of the named stack under root, or "" when
// it was never brought up.
func Existing(name, root string) string {
	dir, err := stackDir(name, root)
	if err != nil {
		return ""
	}
	st, err := stack.LoadState(dir)
	if err != nil {
		return ""
	}
	return st.Backend
}

// stackDir is where the named stack lives under root, as stack.Open finds
// it (empty name: "default"; empty root: stack.DefaultRoot()).
func stackDir(name, root string) (string, error) {
	if name == "" {
		name = "default"
	}
	if root == "" {
		root = stack.DefaultRoot()
	}
	if err := stack.CheckName(name); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("resolve stack root: %w", err)
	}
	return filepath.Join(abs, name), nil
}

// Choose picks the backend for a new stack under "auto": docker when an
// engine answers and every image the services need is present or can be
// pulled, otherwise native. why says which and why in one line.
func Choose(ctx context.Context, o stack.Options) (backend, why string) {
	if o == (stack.Options{}) {
		o = stack.DefaultOptions()
	}
	refs := docker.Images(services.Platform(o, "docker"))
	engine, err := docker.Check(ctx, refs, 5*time.Second)
	if err != nil {
		reason := err.Error()
		var se *stack.Error
		if errors.As(err, &se) {
			switch {
			case errors.Is(err, stack.ErrImageMissing):
				reason = "docker image " + se.Detail
			default:
				reason = "no docker engine answers (" + se.Detail + ")"
			}
		}
		return "native", "backend native (auto): " + reason
	}
	return "docker", fmt.Sprintf("backend docker (auto): the engine (%s) answers and all %d images are present or pullable", engine, len(refs))
}

// Pick names the backend cfg's stack will run on, so the caller can open
// it with that and say why: the stack's own when it exists, the one asked
// for, or for "auto" the one Choose picks. why is Choose's line, and empty
// when nothing was chosen.
func Pick(ctx context.Context, cfg stack.Config) (backend, why string) {
	if cfg.Backend != "auto" {
		return cfg.Backend, ""
	}
	dir, err := stackDir(cfg.Name, cfg.Root)
	if err != nil {
		return "", "" // Open reports the bad name
	}
	st, err := stack.LoadState(dir)
	switch {
	case err == nil:
		return st.Backend, ""
	case !errors.Is(err, stack.ErrNoStack):
		return "", "" // a damaged state: Open reports it; choosing would be noise
	}
	return Choose(ctx, cfg.Options)
}

func newBackend(name, stackName, dir string) (stack.Backend, error) {
	switch name {
	case "native", "":
		return native.New(stackName, dir), nil
	case "docker":
		return docker.New(stackName, dir), nil
	default:
		return nil, &stack.Error{Op: "choose backend", Err: stack.ErrBadInput, Detail: fmt.Sprintf("%q", name),
			Fix: "use --backend auto, native or docker"}
	}
}

// Purge removes a stack whose state cannot be read (ErrDamaged), so `down`
// always works: whatever the file says, every process carrying the stack's
// label (native, and the host-run fakes of docker) and every container,
// network and volume carrying it (when an engine answers) is removed, then
// the directory.
func Purge(ctx context.Context, name, root string) error {
	dir, err := stackDir(name, root)
	if err != nil {
		return err
	}
	if name == "" {
		name = "default"
	}
	var errs []error
	if err := native.New(name, dir).Remove(ctx, false); err != nil {
		errs = append(errs, err)
	}
	if _, err := docker.Check(ctx, nil, 3*time.Second); err == nil { // an engine answers
		if err := docker.New(name, dir).Remove(ctx, false); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
	}
	return errors.Join(errs...)
}
