// Package cdn runs mossdev's stand-in for CloudFront: a caching reverse
// proxy in front of the card-image bucket.
//
// In the Mossi platform the app writes card images to S3 but every phone
// reads them through CloudFront, so the bucket only ever sees cache misses.
// Locally this package plays CloudFront's part in front of the S3 stand-in
// (package fakes/s3): GET /<key> is answered from an in-memory cache, and on
// a miss fetched from <Origin>/<key> and kept for TTL seconds. Responses say
// which happened the way CloudFront does, in the X-Cache header ("Hit from
// mossdev-cdn", "Miss from mossdev-cdn", "RefreshHit from mossdev-cdn" when
// an expired copy was revalidated with the origin, "Error from mossdev-cdn"
// for origin errors), so a new hire can watch the cache work with curl -I.
//
// Operations a developer needs when images change under a running stack:
//
//	POST  /_cdn/purge   {"paths":["/cards/1.png","/cards/*"]}   invalidation, like CloudFront's
//	PURGE /<key>                                                one key, like Varnish or Fastly
//	GET   /_cdn/stats                                           hit ratio for the terminal UI
//
// Purges need the stack's purge token (Authorization: Bearer <token>, 401
// without it). Origin requests are signed with the bucket's keys when they
// are configured, since the bucket refuses anonymous reads.
//
// Differences from CloudFront worth knowing: there is one edge, not hundreds,
// so the hit ratio is the best case; query strings are neither forwarded nor
// part of the cache key (CloudFront's default); a HEAD that misses fetches
// the whole object with GET and caches it; the cache lives in memory and is
// empty after a restart; keys under /_cdn/ cannot be served.
package cdn

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mossdev/mossdev/fakes"
)

// Defaults applied when the matching Config field is zero.
const (
	DefaultMaxBytes = 64 << 20
	DefaultTTL      = 86400
)

// ErrorTTL is how long an origin 404 is remembered. CloudFront caches error
// responses for 10 seconds by default; doing the same keeps a client that
// polls for a not-yet-uploaded image from hammering the bucket, while an
// upload becomes visible within seconds (or at once after a purge).
const ErrorTTL = 10 * time.Second

// Config describes one CDN stand-in.
type Config struct {
	// Listen is the TCP address to serve on, e.g. "127.0.0.1:9080".
	Listen string `json:"listen"`
	// Origin is the base URL objects are fetched from: the bucket's
	// path-style URL, e.g. "http://127.0.0.1:9000/mossi-images".
	Origin string `json:"origin"`
	// MaxBytes bounds the memory held by cached bodies; the least recently
	// used objects are evicted beyond it. Default 64 MiB.
	MaxBytes int64 `json:"maxBytes"`
	// TTL is how long, in seconds, a cached object is served without asking
	// the origin. Default 86400 (one day, CloudFront's default TTL).
	TTL int64 `json:"ttl"`
	// PurgeToken must accompany purges (Authorization: Bearer <token>):
	// whoever can purge can make every client hit the bucket again, and
	// with the bucket's keys could swap what the cache serves.
	PurgeToken string `json:"purgeToken"`
	// OriginAccessKey, OriginSecretKey and OriginRegion sign origin
	// requests (AWS Signature V4), as CloudFront's origin access control
	// does for a private bucket. Without a key, requests go unsigned.
	OriginAccessKey string `json:"originAccessKey"`
	OriginSecretKey string `json:"originSecretKey"`
	OriginRegion    string `json:"originRegion"`
}

// Kind names this fake in serve mode.
func (Config) Kind() string { return fakes.CDN }

// Stats is the body of GET /_cdn/stats. Hits counts responses served from
// the cache: fresh hits, RefreshHits and remembered 404s. Misses counts the
// rest, including requests that waited on another request's origin fetch
// for the same key and requests the origin failed.
type Stats struct {
	Hits      int64   `json:"hits"`
	Misses    int64   `json:"misses"`
	HitRatio  float64 `json:"hitRatio"`
	Objects   int     `json:"objects"`
	Bytes     int64   `json:"bytes"`
	MaxBytes  int64   `json:"maxBytes"`
	Evictions int64   `json:"evictions"`
}

// CDN is the caching proxy. It is an http.Handler.
type CDN struct {
	origin     string
	purgeToken []byte
	ttl        time.Duration
	maxBytes   int64
	client     *http.Client
	flights    singleflight.Group
	now        func() time.Time

	mu        sync.Mutex
	entries   map[string]*list.Element // path -> element holding *entry
	lru       list.List                // front = most recently used
	bytes     int64
	hits      int64
	misses    int64
	evictions int64
	// generation grows on every purge, so that a fetch which started
	// before a purge cannot put the purged copy back into the cache.
	generation uint64
}

// entry is one cached response. It is never modified once stored; a
// revalidation stores a new entry, so readers need no lock on it.
type entry struct {
	path       string
	status     int // http.StatusOK, or http.StatusNotFound for a negative entry
	body       []byte
	header     http.Header // the origin headers worth replaying
	stored     time.Time
	expires    time.Time
	lastMod    time.Time
	generation uint64
}

// replayedHeaders are the origin headers a client needs; everything else
// (x-amz-request-id, Server, ...) describes the origin, not the object.
// Cache-Control is not among them: the CDN sets its own from TTL.
var replayedHeaders = []string{"Content-Type", "ETag", "Last-Modified", "Content-Encoding", "Content-Disposition", "Content-Language"}

// New validates cfg and returns a CDN with an empty cache.
func New(cfg Config) (*CDN, error) {
	u, err := url.Parse(cfg.Origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("check origin %q: want an http(s) URL such as http://127.0.0.1:9000/mossi-images", cfg.Origin)
	}
	if cfg.MaxBytes < 0 || cfg.TTL < 0 {
		return nil, fmt.Errorf("check config: maxBytes (%d) and ttl (%d) must not be negative", cfg.MaxBytes, cfg.TTL)
	}
	if cfg.PurgeToken == "" {
		return nil, errors.New("check config: no purgeToken: purges must be authorized")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Every miss goes to the same host; the default of 2 idle connections
	// would make a burst of misses open and close sockets.
	transport.MaxIdleConnsPerHost = 64
	// The origin is the local bucket; a developer's HTTP_PROXY must not
	// route it off the machine.
	transport.Proxy = nil
	var rt http.RoundTripper = transport
	if cfg.OriginAccessKey != "" {
		rt = newSigningTransport(transport, cfg.OriginAccessKey, cfg.OriginSecretKey, cfg.OriginRegion)
	}
	c := &CDN{
		origin:     strings.TrimRight(cfg.Origin, "/"),
		purgeToken: []byte(cfg.PurgeToken),
		ttl:        time.Duration(cfg.TTL) * time.Second,
		maxBytes:   cfg.MaxBytes,
		client:     &http.Client{Transport: rt, Timeout: originTimeout},
		now:        time.Now,
		entries:    map[string]*list.Element{},
	}
	return c, nil
}

// originTimeout bounds one origin fetch, body included.
const originTimeout = 30 * time.Second

// Stats returns the counters shown by GET /_cdn/stats.
func (c *CDN) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Hits:      c.hits,
		Misses:    c.misses,
		Objects:   len(c.entries),
		Bytes:     c.bytes,
		MaxBytes:  c.maxBytes,
		Evictions: c.evictions,
	}
	if total := c.hits + c.misses; total > 0 {
		s.HitRatio = float64(c.hits) / float64(total)
	}
	return s
}

// lookup returns the cached entry for path, fresh or not, and marks it used.
func (c *CDN) lookup(path string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[path]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry)
}

func (c *CDN) count(hit bool) {
	c.mu.Lock()
	if hit {
		c.hits++
	} else {
		c.misses++
	}
	c.mu.Unlock()
}

// store caches e unless a purge happened since its fetch began, or it is
// larger than the whole cache. It evicts least recently used entries to make
// room.
func (c *CDN) store(e *entry) {
	size := int64(len(e.body))
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.generation != c.generation {
		return
	}
	if el, ok := c.entries[e.path]; ok {
		c.removeLocked(el)
	}
	c.entries[e.path] = c.lru.PushFront(e)
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.removeLocked(c.lru.Back())
		c.evictions++
	}
}

func (c *CDN) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.path)
	c.bytes -= int64(len(e.body))
}

// Purge drops cached objects. A path ending in "*" drops every object whose
// path starts with the rest, so "/*" empties the cache. It returns how many
// objects were dropped.
func (c *CDN) Purge(paths ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	n := 0
	for _, p := range paths {
		p = normalizePath(p)
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			for path, el := range c.entries {
				if strings.HasPrefix(path, prefix) {
					c.removeLocked(el)
					n++
				}
			}
			continue
		}
		if el, ok := c.entries[p]; ok {
			c.removeLocked(el)
			n++
		}
	}
	return n
}

// normalizePath makes a purge path comparable with request paths: rooted
// and percent-decoded, since CloudFront accepts invalidation paths either
// way.
func normalizePath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// Run serves the CDN on cfg.Listen until ctx is done, then shuts down. It
// returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	c, err := New(cfg)
	if err != nil {
		return fmt.Errorf("run cdn: %w", err)
	}
	if err := serve(ctx, cfg.Listen, c); err != nil {
		return fmt.Errorf("run cdn: %w", err)
	}
	return nil
}

// shutdownTimeout bounds how long in-flight downloads may take to finish
// once the stack is going down.
const shutdownTimeout = 5 * time.Second

func serve(ctx context.Context, addr string, h http.Handler) error {
	return fakes.ServeHTTP(ctx, addr, h, shutdownTimeout)
}
