package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Cluster health, _cat/indices and index administration (create, delete,
// settings, mappings, refresh).

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
