package elasticsearch

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
)

// Terms aggregations, run as bleve facets and rendered like ES.

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
