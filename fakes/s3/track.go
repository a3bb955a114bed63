package s3

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/johannesboyne/gofakes3"
	bolt "go.etcd.io/bbolt"
)

// Change tracking, so that restoring a checkpoint rewrites only what changed
// since it (O(changes)) instead of copying a store of several gigabytes.
//
// The fake sees every write, so before each write it records the written
// bucket/key with a sequence number in the store itself ("changed"), and each
// checkpoint X remembers the sequence number at which the live store equalled
// it ("bases"). The keys that differ between the live store and X are then
// exactly those whose last change is newer than X's base. Restoring X rewrites
// them and marks them changed again (so they count as changed for every other
// checkpoint), and X's base becomes the new sequence number. A key is marked
// before it is written: a mark whose write failed only makes a restore copy
// one key it did not need to. Marks live in the same bbolt file as the data,
// so a restore updates data and tracking in one transaction (crash-safe).
//
// The tracking lives in a nested bucket of gofakes3's own "_meta" bucket:
// a top-level bucket would be listed as an S3 bucket, and the name of a
// nested bucket cannot collide with gofakes3's "bucket/NAME" metadata keys.
var (
	metaBucket    = []byte("_meta")
	trackBucket   = []byte("mossdev")
	seqKey        = []byte("seq")
	genKey        = []byte("gen")
	changedBucket = []byte("changed")
	basesBucket   = []byte("bases")
)

// base is where the live store last equalled checkpoint Gen.
type base struct {
	Gen string `json:"gen"`
	Seq uint64 `json:"seq"`
}

// changeKey names an object (bucket NUL key) or, with an empty key, the
// bucket itself; S3 keys are never empty and bucket names hold no NUL.
func changeKey(bucket, key string) []byte {
	return []byte(bucket + "\x00" + key)
}

func splitChangeKey(k []byte) (bucket, key string) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), string(k[i+1:])
		}
	}
	return string(k), ""
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func u64b(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// trackingOf returns the tracking bucket of tx, creating it when tx is
// writable; nil in a read-only tx of a store without one.
func trackingOf(tx *bolt.Tx) (*bolt.Bucket, error) {
	if !tx.Writable() {
		if m := tx.Bucket(metaBucket); m != nil {
			return m.Bucket(trackBucket), nil
		}
		return nil, nil
	}
	m, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return nil, err
	}
	t, err := m.CreateBucketIfNotExists(trackBucket)
	if err != nil {
		return nil, err
	}
	if _, err := t.CreateBucketIfNotExists(changedBucket); err != nil {
		return nil, err
	}
	if _, err := t.CreateBucketIfNotExists(basesBucket); err != nil {
		return nil, err
	}
	return t, nil
}

// resetTracking replaces the tracking of tx with an empty one.
func resetTracking(tx *bolt.Tx) (*bolt.Bucket, error) {
	if m := tx.Bucket(metaBucket); m != nil && m.Bucket(trackBucket) != nil {
		if err := m.DeleteBucket(trackBucket); err != nil {
			return nil, err
		}
	}
	return trackingOf(tx)
}

// currentSeq is the last sequence number handed out in tx's store.
func currentSeq(tx *bolt.Tx) uint64 {
	t, _ := trackingOf(tx)
	if t == nil {
		return 0
	}
	return u64(t.Get(seqKey))
}

func getBase(t *bolt.Bucket, name string) (base, bool) {
	v := t.Bucket(basesBucket).Get([]byte(name))
	if v == nil {
		return base{}, false
	}
	var b base
	if json.Unmarshal(v, &b) != nil {
		return base{}, false
	}
	return b, true
}

func putBase(t *bolt.Bucket, name string, b base) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return t.Bucket(basesBucket).Put([]byte(name), v)
}

// hasBases reports whether any checkpoint is tracked, i.e. whether writes
// must be marked.
func hasBases(db *bolt.DB) bool {
	found := false
	_ = db.View(func(tx *bolt.Tx) error {
		t, _ := trackingOf(tx)
		if t != nil {
			if b := t.Bucket(basesBucket); b != nil {
				k, _ := b.Cursor().First()
				found = k != nil
			}
		}
		return nil
	})
	return found
}

// prune drops marks that no tracked checkpoint needs any more (older than
// every base), so the change list stays as short as the changes since the
// oldest checkpoint.
func prune(t *bolt.Bucket) error {
	min := u64(t.Get(seqKey))
	if err := t.Bucket(basesBucket).ForEach(func(_, v []byte) error {
		var b base
		if json.Unmarshal(v, &b) == nil && b.Seq < min {
			min = b.Seq
		}
		return nil
	}); err != nil {
		return err
	}
	ch := t.Bucket(changedBucket)
	var stale [][]byte
	if err := ch.ForEach(func(k, v []byte) error {
		if u64(v) <= min {
			stale = append(stale, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range stale {
		if err := ch.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// tracked wraps gofakes3's bbolt backend and marks each bucket and key before
// it is written. It embeds only gofakes3.Backend, like s3bolt itself
// implements: multipart uploads stay in gofakes3's memory and reach the
// store through PutObject.
type tracked struct {
	gofakes3.Backend
	db *bolt.DB
	// mu keeps reads of object bodies and writes apart: s3bolt decodes an
	// object with mgo's bson, whose []byte fields (the body, the MD5) alias
	// bbolt's memory map, and it returns them after its read transaction
	// ends; a write that grows the file remaps that memory, and a reader
	// still holding such a slice faults (seen as a SIGSEGV under parallel
	// reads and writes). Reads copy what they return while holding mu for
	// reading; writes hold it for writing.
	mu sync.RWMutex
	// on is false while no checkpoint exists: marks are skipped then, so
	// seeding a fresh store costs no extra transaction per image.
	on *atomic.Bool
}

func (b *tracked) mark(bucket string, keys ...string) error {
	if !b.on.Load() {
		return nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		t, err := trackingOf(tx)
		if err != nil {
			return err
		}
		seq := u64(t.Get(seqKey)) + 1
		if err := t.Put(seqKey, u64b(seq)); err != nil {
			return err
		}
		ch := t.Bucket(changedBucket)
		for _, k := range keys {
			if err := ch.Put(changeKey(bucket, k), u64b(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record change for checkpoints: %w", err)
	}
	return nil
}

func (b *tracked) CreateBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mark(name, ""); err != nil {
		return err
	}
	return b.Backend.CreateBucket(name)
}

func (b *tracked) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mark(name, ""); err != nil {
		return err
	}
	return b.Backend.DeleteBucket(name)
}

// ForceDeleteBucket (Minio's x-minio-force-delete) empties the bucket
// without deleting its keys one by one, so every key is marked first.
func (b *tracked) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := []string{""}
	_ = b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket([]byte(name)); bk != nil {
			return bk.ForEach(func(k, _ []byte) error {
				keys = append(keys, string(k))
				return nil
			})
		}
		return nil
	})
	if err := b.mark(name, keys...); err != nil {
		return err
	}
	return b.Backend.ForceDeleteBucket(name)
}

func (b *tracked) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	// The body is read before the lock: a slow client must not hold
	// every reader up.
	body, err := gofakes3.ReadAll(input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mark(bucket, key); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	return b.Backend.PutObject(bucket, key, meta, bytes.NewReader(body), size, cond)
}

// GetObject returns a copy of the object (see mu).
func (b *tracked) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj, err := b.Backend.GetObject(bucket, key, rng)
	if err != nil || obj == nil {
		return obj, err
	}
	return detach(obj)
}

// HeadObject returns a copy of the object's metadata (see mu).
func (b *tracked) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj, err := b.Backend.HeadObject(bucket, key)
	if err != nil || obj == nil {
		return obj, err
	}
	return detach(obj)
}

// ListBucket lists under the read lock: its entries are built from the
// store's memory too.
func (b *tracked) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.Backend.ListBucket(name, prefix, page)
}

// detach copies what obj holds of the store's memory: its body and MD5.
func detach(obj *gofakes3.Object) (*gofakes3.Object, error) {
	obj.Hash = bytes.Clone(obj.Hash)
	if obj.Contents != nil {
		body, err := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		if err != nil {
			return nil, err
		}
		obj.Contents = io.NopCloser(bytes.NewReader(body))
	}
	return obj, nil
}

func (b *tracked) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mark(bucket, key); err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	return b.Backend.DeleteObject(bucket, key)
}

func (b *tracked) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mark(bucket, keys...); err != nil {
		return gofakes3.MultiDeleteResult{}, err
	}
	return b.Backend.DeleteMulti(bucket, keys...)
}

// CopyObject goes through this wrapper's PutObject (s3bolt copies with
// gofakes3.CopyObject over its own methods, which would bypass the mark).
func (b *tracked) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(b, srcBucket, srcKey, dstBucket, dstKey, meta)
}
