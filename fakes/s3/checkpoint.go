package s3

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checkpoints: named, consistent copies of every bucket, kept under
// Config.Dir/checkpoints as one bbolt file each (NAME.bolt). mossdev's
// whole-stack checkpoints ask each store to save and restore its part; this
// is the S3 fake's.

// CheckpointDir is the directory under Config.Dir that holds checkpoints.
const CheckpointDir = "checkpoints"

const (
	ckExt = ".bolt"
	// tmpPrefix marks files being written; they are never listed and are
	// removed at the next start, so a killed save leaves nothing behind.
	tmpPrefix = ".tmp-"
	// restoringSuffix is the store copy a full restore builds before it
	// renames it over the live store.
	restoringSuffix = ".restoring"
)

// Errors of checkpoint operations, for errors.Is (also on the Admin
// client's errors).
var (
	ErrBadCheckpointName = errors.New("bad checkpoint name")
	ErrNoCheckpoint      = errors.New("no such checkpoint")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// CheckName returns nil when name can name a checkpoint: letters, digits,
// '.', '_' and '-', starting with a letter or digit, at most 128 characters.
// So a name is always one plain file name (no path traversal, no hidden
// file).
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters", ErrBadCheckpointName, name)
	}
	return nil
}

// Checkpoint describes a saved checkpoint.
type Checkpoint struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

// Restored describes a finished restore.
type Restored struct {
	Name string `json:"name"`
	// Changes is how many buckets and keys were rewritten, or -1 after a
	// full copy (done when the changes since the checkpoint are unknown,
	// e.g. after restoring another checkpoint by a full copy).
	Changes int  `json:"changes"`
	Full    bool `json:"full"`
}

func (s *Server) ckPath(name string) string {
	return filepath.Join(s.dir, CheckpointDir, name+ckExt)
}

// cleanLeftovers removes what a killed save or full restore left. Before
// the store is opened, so a half-built store copy never replaces it.
func cleanLeftovers(dir string) error {
	if err := os.Remove(filepath.Join(dir, StoreFile+restoringSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove unfinished restore: %w", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, CheckpointDir, tmpPrefix+"*"))
	for _, t := range tmps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove unfinished checkpoint: %w", err)
		}
	}
	return nil
}

func randHex() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Save writes checkpoint name: every bucket as it is at one instant (one
// bbolt read transaction, begun while no write is in flight). An existing
// checkpoint of that name is replaced. Reads and writes go on meanwhile.
func (s *Server) Save(name string) (Checkpoint, error) {
	if err := CheckName(name); err != nil {
		return Checkpoint{}, err
	}
	s.ck.Lock()
	defer s.ck.Unlock()
	s.gate.RLock() // the store is not swapped or closed under us
	defer s.gate.RUnlock()
	fail := func(err error) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("save checkpoint %q: %w", name, err)
	}
	dir := filepath.Join(s.dir, CheckpointDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	gen, err := randHex()
	if err != nil {
		return fail(err)
	}
	tmp := filepath.Join(dir, tmpPrefix+name+"-"+gen)
	defer os.Remove(tmp) // a no-op once renamed

	// Writes are marked from now on; and no write is between its mark
	// and its commit while the snapshot begins, so every write after it
	// has a mark newer than seq.
	s.on.Store(true)
	s.writes.Lock()
	tx, err := s.st.db.Begin(false)
	s.writes.Unlock()
	if err != nil {
		return fail(err)
	}
	seq := currentSeq(tx)
	err = tx.CopyFile(tmp, 0o600)
	_ = tx.Rollback()
	if err != nil {
		return fail(err)
	}
	if err := stamp(tmp, func(tx *bolt.Tx) error {
		t, err := resetTracking(tx)
		if err != nil {
			return err
		}
		return t.Put(genKey, []byte(gen))
	}); err != nil {
		return fail(err)
	}
	final := s.ckPath(name)
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := s.st.db.Update(func(tx *bolt.Tx) error {
		t, err := trackingOf(tx)
		if err != nil {
			return err
		}
		if err := putBase(t, name, base{Gen: gen, Seq: seq}); err != nil {
			return err
		}
		return prune(t)
	}); err != nil {
		// The checkpoint is whole; only its next restore will be a
		// full copy.
		return fail(fmt.Errorf("record checkpoint base: %w", err))
	}
	fi, err := os.Stat(final)
	if err != nil {
		return fail(err)
	}
	return Checkpoint{Name: name, Size: fi.Size(), Created: fi.ModTime()}, nil
}

// stamp opens the bbolt file at path and runs fn in a write transaction.
func stamp(path string, fn func(*bolt.Tx) error) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	db.NoSync = true // see New: a process crash loses nothing
	return errors.Join(db.Update(fn), db.Close())
}

// List returns the saved checkpoints by name.
func (s *Server) List() ([]Checkpoint, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, CheckpointDir))
	if errors.Is(err, fs.ErrNotExist) {
		return []Checkpoint{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	out := []Checkpoint{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ckExt)
		if !ok || e.IsDir() || CheckName(name) != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, Checkpoint{Name: name, Size: fi.Size(), Created: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes checkpoint name.
func (s *Server) Delete(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	s.ck.Lock()
	defer s.ck.Unlock()
	s.gate.RLock()
	defer s.gate.RUnlock()
	if err := os.Remove(s.ckPath(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete checkpoint %q: %w (list them with GET /_mossdev/checkpoints)", name, ErrNoCheckpoint)
		}
		return fmt.Errorf("delete checkpoint %q: %w", name, err)
	}
	err := s.st.db.Update(func(tx *bolt.Tx) error {
		t, err := trackingOf(tx)
		if err != nil {
			return err
		}
		if err := t.Bucket(basesBucket).Delete([]byte(name)); err != nil {
			return err
		}
		return prune(t)
	})
	s.on.Store(hasBases(s.st.db))
	if err != nil {
		return fmt.Errorf("delete checkpoint %q: forget its base: %w", name, err)
	}
	return nil
}

// Restore puts every bucket back exactly as checkpoint name saved it
// (buckets, keys, bodies, metadata, ETags). S3 requests wait meanwhile.
//
// When the live store descends from the checkpoint (it was saved or
// restored since the checkpoint was written), only the buckets and keys
// changed since are rewritten, in one bbolt transaction: a kill leaves the
// old state or the checkpoint's. Otherwise the checkpoint file is copied and
// renamed over the store, which is as crash-safe (a kill before the rename
// leaves the old store and a leftover that the next start removes).
func (s *Server) Restore(name string) (Restored, error) {
	if err := CheckName(name); err != nil {
		return Restored{}, err
	}
	s.ck.Lock()
	defer s.ck.Unlock()
	fail := func(err error) (Restored, error) {
		return Restored{}, fmt.Errorf("restore checkpoint %q: %w", name, err)
	}
	path := s.ckPath(name)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("%w (list them with GET /_mossdev/checkpoints)", ErrNoCheckpoint))
		}
		return fail(err)
	}
	s.gate.Lock()
	defer s.gate.Unlock()

	cdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return fail(fmt.Errorf("open checkpoint: %w", err))
	}
	var gen string
	_ = cdb.View(func(tx *bolt.Tx) error {
		if t, _ := trackingOf(tx); t != nil {
			gen = string(t.Get(genKey))
		}
		return nil
	})
	var b base
	var known bool
	_ = s.st.db.View(func(tx *bolt.Tx) error {
		if t, _ := trackingOf(tx); t != nil && t.Bucket(basesBucket) != nil {
			b, known = getBase(t, name)
		}
		return nil
	})
	if gen != "" && known && b.Gen == gen {
		n, err := s.restoreChanges(cdb, name, b)
		_ = cdb.Close()
		if err != nil {
			return fail(err)
		}
		return Restored{Name: name, Changes: n}, nil
	}
	_ = cdb.Close()
	if err := s.restoreFull(path, name, gen); err != nil {
		return fail(err)
	}
	return Restored{Name: name, Changes: -1, Full: true}, nil
}

// restoreChanges rewrites, from checkpoint cdb, the buckets and keys
// changed since b, and makes them count as changed for every other
// checkpoint.
func (s *Server) restoreChanges(cdb *bolt.DB, name string, b base) (int, error) {
	ctx, err := cdb.Begin(false)
	if err != nil {
		return 0, err
	}
	// Values put below point into ctx's pages until the commit.
	defer func() { _ = ctx.Rollback() }()
	n := 0
	err = s.st.db.Update(func(tx *bolt.Tx) error {
		t, err := trackingOf(tx)
		if err != nil {
			return err
		}
		ch := t.Bucket(changedBucket)
		var changed [][]byte
		if err := ch.ForEach(func(k, v []byte) error {
			if u64(v) > b.Seq {
				changed = append(changed, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		n = len(changed)
		// Buckets first, so keys land in buckets that exist.
		for _, k := range changed {
			if bk, key := splitChangeKey(k); key == "" {
				if err := restoreBucket(ctx, tx, bk); err != nil {
					return err
				}
			}
		}
		for _, k := range changed {
			bk, key := splitChangeKey(k)
			if key == "" {
				continue
			}
			cb, lb := ctx.Bucket([]byte(bk)), tx.Bucket([]byte(bk))
			switch {
			case cb == nil && lb == nil:
				continue
			case cb == nil:
				if err := lb.Delete([]byte(key)); err != nil {
					return err
				}
				continue
			case lb == nil:
				// Only if a bucket's own mark were missing.
				if err := restoreBucket(ctx, tx, bk); err != nil {
					return err
				}
				lb = tx.Bucket([]byte(bk))
			}
			if v := cb.Get([]byte(key)); v != nil {
				err = lb.Put([]byte(key), v)
			} else {
				err = lb.Delete([]byte(key))
			}
			if err != nil {
				return err
			}
		}
		seq := u64(t.Get(seqKey)) + 1
		if err := t.Put(seqKey, u64b(seq)); err != nil {
			return err
		}
		for _, k := range changed {
			if err := ch.Put(k, u64b(seq)); err != nil {
				return err
			}
		}
		if err := putBase(t, name, base{Gen: b.Gen, Seq: seq}); err != nil {
			return err
		}
		return prune(t)
	})
	return n, err
}

// restoreBucket makes bucket name exist in tx (with gofakes3's metadata)
// exactly when it exists in checkpoint ctx.
func restoreBucket(ctx, tx *bolt.Tx, name string) error {
	metaKey := []byte("bucket/" + name) // s3bolt's bucket metadata key
	live, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	if ctx.Bucket([]byte(name)) == nil {
		if tx.Bucket([]byte(name)) != nil {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return live.Delete(metaKey)
	}
	if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
		return err
	}
	if cm := ctx.Bucket(metaBucket); cm != nil {
		if v := cm.Get(metaKey); v != nil {
			return live.Put(metaKey, v)
		}
	}
	return live.Delete(metaKey)
}

// restoreFull replaces the live store with a copy of checkpoint path. The
// caller holds the gate exclusively.
func (s *Server) restoreFull(path, name, gen string) error {
	live := filepath.Join(s.dir, StoreFile)
	tmp := live + restoringSuffix
	defer os.Remove(tmp) // a no-op once renamed
	if err := copyFile(path, tmp); err != nil {
		return fmt.Errorf("copy checkpoint: %w", err)
	}
	// The copy now equals the checkpoint; what changed since other
	// checkpoints is unknown, so their next restores are full copies.
	if gen == "" {
		var err error
		if gen, err = randHex(); err != nil {
			return err
		}
	}
	if err := stamp(tmp, func(tx *bolt.Tx) error {
		t, err := resetTracking(tx)
		if err != nil {
			return err
		}
		if err := t.Put(seqKey, u64b(1)); err != nil {
			return err
		}
		return putBase(t, name, base{Gen: gen, Seq: 1})
	}); err != nil {
		return fmt.Errorf("prepare store copy: %w", err)
	}
	if err := s.st.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	renameErr := os.Rename(tmp, live)
	// Reopen whatever is live now (the old store if the rename failed),
	// so the fake keeps serving.
	st, err := s.open(live)
	if err != nil {
		return errors.Join(renameErr, fmt.Errorf("reopen store: %w (restart the s3 fake)", err))
	}
	s.st = st
	s.on.Store(hasBases(st.db))
	return renameErr
}

// copyFile copies src to dst; os.File.ReadFrom uses copy_file_range on
// Linux, so the bytes do not pass through this process. Not fsynced, as the
// store itself is not (see New): a crash of this process loses nothing.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
