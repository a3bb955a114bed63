package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	fakes3 "github.com/mossdev/mossdev/fakes/s3"
	"github.com/mossdev/mossdev/seed/load"
)

// s3Store keeps a checkpoint beside the S3 fake's bucket store, through the
// fake's admin API (SigV4-signed like any S3 request): a consistent copy
// of the store, and a restore that rewrites only the keys changed since
// (the fake tracks them), with S3 requests held meanwhile. S3 itself has
// no such API: mossdev's stack always runs its own fake.
type s3Store struct {
	admin fakes3.Admin
	// dir is the fake's data directory on this machine (it always runs
	// on the host), where its checkpoint files are.
	dir string
}

func newS3(ctx context.Context, t Target) (*s3Store, error) {
	s := &s3Store{admin: fakes3.Admin{Endpoint: t.Targets.S3.Endpoint, AccessKey: t.Targets.S3.AccessKey, SecretKey: t.Targets.S3.SecretKey},
		dir: t.Env.DataDir(load.S3)}
	if _, err := s.admin.List(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *s3Store) name() string { return load.S3 }
func (s *s3Store) method() string {
	return "copy of the fake's bucket store (bbolt, one read transaction); restore rewrites the keys changed since"
}
func (s *s3Store) close() {}

// The store's format is gofakes3's on bbolt, which the mossdev binary
// pins.
func (s *s3Store) version(context.Context) (string, error) {
	return "mossdev S3 fake (gofakes3 on bbolt)", nil
}

func (s *s3Store) hold(ctx context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	if _, err := s.admin.Pause(ctx, holdFor); err != nil {
		return nil, nil, err
	}
	save := func(ctx context.Context) (Part, error) {
		ck, err := s.admin.Save(ctx, id)
		return Part{Bytes: ck.Size}, err
	}
	return save, func() { _ = s.admin.Resume(context.Background()) }, nil
}

func (s *s3Store) restore(ctx context.Context, id, _ string, _ Part, _ Options) (string, error) {
	res, err := s.admin.Restore(ctx, id)
	if err != nil {
		return "", err
	}
	if res.Full {
		return "copied the saved bucket store back", nil
	}
	return fmt.Sprintf("rewrote %d changed keys", res.Changes), nil
}

func (s *s3Store) ids(ctx context.Context) ([]string, error) {
	cks, err := s.admin.List(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cks))
	for i, c := range cks {
		ids[i] = c.Name
	}
	return ids, nil
}

func (s *s3Store) remove(ctx context.Context, id string) error {
	if err := s.admin.Delete(ctx, id); err != nil && !errors.Is(err, fakes3.ErrNoCheckpoint) {
		return err
	}
	return nil
}

// release resumes writes a killed save left paused.
func (s *s3Store) release(ctx context.Context) { _ = s.admin.Resume(ctx) }

// The seed cache keeps the fake's checkpoint file (a hard link: the fake
// never writes one in place).
func (s *s3Store) cacheVersion(ctx context.Context) (string, error) { return s.version(ctx) }

func (s *s3Store) ckFile(name string) string {
	return filepath.Join(s.dir, fakes3.CheckpointDir, name+".bolt")
}

func (s *s3Store) export(_ context.Context, id, dir string) (int64, bool, error) {
	if _, err := os.Stat(s.ckFile(id)); err != nil {
		return 0, false, nil
	}
	n, err := linkTree(s.ckFile(id), filepath.Join(dir, "s3.bolt"), -1, -1)
	return n, err == nil, err
}

// load drops the cached file in as a checkpoint of the fake's and restores
// it (a full copy: the fake knows nothing of its changes), then deletes it.
func (s *s3Store) load(ctx context.Context, dir string, _ Options) error {
	const name = "seed-cache"
	dst := s.ckFile(name)
	_ = os.Remove(dst)
	// The fake runs as its own user (native, as root): what it reads must
	// be that user's, like its data directory.
	uid, gid := owner(s.dir)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Lchown(filepath.Dir(dst), uid, gid); err != nil {
			return err
		}
	}
	if _, err := linkTree(filepath.Join(dir, "s3.bolt"), dst, uid, gid); err != nil {
		return err
	}
	defer func() { _ = s.admin.Delete(context.WithoutCancel(ctx), name) }()
	_, err := s.admin.Restore(ctx, name)
	return err
}
