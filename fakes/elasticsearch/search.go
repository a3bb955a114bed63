package elasticsearch

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

const (
	maxResultWindow    = 10000 // ES's index.max_result_window default
	defaultTrackTotals = 10000 // ES counts hits exactly up to this by default
)

// searchParams are the URL parameters _search accepts. Those listed in
// searchIgnored cannot change the answer of a one-shard emulator.
var (
	searchParams  = []string{"typed_keys", "size", "from", "sort", "track_total_hits", "_source", "_source_includes", "_source_excludes", "rest_total_hits_as_int", "track_scores"}
	searchIgnored = []string{"search_type", "allow_no_indices", "ignore_unavailable", "expand_wildcards", "request_cache",
		"preference", "routing", "timeout", "batched_reduce_size", "ccs_minimize_roundtrips", "allow_partial_search_results",
		"max_concurrent_shard_requests", "pre_filter_shard_size", "ignore_throttled", "lenient", "include_named_queries_score"}
)

// searchRequest is a parsed _search body plus URL parameters.
type searchRequest struct {
	query       json.RawMessage
	postFilter  json.RawMessage
	from, size  int
	sort        []sortSpec
	searchAfter []any
	aggs        []termsAgg
	source      sourceFilter
	trackTotal  int // -1: exact, 0: none
	trackScores bool
	totalAsInt  bool
	typedKeys   bool
}

func (s *Server) search(q *request, name string) (int, any, error) {
	if err := q.allow(slices.Concat(searchParams, searchIgnored)...); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	start := time.Now()
	meta := ix.meta()
	sr, err := parseSearch(q, meta.Mappings)
	if err != nil {
		return 0, nil, err
	}
	qp := &queryParser{m: meta.Mappings, now: start}
	mainQ := query.Query(query.NewMatchAllQuery())
	if sr.query != nil {
		if mainQ, err = qp.parse(sr.query); err != nil {
			return 0, nil, err
		}
	}
	hitsQ := mainQ
	if sr.postFilter != nil {
		pf, err := qp.parse(sr.postFilter)
		if err != nil {
			return 0, nil, err
		}
		hitsQ = combineFilter(mainQ, pf)
	}

	req := bleve.NewSearchRequestOptions(hitsQ, sr.size, sr.from, false)
	if sr.source.enabled {
		req.Fields = []string{fieldSource}
	}
	sortByScore := len(sr.sort) == 0
	if len(sr.sort) > 0 {
		order := make(search.SortOrder, 0, len(sr.sort))
		for _, sp := range sr.sort {
			order = append(order, sp.bleve())
			if sp.kind == sortScore {
				sortByScore = true
			}
		}
		req.Sort = order
	}
	scored := sortByScore || sr.trackScores
	if !scored {
		req.Score = "none"
	}
	if len(sr.searchAfter) > 0 {
		after, err := encodeSearchAfter(sr.sort, sr.searchAfter)
		if err != nil {
			return 0, nil, err
		}
		req.SearchAfter = after
	}
	aggsSeparately := sr.postFilter != nil && len(sr.aggs) > 0
	if !aggsSeparately {
		addFacets(req, sr.aggs)
	}
	res, err := ix.bidx.SearchInContext(q.r.Context(), req)
	if err != nil {
		return 0, nil, searchFailure(err)
	}
	facets := res.Facets
	if aggsSeparately {
		// post_filter narrows hits but not aggregations, so aggregations
		// come from a second, hit-less search over the main query.
		areq := bleve.NewSearchRequestOptions(mainQ, 0, 0, false)
		areq.Score = "none"
		addFacets(areq, sr.aggs)
		ares, err := ix.bidx.SearchInContext(q.r.Context(), areq)
		if err != nil {
			return 0, nil, searchFailure(err)
		}
		facets = ares.Facets
	}

	hits := make([]any, 0, len(res.Hits))
	var maxScore any
	for _, h := range res.Hits {
		hit := map[string]any{"_index": name, "_id": h.ID}
		if scored {
			hit["_score"] = h.Score
			if ms, ok := maxScore.(float64); !ok || h.Score > ms {
				maxScore = h.Score
			}
		} else {
			hit["_score"] = nil
		}
		if sr.source.enabled {
			if raw, ok := h.Fields[fieldSource].(string); ok {
				src, err := sr.source.apply([]byte(raw))
				if err != nil {
					return 0, nil, err
				}
				hit["_source"] = src
			}
		}
		if len(sr.sort) > 0 {
			vals := make([]any, len(sr.sort))
			for i, sp := range sr.sort {
				vals[i] = sp.decode(h, i)
			}
			hit["sort"] = vals
		}
		hits = append(hits, hit)
	}
	if scored && res.MaxScore > 0 && len(hits) > 0 {
		maxScore = res.MaxScore
	}

	hitsObj := map[string]any{"max_score": maxScore, "hits": hits}
	total, relation := res.Total, "eq"
	if sr.trackTotal > 0 && total > uint64(sr.trackTotal) {
		total, relation = uint64(sr.trackTotal), "gte"
	}
	switch {
	case sr.totalAsInt:
		hitsObj["total"] = total
	case sr.trackTotal != 0:
		hitsObj["total"] = map[string]any{"value": total, "relation": relation}
	}
	out := map[string]any{
		"took":      time.Since(start).Milliseconds(),
		"timed_out": false,
		"_shards":   map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":      hitsObj,
	}
	if len(sr.aggs) > 0 {
		aggs := map[string]any{}
		for _, a := range sr.aggs {
			key, val := a.result(facets[a.name], sr.typedKeys)
			aggs[key] = val
		}
		out["aggregations"] = aggs
	}
	return http.StatusOK, out, nil
}

// searchFailure maps a bleve search error to ES's shape; bleve validates
// some queries (e.g. regexp syntax) only when searching.
func searchFailure(err error) error {
	e := newError(http.StatusBadRequest, "search_phase_execution_exception", "all shards failed")
	e.extra = map[string]any{"phase": "query", "caused_by": map[string]any{"type": "query_shard_exception", "reason": err.Error()}}
	return e
}

func combineFilter(q, filter query.Query) query.Query {
	if isNone(q) || isNone(filter) {
		return none()
	}
	return &query.BooleanQuery{Must: query.NewConjunctionQuery([]query.Query{q}), Filter: filter}
}

func parseSearch(q *request, m *rootMapping) (*searchRequest, error) {
	sr := &searchRequest{size: 10, source: sourceFilter{enabled: true}, trackTotal: defaultTrackTotals}
	var body map[string]json.RawMessage
	if len(bytes.TrimSpace(q.body)) > 0 {
		if err := decodeJSON(q.body, &body); err != nil {
			return nil, errParsing("failed to parse search body: %s", err)
		}
	}
	intParam := func(name string, raw json.RawMessage) (int, error) {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, errParsing("[%s] must be an integer", name)
		}
		return n, nil
	}
	var err error
	for _, k := range sortedKeys(body) {
		raw := body[k]
		switch k {
		case "query":
			sr.query = raw
		case "post_filter":
			sr.postFilter = raw
		case "from":
			if sr.from, err = intParam(k, raw); err != nil {
				return nil, err
			}
		case "size":
			if sr.size, err = intParam(k, raw); err != nil {
				return nil, err
			}
		case "sort":
			if sr.sort, err = parseSort(raw, m); err != nil {
				return nil, err
			}
		case "aggs", "aggregations":
			if sr.aggs, err = parseAggs(raw, m); err != nil {
				return nil, err
			}
		case "_source":
			if sr.source, err = parseSourceFilter(raw); err != nil {
				return nil, err
			}
		case "track_total_hits":
			if sr.trackTotal, err = parseTrackTotal(string(bytes.Trim(raw, `"`))); err != nil {
				return nil, err
			}
		case "track_scores":
			if err := json.Unmarshal(raw, &sr.trackScores); err != nil {
				return nil, errParsing("[track_scores] must be a boolean")
			}
		case "search_after":
			if err := decodeJSON(raw, &sr.searchAfter); err != nil {
				return nil, errParsing("[search_after] must be an array")
			}
		case "timeout", "profile", "stats":
			// No effect on results.
		case "explain", "version", "seq_no_primary_term":
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil || b {
				return nil, errUnsupported("search option [%s: true]", k)
			}
		case "highlight", "fields", "docvalue_fields", "stored_fields", "script_fields", "min_score",
			"collapse", "rescore", "suggest", "knn", "pit", "runtime_mappings", "indices_boost",
			"terminate_after", "ext", "slice", "rank", "retriever":
			return nil, errUnsupported("search option [%s]", k)
		default:
			return nil, errParsing("Unknown key for a START_OBJECT in [%s].", k)
		}
	}

	// URL parameters override the body, as in ES.
	p := q.params
	if v := p.Get("size"); v != "" {
		if sr.size, err = strconv.Atoi(v); err != nil {
			return nil, errIllegalArgument("Failed to parse int parameter [size] with value [%s]", v)
		}
	}
	if v := p.Get("from"); v != "" {
		if sr.from, err = strconv.Atoi(v); err != nil {
			return nil, errIllegalArgument("Failed to parse int parameter [from] with value [%s]", v)
		}
	}
	if v := p.Get("sort"); v != "" {
		var items []any
		for _, part := range strings.Split(v, ",") {
			field, dir, ok := strings.Cut(part, ":")
			if ok {
				items = append(items, map[string]any{field: dir})
			} else {
				items = append(items, field)
			}
		}
		raw, _ := json.Marshal(items)
		if sr.sort, err = parseSort(raw, m); err != nil {
			return nil, err
		}
	}
	if v := p.Get("track_total_hits"); v != "" {
		if sr.trackTotal, err = parseTrackTotal(v); err != nil {
			return nil, err
		}
	}
	if v := p.Get("track_scores"); v != "" {
		sr.trackScores = v == "true"
	}
	if v := p.Get("_source"); v != "" {
		switch v {
		case "true":
			sr.source = sourceFilter{enabled: true}
		case "false":
			sr.source = sourceFilter{}
		default:
			sr.source = sourceFilter{enabled: true, includes: strings.Split(v, ",")}
		}
	}
	if v := p.Get("_source_includes"); v != "" {
		sr.source.enabled, sr.source.includes = true, strings.Split(v, ",")
	}
	if v := p.Get("_source_excludes"); v != "" {
		sr.source.enabled, sr.source.excludes = true, strings.Split(v, ",")
	}
	sr.totalAsInt = p.Get("rest_total_hits_as_int") == "true"
	sr.typedKeys = p.Get("typed_keys") == "true"
	if sr.totalAsInt && sr.trackTotal > 0 {
		sr.trackTotal = -1 // ES counts exactly when asked for an integer total
	}

	if sr.from < 0 {
		return nil, errIllegalArgument("[from] parameter cannot be negative but was [%d]", sr.from)
	}
	if sr.size < 0 {
		return nil, errIllegalArgument("[size] parameter cannot be negative, found [%d]", sr.size)
	}
	if sr.from+sr.size > maxResultWindow {
		return nil, errIllegalArgument("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", maxResultWindow, sr.from+sr.size)
	}
	if len(sr.searchAfter) > 0 {
		if len(sr.sort) == 0 {
			return nil, errUnsupported("[search_after] without an explicit sort")
		}
		if len(sr.searchAfter) != len(sr.sort) {
			return nil, errIllegalArgument("search_after has %d value(s) but sort has %d.", len(sr.searchAfter), len(sr.sort))
		}
		if sr.from > 0 {
			return nil, errIllegalArgument("[from] parameter must be set to 0 when [search_after] is used")
		}
	}
	return sr, nil
}

func parseTrackTotal(v string) (int, error) {
	switch v {
	case "true":
		return -1, nil
	case "false":
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < -1 {
		return 0, errIllegalArgument("[track_total_hits] must be a boolean or a non-negative integer, got [%s]", v)
	}
	if n == -1 {
		return -1, nil
	}
	if n == 0 {
		return 0, nil
	}
	return n, nil
}

// _count

func (s *Server) count(q *request, name string) (int, any, error) {
	if err := q.allow("allow_no_indices", "ignore_unavailable", "expand_wildcards", "routing", "preference", "ignore_throttled", "lenient"); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	var body map[string]json.RawMessage
	if len(bytes.TrimSpace(q.body)) > 0 {
		if err := decodeJSON(q.body, &body); err != nil {
			return 0, nil, errParsing("failed to parse count body: %s", err)
		}
	}
	meta := ix.meta()
	bq := query.Query(query.NewMatchAllQuery())
	for k, raw := range body {
		if k != "query" {
			return 0, nil, errParsing("request does not support [%s]", k)
		}
		qp := &queryParser{m: meta.Mappings, now: time.Now()}
		if bq, err = qp.parse(raw); err != nil {
			return 0, nil, err
		}
	}
	req := bleve.NewSearchRequestOptions(bq, 0, 0, false)
	req.Score = "none"
	res, err := ix.bidx.SearchInContext(q.r.Context(), req)
	if err != nil {
		return 0, nil, searchFailure(err)
	}
	return http.StatusOK, map[string]any{
		"count":   res.Total,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
	}, nil
}
