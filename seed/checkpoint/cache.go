package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// The seed cache: after a seed, the stores that load slowest (the
// stand-ins: FerretDB's view log, the Elasticsearch emulator's index, the
// S3 fake's images) keep a copy of their seeded state in a machine-wide
// directory beside the stacks, keyed by the dataset's fingerprint and the
// servers' versions. Seeding any stack with the same dataset on the same
// server versions then puts those copies in place instead of loading
// (seconds instead of minutes at the production scale); the fast stores
// (PostgreSQL, MariaDB, Redis, RabbitMQ) are loaded as usual. An entry is
// complete once its entry.json is written, last.

// cacheFormat changes when the layout of an entry does: older entries are
// then never used.
const cacheFormat = "1"

// DefaultCacheCap bounds the cache: the entries used longest ago go first
// once it is exceeded.
const DefaultCacheCap int64 = 20 << 30

// CacheDir is the machine-wide cache of the stacks under home.
func CacheDir(home string) string { return filepath.Join(home, "cache") }

// CacheEntry describes one cached seeded state.
type CacheEntry struct {
	Key         string            `json:"key"`
	Fingerprint string            `json:"fingerprint"`
	Dataset     load.Marker       `json:"dataset"`
	Versions    map[string]string `json:"versions"`
	Stores      map[string]int64  `json:"stores"` // bytes per store
	Created     time.Time         `json:"created"`
	// Used is when a seed last took it (the cap drops the oldest first).
	Used time.Time `json:"used"`
	dir  string
}

// Dir is where the entry is.
func (e *CacheEntry) Dir() string { return e.dir }

// Bytes is the entry's size.
func (e *CacheEntry) Bytes() int64 {
	var n int64
	for _, b := range e.Stores {
		n += b
	}
	return n
}

// exporter is a store that can keep its share of a checkpoint in the seed
// cache, and importer one that can put it back into another stack.
type exporter interface {
	// export writes checkpoint id's share into dir and returns its size;
	// ok is false where the store cannot (a server in a container).
	export(ctx context.Context, id, dir string) (n int64, ok bool, err error)
}
type importer interface {
	// cacheVersion is what the share's format depends on.
	cacheVersion(ctx context.Context) (string, error)
	// load makes the store hold the share in dir.
	load(ctx context.Context, dir string, o Options) error
}

// cacheKey names the entry for a dataset on these server versions.
func cacheKey(fingerprint string, versions map[string]string) string {
	names := make([]string, 0, len(versions))
	for n := range versions {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "format %s\n", cacheFormat)
	for _, n := range names {
		fmt.Fprintf(h, "%s %s\n", n, versions[n])
	}
	return fingerprint + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// cacheVersions are the versions of the stores that take part in the
// cache on this stack.
func cacheVersions(ctx context.Context, stores []store) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range stores {
		if im, ok := s.(importer); ok {
			if _, ok := s.(exporter); ok {
				v, err := im.cacheVersion(ctx)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", s.name(), err)
				}
				if v != "" {
					out[s.name()] = v
				}
			}
		}
	}
	return out, nil
}

// CacheList returns the complete entries of the cache, newest use first.
func CacheList(home string) ([]*CacheEntry, error) {
	ents, err := os.ReadDir(CacheDir(home))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*CacheEntry
	for _, d := range ents {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		e, err := readEntry(filepath.Join(CacheDir(home), d.Name()))
		if err != nil {
			continue // being written, or not an entry
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Used.After(out[j].Used) })
	return out, nil
}

func readEntry(dir string) (*CacheEntry, error) {
	b, err := os.ReadFile(filepath.Join(dir, "entry.json"))
	if err != nil {
		return nil, err
	}
	var e CacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	e.dir = dir
	return &e, nil
}

func writeEntry(e *CacheEntry) error {
	b, _ := json.MarshalIndent(e, "", "  ")
	return writeFileAtomic(filepath.Join(e.dir, "entry.json"), b)
}

// CachePrune removes entries, used longest ago first, until the cache
// holds at most capBytes, and entries whose writing was interrupted. It
// returns what it removed.
func CachePrune(home string, capBytes int64) ([]*CacheEntry, error) {
	ents, err := os.ReadDir(CacheDir(home))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), ".tmp-") {
			_ = os.RemoveAll(filepath.Join(CacheDir(home), d.Name()))
		}
	}
	list, err := CacheList(home)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, e := range list {
		total += e.Bytes()
	}
	var gone []*CacheEntry
	for i := len(list) - 1; i >= 0 && total > capBytes; i-- {
		if err := os.RemoveAll(list[i].dir); err != nil {
			return gone, err
		}
		total -= list[i].Bytes()
		gone = append(gone, list[i])
	}
	return gone, nil
}

// cacheStore keeps the seed checkpoint m's shares of the stores that
// can export in the cache, unless an entry for them exists.
func cacheStore(ctx context.Context, t Target, m *Manifest, stores []store) (*CacheEntry, error) {
	home := filepath.Dir(t.Env.Dir)
	if m.Dataset == nil {
		return nil, nil
	}
	versions, err := cacheVersions(ctx, stores)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	key := cacheKey(m.Dataset.Fingerprint, versions)
	final := filepath.Join(CacheDir(home), key)
	if e, err := readEntry(final); err == nil {
		return e, nil
	}
	if err := os.MkdirAll(CacheDir(home), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(CacheDir(home), ".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // gone once renamed
	e := &CacheEntry{Key: key, Fingerprint: m.Dataset.Fingerprint, Dataset: *m.Dataset, Versions: versions,
		Stores: map[string]int64{}, Created: time.Now().UTC().Truncate(time.Second), dir: tmp}
	e.Used = e.Created
	for _, s := range stores {
		ex, ok := s.(exporter)
		if !ok || versions[s.name()] == "" {
			continue
		}
		dir := filepath.Join(tmp, s.name())
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		n, ok, err := ex.export(ctx, m.id(), dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name(), diskErr(err, tmp))
		}
		if ok {
			e.Stores[s.name()] = n
		} else {
			_ = os.RemoveAll(dir)
		}
	}
	if len(e.Stores) == 0 {
		return nil, nil
	}
	if err := writeEntry(e); err != nil {
		return nil, diskErr(err, tmp)
	}
	_ = os.RemoveAll(final) // an incomplete one
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	e.dir = final
	_, _ = CachePrune(home, cacheCap())
	return e, nil
}

// cacheCap is DefaultCacheCap, or MOSSDEV_CACHE_MAX_BYTES.
func cacheCap() int64 {
	var n int64
	if _, err := fmt.Sscan(os.Getenv("MOSSDEV_CACHE_MAX_BYTES"), &n); err == nil && n > 0 {
		return n
	}
	return DefaultCacheCap
}

// CacheUse is what a seed did with the cache.
type CacheUse struct {
	Key    string   `json:"key,omitempty"`
	Stores []string `json:"stores,omitempty"` // put in place from the cache
	// Note says why the cache was not used, when an entry for the dataset
	// exists but does not fit (other server versions).
	Note string `json:"note,omitempty"`
}

// cacheLoad puts the cached shares of the dataset with fingerprint fp in
// place on the stack's stores that do not hold it yet.
func cacheLoad(ctx context.Context, t Target, fp string, o Options) (*CacheUse, error) {
	home := filepath.Dir(t.Env.Dir)
	stores, err := open(ctx, t, o)
	if err != nil {
		return nil, err
	}
	defer closeAll(stores)
	versions, err := cacheVersions(ctx, stores)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	key := cacheKey(fp, versions)
	e, err := readEntry(filepath.Join(CacheDir(home), key))
	if err != nil {
		use := &CacheUse{}
		list, _ := CacheList(home)
		for _, other := range list {
			if other.Fingerprint == fp {
				use.Note = fmt.Sprintf("the seed cache holds dataset %s for other server versions (%s; these: %s): not used",
					fp, fmtVersions(other.Versions), fmtVersions(versions))
				break
			}
		}
		return use, nil
	}
	st, err := load.Inspect(ctx, t.Targets)
	if err != nil {
		return nil, err
	}
	use := &CacheUse{Key: key}
	for _, s := range stores {
		im, ok := s.(importer)
		if !ok || e.Stores[s.name()] == 0 && !hasDir(filepath.Join(e.dir, s.name())) {
			continue
		}
		if mk := st.Stores[s.name()]; mk.Complete && mk.Fingerprint == fp {
			continue // already holds it
		}
		t0 := time.Now()
		if err := im.load(ctx, filepath.Join(e.dir, s.name()), o); err != nil {
			return use, fmt.Errorf("%s: put the cached dataset in place: %w", s.name(), err)
		}
		o.emit(stack.Event{Service: s.name(), Kind: stack.EventCached, Step: stack.StepSeed, Elapsed: time.Since(t0),
			Message: "put in place from the seed cache"})
		use.Stores = append(use.Stores, s.name())
	}
	e.Used = time.Now().UTC().Truncate(time.Second)
	_ = writeEntry(e)
	return use, nil
}

func hasDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func fmtVersions(v map[string]string) string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + v[n]
	}
	return strings.Join(parts, ", ")
}

// linkTree makes dst a copy of the tree src: hard links where the file
// system allows (the files are never written in place), copies elsewhere.
// Files are chowned to uid:gid when uid >= 0 (a server's own user must
// own what it will manage).
func linkTree(src, dst string, uid, gid int) (int64, error) {
	var n int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o750); err != nil {
				return err
			}
			if uid >= 0 {
				return os.Lchown(target, uid, gid)
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		if err := os.Link(p, target); err != nil {
			if err := copyFile(p, target); err != nil {
				return err
			}
		}
		if uid >= 0 {
			return os.Lchown(target, uid, gid)
		}
		return nil
	})
	return n, err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// owner is the uid and gid owning path (-1, -1 where unknown).
func owner(path string) (int, int) {
	fi, err := os.Stat(path)
	if err != nil {
		return -1, -1
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
