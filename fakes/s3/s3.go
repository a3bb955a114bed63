// Package s3 runs mossdev's stand-in for Amazon S3: the bucket that holds
// Mossi's card images.
//
// In production every card is a short text drawn over an image, and the
// images (hundreds of millions of them, hundreds of terabytes) live in an S3
// bucket. Clients never read the bucket directly: CloudFront sits in front of
// it (see package fakes/cdn), and the app only writes to the bucket and hands
// out CDN URLs. Locally, this package serves the S3 REST API with gofakes3 so
// that the seed can upload images with the ordinary AWS SDK and the CDN
// stand-in has a real origin to pull from.
//
// What a developer should know:
//   - Addressing is path-style only: http://127.0.0.1:PORT/BUCKET/KEY. Set
//     UsePathStyle in aws-sdk-go-v2 (or s3ForcePathStyle in older SDKs).
//   - Every request must be signed (AWS Signature Version 4, in the
//     Authorization header or as a presigned URL) with the one key pair in
//     Config; anything else is refused with S3's own error codes
//     (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch). That key
//     pair may do everything: there are no IAM or bucket policies to test.
//   - Data persists in one bbolt file under Config.Dir (StoreFile), so
//     uploaded images survive a restart of the stand-in; deleting the file
//     resets every bucket. Only one process can hold the store at a time.
//   - mossdev's own admin API lives under /_mossdev/ (not a valid bucket
//     name), signed like any S3 request: named checkpoints of every bucket
//     (save, restore, list, delete) and pausing writes while a whole-stack
//     checkpoint is taken. Admin is its Go client.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"

	"github.com/mossdev/mossdev/fakes"
)

// StoreFile is the name of the bbolt database that holds every bucket,
// inside Config.Dir.
const StoreFile = "s3.bolt"

// Config describes one S3 stand-in.
type Config struct {
	// Listen is the TCP address to serve on, e.g. "127.0.0.1:9000".
	Listen string `json:"listen"`
	// Dir holds the bucket store; it is created if missing.
	Dir string `json:"dir"`
	// AccessKey and SecretKey are the only credentials accepted.
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	// Buckets are created at start when they do not exist yet, so a restart
	// on the same Dir keeps their contents.
	Buckets []string `json:"buckets"`
}

// Kind names this fake in serve mode.
func (Config) Kind() string { return fakes.S3 }

// Server is an S3 API handler over a persistent bucket store, with
// mossdev's admin API (checkpoints, pausing writes) under AdminPrefix.
// Close it to release the store's file lock.
type Server struct {
	dir  string
	auth *verifier
	// gate is held shared by every S3 request and exclusively by a
	// restore (and Close), so requests wait, not fail, while the store is
	// rewritten or swapped.
	gate sync.RWMutex
	// writes is held shared by every writing request and exclusively by
	// a save while it begins its snapshot: see Save.
	writes sync.RWMutex
	// ck serialises checkpoint operations.
	ck    sync.Mutex
	pause fakes.Pauser
	// on: writes are marked for checkpoints (see track.go).
	on atomic.Bool
	st *store
}

// store is the open bucket store and the S3 handler over it; a full
// restore swaps it.
type store struct {
	db      *bolt.DB
	backend gofakes3.Backend
	handler http.Handler
}

// lockTimeout bounds the wait for bbolt's exclusive file lock. Without it a
// second stand-in started on the same Dir would hang forever instead of
// saying that the store is busy.
const lockTimeout = 2 * time.Second

// New opens (or creates) the bucket store under cfg.Dir and makes sure every
// bucket in cfg.Buckets exists.
//
// The store is gofakes3's bbolt backend rather than its afero (plain files)
// backend: afero ignores MaxKeys and returns every key in one
// ListObjectsV2 page, so code that pages through the card images would pass
// locally and break against real S3, which never returns more than 1,000
// keys per page. bbolt pages like S3 does (so does the in-memory backend,
// which forgets everything at exit), at the price of slower puts (about 2x
// afero for 1 MiB objects: one fsync per put), which is irrelevant at seed
// sizes. bbolt reads and writes whole objects in memory, which is fine for
// card images and wrong for multi-gigabyte objects.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open bucket store: no directory given (set dir)")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("check config: no credentials (set accessKey and secretKey): the bucket accepts only requests signed with them")
	}
	for _, name := range cfg.Buckets {
		if err := gofakes3.ValidateBucketName(name); err != nil {
			return nil, fmt.Errorf("check bucket name %q: %w", name, err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create bucket store directory: %w", err)
	}
	if err := cleanLeftovers(cfg.Dir); err != nil {
		return nil, fmt.Errorf("open bucket store: %w", err)
	}
	s := &Server{dir: cfg.Dir, auth: newVerifier(cfg.AccessKey, cfg.SecretKey)}
	st, err := s.open(filepath.Join(cfg.Dir, StoreFile))
	if err != nil {
		return nil, err
	}
	s.st = st
	s.on.Store(hasBases(st.db))
	for _, name := range cfg.Buckets {
		if err := ensureBucket(st.backend, name); err != nil {
			_ = st.db.Close()
			return nil, err
		}
	}
	return s, nil
}

// open opens the bbolt store at path with the S3 handler over it.
func (s *Server) open(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open bucket store %s: locked by another process (is another mossdev s3 running on this directory?): %w", path, err)
		}
		return nil, fmt.Errorf("open bucket store %s: %w", path, err)
	}
	// One fsync per put capped the bucket at ~580 puts/s here (seeding 30k
	// card images took 52 s). Without it a crash of this process still
	// loses nothing (writes are in the page cache); only an OS crash can
	// lose recent puts, the same trade as PostgreSQL's synchronous_commit=off
	// in a development copy, and the seed manifest notices a bucket that
	// lost its marker. Close syncs.
	db.NoSync = true
	backend := &tracked{Backend: s3bolt.New(db), db: db, on: &s.on}
	return &store{db: db, backend: backend, handler: gofakes3.New(backend).Server()}, nil
}

func ensureBucket(backend gofakes3.Backend, name string) error {
	exists, err := backend.BucketExists(name)
	if err != nil {
		return fmt.Errorf("look up bucket %q: %w", name, err)
	}
	if exists {
		return nil
	}
	if err := backend.CreateBucket(name); err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// ServeHTTP serves the S3 REST API and the admin API to requests signed
// with the configured keys and refuses the rest as S3 does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.check(r); err != nil {
		err.write(w, r)
		return
	}
	if r.URL.Path == strings.TrimSuffix(AdminPrefix, "/") || strings.HasPrefix(r.URL.Path, AdminPrefix) {
		s.admin(w, r)
		return
	}
	write := r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodDelete
	if write {
		if err := s.pause.Wait(r.Context()); err != nil {
			return // the client went away while writes were paused
		}
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	if write {
		s.writes.RLock()
		defer s.writes.RUnlock()
	}
	s.st.handler.ServeHTTP(w, r)
}

// Close closes the bucket store. Requests served after Close fail.
func (s *Server) Close() error {
	s.pause.Resume() // let paused writes fail fast instead of waiting
	s.gate.Lock()
	defer s.gate.Unlock()
	syncErr := s.st.db.Sync()
	if err := errors.Join(syncErr, s.st.db.Close()); err != nil {
		return fmt.Errorf("close bucket store: %w", err)
	}
	return nil
}

// Run serves the S3 API on cfg.Listen until ctx is done, then shuts down
// and closes the store. It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	srv, err := New(cfg)
	if err != nil {
		return fmt.Errorf("run s3: %w", err)
	}
	serveErr := serve(ctx, cfg.Listen, srv)
	closeErr := srv.Close()
	if serveErr != nil {
		return fmt.Errorf("run s3: %w", serveErr)
	}
	if closeErr != nil {
		return fmt.Errorf("run s3: %w", closeErr)
	}
	return nil
}

// shutdownTimeout bounds how long in-flight uploads may take to finish once
// the stack is going down.
const shutdownTimeout = 5 * time.Second

func serve(ctx context.Context, addr string, h http.Handler) error {
	return fakes.ServeHTTP(ctx, addr, h, shutdownTimeout)
}
