package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LockFile is the name of the image lock `mossdev pull` writes and `up`
// checks, in the directory mossdev runs in, so a team commits it next to
// its code.
const LockFile = "mossdev.lock"

// ErrDrift is an image that is not the one the lock pins: the tag now
// names other bytes. It is a missing image (exit 5): the pinned one is not
// here.
var ErrDrift = fmt.Errorf("image differs from the lock: %w", ErrImageMissing)

// ImageLock pins each image a stack runs by content, so every machine that
// honours it runs the same bytes. It only concerns backends that run
// images (see Puller); native ignores it.
type ImageLock struct {
	// Version lets a later mossdev read an older lock.
	// No timestamp: pulling the same images again leaves a committed
	// lock unchanged.
	Version int     `json:"version"`
	Images  []Image `json:"images"` // sorted by Ref
}

// lockVersion is the format Version this mossdev writes.
const lockVersion = 1

// NewLock is the lock of these images.
func NewLock(imgs []Image) *ImageLock {
	l := &ImageLock{Version: lockVersion, Images: append([]Image(nil), imgs...)}
	sort.Slice(l.Images, func(i, j int) bool { return l.Images[i].Ref < l.Images[j].Ref })
	return l
}

// ReadLock reads a lock file; a missing file is no lock (nil, nil).
func ReadLock(path string) (*ImageLock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Op: "read " + path, Err: ErrBadInput, Detail: err.Error(),
			Fix: "make it readable, or delete it (`mossdev pull` writes a new one)"}
	}
	var l ImageLock
	if err := json.Unmarshal(b, &l); err != nil || l.Version < 1 || l.Version > lockVersion {
		detail := fmt.Sprintf("version %d, this mossdev reads 1 to %d", l.Version, lockVersion)
		if err != nil {
			detail = "not a lock: " + err.Error()
		}
		return nil, &Error{Op: "read " + path, Err: ErrBadInput, Detail: detail,
			Fix: "run `mossdev pull` to write it again, or delete it"}
	}
	return &l, nil
}

// Write writes the lock to path atomically, so a reader never sees half a
// file.
func (l *ImageLock) Write(path string) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lock: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mossdev.lock-*")
	if err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write lock: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return nil
}

// Pinned returns the registry digest (repo@sha256:…) the lock pins ref
// to, or "" when it pins none: no lock, an image it does not name, or a
// local one, which no registry has.
func (l *ImageLock) Pinned(ref string) string {
	if l == nil {
		return ""
	}
	for _, p := range l.Images {
		if p.Ref == ref && !p.Local {
			return p.Digest
		}
	}
	return ""
}

// Drift is an image that is not what the lock pins.
type Drift struct {
	Ref       string
	Want, Got string // digest, or ID for a local image; Want empty: the lock has no such image
}

func (d Drift) String() string {
	if d.Want == "" {
		return fmt.Sprintf("%s is not in the lock (it pins other images)", d.Ref)
	}
	return fmt.Sprintf("%s is %s here, the lock pins %s", d.Ref, short(d.Got), short(d.Want))
}

// short cuts a digest or ID to what a person compares: algorithm and 12 hex.
func short(s string) string {
	if s == "" {
		return "nothing"
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' && len(s)-i > 13 {
			return s[:i+13]
		}
	}
	return s
}

// Check compares what is here with the lock: an image from a registry must
// have the pinned registry digest (the same on every machine and platform),
// a local one the pinned image ID. An image the lock does not name drifts
// too: the lock says what runs, and a MOSSDEV_IMAGE_<KIND> override that
// names another image is not it.
func (l *ImageLock) Check(imgs []Image) []Drift {
	pinned := map[string]Image{}
	for _, p := range l.Images {
		pinned[p.Ref] = p
	}
	var out []Drift
	for _, img := range imgs {
		p, ok := pinned[img.Ref]
		switch {
		case !ok:
			out = append(out, Drift{Ref: img.Ref, Got: pin(img)})
		case pin(p) != pin(img):
			out = append(out, Drift{Ref: img.Ref, Want: pin(p), Got: pin(img)})
		}
	}
	return out
}

// pin is what identifies an image's bytes across machines.
func pin(img Image) string {
	if img.Local || img.Digest == "" {
		return img.ID
	}
	return img.Digest
}
