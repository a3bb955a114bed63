package cdn

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// X-Cache values, worded like CloudFront's ("Hit from cloudfront").
const (
	xCacheHit        = "Hit from mossdev-cdn"
	xCacheMiss       = "Miss from mossdev-cdn"
	xCacheRefreshHit = "RefreshHit from mossdev-cdn"
	xCacheError      = "Error from mossdev-cdn"
)

// maxErrorBody bounds how much of an origin error body is kept; S3 error
// bodies are a few hundred bytes of XML.
const maxErrorBody = 64 << 10

// ServeHTTP serves cached objects, the purge and stats endpoints under
// /_cdn/, and PURGE /<key>.
func (c *CDN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_cdn/") {
		c.serveAdmin(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		c.serveObject(w, r)
	case "PURGE":
		if !c.authorized(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"purged": c.Purge(r.URL.Path)})
	default:
		w.Header().Set("Allow", "GET, HEAD, PURGE")
		http.Error(w, "mossdev-cdn: method not allowed", http.StatusMethodNotAllowed)
	}
}

func (c *CDN) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_cdn/stats":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "mossdev-cdn: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, http.StatusOK, c.Stats())
	case "/_cdn/purge":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "mossdev-cdn: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !c.authorized(w, r) {
			return
		}
		var req struct {
			Paths []string `json:"paths"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || len(req.Paths) == 0 {
			http.Error(w, `mossdev-cdn: want a JSON body like {"paths":["/cards/1.png","/cards/*"]}`, http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"purged": c.Purge(req.Paths...)})
	default:
		http.NotFound(w, r)
	}
}

// authorized checks the purge token and answers 401 when it is missing or
// wrong.
func (c *CDN) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(tok), c.purgeToken) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="mossdev-cdn"`)
	http.Error(w, "mossdev-cdn: purging needs the stack's purge token (Authorization: Bearer $MOSSDEV_CDN_PURGE_TOKEN)", http.StatusUnauthorized)
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fetched is the shared result of one origin fetch; every request that
// joined the flight serves it.
type fetched struct {
	entry     *entry
	refreshed bool // a stale entry was confirmed by a 304
}

func (c *CDN) serveObject(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/" {
		http.Error(w, "mossdev-cdn: no object key in the path", http.StatusNotFound)
		return
	}
	e := c.lookup(path)
	xcache := xCacheHit
	if e == nil || !c.now().Before(e.expires) {
		// Concurrent misses for one key share one origin request: a card
		// going viral must not turn into a burst of identical bucket reads.
		v, err, _ := c.flights.Do(path, func() (any, error) {
			return c.fetch(path, r.URL.EscapedPath(), e)
		})
		if err != nil {
			c.count(false)
			w.Header().Set("X-Cache", xCacheError)
			http.Error(w, "mossdev-cdn: "+err.Error(), http.StatusBadGateway)
			return
		}
		f := v.(*fetched)
		e = f.entry
		xcache = xCacheMiss
		if f.refreshed {
			xcache = xCacheRefreshHit
		}
		c.count(f.refreshed)
	} else {
		c.count(true)
	}
	c.write(w, r, e, xcache)
}

func (c *CDN) write(w http.ResponseWriter, r *http.Request, e *entry, xcache string) {
	h := w.Header()
	for k, vs := range e.header {
		// A copy, because the entry is shared by concurrent responses.
		h[k] = append([]string(nil), vs...)
	}
	if e.status != http.StatusOK {
		xcache = xCacheError
	}
	h.Set("X-Cache", xcache)
	h.Set("Via", "1.1 mossdev-cdn")
	if !e.expires.IsZero() {
		ttl := e.expires.Sub(e.stored)
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(ttl/time.Second), 10))
		h.Set("Age", strconv.FormatInt(int64(c.now().Sub(e.stored)/time.Second), 10))
	}
	if e.status != http.StatusOK {
		h.Set("Content-Length", strconv.Itoa(len(e.body)))
		w.WriteHeader(e.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(e.body)
		}
		return
	}
	// ServeContent answers If-None-Match (against the ETag set above),
	// If-Modified-Since, Range and HEAD the way an HTTP cache should.
	http.ServeContent(w, r, "", e.lastMod, bytes.NewReader(e.body))
}

// fetch asks the origin for path. With a stale 200 entry it revalidates
// instead of downloading again: a 304 renews the stale copy.
func (c *CDN) fetch(path, escapedPath string, stale *entry) (*fetched, error) {
	if stale != nil && stale.status != http.StatusOK {
		stale = nil
	}
	c.mu.Lock()
	gen := c.generation
	c.mu.Unlock()

	// The fetch outlives the request that started it: other requests may
	// be waiting on it, so one impatient client must not cancel it.
	ctx, cancel := context.WithTimeout(context.Background(), originTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.origin+escapedPath, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s from origin: %w", path, err)
	}
	if stale != nil {
		// Only one validator: gofakes3 answers If-Modified-Since even when
		// If-None-Match does not match, which would renew a changed object.
		if etag := stale.header.Get("ETag"); etag != "" {
			req.Header.Set("If-None-Match", etag)
		} else if lm := stale.header.Get("Last-Modified"); lm != "" {
			req.Header.Set("If-Modified-Since", lm)
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s from origin: %w", path, err)
	}
	defer resp.Body.Close()

	now := c.now()
	switch {
	case resp.StatusCode == http.StatusNotModified && stale != nil:
		_, _ = io.Copy(io.Discard, resp.Body)
		renewed := *stale
		renewed.stored, renewed.expires, renewed.generation = now, now.Add(c.ttl), gen
		c.store(&renewed)
		return &fetched{entry: &renewed, refreshed: true}, nil

	case resp.StatusCode == http.StatusOK:
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("read %s from origin: %w", path, err)
		}
		e := newEntry(path, resp, body, gen)
		e.stored, e.expires = now, now.Add(c.ttl)
		c.store(e)
		return &fetched{entry: e}, nil

	case resp.StatusCode == http.StatusNotFound:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := newEntry(path, resp, body, gen)
		e.stored, e.expires = now, now.Add(ErrorTTL)
		c.store(e)
		return &fetched{entry: e}, nil

	default:
		// Other errors (403, 5xx) pass through uncached: they say something
		// about the origin right now, not about the object.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &fetched{entry: newEntry(path, resp, body, gen)}, nil
	}
}

func newEntry(path string, resp *http.Response, body []byte, gen uint64) *entry {
	e := &entry{
		path:       path,
		status:     resp.StatusCode,
		body:       body,
		header:     http.Header{},
		generation: gen,
	}
	for _, k := range replayedHeaders {
		if vs := resp.Header.Values(k); len(vs) > 0 {
			e.header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		e.lastMod = lm
	}
	return e
}
