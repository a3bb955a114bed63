package elasticsearch

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
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

// Sorting.

type sortKind int

const (
	sortScore sortKind = iota
	sortDoc
	sortField
	sortGeo
)

type sortSpec struct {
	kind  sortKind
	field string
	typ   string // field type, for decoding values
	desc  bool
	mode  search.SortFieldMode
	first bool // missing values first
	// geo
	lat, lon float64
	unitM    float64
}

// noSuchField is the field a _doc sort sorts on: no document has it, so
// every hit ties and bleve falls back to index order, which is what _doc
// means in ES.
const noSuchField = "#doc_order"

func (sp sortSpec) bleve() search.SearchSort {
	switch sp.kind {
	case sortScore:
		return &search.SortScore{Desc: sp.desc}
	case sortDoc:
		return &search.SortField{Field: noSuchField, Desc: sp.desc}
	case sortGeo:
		s, _ := search.NewSortGeoDistance(sp.field, "m", sp.lon, sp.lat, sp.desc)
		return s
	}
	sf := &search.SortField{Field: sp.field, Desc: sp.desc, Mode: sp.mode}
	if sp.first {
		sf.Missing = search.SortFieldMissingFirst
	}
	switch {
	case isNumericType(sp.typ):
		sf.Type = search.SortFieldAsNumber
	case sp.typ == typeDate:
		sf.Type = search.SortFieldAsDate
	default:
		sf.Type = search.SortFieldAsString
	}
	return sf
}

func isMissingSortValue(v string) bool { return v == search.HighTerm || v == search.LowTerm }

// decode turns bleve's encoded sort value into the value ES prints: numbers
// as numbers, dates as epoch millis, booleans as 1/0, geo distances in the
// requested unit.
func (sp sortSpec) decode(h *search.DocumentMatch, i int) any {
	switch sp.kind {
	case sortScore:
		return h.Score
	case sortDoc:
		return h.HitNumber
	}
	if i >= len(h.Sort) {
		return nil
	}
	v := h.Sort[i]
	switch sp.kind {
	case sortGeo:
		n, err := numeric.PrefixCoded(v).Int64()
		if err != nil || v == geoMissing {
			return "Infinity"
		}
		return numeric.Int64ToFloat64(n) / sp.unitM
	}
	if isMissingSortValue(v) {
		// ES reports missing numbers as the extreme value of the sort
		// direction; keywords as null.
		switch {
		case isIntegerType(sp.typ) || sp.typ == typeDate || sp.typ == typeBoolean:
			if v == search.HighTerm {
				return int64(math.MaxInt64)
			}
			return int64(math.MinInt64)
		case isFloatType(sp.typ):
			if v == search.HighTerm {
				return "Infinity"
			}
			return "-Infinity"
		}
		return nil
	}
	switch {
	case isNumericType(sp.typ):
		n, err := numeric.PrefixCoded(v).Int64()
		if err != nil {
			return nil
		}
		f := numeric.Int64ToFloat64(n)
		if isIntegerType(sp.typ) {
			return int64(f)
		}
		return f
	case sp.typ == typeDate:
		n, err := numeric.PrefixCoded(v).Int64()
		if err != nil {
			return nil
		}
		return time.Unix(0, n).UnixMilli()
	case sp.typ == typeBoolean:
		if v == "T" {
			return 1
		}
		return 0
	}
	return v
}

var geoMissing = string(numeric.MustNewPrefixCodedInt64(math.MaxInt64, 0))

// encodeSearchAfter turns ES search_after values back into the strings
// bleve compares with: bleve re-encodes numbers, geo distances (meters) and
// RFC 3339 dates itself.
func encodeSearchAfter(specs []sortSpec, vals []any) ([]string, error) {
	out := make([]string, len(specs))
	for i, sp := range specs {
		v := vals[i]
		switch {
		case sp.kind == sortDoc:
			return nil, errUnsupported("[search_after] with a [_doc] sort")
		case sp.kind == sortScore:
			f, err := toFloat(v)
			if err != nil {
				return nil, errIllegalArgument("search_after value [%v] for _score is not a number", v)
			}
			out[i] = strconv.FormatFloat(f, 'g', -1, 64)
		case sp.kind == sortGeo:
			f, err := toFloat(v)
			if err != nil {
				return nil, errIllegalArgument("search_after value [%v] for _geo_distance is not a number", v)
			}
			out[i] = strconv.FormatFloat(f*sp.unitM, 'g', -1, 64)
		case v == nil:
			if sp.desc != sp.first {
				out[i] = search.LowTerm
			} else {
				out[i] = search.HighTerm
			}
		case isNumericType(sp.typ):
			f, err := toFloat(v)
			if err != nil {
				return nil, errIllegalArgument("search_after value [%v] for field [%s] is not a number", v, sp.field)
			}
			out[i] = strconv.FormatFloat(f, 'g', -1, 64)
		case sp.typ == typeDate:
			f, err := toFloat(v)
			if err != nil {
				return nil, errIllegalArgument("search_after value [%v] for date field [%s] must be epoch millis", v, sp.field)
			}
			out[i] = time.UnixMilli(int64(f)).UTC().Format(time.RFC3339Nano)
		case sp.typ == typeBoolean:
			b := fmt.Sprint(v)
			if b == "1" || b == "true" {
				out[i] = "T"
			} else {
				out[i] = "F"
			}
		default:
			s, _ := scalarString(v)
			out[i] = s
		}
	}
	return out, nil
}

func parseSort(raw json.RawMessage, m *rootMapping) ([]sortSpec, error) {
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return nil, errParsing("malformed [sort]: %s", err)
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	specs := make([]sortSpec, 0, len(items))
	for _, item := range items {
		var field string
		var opts map[string]any
		switch x := item.(type) {
		case string:
			field = x
			opts = map[string]any{}
		case map[string]any:
			if len(x) != 1 {
				return nil, errParsing("[sort] expects one field per sort object")
			}
			for k, val := range x {
				field = k
				switch o := val.(type) {
				case string:
					opts = map[string]any{"order": o}
				case map[string]any:
					opts = o
				default:
					return nil, errParsing("[sort] malformed options for [%s]", k)
				}
			}
		default:
			return nil, errParsing("[sort] malformed entry")
		}
		sp, err := parseSortItem(field, opts, m)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

func sortOrder(opts map[string]any, def string) (bool, error) {
	o, _ := opts["order"].(string)
	if o == "" {
		o = def
	}
	switch strings.ToLower(o) {
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, errIllegalArgument("Unknown SortOrder [%s]", o)
}

func parseSortItem(field string, opts map[string]any, m *rootMapping) (sortSpec, error) {
	switch field {
	case "_score":
		desc, err := sortOrder(opts, "desc")
		return sortSpec{kind: sortScore, desc: desc}, err
	case "_doc":
		desc, err := sortOrder(opts, "asc")
		return sortSpec{kind: sortDoc, desc: desc}, err
	case "_geo_distance":
		return parseGeoSort(opts, m)
	case "_script":
		return sortSpec{}, errUnsupported("script based sorting")
	}
	for _, k := range sortedKeys(opts) {
		switch k {
		case "order", "mode", "missing", "unmapped_type", "numeric_type", "format":
		case "nested":
			return sortSpec{}, errUnsupported("nested sorting")
		default:
			return sortSpec{}, errParsing("[field_sort] unknown field [%s]", k)
		}
	}
	desc, err := sortOrder(opts, "asc")
	if err != nil {
		return sortSpec{}, err
	}
	sp := sortSpec{kind: sortField, field: field, desc: desc, mode: search.SortFieldMin}
	if desc {
		sp.mode = search.SortFieldMax
	}
	if mode, ok := opts["mode"].(string); ok {
		switch mode {
		case "min":
			sp.mode = search.SortFieldMin
		case "max":
			sp.mode = search.SortFieldMax
		default:
			return sortSpec{}, errUnsupported("sort mode [%s]", mode)
		}
	}
	if missing, ok := opts["missing"]; ok {
		switch missing {
		case "_last":
		case "_first":
			sp.first = true
		default:
			return sortSpec{}, errUnsupported("sort [missing] value [%v] (only _first and _last)", missing)
		}
	}
	if nt, ok := opts["numeric_type"]; ok {
		return sortSpec{}, errUnsupported("sort [numeric_type] %v", nt)
	}
	if f, ok := opts["format"]; ok {
		return sortSpec{}, errUnsupported("sort [format] %v", f)
	}
	p := m.field(field)
	if p == nil {
		ut, _ := opts["unmapped_type"].(string)
		if ut == "" {
			if strings.HasPrefix(field, "_") {
				return sortSpec{}, errUnsupported("sorting on metadata field [%s]", field)
			}
			return sortSpec{}, errQueryShard("No mapping found for [%s] in order to sort on", field)
		}
		sp.typ = ut
		return sp, nil
	}
	sp.typ = p.Type
	switch {
	case p.Type == typeText:
		return sortSpec{}, errIllegalArgument("Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. Note that this can use significant memory.", field)
	case p.Type == typeGeoPoint:
		return sortSpec{}, errIllegalArgument("can't sort on geo_point field without using specific sorting feature, like geo_distance")
	case p.isObject():
		return sortSpec{}, errIllegalArgument("sorting on object field [%s] is not possible", field)
	case !p.indexed():
		return sortSpec{}, errUnsupported("sorting on non-indexed field [%s]", field)
	}
	return sp, nil
}

func parseGeoSort(opts map[string]any, m *rootMapping) (sortSpec, error) {
	sp := sortSpec{kind: sortGeo, unitM: 1}
	desc, err := sortOrder(opts, "asc")
	if err != nil {
		return sp, err
	}
	sp.desc = desc
	var point any
	for _, k := range sortedKeys(opts) {
		v := opts[k]
		switch k {
		case "order":
		case "unit":
			u, _ := v.(string)
			f, ok := unitMeters(u)
			if !ok {
				return sp, errIllegalArgument("No distance unit match [%s]", u)
			}
			sp.unitM = f
		case "distance_type":
			if v != "arc" {
				return sp, errUnsupported("[_geo_distance] distance_type [%v]", v)
			}
		case "mode":
			if v != "min" {
				return sp, errUnsupported("[_geo_distance] mode [%v]", v)
			}
		case "ignore_unmapped", "validation_method":
		case "nested":
			return sp, errUnsupported("nested sorting")
		default:
			if sp.field != "" {
				return sp, errParsing("[_geo_distance] accepts one geo field, found [%s] and [%s]", sp.field, k)
			}
			sp.field, point = k, v
		}
	}
	if sp.field == "" {
		return sp, errParsing("[_geo_distance] requires a geo_point field")
	}
	if arr, ok := point.([]any); ok && len(arr) > 0 {
		if _, nested := arr[0].([]any); nested || len(arr) == 1 {
			if len(arr) > 1 {
				return sp, errUnsupported("[_geo_distance] with several points")
			}
			point = arr[0]
		} else if _, isObj := arr[0].(map[string]any); isObj {
			if len(arr) > 1 {
				return sp, errUnsupported("[_geo_distance] with several points")
			}
			point = arr[0]
		}
	}
	lat, lon, err := parseGeoPoint(point)
	if err != nil {
		return sp, errParsing("[_geo_distance] failed to parse point: %s", err)
	}
	sp.lat, sp.lon = lat, lon
	p := m.field(sp.field)
	if p == nil {
		if ign, _ := opts["ignore_unmapped"].(bool); !ign {
			return sp, errIllegalArgument("failed to find mapper for [%s] for geo distance based sort", sp.field)
		}
	} else if p.Type != typeGeoPoint {
		return sp, errIllegalArgument("field [%s] is of type [%s], but only geo_point fields support geo distance sorting", sp.field, p.Type)
	}
	return sp, nil
}

// Aggregations.

type termsAgg struct {
	name       string
	field      string
	facetField string
	typ        string // field type; "" when unmapped
	formats    []dateFormat
	size       int
	order      []bucketOrder
}

type bucketOrder struct {
	byKey bool
	desc  bool
}

func parseAggs(raw json.RawMessage, m *rootMapping) ([]termsAgg, error) {
	var aggs map[string]map[string]json.RawMessage
	if err := decodeJSON(raw, &aggs); err != nil {
		return nil, errParsing("malformed [aggs]: %s", err)
	}
	var out []termsAgg
	for _, name := range sortedKeys(aggs) {
		def := aggs[name]
		for _, k := range sortedKeys(def) {
			switch k {
			case "terms":
			case "aggs", "aggregations":
				return nil, errUnsupported("sub-aggregations (in [%s])", name)
			case "meta":
				return nil, errUnsupported("aggregation [meta] (in [%s])", name)
			default:
				return nil, errUnsupported("aggregation type [%s] (in [%s]); only [terms] is", k, name)
			}
		}
		body, ok := def["terms"]
		if !ok {
			return nil, errParsing("Missing definition for aggregation [%s]", name)
		}
		a, err := parseTermsAgg(name, body, m)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseTermsAgg(name string, body json.RawMessage, m *rootMapping) (termsAgg, error) {
	var opts map[string]any
	if err := decodeJSON(body, &opts); err != nil || opts == nil {
		return termsAgg{}, errParsing("malformed [terms] aggregation [%s]", name)
	}
	a := termsAgg{name: name, size: 10, order: []bucketOrder{{desc: true}, {byKey: true}}}
	for _, k := range sortedKeys(opts) {
		v := opts[k]
		switch k {
		case "field":
			a.field, _ = v.(string)
		case "size":
			n, err := toInt(v)
			if err != nil || n < 1 {
				return a, errIllegalArgument("[size] must be greater than 0. Found [%v] in [%s]", v, name)
			}
			a.size = n
		case "shard_size", "execution_hint", "collect_mode", "shard_min_doc_count":
		case "min_doc_count":
			if n, err := toInt(v); err != nil || n != 1 {
				return a, errUnsupported("terms aggregation [min_doc_count] other than 1")
			}
		case "order":
			order, err := parseBucketOrder(v)
			if err != nil {
				return a, err
			}
			a.order = order
		default:
			return a, errUnsupported("terms aggregation option [%s]", k)
		}
	}
	if a.field == "" {
		return a, errIllegalArgument("Required one of fields [field, script], but none were specified.")
	}
	p := m.field(a.field)
	if p == nil {
		return a, nil // unmapped: no buckets, like ES
	}
	a.typ = p.Type
	switch {
	case p.Type == typeKeyword || p.Type == typeBoolean:
		a.facetField = a.field
	case isNumericType(p.Type) || p.Type == typeDate:
		a.facetField = termsPrefix + a.field
		a.formats = p.dateFormats
	case p.Type == typeText:
		return a, errIllegalArgument("Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. Note that this can use significant memory.", a.field)
	default:
		return a, errUnsupported("terms aggregation on field [%s] of type [%s]", a.field, p.Type)
	}
	if !p.indexed() {
		return a, errUnsupported("terms aggregation on non-indexed field [%s]", a.field)
	}
	return a, nil
}

func parseBucketOrder(v any) ([]bucketOrder, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var out []bucketOrder
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, errParsing("[terms] order must be an object with one key")
		}
		for k, dir := range m {
			d, _ := dir.(string)
			desc := strings.EqualFold(d, "desc")
			if !desc && !strings.EqualFold(d, "asc") {
				return nil, errIllegalArgument("Unknown terms order direction [%v]", dir)
			}
			switch k {
			case "_count":
				out = append(out, bucketOrder{desc: desc})
			case "_key", "_term":
				out = append(out, bucketOrder{byKey: true, desc: desc})
			default:
				return nil, errUnsupported("terms aggregation order by [%s]", k)
			}
		}
	}
	// ES breaks ties by ascending key.
	if !slices.ContainsFunc(out, func(o bucketOrder) bool { return o.byKey }) {
		out = append(out, bucketOrder{byKey: true})
	}
	return out, nil
}

// allTerms asks bleve for every term so ordering and truncation happen
// here, with ES's tie-breaking and exact sum_other_doc_count.
const allTerms = math.MaxInt32

func addFacets(req *bleve.SearchRequest, aggs []termsAgg) {
	for _, a := range aggs {
		if a.facetField == "" {
			continue
		}
		req.AddFacet(a.name, bleve.NewFacetRequest(a.facetField, allTerms))
	}
}

type bucket struct {
	key      any
	keyStr   string
	keyNum   float64
	numeric  bool
	docCount int
}

// result renders a terms aggregation like ES; with typed_keys the name
// carries the result type (sterms, lterms, dterms) the typed client needs.
func (a termsAgg) result(fr *search.FacetResult, typedKeys bool) (string, any) {
	kind := "sterms"
	switch {
	case isIntegerType(a.typ) || a.typ == typeDate || a.typ == typeBoolean:
		kind = "lterms"
	case isFloatType(a.typ):
		kind = "dterms"
	}
	var buckets []bucket
	if fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			buckets = append(buckets, a.bucket(t.Term, t.Count))
		}
	}
	slices.SortFunc(buckets, func(x, y bucket) int {
		for _, o := range a.order {
			var c int
			if o.byKey {
				if x.numeric {
					c = cmp.Compare(x.keyNum, y.keyNum)
				} else {
					c = strings.Compare(x.keyStr, y.keyStr)
				}
			} else {
				c = cmp.Compare(x.docCount, y.docCount)
			}
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	other := 0
	if len(buckets) > a.size {
		for _, b := range buckets[a.size:] {
			other += b.docCount
		}
		buckets = buckets[:a.size]
	}
	out := make([]any, len(buckets))
	for i, b := range buckets {
		entry := map[string]any{"key": b.key, "doc_count": b.docCount}
		switch {
		case a.typ == typeBoolean:
			entry["key_as_string"] = strconv.FormatBool(b.keyNum == 1)
		case a.typ == typeDate:
			entry["key_as_string"] = formatDate(time.UnixMilli(int64(b.keyNum)), a.formats)
		}
		out[i] = entry
	}
	name := a.name
	if typedKeys {
		name = kind + "#" + a.name
	}
	return name, map[string]any{
		"doc_count_error_upper_bound": 0,
		"sum_other_doc_count":         other,
		"buckets":                     out,
	}
}

func (a termsAgg) bucket(term string, count int) bucket {
	b := bucket{key: term, keyStr: term, docCount: count}
	switch {
	case a.typ == typeBoolean:
		b.numeric = true
		if term == "T" {
			b.key, b.keyNum = int64(1), 1
		} else {
			b.key, b.keyNum = int64(0), 0
		}
	case isIntegerType(a.typ) || a.typ == typeDate:
		b.numeric = true
		if n, err := strconv.ParseInt(term, 10, 64); err == nil {
			b.key, b.keyNum = n, float64(n)
		}
	case isFloatType(a.typ):
		b.numeric = true
		if f, err := strconv.ParseFloat(term, 64); err == nil {
			b.key, b.keyNum = f, f
		}
	}
	return b
}

// Source filtering.

type sourceFilter struct {
	enabled  bool
	includes []string
	excludes []string
}

func parseSourceFilter(raw json.RawMessage) (sourceFilter, error) {
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return sourceFilter{}, errParsing("malformed [_source]: %s", err)
	}
	strs := func(x any) []string {
		switch t := x.(type) {
		case string:
			return []string{t}
		case []any:
			var out []string
			for _, e := range t {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	switch t := v.(type) {
	case bool:
		return sourceFilter{enabled: t}, nil
	case string, []any:
		return sourceFilter{enabled: true, includes: strs(t)}, nil
	case map[string]any:
		sf := sourceFilter{enabled: true}
		for k, x := range t {
			switch k {
			case "includes", "include":
				sf.includes = strs(x)
			case "excludes", "exclude":
				sf.excludes = strs(x)
			default:
				return sourceFilter{}, errParsing("Unknown key for [_source]: [%s]", k)
			}
		}
		return sf, nil
	}
	return sourceFilter{}, errParsing("malformed [_source]")
}

// apply returns the raw source untouched when nothing is filtered (ES
// returns _source byte for byte), or the filtered object.
func (sf sourceFilter) apply(raw []byte) (any, error) {
	if len(sf.includes) == 0 && len(sf.excludes) == 0 {
		return json.RawMessage(raw), nil
	}
	obj, err := decodeSource(raw)
	if err != nil {
		return nil, err
	}
	return sf.filter(obj, ""), nil
}

func (sf sourceFilter) filter(obj map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		path := prefix + k
		if matchAny(sf.excludes, path) {
			continue
		}
		if len(sf.includes) == 0 || matchAny(sf.includes, path) {
			out[k] = sf.excludeWithin(v, path)
			continue
		}
		// An include may name something inside this value.
		if !sf.mayIncludeBelow(path) {
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if sub := sf.filter(x, path+"."); len(sub) > 0 {
				out[k] = sub
			}
		case []any:
			var arr []any
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					if sub := sf.filter(m, path+"."); len(sub) > 0 {
						arr = append(arr, sub)
					}
				}
			}
			if len(arr) > 0 {
				out[k] = arr
			}
		}
	}
	return out
}

// excludeWithin applies excludes below an included value.
func (sf sourceFilter) excludeWithin(v any, path string) any {
	if len(sf.excludes) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		return sourceFilter{enabled: true, excludes: sf.excludes}.filter(x, path+".")
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sf.excludeWithin(e, path)
		}
		return out
	}
	return v
}

func (sf sourceFilter) mayIncludeBelow(path string) bool {
	for _, inc := range sf.includes {
		if strings.HasPrefix(inc, path+".") || strings.HasPrefix(inc, "*") {
			return true
		}
		if i := strings.IndexByte(inc, '*'); i >= 0 && strings.HasPrefix(path+".", inc[:i]) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if globMatch(p, path) {
			return true
		}
	}
	return false
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
