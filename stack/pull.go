package stack

import (
	"context"
	"fmt"
)

// Image is one image a stack's services run from, as the engine has it
// after a pull.
type Image struct {
	Ref string `json:"ref"` // as the services name it: redis:7.2, or a MOSSDEV_IMAGE_<KIND> override
	// Digest is the registry's content digest (repo@sha256:…) when the image
	// came from a registry; empty for an image built or imported here.
	Digest string `json:"digest,omitempty"`
	// ID is the engine's image ID (the config's sha256): what pins an image
	// that has no registry digest.
	ID string `json:"id"`
	// Local marks an image with no registry digest: pinned by ID, which
	// another machine only has if it builds the same bytes.
	Local    bool     `json:"local,omitempty"`
	Services []string `json:"services"`
}

// Puller is a Backend whose services run from images that may have to be
// fetched first (docker). It is optional, found by type assertion as
// database/sql/driver finds its optional interfaces: Up calls Pull for the
// selected services before anything of the stack is written or started,
// and before the start deadline (Config.Timeout) begins, so a slow first
// download is bounded only by Up's ctx (Ctrl-C) and never reported as a
// start timeout. A backend without it (native: the servers are installed
// binaries, which Start checks) goes straight to starting, and there is no
// image lock to check.
type Puller interface {
	// Pull makes every image the services run from present locally:
	// nothing for an image already there, else a pull that reports
	// EventPulling (Step StepPull, Service the image, Done/Total bytes) as
	// it goes. It returns each image as the engine has it. A failed or
	// cancelled pull is a *Error naming the image, the engine's reason and
	// the fix, wrapping ErrImageMissing (and ctx's error when cancelled).
	//
	// pinned, when not nil, is the lock: an absent image it pins by
	// registry digest is pulled by that digest and given its tag, so a
	// machine that never had it gets the pinned bytes, not whatever the
	// tag names today. Checking what is present against the lock is the
	// caller's (Lock.Check).
	Pull(ctx context.Context, svcs []Service, pinned *ImageLock, sink Sink) ([]Image, error)
}

// Pull fetches the images of the selected services (all when only is
// empty, plus their needs), on a backend that has images (see Puller).
// It needs no stack to exist and writes nothing: `mossdev pull` runs it
// ahead of the first up. ok is false when the backend has nothing to pull.
func (s *Stack) Pull(ctx context.Context, only []string) (imgs []Image, ok bool, err error) {
	sel, err := Select(s.all, only)
	if err != nil {
		return nil, false, err
	}
	p, ok := s.backend.(Puller)
	if !ok {
		return nil, false, nil
	}
	// No lock: pull is how a lock is updated to what the tags name now.
	imgs, err = p.Pull(ctx, sel, nil, s.cfg.Sink)
	return imgs, true, err
}

// pull is Up's pull phase: images present, then checked against the lock
// file when there is one (Config.Lock).
func (s *Stack) pull(ctx context.Context, sel []Service) error {
	p, ok := s.backend.(Puller)
	if !ok {
		return nil
	}
	var lock *ImageLock
	if s.cfg.Lock != "" {
		var err error
		if lock, err = ReadLock(s.cfg.Lock); err != nil {
			return err
		}
	}
	imgs, err := p.Pull(ctx, sel, lock, s.cfg.Sink)
	if err != nil || lock == nil {
		return err
	}
	drifts := lock.Check(imgs)
	for _, d := range drifts {
		s.cfg.Sink.Event(Event{Service: d.Ref, Kind: EventDrifted, Step: StepPull, Message: d.String()})
	}
	if len(drifts) > 0 {
		return &Error{Op: "check images against " + s.cfg.Lock, Err: ErrDrift, Detail: drifts[0].String() + moreDrifts(len(drifts)),
			Fix: "`mossdev pull` to update the lock to what is here now, or delete " + s.cfg.Lock}
	}
	return nil
}

func moreDrifts(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (and %d more)", n-1)
}
