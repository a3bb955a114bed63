package checkpoint

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mossdev/mossdev/seed/load"
)

// SeedName is the checkpoint the seed saves and reset restores.
const SeedName = "seed"

// MaxName is the longest checkpoint name: the name and its generation must
// fit in a PostgreSQL or MariaDB database name (63 and 64 bytes) beside a
// prefix.
const MaxName = 31

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ErrName is a checkpoint name that breaks the naming rule.
var ErrName = errors.New("invalid checkpoint name")

// ErrNotFound is a checkpoint that does not exist (or never finished saving).
var ErrNotFound = errors.New("no such checkpoint")

// ErrMismatch is a checkpoint taken from another service set or other
// server versions than the stack now runs.
var ErrMismatch = errors.New("checkpoint does not fit this stack")

// CheckName validates a checkpoint name: lowercase letters, digits and
// hyphens, starting with a letter or digit, at most MaxName characters,
// because the name becomes part of database, snapshot and file names in
// every store.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty; give a name such as before-migration", ErrName)
	case len(name) > MaxName:
		return fmt.Errorf("%w %q: %d characters, at most %d", ErrName, name, len(name), MaxName)
	case !nameRE.MatchString(name):
		return fmt.Errorf("%w %q: use lowercase letters, digits and hyphens, starting with a letter or digit", ErrName, name)
	}
	return nil
}

// Manifest describes one saved checkpoint. It is written last, by an
// atomic rename: a checkpoint without a manifest never finished saving and
// is never listed or restored (its parts are collected by the next save,
// ls or rm).
type Manifest struct {
	Name string `json:"name"`
	// Gen distinguishes this save's parts in the stores from an earlier
	// save under the same name, so saving over a checkpoint replaces it
	// only once the new one is complete.
	Gen     string    `json:"gen"`
	Stack   string    `json:"stack"`
	Backend string    `json:"backend"`
	Created time.Time `json:"created"`
	// Shape is the stack's service set: a checkpoint restores only into a
	// stack of the same shape.
	Shape Shape `json:"shape"`
	// Versions are the servers' versions per store: a store's saved form
	// (a Redis DUMP payload, an Elasticsearch snapshot) is only read back
	// by the same version.
	Versions map[string]string `json:"versions"`
	// Dataset is the seed marker the stack held when saved (if seeded).
	Dataset *load.Marker `json:"dataset,omitempty"`
	Stores  []Part       `json:"stores"`
	Elapsed float64      `json:"seconds"`
}

// Shape is what a checkpoint needs of the stack it is restored into.
type Shape struct {
	RedisShards int      `json:"redisShards"`
	Stores      []string `json:"stores"`
}

func (s Shape) String() string {
	return fmt.Sprintf("%d redis shards; stores %s", s.RedisShards, strings.Join(s.Stores, ","))
}

// Part is one store's share of a checkpoint.
type Part struct {
	Store string `json:"store"`
	// Method says how the store was saved (and is restored).
	Method  string  `json:"method"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// Info is what the store needs to restore (a checksum, a queue list).
	Info json.RawMessage `json:"info,omitempty"`
}

// id is the name under which the stores keep this checkpoint's parts.
func (m *Manifest) id() string { return m.Name + "_" + m.Gen }

func newGen() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}

// Dirs: <stack dir>/checkpoints/<name>/manifest.json, plus the files the
// orchestrator writes itself (Redis dumps, queued messages) in
// <name>/<gen>/. A save works in <name>/<gen>/ and renames the manifest
// into place last.
const (
	manifestFile = "manifest.json"
	journalFile  = ".restoring.json"
	lockFile     = ".lock"
)

func root(stackDir string) string { return filepath.Join(stackDir, "checkpoints") }

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, manifestFile), err)
	}
	return &m, nil
}

// writeFileAtomic writes data to path by a temporary file, fsync and rename:
// a reader sees the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// manifests reads every complete checkpoint of a stack, sorted by name.
func manifests(stackDir string) ([]*Manifest, error) {
	ents, err := os.ReadDir(root(stackDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, e := range ents {
		if !e.IsDir() || CheckName(e.Name()) != nil {
			continue
		}
		m, err := readManifest(filepath.Join(root(stackDir), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // never finished saving
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
