package elasticsearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mossdev/mossdev/fakes"

	"go.etcd.io/bbolt"
)

// Version facts reported by GET /. The number is what mossdev's real
// Elasticsearch runs elsewhere; lucene_version is that release's Lucene.
const (
	versionNumber = "8.15.0"
	luceneVersion = "9.11.1"
	standInNote   = "Elasticsearch API emulator on bleve (stand-in for Elasticsearch)"
	maxBodyBytes  = 100 << 20 // ES's default http.max_content_length
	indicesDir    = "indices"
	// trashPrefix marks index directories being deleted; '#' cannot occur
	// in an index name, so no live index can look like one.
	trashPrefix = "#deleted-"
)

// Config configures Run.
type Config struct {
	Listen string `json:"listen"` // e.g. "127.0.0.1:19200"
	Dir    string `json:"dir"`    // data directory; indices persist here across restarts
	// Password is the elastic user's: every request must carry it in HTTP
	// basic auth, as Elasticsearch 8 with security on demands.
	Password string `json:"password"`
	// ImageEnv takes the security settings from the environment the way
	// the official image does (ELASTIC_PASSWORD, xpack.security.enabled),
	// for the stand-in image; see Config.password.
	ImageEnv bool `json:"imageEnv"`
	// PathRepo is Elasticsearch's path.repo: the directories under which
	// fs snapshot repositories may live (relative locations resolve
	// against the first). With ImageEnv it is read from the path.repo
	// environment variable (comma-separated), as the official image takes
	// settings from the environment.
	PathRepo []string `json:"pathRepo,omitempty"`
}

func (cfg Config) pathRepo() []string {
	if cfg.ImageEnv {
		if v := os.Getenv("path.repo"); v != "" {
			return strings.Split(v, ",")
		}
	}
	return cfg.PathRepo
}

// Kind names this fake in serve mode.
func (Config) Kind() string { return fakes.Elasticsearch }

// Server is the emulator: an http.Handler speaking the Elasticsearch REST
// API over bleve indices kept under one directory.
type Server struct {
	dir         string
	clusterUUID string
	// lock holds the data directory: a second emulator on the same
	// directory would corrupt it, so New fails fast instead. bbolt (already
	// bleve's storage) gives a portable file lock with a timeout.
	lock *bbolt.DB

	mu      sync.RWMutex // guards indices and closed
	indices map[string]*index
	closed  bool

	pathRepo []string // see WithPathRepo
	repos    *repos
	// pause holds writes back while mossdev takes a whole-stack
	// checkpoint (POST /_mossdev/pause).
	pause fakes.Pauser
}

// New opens the emulator's data directory, creating it if missing, and
// reopens every index persisted there.
func New(dir string, opts ...Option) (*Server, error) {
	if dir == "" {
		return nil, errors.New("open elasticsearch emulator: data directory is empty")
	}
	root := filepath.Join(dir, indicesDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("open elasticsearch emulator: create data directory: %w", err)
	}
	lock, err := bbolt.Open(filepath.Join(dir, "emulator.lock"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open elasticsearch emulator: lock %s (is another emulator using it?): %w", dir, err)
	}
	s := &Server{dir: dir, lock: lock, indices: map[string]*index{}}
	for _, o := range opts {
		o(s)
	}
	if s.repos, err = loadRepos(dir); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open elasticsearch emulator: %w", err)
	}
	s.repos.clean()
	uuid, err := loadClusterUUID(dir)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open elasticsearch emulator: %w", err)
	}
	s.clusterUUID = uuid
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("open elasticsearch emulator: list indices: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		path := filepath.Join(root, name)
		if strings.HasPrefix(name, trashPrefix) || strings.HasPrefix(name, restorePrefix) {
			// A delete that crashed after the rename, or a restore that
			// crashed before it: finish or undo it.
			_ = os.RemoveAll(path)
			continue
		}
		if _, err := os.Stat(filepath.Join(path, metaFile)); err != nil {
			continue // a creation that crashed before meta.json; createIndex clears it
		}
		ix, err := openIndex(path, name)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open elasticsearch emulator: %w (remove %s to drop the index)", err, path)
		}
		s.indices[name] = ix
	}
	return s, nil
}

func loadClusterUUID(dir string) (string, error) {
	path := filepath.Join(dir, "cluster_uuid")
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	uuid := newUUID()
	if err := os.WriteFile(path, []byte(uuid+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write cluster uuid: %w", err)
	}
	return uuid, nil
}

// Close closes every index, flushing them to disk. Requests after Close are
// answered with 503.
func (s *Server) Close() error {
	s.pause.Resume() // paused writes fail fast instead of waiting out the pause
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for name, ix := range s.indices {
		if err := ix.close(); err != nil {
			errs = append(errs, fmt.Errorf("close index %s: %w", name, err))
		}
	}
	if err := s.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("release data directory lock: %w", err))
	}
	return errors.Join(errs...)
}

// Run serves the emulator on cfg.Listen until ctx is done, then shuts the
// HTTP server down and closes the indices. Requests must authenticate as
// the elastic user (see Config.Password).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9200"
	}
	password, err := cfg.password()
	if err != nil {
		return fmt.Errorf("run elasticsearch emulator: %w", err)
	}
	s, err := New(cfg.Dir, WithPathRepo(cfg.pathRepo()...))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("run elasticsearch emulator: listen on %s: %w", cfg.Listen, err)
	}
	var h http.Handler = s
	if password != "" {
		h = requireAuth(s, password)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err = <-served:
		_ = s.Close()
		return fmt.Errorf("run elasticsearch emulator: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	shutdownErr := hs.Shutdown(shutdownCtx)
	<-served
	closeErr := s.Close()
	if shutdownErr != nil {
		return fmt.Errorf("run elasticsearch emulator: shut down: %w", shutdownErr)
	}
	if closeErr != nil {
		return fmt.Errorf("run elasticsearch emulator: %w", closeErr)
	}
	return nil
}

// acquire returns a live index and a release function, or
// index_not_found. Multi-index expressions are refused: mappings may
// differ between indices and the emulator translates queries per mapping.
func (s *Server) acquire(name string) (*index, func(), error) {
	if strings.ContainsAny(name, "*,") || name == "_all" {
		return nil, nil, errUnsupported("multi-index or wildcard expression [%s]", name)
	}
	s.mu.RLock()
	ix := s.indices[name]
	s.mu.RUnlock()
	if ix == nil {
		return nil, nil, errIndexNotFound(name)
	}
	ix.life.RLock()
	if ix.closed {
		ix.life.RUnlock()
		return nil, nil, errIndexNotFound(name)
	}
	return ix, ix.life.RUnlock, nil
}

// acquireOrCreate is acquire with ES's automatic index creation, used by
// document writes.
func (s *Server) acquireOrCreate(name string) (*index, func(), error) {
	ix, release, err := s.acquire(name)
	var es *esError
	if err == nil || !errors.As(err, &es) || es.typ != "index_not_found_exception" {
		return ix, release, err
	}
	if verr := validIndexName(name); verr != nil {
		return nil, nil, verr
	}
	s.mu.Lock()
	if s.indices[name] == nil {
		meta := &indexMeta{UUID: newUUID(), Created: nowMillis(), Shards: 1, Replicas: 1, Mappings: newRootMapping()}
		nix, cerr := createIndex(filepath.Join(s.dir, indicesDir, name), name, meta)
		if cerr != nil {
			s.mu.Unlock()
			return nil, nil, cerr
		}
		s.indices[name] = nix
	}
	s.mu.Unlock()
	return s.acquire(name)
}

func (s *Server) info() map[string]any {
	return map[string]any{
		"name":         "mossdev-es-emulator",
		"cluster_name": "mossdev",
		"cluster_uuid": s.clusterUUID,
		"version": map[string]any{
			"number":                              versionNumber,
			"build_flavor":                        "default",
			"build_type":                          "tar",
			"build_hash":                          "mossdev",
			"build_date":                          "2024-08-05T10:05:34.233336849Z",
			"build_snapshot":                      false,
			"lucene_version":                      luceneVersion,
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline":          "You Know, for Search",
		"mossdev_stand_in": standInNote,
	}
}
