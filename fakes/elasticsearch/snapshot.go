package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// The snapshot API of Elasticsearch 8 for "fs" repositories, so one client
// path (esapi's Snapshot* calls, elasticsearch-py's snapshot helpers) saves
// and restores indices on the real Elasticsearch and on the emulator.
//
// Repositories live under path.repo as in ES: a relative location resolves
// against its first entry, and a location outside every entry is refused
// with ES's repository_exception. The repository's contents are the
// emulator's own (a directory per snapshot holding each index's meta.json
// and a bleve copy), not ES's blob format: neither can read the other's.
//
// Speed: scorch segment files (*.zap) are immutable once written, so a
// snapshot hard-links them instead of copying, through bleve's own online
// copy API (Index.CopyTo, which pins the segments of one consistent index
// snapshot while it runs); only the small root.bolt is written. A restore
// hard-links them back. Both are O(segments), not O(bytes), so they cost
// milliseconds at any index size. Where hard links fail (another file
// system), the files are copied.

const (
	reposFile = "repositories.json"
	snapInfo  = "snapshot.json"
	// snapTmpPrefix marks snapshot directories being written: they are
	// renamed into place last, so a killed snapshot is never listed.
	snapTmpPrefix = ".tmp-"
	// restorePrefix marks an index directory being restored; like
	// trashPrefix, '#' keeps it apart from every index name, and New
	// removes one that a crash left.
	restorePrefix = "#restoring-"
)

// Option configures New.
type Option func(*Server)

// WithPathRepo sets path.repo: the directories under which fs snapshot
// repositories may live. Without it every repository is refused, as ES
// refuses them when path.repo is empty.
func WithPathRepo(paths ...string) Option {
	return func(s *Server) {
		for _, p := range paths {
			if p = strings.TrimSpace(p); p != "" {
				s.pathRepo = append(s.pathRepo, filepath.Clean(p))
			}
		}
	}
}

// repository is a registered repository as ES reports it.
type repository struct {
	Type     string         `json:"type"`
	Settings map[string]any `json:"settings"`
	// path is settings.location resolved against path.repo.
	path string
}

// repos is the registry of repositories, persisted in reposFile (ES keeps
// them in the cluster state, which survives restarts too).
type repos struct {
	mu   sync.Mutex
	file string
	m    map[string]*repository
}

func loadRepos(dir string) (*repos, error) {
	r := &repos{file: filepath.Join(dir, reposFile), m: map[string]*repository{}}
	raw, err := os.ReadFile(r.file)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot repositories: %w", err)
	}
	var stored map[string]struct {
		repository
		Path string `json:"path"`
	}
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("parse snapshot repositories %s: %w (remove it to forget them)", r.file, err)
	}
	for name, st := range stored {
		rp := st.repository
		rp.path = st.Path
		r.m[name] = &rp
	}
	return r, nil
}

// clean removes what killed snapshots and snapshot deletes left in the
// repositories (never listed, but taking space). Called at start, when no
// snapshot is under way.
func (r *repos) clean() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rp := range r.m {
		left, _ := filepath.Glob(filepath.Join(rp.path, snapTmpPrefix+"*"))
		for _, p := range left {
			_ = os.RemoveAll(p)
		}
	}
}

// save persists the registry atomically. Callers hold mu.
func (r *repos) save() error {
	out := map[string]any{}
	for name, rp := range r.m {
		out[name] = map[string]any{"type": rp.Type, "settings": rp.Settings, "path": rp.path}
	}
	raw, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("write snapshot repositories: %w", err)
	}
	if err := os.Rename(tmp, r.file); err != nil {
		return fmt.Errorf("write snapshot repositories: %w", err)
	}
	return nil
}

func (r *repos) get(name string) (*repository, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp := r.m[name]
	if rp == nil {
		return nil, errRepoMissing(name)
	}
	return rp, nil
}

func errRepoMissing(name string) *esError {
	return newError(http.StatusNotFound, "repository_missing_exception", "[%s] missing", name)
}

func errRepo(name, format string, args ...any) *esError {
	return newError(http.StatusInternalServerError, "repository_exception", "[%s] %s", name, fmt.Sprintf(format, args...))
}

func errSnapMissing(repo, snap string) *esError {
	return newError(http.StatusNotFound, "snapshot_missing_exception", "[%s:%s] is missing", repo, snap)
}

// routeSnapshot dispatches /_snapshot/...
func (s *Server) routeSnapshot(q *request, rest []string) (int, any, error) {
	m := q.r.Method
	bad := func() (int, any, error) {
		return 0, nil, newError(http.StatusMethodNotAllowed, "method_not_allowed",
			"Incorrect HTTP method for uri [%s] and method [%s]", q.r.URL.Path, m)
	}
	switch len(rest) {
	case 0:
		if m != http.MethodGet {
			return bad()
		}
		return s.getRepos(q, "_all")
	case 1:
		switch m {
		case http.MethodPut, http.MethodPost:
			return s.putRepo(q, rest[0])
		case http.MethodGet:
			return s.getRepos(q, rest[0])
		case http.MethodDelete:
			return s.deleteRepo(q, rest[0])
		}
		return bad()
	case 2:
		if rest[1] == "_verify" {
			if m != http.MethodPost {
				return bad()
			}
			return s.verifyRepo(q, rest[0])
		}
		if rest[1] == "_cleanup" || rest[1] == "_status" {
			break
		}
		switch m {
		case http.MethodPut, http.MethodPost:
			return s.createSnapshot(q, rest[0], rest[1])
		case http.MethodGet:
			return s.getSnapshots(q, rest[0], rest[1])
		case http.MethodDelete:
			return s.deleteSnapshots(q, rest[0], rest[1])
		}
		return bad()
	case 3:
		if rest[2] == "_restore" {
			if m != http.MethodPost {
				return bad()
			}
			return s.restoreSnapshot(q, rest[0], rest[1])
		}
	}
	return 0, nil, errUnsupported("endpoint [%s %s]", m, q.r.URL.Path)
}

// validRepoName applies ES's repository naming rules.
func validRepoName(name string) *esError {
	if name == "" || strings.HasPrefix(name, "_") || strings.ContainsAny(name, "\\/*?\"<>|, #") {
		return newError(http.StatusBadRequest, "invalid_repository_name_exception",
			"[%s] Invalid repository name [%s], must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?] and must not start with '_'", name, name)
	}
	return nil
}

// validSnapName applies ES's snapshot naming rules.
func validSnapName(repo, name string) *esError {
	invalid := func(why string) *esError {
		return newError(http.StatusBadRequest, "invalid_snapshot_name_exception",
			"[%s:%s] Invalid snapshot name [%s], %s", repo, name, name, why)
	}
	switch {
	case name == "":
		return invalid("cannot be empty")
	case strings.ContainsAny(name, "#"):
		return invalid("must not contain '#'")
	case strings.HasPrefix(name, "_"):
		return invalid("must not start with '_'")
	case strings.ToLower(name) != name:
		return invalid("must be lowercase")
	case strings.ContainsAny(name, "\\/*?\"<>|, "), name == "." || name == "..":
		return invalid("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
	}
	return nil
}

// resolveLocation applies path.repo to an fs repository's location as ES
// does: relative to the first entry, and under one of them.
func (s *Server) resolveLocation(repo, loc string) (string, *esError) {
	if len(s.pathRepo) == 0 {
		return "", errRepo(repo, "location [%s] doesn't match any of the locations specified by path.repo because this setting is empty", loc)
	}
	p := loc
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.pathRepo[0], p)
	}
	p = filepath.Clean(p)
	for _, root := range s.pathRepo {
		if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return p, nil
		}
	}
	return "", errRepo(repo, "location [%s] doesn't match any of the locations specified by path.repo: %v", loc, s.pathRepo)
}

func (s *Server) putRepo(q *request, name string) (int, any, error) {
	if err := q.allow("master_timeout", "timeout", "verify"); err != nil {
		return 0, nil, err
	}
	if err := validRepoName(name); err != nil {
		return 0, nil, err
	}
	var body struct {
		Type     string         `json:"type"`
		Settings map[string]any `json:"settings"`
	}
	if err := json.Unmarshal(q.body, &body); err != nil {
		return 0, nil, errParsing("failed to parse repository [%s]: %s", name, err)
	}
	if body.Type == "" {
		return 0, nil, newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: type is missing;")
	}
	if body.Type != "fs" {
		return 0, nil, errRepo(name, "repository type [%s] does not exist (the mossdev Elasticsearch emulator has fs repositories only)", body.Type)
	}
	loc, _ := body.Settings["location"].(string)
	if loc == "" {
		return 0, nil, errRepo(name, "missing location")
	}
	path, rerr := s.resolveLocation(name, loc)
	if rerr != nil {
		return 0, nil, rerr
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return 0, nil, newError(http.StatusInternalServerError, "repository_verification_exception",
			"[%s] cannot create location [%s]: %s", name, path, err)
	}
	settings := map[string]any{}
	for k, v := range body.Settings {
		// ES echoes every setting as a string.
		if str, ok := v.(string); ok {
			settings[k] = str
		} else {
			b, _ := json.Marshal(v)
			settings[k] = string(b)
		}
	}
	s.repos.mu.Lock()
	defer s.repos.mu.Unlock()
	old := s.repos.m[name]
	s.repos.m[name] = &repository{Type: body.Type, Settings: settings, path: path}
	if err := s.repos.save(); err != nil {
		if old != nil {
			s.repos.m[name] = old
		} else {
			delete(s.repos.m, name)
		}
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"acknowledged": true}, nil
}

func (s *Server) getRepos(q *request, expr string) (int, any, error) {
	if err := q.allow("master_timeout", "local"); err != nil {
		return 0, nil, err
	}
	s.repos.mu.Lock()
	defer s.repos.mu.Unlock()
	out := map[string]any{}
	for _, part := range strings.Split(expr, ",") {
		if part == "_all" || strings.Contains(part, "*") {
			for name, rp := range s.repos.m {
				if part == "_all" || matchWildcardList(part, name) {
					out[name] = rp
				}
			}
			continue
		}
		rp := s.repos.m[part]
		if rp == nil {
			return 0, nil, errRepoMissing(part)
		}
		out[part] = rp
	}
	return http.StatusOK, out, nil
}

// verifyRepo checks that the repository's location is writable, as ES's
// verification does on every node (here: the one).
func (s *Server) verifyRepo(q *request, name string) (int, any, error) {
	if err := q.allow("master_timeout", "timeout"); err != nil {
		return 0, nil, err
	}
	rp, err := s.repos.get(name)
	if err != nil {
		return 0, nil, err
	}
	f, cerr := os.CreateTemp(rp.path, snapTmpPrefix+"verify-")
	if cerr != nil {
		return 0, nil, newError(http.StatusInternalServerError, "repository_verification_exception",
			"[%s] store location [%s] is not accessible on the node: %s", name, rp.path, cerr)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return http.StatusOK, map[string]any{"nodes": map[string]any{s.clusterUUID: map[string]any{"name": "mossdev-es-emulator"}}}, nil
}

func (s *Server) deleteRepo(q *request, name string) (int, any, error) {
	if err := q.allow("master_timeout", "timeout"); err != nil {
		return 0, nil, err
	}
	s.repos.mu.Lock()
	defer s.repos.mu.Unlock()
	if s.repos.m[name] == nil {
		return 0, nil, errRepoMissing(name)
	}
	old := s.repos.m[name]
	delete(s.repos.m, name) // ES keeps the files; so do we
	if err := s.repos.save(); err != nil {
		s.repos.m[name] = old
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"acknowledged": true}, nil
}

// snapshotInfo is ES's SnapshotInfo, kept in each snapshot's snapInfo.
type snapshotInfo struct {
	Snapshot           string         `json:"snapshot"`
	UUID               string         `json:"uuid"`
	Repository         string         `json:"repository"`
	VersionID          int            `json:"version_id"`
	Version            string         `json:"version"`
	Indices            []string       `json:"indices"`
	DataStreams        []string       `json:"data_streams"`
	IncludeGlobalState bool           `json:"include_global_state"`
	Metadata           map[string]any `json:"metadata,omitempty"`
	State              string         `json:"state"`
	StartTime          string         `json:"start_time"`
	StartTimeMillis    int64          `json:"start_time_in_millis"`
	EndTime            string         `json:"end_time"`
	EndTimeMillis      int64          `json:"end_time_in_millis"`
	DurationMillis     int64          `json:"duration_in_millis"`
	Failures           []any          `json:"failures"`
	Shards             map[string]int `json:"shards"`
	FeatureStates      []any          `json:"feature_states"`
}

// versionID is versionNumber as ES's numeric id (8.15.0 → 8150099).
const versionID = 8150099

// indexList reads the "indices" of a snapshot or restore body: a
// comma-separated string or an array.
func indexList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return splitList(one), nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errParsing("indices must be a string or an array of strings")
	}
	var out []string
	for _, m := range many {
		out = append(out, splitList(m)...)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// selectIndices resolves index expressions (names, wildcards, "_all",
// "-excluded") against the available names. A missing concrete name is
// returned in missing.
func selectIndices(exprs, available []string) (selected, missing []string) {
	if len(exprs) == 0 {
		exprs = []string{"*"}
	}
	set := map[string]bool{}
	for _, e := range exprs {
		switch {
		case e == "_all" || e == "*":
			for _, a := range available {
				if !strings.HasPrefix(a, ".") {
					set[a] = true
				}
			}
		case strings.HasPrefix(e, "-"):
			for a := range set {
				if matchWildcardList(e[1:], a) {
					delete(set, a)
				}
			}
		case strings.Contains(e, "*"):
			for _, a := range available {
				if matchWildcardList(e, a) {
					set[a] = true
				}
			}
		default:
			if slices.Contains(available, e) {
				set[e] = true
			} else {
				missing = append(missing, e)
			}
		}
	}
	for a := range set {
		selected = append(selected, a)
	}
	sort.Strings(selected)
	return selected, missing
}

type snapshotBody struct {
	Indices            json.RawMessage `json:"indices"`
	IgnoreUnavailable  bool            `json:"ignore_unavailable"`
	IncludeGlobalState *bool           `json:"include_global_state"`
	Partial            bool            `json:"partial"`
	Metadata           map[string]any  `json:"metadata"`
	FeatureStates      []string        `json:"feature_states"`
	ExpandWildcards    any             `json:"expand_wildcards"`
}

func (s *Server) createSnapshot(q *request, repoName, snap string) (int, any, error) {
	if err := q.allow("master_timeout", "wait_for_completion"); err != nil {
		return 0, nil, err
	}
	rp, err := s.repos.get(repoName)
	if err != nil {
		return 0, nil, err
	}
	if verr := validSnapName(repoName, snap); verr != nil {
		return 0, nil, verr
	}
	var body snapshotBody
	if len(bytes.TrimSpace(q.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(q.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return 0, nil, errParsing("failed to parse snapshot request: %s", err)
		}
	}
	exprs, err := indexList(body.Indices)
	if err != nil {
		return 0, nil, err
	}
	final := filepath.Join(rp.path, snap)
	if _, err := os.Stat(filepath.Join(final, snapInfo)); err == nil {
		return 0, nil, newError(http.StatusBadRequest, "invalid_snapshot_name_exception",
			"[%s:%s] Invalid snapshot name [%s], snapshot with the same name already exists", repoName, snap, snap)
	}

	start := time.Now()
	s.mu.RLock()
	var names []string
	for name := range s.indices {
		names = append(names, name)
	}
	s.mu.RUnlock()
	selected, missing := selectIndices(exprs, names)
	if len(missing) > 0 && !body.IgnoreUnavailable {
		return 0, nil, errIndexNotFound(missing[0])
	}
	tmp := filepath.Join(rp.path, snapTmpPrefix+snap+"-"+newUUID())
	defer os.RemoveAll(tmp) // a no-op once renamed
	for _, name := range selected {
		if err := s.snapshotIndex(name, filepath.Join(tmp, indicesDir, name)); err != nil {
			var es *esError
			if errors.As(err, &es) && es.typ == "index_not_found_exception" && body.IgnoreUnavailable {
				continue // deleted meanwhile
			}
			return 0, nil, fmt.Errorf("snapshot [%s:%s]: %w", repoName, snap, err)
		}
	}
	end := time.Now()
	info := snapshotInfo{
		Snapshot: snap, UUID: newUUID(), Repository: repoName, VersionID: versionID, Version: versionNumber,
		Indices: selected, DataStreams: []string{}, Metadata: body.Metadata, State: "SUCCESS",
		IncludeGlobalState: body.IncludeGlobalState == nil || *body.IncludeGlobalState,
		StartTime:          start.UTC().Format(time.RFC3339Nano), StartTimeMillis: start.UnixMilli(),
		EndTime: end.UTC().Format(time.RFC3339Nano), EndTimeMillis: end.UnixMilli(),
		DurationMillis: end.Sub(start).Milliseconds(), Failures: []any{},
		Shards:        map[string]int{"total": len(selected), "failed": 0, "successful": len(selected)},
		FeatureStates: []any{},
	}
	if info.Indices == nil {
		info.Indices = []string{}
	}
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return 0, nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, nil, fmt.Errorf("snapshot [%s:%s]: %w", repoName, snap, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, snapInfo), raw, 0o644); err != nil {
		return 0, nil, fmt.Errorf("snapshot [%s:%s]: %w", repoName, snap, err)
	}
	// Last: a snapshot is listed only once whole. A directory left by a
	// snapshot killed before its snapInfo was renamed in is replaced.
	if _, err := os.Stat(final); err == nil {
		if err := os.RemoveAll(final); err != nil {
			return 0, nil, fmt.Errorf("snapshot [%s:%s]: %w", repoName, snap, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, nil, fmt.Errorf("snapshot [%s:%s]: %w", repoName, snap, err)
	}
	if q.params.Get("wait_for_completion") != "true" {
		return http.StatusOK, map[string]any{"accepted": true}, nil
	}
	return http.StatusOK, map[string]any{"snapshot": info}, nil
}

// snapshotIndex writes index name's mapping and a hard-linked bleve copy to
// dst. Writers of the index wait meanwhile (milliseconds), so documents and
// mapping are of one instant.
func (s *Server) snapshotIndex(name, dst string) error {
	ix, release, err := s.acquire(name)
	if err != nil {
		return err
	}
	defer release()
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	copyable, ok := ix.bidx.(bleve.IndexCopyable)
	if !ok {
		return fmt.Errorf("index %s: bleve index cannot be copied online", name)
	}
	if err := copyable.CopyTo(linkDir(filepath.Join(dst, bleveDir))); err != nil {
		return fmt.Errorf("copy index %s: %w", name, err)
	}
	return copyFile(filepath.Join(ix.dir, metaFile), filepath.Join(dst, metaFile))
}

// linkDir is a bleve index.Directory that hard-links the segment files
// bleve copies from the live index instead of copying their bytes (see the
// top of this file). bleve writes everything else (root.bolt, its own
// metadata, segments still in memory) through the returned file.
type linkDir string

func (d linkDir) GetWriter(path string) (io.WriteCloser, error) {
	full := filepath.Join(string(d), path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	if filepath.Ext(path) == ".zap" {
		return &linkWriter{path: full}, nil
	}
	// root.bolt must be an *os.File: bleve opens it by name.
	return os.OpenFile(full, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

// linkWriter creates its file lazily: io.Copy from a segment file reaches
// ReadFrom with a reader that names the file, which is then hard-linked;
// a segment written from memory arrives through Write.
type linkWriter struct {
	path string
	f    *os.File
}

func (w *linkWriter) ReadFrom(r io.Reader) (int64, error) {
	if named, ok := r.(interface{ Name() string }); ok && w.f == nil {
		if err := os.Link(named.Name(), w.path); err == nil {
			fi, err := os.Stat(w.path)
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		}
		// Another file system: copy instead.
	}
	if err := w.open(); err != nil {
		return 0, err
	}
	return io.Copy(w.f, r)
}

func (w *linkWriter) Write(p []byte) (int, error) {
	if err := w.open(); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func (w *linkWriter) open() error {
	if w.f != nil {
		return nil
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	w.f = f
	return err
}

func (w *linkWriter) Close() error {
	if w.f == nil {
		return nil
	}
	return w.f.Close()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// linkTree recreates the tree src at dst: immutable segment files are
// hard-linked (copied across file systems), everything else is copied,
// since scorch rewrites root.bolt in place.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Ext(p) == ".zap" {
			if os.Link(p, target) == nil {
				return nil
			}
		}
		return copyFile(p, target)
	})
}

// listSnapshots reads the whole snapshots of a repository.
func listSnapshots(rp *repository) ([]snapshotInfo, error) {
	entries, err := os.ReadDir(rp.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []snapshotInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), snapTmpPrefix) {
			continue
		}
		info, err := readSnapshot(rp, e.Name())
		if err != nil {
			continue // not (yet) a whole snapshot
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].StartTimeMillis != out[j].StartTimeMillis {
			return out[i].StartTimeMillis < out[j].StartTimeMillis
		}
		return out[i].Snapshot < out[j].Snapshot
	})
	return out, nil
}

func readSnapshot(rp *repository, snap string) (snapshotInfo, error) {
	var info snapshotInfo
	raw, err := os.ReadFile(filepath.Join(rp.path, snap, snapInfo))
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(raw, &info)
	return info, err
}

func (s *Server) getSnapshots(q *request, repoName, expr string) (int, any, error) {
	if err := q.allow("master_timeout", "ignore_unavailable", "verbose", "index_details", "include_repository",
		"sort", "size", "order", "from_sort_value", "after", "offset", "slm_policy_filter", "index_names"); err != nil {
		return 0, nil, err
	}
	rp, err := s.repos.get(repoName)
	if err != nil {
		return 0, nil, err
	}
	all, err := listSnapshots(rp)
	if err != nil {
		return 0, nil, fmt.Errorf("list snapshots of [%s]: %w", repoName, err)
	}
	ignore := q.params.Get("ignore_unavailable") == "true"
	var out []snapshotInfo
	for _, part := range splitList(expr) {
		if part == "_all" || part == "*" || strings.Contains(part, "*") {
			for _, info := range all {
				if part == "_all" || matchWildcardList(part, info.Snapshot) {
					out = append(out, info)
				}
			}
			continue
		}
		i := slices.IndexFunc(all, func(info snapshotInfo) bool { return info.Snapshot == part })
		if i < 0 {
			if ignore {
				continue
			}
			return 0, nil, errSnapMissing(repoName, part)
		}
		out = append(out, all[i])
	}
	if out == nil {
		out = []snapshotInfo{}
	}
	return http.StatusOK, map[string]any{"snapshots": out, "total": len(out), "remaining": 0}, nil
}

func (s *Server) deleteSnapshots(q *request, repoName, expr string) (int, any, error) {
	if err := q.allow("master_timeout", "wait_for_completion"); err != nil {
		return 0, nil, err
	}
	rp, err := s.repos.get(repoName)
	if err != nil {
		return 0, nil, err
	}
	all, err := listSnapshots(rp)
	if err != nil {
		return 0, nil, fmt.Errorf("list snapshots of [%s]: %w", repoName, err)
	}
	var doomed []string
	for _, part := range splitList(expr) {
		if part == "_all" || strings.Contains(part, "*") {
			for _, info := range all {
				if part == "_all" || matchWildcardList(part, info.Snapshot) {
					doomed = append(doomed, info.Snapshot)
				}
			}
			continue
		}
		if !slices.ContainsFunc(all, func(info snapshotInfo) bool { return info.Snapshot == part }) {
			return 0, nil, errSnapMissing(repoName, part)
		}
		doomed = append(doomed, part)
	}
	for _, snap := range doomed {
		// Rename first, so a half-deleted snapshot is never listed.
		dir := filepath.Join(rp.path, snap)
		trash := filepath.Join(rp.path, snapTmpPrefix+"deleted-"+snap+"-"+newUUID())
		if err := os.Rename(dir, trash); err != nil {
			return 0, nil, fmt.Errorf("delete snapshot [%s:%s]: %w", repoName, snap, err)
		}
		if err := os.RemoveAll(trash); err != nil {
			return 0, nil, fmt.Errorf("delete snapshot [%s:%s]: %w", repoName, snap, err)
		}
	}
	return http.StatusOK, map[string]any{"acknowledged": true}, nil
}

func (s *Server) restoreSnapshot(q *request, repoName, snap string) (int, any, error) {
	if err := q.allow("master_timeout", "wait_for_completion"); err != nil {
		return 0, nil, err
	}
	rp, err := s.repos.get(repoName)
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		Indices             json.RawMessage `json:"indices"`
		IgnoreUnavailable   bool            `json:"ignore_unavailable"`
		IncludeGlobalState  bool            `json:"include_global_state"`
		IncludeAliases      *bool           `json:"include_aliases"`
		Partial             bool            `json:"partial"`
		FeatureStates       []string        `json:"feature_states"`
		ExpandWildcards     any             `json:"expand_wildcards"`
		RenamePattern       string          `json:"rename_pattern"`
		RenameReplacement   string          `json:"rename_replacement"`
		IndexSettings       json.RawMessage `json:"index_settings"`
		IgnoreIndexSettings json.RawMessage `json:"ignore_index_settings"`
	}
	if len(bytes.TrimSpace(q.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(q.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return 0, nil, errParsing("failed to parse restore request: %s", err)
		}
	}
	if body.RenamePattern != "" || body.RenameReplacement != "" {
		return 0, nil, errUnsupported("restore with rename_pattern")
	}
	if len(bytes.TrimSpace(body.IndexSettings)) > 0 || len(bytes.TrimSpace(body.IgnoreIndexSettings)) > 0 {
		return 0, nil, errUnsupported("restore with index_settings")
	}
	exprs, err := indexList(body.Indices)
	if err != nil {
		return 0, nil, err
	}
	info, err := readSnapshot(rp, snap)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil, errSnapMissing(repoName, snap)
		}
		return 0, nil, fmt.Errorf("read snapshot [%s:%s]: %w", repoName, snap, err)
	}
	selected, missing := selectIndices(exprs, info.Indices)
	if len(missing) > 0 && !body.IgnoreUnavailable {
		return 0, nil, newError(http.StatusInternalServerError, "snapshot_restore_exception",
			"[%s:%s/%s] indices [%s] missing", repoName, snap, info.UUID, strings.Join(missing, ", "))
	}
	// Refuse before changing anything, as ES checks every index first.
	s.mu.RLock()
	for _, name := range selected {
		if s.indices[name] != nil {
			s.mu.RUnlock()
			return 0, nil, newError(http.StatusInternalServerError, "snapshot_restore_exception",
				"[%s:%s/%s] cannot restore index [%s] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name",
				repoName, snap, info.UUID, name)
		}
	}
	s.mu.RUnlock()
	for _, name := range selected {
		if err := s.restoreIndex(filepath.Join(rp.path, snap, indicesDir, name), name, repoName, snap, info.UUID); err != nil {
			return 0, nil, err
		}
	}
	if q.params.Get("wait_for_completion") != "true" {
		return http.StatusOK, map[string]any{"accepted": true}, nil
	}
	if selected == nil {
		selected = []string{}
	}
	return http.StatusOK, map[string]any{"snapshot": map[string]any{
		"snapshot": snap, "indices": selected,
		"shards": map[string]int{"total": len(selected), "failed": 0, "successful": len(selected)},
	}}, nil
}

// restoreIndex builds index name from its snapshot copy src under a
// staging name, renames it into place and opens it.
func (s *Server) restoreIndex(src, name, repoName, snap, snapUUID string) error {
	stage := filepath.Join(s.dir, indicesDir, restorePrefix+name+"-"+newUUID())
	defer os.RemoveAll(stage) // a no-op once renamed
	if err := linkTree(src, stage); err != nil {
		return fmt.Errorf("restore index [%s] from [%s:%s]: %w", name, repoName, snap, err)
	}
	// A restored index is a new index: ES gives it a new UUID.
	raw, err := os.ReadFile(filepath.Join(stage, metaFile))
	if err != nil {
		return fmt.Errorf("restore index [%s]: %w", name, err)
	}
	var mj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &mj); err != nil {
		return fmt.Errorf("restore index [%s]: parse %s: %w", name, metaFile, err)
	}
	mj["uuid"], _ = json.Marshal(newUUID())
	if raw, err = json.MarshalIndent(mj, "", "  "); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, metaFile), raw, 0o644); err != nil {
		return fmt.Errorf("restore index [%s]: %w", name, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return newError(http.StatusServiceUnavailable, "node_closed_exception", "%s", errClosed)
	}
	if s.indices[name] != nil {
		return newError(http.StatusInternalServerError, "snapshot_restore_exception",
			"[%s:%s/%s] cannot restore index [%s] because an open index with same name already exists in the cluster", repoName, snap, snapUUID, name)
	}
	dir := filepath.Join(s.dir, indicesDir, name)
	// A directory without meta.json is a creation that crashed; clear it.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("restore index [%s]: %w", name, err)
	}
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("restore index [%s]: %w", name, err)
	}
	ix, err := openIndex(dir, name)
	if err != nil {
		return fmt.Errorf("restore index [%s]: %w", name, err)
	}
	s.indices[name] = ix
	return nil
}
