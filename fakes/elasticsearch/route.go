package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mossdev/mossdev/fakes"
)

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
	if isWrite(r) {
		if err := s.pause.Wait(r.Context()); err != nil {
			return // the client went away while writes were paused
		}
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

// isWrite tells the requests a pause holds back: those that change
// documents, mappings or indices. Searches sent as POST read; the snapshot
// API and mossdev's admin API are how a checkpoint is taken while paused.
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		return false
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch segs[0] {
	case "_snapshot", "_mossdev":
		return false
	}
	switch segs[len(segs)-1] {
	case "_search", "_count", "_mget", "_msearch", "_refresh", "_flush", "_field_caps", "_validate":
		return r.Method == http.MethodDelete
	}
	return true
}

// admin serves mossdev's own endpoints under /_mossdev/, authenticated like
// every request: POST /_mossdev/pause?expires=30s holds writes back until
// POST /_mossdev/resume or the expiry (fakes.DefaultPauseExpiry when
// absent), as the S3 fake does at the same path.
func (s *Server) admin(q *request, rest []string) (int, any, error) {
	if len(rest) != 1 || (rest[0] != "pause" && rest[0] != "resume") {
		return 0, nil, errUnsupported("endpoint [%s %s] (mossdev's admin API has POST /_mossdev/pause and /_mossdev/resume)", q.r.Method, q.r.URL.Path)
	}
	if q.r.Method != http.MethodPost {
		return 0, nil, newError(http.StatusMethodNotAllowed, "method_not_allowed",
			"Incorrect HTTP method for uri [%s] and method [%s]", q.r.URL.Path, q.r.Method)
	}
	if rest[0] == "resume" {
		if err := q.allow(); err != nil {
			return 0, nil, err
		}
		s.pause.Resume()
		return http.StatusOK, map[string]any{"acknowledged": true}, nil
	}
	if err := q.allow("expires"); err != nil {
		return 0, nil, err
	}
	d, err := fakes.ParsePauseExpiry(q.params.Get("expires"))
	if err != nil {
		return 0, nil, errIllegalArgument("%s", err)
	}
	until := s.pause.Pause(d)
	return http.StatusOK, map[string]any{"acknowledged": true, "until": until}, nil
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
		case segs[0] == "_snapshot":
			return s.routeSnapshot(q, segs[1:])
		case segs[0] == "_mossdev":
			return s.admin(q, segs[1:])
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
