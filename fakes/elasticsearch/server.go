package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

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
}

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
}

// New opens the emulator's data directory, creating it if missing, and
// reopens every index persisted there.
func New(dir string) (*Server, error) {
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
		if strings.HasPrefix(name, trashPrefix) {
			// A delete that crashed after the rename: finish it.
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
// HTTP server down and closes the indices.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9200"
	}
	s, err := New(cfg.Dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("run elasticsearch emulator: listen on %s: %w", cfg.Listen, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
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

// request is what handlers see: the parsed parameters and body.
type request struct {
	r      *http.Request
	w      http.ResponseWriter
	params url.Values
	body   []byte
}

// allow checks the query parameters against the ones the handler knows and
// refuses the rest, as ES does ("contains unrecognized parameter"), before
// the handler has any effect. Parameters ES has but we do not implement get
// the emulator's "not supported" error instead.
func (q *request) allow(names ...string) error {
	var unknown []string
	for k := range q.params {
		switch k {
		case "pretty", "human", "error_trace":
			continue
		}
		if !slices.Contains(names, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		switch k {
		case "filter_path", "scroll", "pipeline", "version", "version_type", "q", "df", "analyzer",
			"default_operator", "stored_fields", "docvalue_fields", "script", "require_alias", "source":
			return errUnsupported("request parameter [%s] on [%s %s]", k, q.r.Method, q.r.URL.Path)
		}
	}
	return errIllegalArgument("request [%s] contains unrecognized parameter: [%s]", q.r.URL.Path, strings.Join(unknown, ", "))
}

// ServeHTTP answers one Elasticsearch REST request. It is safe for
// concurrent use.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// go-elasticsearch refuses any server whose responses lack this header.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	q := &request{r: r, w: w, params: r.URL.Query()}
	if merr := checkMediaType(r); merr != nil {
		writeError(q, merr)
		return
	}
	body, berr := readBody(r)
	if berr != nil {
		writeError(q, berr)
		return
	}
	q.body = body
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		writeError(q, newError(http.StatusServiceUnavailable, "node_closed_exception", "%s", errClosed))
		return
	}
	status, v, err := s.route(q)
	if err != nil {
		writeError(q, err)
		return
	}
	if v == nil && status == 0 {
		return // the handler wrote its own response
	}
	writeJSON(q, status, v)
}

// checkMediaType accepts plain JSON and the compatible-with=8 vendor types
// the v8 client sends; other compatibility versions would expect a
// different API shape, so they are refused like ES does.
func checkMediaType(r *http.Request) *esError {
	for _, h := range []string{"Accept", "Content-Type"} {
		v := r.Header.Get(h)
		i := strings.Index(v, "compatible-with=")
		if i < 0 {
			continue
		}
		ver := strings.TrimSpace(strings.SplitN(v[i+len("compatible-with="):], ";", 2)[0])
		ver = strings.Split(ver, ",")[0]
		if ver != "8" {
			return newError(http.StatusBadRequest, "media_type_header_exception",
				"Invalid media-type value on headers [%s]: compatible-with=%s is not supported by the mossdev Elasticsearch emulator (8 is)", h, ver)
		}
	}
	return nil
}

func readBody(r *http.Request) ([]byte, *esError) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, errParsing("read gzip request body: %s", err)
		}
		defer gz.Close()
		rd = io.LimitReader(gz, maxBodyBytes+1)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, "content_too_long_exception", "request body exceeds %d bytes", maxBodyBytes)
		}
		return nil, errParsing("read request body: %s", err)
	}
	if len(body) > maxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, "content_too_long_exception", "request body exceeds %d bytes", maxBodyBytes)
	}
	return body, nil
}

func writeJSON(q *request, status int, v any) {
	h := q.w.Header()
	h.Set("Content-Type", "application/json")
	if q.r.Method == http.MethodHead {
		q.w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if q.params.Has("pretty") {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		e := asESError(fmt.Errorf("encode response: %w", err))
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(e.body())
		status = e.status
	}
	q.w.WriteHeader(status)
	_, _ = q.w.Write(buf.Bytes())
}

func writeError(q *request, err error) {
	e := asESError(err)
	writeJSON(q, e.status, e.body())
}

// segments splits the escaped path so ids containing "/" (sent as %2F)
// stay one segment.
func segments(r *http.Request) []string {
	var out []string
	for _, seg := range strings.Split(r.URL.EscapedPath(), "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		out = append(out, seg)
	}
	return out
}

// route dispatches a request. It returns the status and value to encode,
// or an error to render in ES's shape.
func (s *Server) route(q *request) (int, any, error) {
	segs := segments(q.r)
	method := q.r.Method
	notAllowed := func() (int, any, error) {
		return 0, nil, newError(http.StatusMethodNotAllowed, "method_not_allowed",
			"Incorrect HTTP method for uri [%s] and method [%s]", q.r.URL.Path, method)
	}
	is := func(methods ...string) bool { return slices.Contains(methods, method) }
	const get, head, put, post, del = http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete

	if len(segs) == 0 {
		if !is(get, head) {
			return notAllowed()
		}
		return http.StatusOK, s.info(), nil
	}
	if strings.HasPrefix(segs[0], "_") {
		switch {
		case segs[0] == "_cluster" && len(segs) >= 2 && segs[1] == "health" && len(segs) <= 3:
			if !is(get) {
				return notAllowed()
			}
			target := ""
			if len(segs) == 3 {
				target = segs[2]
			}
			return s.clusterHealth(q, target)
		case segs[0] == "_cat" && len(segs) >= 2 && segs[1] == "indices" && len(segs) <= 3:
			if !is(get) {
				return notAllowed()
			}
			target := ""
			if len(segs) == 3 {
				target = segs[2]
			}
			return s.catIndices(q, target)
		case segs[0] == "_bulk" && len(segs) == 1:
			if !is(post, put) {
				return notAllowed()
			}
			return s.bulk(q, "")
		case segs[0] == "_refresh" || segs[0] == "_flush":
			if !is(post, get) || len(segs) != 1 {
				return notAllowed()
			}
			return s.refresh(q, "")
		case segs[0] == "_mapping" && len(segs) == 1:
			if !is(get) {
				return notAllowed()
			}
			return s.getMapping(q, "")
		case segs[0] == "_mget" && len(segs) == 1:
			if !is(get, post) {
				return notAllowed()
			}
			return s.mget(q, "")
		}
		return 0, nil, errUnsupported("endpoint [%s %s]", method, q.r.URL.Path)
	}

	name := segs[0]
	if len(segs) == 1 {
		switch method {
		case put:
			return s.createIndex(q, name)
		case del:
			return s.deleteIndex(q, name)
		case head:
			return s.indexExists(q, name)
		case get:
			return s.getIndex(q, name)
		}
		return notAllowed()
	}
	op := segs[1]
	rest := segs[2:]
	switch {
	case op == "_doc" && len(rest) == 0:
		if !is(post) {
			return notAllowed()
		}
		return s.indexDoc(q, name, "", opIndex)
	case op == "_doc" && len(rest) == 1:
		switch method {
		case put, post:
			return s.indexDoc(q, name, rest[0], opIndex)
		case get, head:
			return s.getDoc(q, name, rest[0], false)
		case del:
			return s.deleteDoc(q, name, rest[0])
		}
		return notAllowed()
	case op == "_create" && len(rest) == 1:
		if !is(put, post) {
			return notAllowed()
		}
		return s.indexDoc(q, name, rest[0], opCreate)
	case op == "_update" && len(rest) == 1:
		if !is(post) {
			return notAllowed()
		}
		return s.updateDoc(q, name, rest[0])
	case op == "_source" && len(rest) == 1:
		if !is(get, head) {
			return notAllowed()
		}
		return s.getDoc(q, name, rest[0], true)
	case op == "_bulk" && len(rest) == 0:
		if !is(post, put) {
			return notAllowed()
		}
		return s.bulk(q, name)
	case (op == "_refresh" || op == "_flush") && len(rest) == 0:
		if !is(post, get) {
			return notAllowed()
		}
		return s.refresh(q, name)
	case op == "_search" && len(rest) == 0:
		if !is(get, post) {
			return notAllowed()
		}
		return s.search(q, name)
	case op == "_count" && len(rest) == 0:
		if !is(get, post) {
			return notAllowed()
		}
		return s.count(q, name)
	case op == "_mapping" && len(rest) == 0:
		switch method {
		case get:
			return s.getMapping(q, name)
		case put, post:
			return s.putMapping(q, name)
		}
		return notAllowed()
	case op == "_settings" && len(rest) == 0:
		if !is(get) {
			return 0, nil, errUnsupported("changing index settings")
		}
		return s.getSettings(q, name)
	case op == "_mget" && len(rest) == 0:
		if !is(get, post) {
			return notAllowed()
		}
		return s.mget(q, name)
	case op == "_delete_by_query" && len(rest) == 0:
		if !is(post) {
			return notAllowed()
		}
		return s.deleteByQuery(q, name)
	}
	return 0, nil, errUnsupported("endpoint [%s %s]", method, q.r.URL.Path)
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

func (s *Server) clusterHealth(q *request, target string) (int, any, error) {
	if err := q.allow("wait_for_status", "timeout", "master_timeout", "level", "local",
		"wait_for_no_relocating_shards", "wait_for_no_initializing_shards",
		"wait_for_active_shards", "wait_for_nodes", "wait_for_events", "expand_wildcards"); err != nil {
		return 0, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	shards := 0
	for name, ix := range s.indices {
		if target == "" || name == target {
			shards += ix.meta().Shards
		}
	}
	if target != "" && s.indices[target] == nil {
		return 0, nil, errIndexNotFound(target)
	}
	// A single emulated node holds every shard and replicas do not apply,
	// so the cluster is always green.
	return http.StatusOK, map[string]any{
		"cluster_name":                     "mossdev",
		"status":                           "green",
		"timed_out":                        false,
		"number_of_nodes":                  1,
		"number_of_data_nodes":             1,
		"active_primary_shards":            shards,
		"active_shards":                    shards,
		"relocating_shards":                0,
		"initializing_shards":              0,
		"unassigned_shards":                0,
		"unassigned_primary_shards":        0,
		"delayed_unassigned_shards":        0,
		"number_of_pending_tasks":          0,
		"number_of_in_flight_fetch":        0,
		"task_max_waiting_in_queue_millis": 0,
		"active_shards_percent_as_number":  100.0,
	}, nil
}

func (s *Server) catIndices(q *request, target string) (int, any, error) {
	if err := q.allow("format", "v", "bytes", "s", "h", "expand_wildcards", "health", "pri", "master_timeout", "local", "include_unloaded_segments"); err != nil {
		return 0, nil, err
	}
	format := q.params.Get("format")
	verbose := q.params.Has("v") && q.params.Get("v") != "false"
	bytesUnit := q.params.Get("bytes")
	sortBy := q.params.Get("s")
	cols := []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size", "dataset.size"}
	if h := q.params.Get("h"); h != "" {
		cols = strings.Split(h, ",")
		for _, c := range cols {
			if !slices.Contains([]string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size", "dataset.size", "creation.date", "creation.date.string"}, c) {
				return 0, nil, errUnsupported("_cat/indices column [%s]", c)
			}
		}
	}
	if format == "" && strings.Contains(q.r.Header.Get("Accept"), "json") {
		// Like ES, _cat negotiates on Accept when format is not given; the
		// typed client relies on it.
		format = "json"
	}
	if format != "" && format != "json" && format != "text" && format != "txt" {
		return 0, nil, errUnsupported("_cat format [%s]", format)
	}

	s.mu.RLock()
	var names []string
	for name := range s.indices {
		if target == "" || target == "*" || target == "_all" || matchWildcardList(target, name) {
			names = append(names, name)
		}
	}
	ixs := make(map[string]*index, len(names))
	for _, n := range names {
		ixs[n] = s.indices[n]
	}
	s.mu.RUnlock()
	if target != "" && !strings.ContainsAny(target, "*,") && target != "_all" && len(names) == 0 {
		return 0, nil, errIndexNotFound(target)
	}
	slices.Sort(names)

	rows := make([]map[string]string, 0, len(names))
	for _, n := range names {
		ix := ixs[n]
		ix.life.RLock()
		if ix.closed {
			ix.life.RUnlock()
			continue
		}
		meta := ix.meta()
		size := ix.storeSize()
		row := map[string]string{
			"health": "green", "status": "open", "index": n, "uuid": meta.UUID,
			"pri": fmt.Sprint(meta.Shards), "rep": fmt.Sprint(meta.Replicas),
			"docs.count": fmt.Sprint(ix.docCount()), "docs.deleted": "0",
			"store.size": formatBytes(size, bytesUnit), "pri.store.size": formatBytes(size, bytesUnit),
			"dataset.size":         formatBytes(size, bytesUnit),
			"creation.date":        fmt.Sprint(meta.Created),
			"creation.date.string": time.UnixMilli(meta.Created).UTC().Format("2006-01-02T15:04:05.000Z"),
		}
		ix.life.RUnlock()
		rows = append(rows, row)
	}
	if sortBy != "" {
		key, dir, _ := strings.Cut(sortBy, ":")
		slices.SortStableFunc(rows, func(a, b map[string]string) int {
			c := strings.Compare(a[key], b[key])
			if dir == "desc" {
				c = -c
			}
			return c
		})
	}
	if format == "json" {
		out := make([]map[string]string, len(rows))
		for i, row := range rows {
			out[i] = map[string]string{}
			for _, c := range cols {
				out[i][c] = row[c]
			}
		}
		return http.StatusOK, out, nil
	}
	// Text tables are what ES returns without format=json: aligned columns.
	table := [][]string{}
	if verbose {
		table = append(table, cols)
	}
	for _, row := range rows {
		line := make([]string, len(cols))
		for i, c := range cols {
			line[i] = row[c]
		}
		table = append(table, line)
	}
	widths := make([]int, len(cols))
	for _, line := range table {
		for i, cell := range line {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var buf strings.Builder
	for _, line := range table {
		for i, cell := range line {
			if i > 0 {
				buf.WriteByte(' ')
			}
			buf.WriteString(cell)
			if i < len(line)-1 {
				buf.WriteString(strings.Repeat(" ", widths[i]-len(cell)))
			}
		}
		buf.WriteByte('\n')
	}
	q.w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	q.w.WriteHeader(http.StatusOK)
	if q.r.Method != http.MethodHead {
		_, _ = io.WriteString(q.w, buf.String())
	}
	return 0, nil, nil
}

func matchWildcardList(expr, name string) bool {
	for _, pat := range strings.Split(expr, ",") {
		if ok, _ := filepath.Match(pat, name); ok {
			return true
		}
	}
	return false
}

func formatBytes(n int64, unit string) string {
	switch unit {
	case "b":
		return fmt.Sprint(n)
	case "kb":
		return fmt.Sprint(n / 1024)
	case "mb":
		return fmt.Sprint(n / (1024 * 1024))
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fgb", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fmb", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkb", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%db", n)
}

// Index administration.

func (s *Server) createIndex(q *request, name string) (int, any, error) {
	if err := q.allow("wait_for_active_shards", "timeout", "master_timeout", "include_type_name"); err != nil {
		return 0, nil, err
	}
	if err := validIndexName(name); err != nil {
		return 0, nil, err
	}
	var body struct {
		Settings json.RawMessage `json:"settings"`
		Mappings json.RawMessage `json:"mappings"`
		Aliases  json.RawMessage `json:"aliases"`
	}
	if len(bytes.TrimSpace(q.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(q.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return 0, nil, errParsing("unknown key in create index body or malformed JSON: %s", err)
		}
	}
	if a := bytes.TrimSpace(body.Aliases); len(a) > 0 && string(a) != "{}" && string(a) != "null" {
		return 0, nil, errUnsupported("index aliases")
	}
	meta := &indexMeta{UUID: newUUID(), Created: nowMillis(), Shards: 1, Replicas: 1}
	if err := parseSettings(body.Settings, meta); err != nil {
		return 0, nil, err
	}
	m, err := parseRootMapping(body.Mappings)
	if err != nil {
		return 0, nil, err
	}
	meta.Mappings = m

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, nil, newError(http.StatusServiceUnavailable, "node_closed_exception", "%s", errClosed)
	}
	if old := s.indices[name]; old != nil {
		return 0, nil, errIndexExists(name, old.meta().UUID)
	}
	ix, err := createIndex(filepath.Join(s.dir, indicesDir, name), name, meta)
	if err != nil {
		return 0, nil, err
	}
	s.indices[name] = ix
	return http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name}, nil
}

// parseSettings accepts the settings a single-node emulator can honour or
// safely ignore; analysis and anything else that changes results is
// refused.
func parseSettings(raw json.RawMessage, meta *indexMeta) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return errParsing("failed to parse settings: %s", err)
	}
	flat := map[string]any{}
	var flatten func(prefix string, v map[string]any)
	flatten = func(prefix string, v map[string]any) {
		for k, x := range v {
			if sub, ok := x.(map[string]any); ok {
				flatten(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = x
		}
	}
	flatten("", obj)
	for k, v := range flat {
		key := strings.TrimPrefix(k, "index.")
		switch key {
		case "number_of_shards", "number_of_replicas":
			var n int
			if _, err := fmt.Sscan(fmt.Sprint(v), &n); err != nil || n < 0 {
				return errIllegalArgument("Failed to parse value [%v] for setting [index.%s]", v, key)
			}
			if key == "number_of_shards" {
				if n < 1 {
					return errIllegalArgument("Failed to parse value [%v] for setting [index.number_of_shards] must be >= 1", v)
				}
				meta.Shards = n
			} else {
				meta.Replicas = n
			}
		case "refresh_interval", "max_result_window", "codec", "auto_expand_replicas":
			if key == "max_result_window" && fmt.Sprint(v) != "10000" {
				return errUnsupported("setting [index.max_result_window] other than 10000")
			}
			if meta.Settings == nil {
				meta.Settings = map[string]any{}
			}
			meta.Settings[key] = fmt.Sprint(v)
		default:
			if strings.HasPrefix(key, "analysis.") {
				return errUnsupported("custom analysis settings [index.%s]; use the built-in analyzers standard, cjk, simple, whitespace or keyword", key)
			}
			return errUnsupported("index setting [index.%s]", key)
		}
	}
	return nil
}

func (s *Server) deleteIndex(q *request, name string) (int, any, error) {
	if err := q.allow("timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"); err != nil {
		return 0, nil, err
	}
	if strings.ContainsAny(name, "*,") || name == "_all" {
		return 0, nil, errIllegalArgument("Wildcard expressions or all indices are not allowed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return 0, nil, errIndexNotFound(name)
	}
	delete(s.indices, name)
	if err := ix.close(); err != nil {
		return 0, nil, fmt.Errorf("delete index %s: %w", name, err)
	}
	// Rename first so a crash mid-removal never leaves a half index that
	// New would try to open.
	trash := filepath.Join(s.dir, indicesDir, trashPrefix+name+"-"+newUUID())
	if err := os.Rename(ix.dir, trash); err != nil {
		return 0, nil, fmt.Errorf("delete index %s: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return 0, nil, fmt.Errorf("delete index %s: %w", name, err)
	}
	return http.StatusOK, map[string]any{"acknowledged": true}, nil
}

func (s *Server) indexExists(q *request, name string) (int, any, error) {
	if err := q.allow("local", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "flat_settings", "include_defaults"); err != nil {
		return 0, nil, err
	}
	s.mu.RLock()
	ix := s.indices[name]
	s.mu.RUnlock()
	if ix == nil {
		q.w.Header().Set("Content-Type", "application/json")
		q.w.WriteHeader(http.StatusNotFound)
		return 0, nil, nil
	}
	return http.StatusOK, map[string]any{}, nil
}

func (s *Server) getIndex(q *request, name string) (int, any, error) {
	if err := q.allow("local", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "flat_settings", "include_defaults", "master_timeout", "features"); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	meta := ix.meta()
	return http.StatusOK, map[string]any{name: map[string]any{
		"aliases":  map[string]any{},
		"mappings": meta.Mappings.toJSON(),
		"settings": settingsJSON(name, meta),
	}}, nil
}

func settingsJSON(name string, meta *indexMeta) map[string]any {
	idx := map[string]any{
		"creation_date":      fmt.Sprint(meta.Created),
		"number_of_shards":   fmt.Sprint(meta.Shards),
		"number_of_replicas": fmt.Sprint(meta.Replicas),
		"uuid":               meta.UUID,
		"version":            map[string]any{"created": "8512000"},
		"provided_name":      name,
	}
	for k, v := range meta.Settings {
		idx[k] = v
	}
	return map[string]any{"index": idx}
}

func (s *Server) getSettings(q *request, name string) (int, any, error) {
	if err := q.allow("local", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "flat_settings", "include_defaults", "master_timeout"); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	return http.StatusOK, map[string]any{name: map[string]any{"settings": settingsJSON(name, ix.meta())}}, nil
}

func (s *Server) getMapping(q *request, name string) (int, any, error) {
	if err := q.allow("local", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "master_timeout"); err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	if name == "" {
		s.mu.RLock()
		for n, ix := range s.indices {
			out[n] = map[string]any{"mappings": ix.meta().Mappings.toJSON()}
		}
		s.mu.RUnlock()
		return http.StatusOK, out, nil
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	out[name] = map[string]any{"mappings": ix.meta().Mappings.toJSON()}
	return http.StatusOK, out, nil
}

func (s *Server) putMapping(q *request, name string) (int, any, error) {
	if err := q.allow("timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "write_index_only"); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	src, err := parseRootMapping(q.body)
	if err != nil {
		return 0, nil, err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	merged, err := ix.meta().Mappings.merge(src)
	if err != nil {
		return 0, nil, err
	}
	if err := ix.setMapping(merged); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"acknowledged": true}, nil
}

func (s *Server) refresh(q *request, name string) (int, any, error) {
	if err := q.allow("ignore_unavailable", "allow_no_indices", "expand_wildcards", "force", "wait_if_ongoing"); err != nil {
		return 0, nil, err
	}
	// bleve makes a batch searchable as soon as it returns, so there is
	// nothing to refresh; the call only has to exist and agree on shards.
	shards := 0
	if name != "" {
		ix, release, err := s.acquire(name)
		if err != nil {
			return 0, nil, err
		}
		shards = ix.meta().Shards
		release()
	} else {
		s.mu.RLock()
		for _, ix := range s.indices {
			shards += ix.meta().Shards
		}
		s.mu.RUnlock()
	}
	return http.StatusOK, map[string]any{"_shards": shardsJSON(shards)}, nil
}

func shardsJSON(n int) map[string]any {
	return map[string]any{"total": n, "successful": n, "failed": 0}
}
