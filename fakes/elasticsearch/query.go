package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"
)

// esQueryTypes are query types Elasticsearch has that the emulator does not
// implement. They get the emulator's "not supported" error; names outside
// this list get ES's own "unknown query" error, so a typo is not mistaken
// for a gap in the emulator.
var esQueryTypes = map[string]bool{
	"nested": true, "has_child": true, "has_parent": true, "parent_id": true,
	"function_score": true, "script_score": true, "script": true, "query_string": true,
	"simple_query_string": true, "match_phrase_prefix": true, "match_bool_prefix": true,
	"more_like_this": true, "boosting": true, "intervals": true, "geo_shape": true,
	"geo_polygon": true, "geo_grid": true, "combined_fields": true, "span_term": true,
	"span_near": true, "span_or": true, "span_not": true, "span_first": true,
	"span_multi": true, "span_containing": true, "span_within": true,
	"field_masking_span": true, "distance_feature": true, "rank_feature": true,
	"pinned": true, "percolate": true, "wrapper": true, "knn": true, "terms_set": true,
	"semantic": true, "sparse_vector": true, "text_expansion": true,
	"weighted_tokens": true, "shape": true, "type": true, "rule": true,
}

// queryParser translates the ES query DSL into bleve queries against one
// index's mapping.
type queryParser struct {
	m   *rootMapping
	now time.Time
}

// none is the translation of a query that cannot match. It is handled
// here rather than handed to bleve, because bleve's boolean query treats a
// match-none clause as absent instead of as unsatisfiable.
func isNone(q query.Query) bool {
	_, ok := q.(*query.MatchNoneQuery)
	return ok
}

func none() query.Query { return query.NewMatchNoneQuery() }

func errQueryShard(format string, args ...any) *esError {
	return newError(http.StatusBadRequest, "query_shard_exception", format, args...)
}

// decodeJSON decodes with numbers kept as json.Number.
func decodeJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// object decodes a clause body that must be a JSON object.
func object(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := decodeJSON(raw, &obj); err != nil || obj == nil {
		return nil, errParsing("[%s] query malformed, expected an object", what)
	}
	return obj, nil
}

func (qp *queryParser) parse(raw json.RawMessage) (query.Query, error) {
	obj, err := object(raw, "query")
	if err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return query.NewMatchAllQuery(), nil
	}
	if len(obj) > 1 {
		keys := sortedKeys(obj)
		return nil, errParsing("[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]", keys[0])
	}
	for typ, body := range obj {
		return qp.parseType(typ, body)
	}
	return nil, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (qp *queryParser) parseType(typ string, body json.RawMessage) (query.Query, error) {
	switch typ {
	case "match_all", "match_none":
		obj, err := object(body, typ)
		if err != nil {
			return nil, err
		}
		boost, err := takeBoost(obj, typ)
		if err != nil {
			return nil, err
		}
		if err := noMore(obj, typ); err != nil {
			return nil, err
		}
		if typ == "match_none" {
			return none(), nil
		}
		q := query.NewMatchAllQuery()
		q.SetBoost(boost)
		return q, nil
	case "match", "match_phrase":
		return qp.fieldQuery(typ, body, "query", qp.match)
	case "term":
		return qp.fieldQuery(typ, body, "value", qp.term)
	case "prefix", "wildcard", "regexp", "fuzzy":
		return qp.fieldQuery(typ, body, "value", qp.pattern)
	case "range":
		return qp.fieldQuery(typ, body, "", qp.rangeQuery)
	case "terms":
		return qp.terms(body)
	case "ids":
		return qp.ids(body)
	case "exists":
		return qp.exists(body)
	case "bool":
		return qp.boolQuery(body)
	case "constant_score":
		return qp.constantScore(body)
	case "dis_max":
		return qp.disMax(body)
	case "multi_match":
		return qp.multiMatch(body)
	case "geo_distance":
		return qp.geoDistance(body)
	case "geo_bounding_box":
		return qp.geoBoundingBox(body)
	}
	if esQueryTypes[typ] {
		return nil, errUnsupported("query type [%s]", typ)
	}
	return nil, errParsing("unknown query [%s]", typ)
}

// takeBoost removes "boost" from a clause; "_name" is refused because the
// emulator does not report matched_queries.
func takeBoost(obj map[string]json.RawMessage, typ string) (float64, error) {
	if _, ok := obj["_name"]; ok {
		return 0, errUnsupported("named queries ([_name] in [%s])", typ)
	}
	raw, ok := obj["boost"]
	if !ok {
		return 1, nil
	}
	delete(obj, "boost")
	var n json.Number
	if err := decodeJSON(raw, &n); err != nil {
		return 0, errParsing("[%s] query: [boost] must be a number", typ)
	}
	f, err := n.Float64()
	if err != nil || f < 0 {
		return 0, errParsing("[%s] query: invalid [boost] %s", typ, n)
	}
	return f, nil
}

func noMore(obj map[string]json.RawMessage, typ string) error {
	for _, k := range sortedKeys(obj) {
		return errParsing("[%s] query does not support [%s]", typ, k)
	}
	return nil
}

func boost(q query.Query, b float64) query.Query {
	if b == 1 || isNone(q) {
		return q
	}
	if bq, ok := q.(query.BoostableQuery); ok {
		bq.SetBoost(b)
	}
	return q
}

// fieldQuery handles the {"<type>": {"<field>": value-or-options}} shape
// shared by match, term, range and friends; shortKey names the option a
// bare value stands for.
func (qp *queryParser) fieldQuery(typ string, body json.RawMessage, shortKey string,
	build func(typ, field string, opts map[string]any) (query.Query, error)) (query.Query, error) {
	obj, err := object(body, typ)
	if err != nil {
		return nil, err
	}
	outerBoost, err := takeBoost(obj, typ)
	if err != nil {
		return nil, err
	}
	if len(obj) != 1 {
		if len(obj) == 0 {
			return nil, errParsing("[%s] query malformed, no field specified", typ)
		}
		keys := sortedKeys(obj)
		return nil, errParsing("[%s] query doesn't support multiple fields, found [%s] and [%s]", typ, keys[0], keys[1])
	}
	for field, raw := range obj {
		var v any
		if err := decodeJSON(raw, &v); err != nil {
			return nil, errParsing("[%s] query malformed: %s", typ, err)
		}
		opts, isObj := v.(map[string]any)
		if !isObj {
			if shortKey == "" {
				return nil, errParsing("[%s] query malformed, expected an object for field [%s]", typ, field)
			}
			opts = map[string]any{shortKey: v}
		}
		if _, ok := opts["_name"]; ok {
			return nil, errUnsupported("named queries ([_name] in [%s])", typ)
		}
		innerBoost := 1.0
		if b, ok := opts["boost"]; ok {
			f, err := toFloat(b)
			if err != nil {
				return nil, errParsing("[%s] query: [boost] must be a number", typ)
			}
			innerBoost = f
			delete(opts, "boost")
		}
		q, err := build(typ, field, opts)
		if err != nil {
			return nil, err
		}
		return boost(q, outerBoost*innerBoost), nil
	}
	return nil, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

func toInt(v any) (int, error) {
	f, err := toFloat(v)
	if err != nil || f != math.Trunc(f) {
		return 0, fmt.Errorf("not an integer: %v", v)
	}
	return int(f), nil
}

// checkOpts refuses options a query does not know (ES does the same) and
// options ES knows that the emulator would otherwise ignore.
func checkOpts(typ string, opts map[string]any, known []string, refused []string) error {
	for _, k := range sortedKeys(opts) {
		if slices.Contains(refused, k) {
			return errUnsupported("option [%s] of query [%s]", k, typ)
		}
		if !slices.Contains(known, k) {
			return errParsing("[%s] query does not support [%s]", typ, k)
		}
	}
	return nil
}

// resolve looks a queried field up; a nil property means unmapped, which
// ES answers with no hits rather than an error.
func (qp *queryParser) resolve(field string) (*property, error) {
	p := qp.m.field(field)
	if p == nil {
		if strings.HasPrefix(field, "_") && field != "_id" {
			return nil, errUnsupported("querying metadata field [%s]", field)
		}
		return nil, nil
	}
	if !p.isObject() && !p.indexed() {
		return nil, errQueryShard("failed to create query: Cannot search on field [%s] since it is not indexed.", field)
	}
	return p, nil
}

func (qp *queryParser) match(typ, field string, opts map[string]any) (query.Query, error) {
	phrase := typ == "match_phrase"
	known := []string{"query", "operator", "minimum_should_match", "analyzer", "fuzziness",
		"prefix_length", "max_expansions", "fuzzy_transpositions", "lenient", "zero_terms_query",
		"auto_generate_synonyms_phrase_query", "fuzzy_rewrite"}
	if phrase {
		known = []string{"query", "analyzer", "slop", "zero_terms_query"}
	}
	if err := checkOpts(typ, opts, known, []string{"cutoff_frequency"}); err != nil {
		return nil, err
	}
	text, ok := opts["query"]
	if !ok {
		return nil, errParsing("[%s] requires query value", typ)
	}
	if s, ok := opts["slop"]; ok {
		if n, err := toInt(s); err != nil || n != 0 {
			return nil, errUnsupported("[slop] other than 0 in [match_phrase]")
		}
	}
	mo := matchOpts{operator: "or"}
	if v, ok := opts["operator"].(string); ok {
		mo.operator = strings.ToLower(v)
		if mo.operator != "or" && mo.operator != "and" {
			return nil, errIllegalArgument("No operator found for value [%s]", v)
		}
	}
	if v, ok := opts["minimum_should_match"]; ok {
		mo.msm = fmt.Sprint(v)
	}
	if v, ok := opts["zero_terms_query"].(string); ok {
		mo.zeroAll = strings.EqualFold(v, "all")
	}
	if v, ok := opts["fuzziness"]; ok {
		mo.fuzziness = fmt.Sprint(v)
	}
	if v, ok := opts["analyzer"].(string); ok {
		a, ok := analyzers[v]
		if !ok {
			return nil, errUnsupported("analyzer [%s]", v)
		}
		mo.analyzer, mo.analyzerSet = a, true
	}
	if v, ok := opts["lenient"].(bool); ok {
		mo.lenient = v
	}
	return qp.matchField(field, text, phrase, mo)
}

type matchOpts struct {
	operator    string
	msm         string
	zeroAll     bool
	fuzziness   string
	analyzer    analysis.Analyzer
	analyzerSet bool
	lenient     bool
}

func (qp *queryParser) matchField(field string, text any, phrase bool, mo matchOpts) (query.Query, error) {
	if field == "_id" {
		return qp.termValue(field, nil, text)
	}
	p, err := qp.resolve(field)
	if err != nil || p == nil {
		return none(), err
	}
	if p.Type != typeText {
		if p.Type == typeKeyword && mo.analyzerSet {
			// An explicit analyzer applies to keyword fields too.
			return qp.analyzedQuery(field, text, phrase, mo, mo.analyzer)
		}
		q, err := qp.termValue(field, p, text)
		if err != nil && mo.lenient {
			return none(), nil
		}
		return q, err
	}
	a := p.searchAnalyzer
	if mo.analyzerSet {
		a = mo.analyzer
	}
	return qp.analyzedQuery(field, text, phrase, mo, a)
}

func (qp *queryParser) analyzedQuery(field string, text any, phrase bool, mo matchOpts, a analysis.Analyzer) (query.Query, error) {
	s, ok := scalarString(text)
	if !ok {
		return nil, errParsing("[match] unknown token [START_OBJECT] for field [%s]", field)
	}
	toks := analyzeTokens(a, s)
	if len(toks) == 0 {
		if mo.zeroAll {
			return query.NewMatchAllQuery(), nil
		}
		return none(), nil
	}
	if phrase && len(toks) > 1 {
		// Positions left empty by removed stop words stay as "" slots, which
		// bleve's phrase searcher treats as "any term", like Lucene's gaps.
		first := toks[0].Position
		terms := make([]string, toks[len(toks)-1].Position-first+1)
		for _, t := range toks {
			terms[t.Position-first] = string(t.Term)
		}
		return query.NewPhraseQuery(terms, field), nil
	}
	var clauses []query.Query
	for _, t := range toks {
		tq, err := fuzzyOrTerm(field, string(t.Term), mo.fuzziness)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, tq)
	}
	if len(clauses) == 1 {
		return clauses[0], nil
	}
	if mo.operator == "and" {
		return query.NewConjunctionQuery(clauses), nil
	}
	min := 1
	if mo.msm != "" {
		n, err := minimumShouldMatch(mo.msm, len(clauses))
		if err != nil {
			return nil, err
		}
		min = max(n, 1)
	}
	d := query.NewDisjunctionQuery(clauses)
	d.SetMin(float64(min))
	return d, nil
}

func fuzzyOrTerm(field, term, fuzziness string) (query.Query, error) {
	if fuzziness == "" || fuzziness == "0" {
		tq := query.NewTermQuery(term)
		tq.SetField(field)
		return tq, nil
	}
	n, err := fuzzyEdits(fuzziness, term)
	if err != nil {
		return nil, err
	}
	fq := query.NewFuzzyQuery(term)
	fq.SetField(field)
	fq.SetFuzziness(n)
	return fq, nil
}

// fuzzyEdits resolves ES fuzziness ("AUTO", "AUTO:3,6", 0, 1, 2) for a term.
func fuzzyEdits(f, term string) (int, error) {
	upper := strings.ToUpper(f)
	if strings.HasPrefix(upper, "AUTO") {
		lo, hi := 3, 6
		if rest, ok := strings.CutPrefix(upper, "AUTO:"); ok {
			a, b, _ := strings.Cut(rest, ",")
			var err1, err2 error
			lo, err1 = strconv.Atoi(a)
			hi, err2 = strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				return 0, errParsing("failed to parse [fuzziness] [%s]", f)
			}
		}
		n := utf8.RuneCountInString(term)
		switch {
		case n < lo:
			return 0, nil
		case n < hi:
			return 1, nil
		}
		return 2, nil
	}
	n, err := strconv.Atoi(f)
	if err != nil || n < 0 || n > 2 {
		return 0, errParsing("failed to parse [fuzziness] [%s]: valid edit distances are 0, 1, 2 and AUTO", f)
	}
	return n, nil
}

// minimumShouldMatch computes ES's minimum_should_match for n optional
// clauses: "2", "-1", "75%", "-25%".
func minimumShouldMatch(spec string, n int) (int, error) {
	spec = strings.TrimSpace(spec)
	if strings.ContainsAny(spec, "< ") {
		return 0, errUnsupported("combined minimum_should_match [%s]", spec)
	}
	var r int
	if pct, ok := strings.CutSuffix(spec, "%"); ok {
		p, err := strconv.Atoi(pct)
		if err != nil {
			return 0, errIllegalArgument("failed to parse [minimum_should_match] [%s]", spec)
		}
		if p < 0 {
			r = n + (n*p)/100
		} else {
			r = (n * p) / 100
		}
	} else {
		v, err := strconv.Atoi(spec)
		if err != nil {
			return 0, errIllegalArgument("failed to parse [minimum_should_match] [%s]", spec)
		}
		if v < 0 {
			r = n + v
		} else {
			r = v
		}
	}
	return max(0, r), nil
}

func (qp *queryParser) term(typ, field string, opts map[string]any) (query.Query, error) {
	if err := checkOpts(typ, opts, []string{"value", "case_insensitive"}, nil); err != nil {
		return nil, err
	}
	if ci, _ := opts["case_insensitive"].(bool); ci {
		return nil, errUnsupported("[case_insensitive] in [term]")
	}
	v, ok := opts["value"]
	if !ok {
		return nil, errParsing("[term] query requires a value for field [%s]", field)
	}
	if field == "_id" {
		return qp.termValue(field, nil, v)
	}
	p, err := qp.resolve(field)
	if err != nil || p == nil {
		return none(), err
	}
	return qp.termValue(field, p, v)
}

// termValue builds an exact-value query for a field of any type.
func (qp *queryParser) termValue(field string, p *property, v any) (query.Query, error) {
	if field == "_id" {
		s, ok := scalarString(v)
		if !ok {
			return nil, errParsing("[_id] value must be a string")
		}
		return query.NewDocIDQuery([]string{s}), nil
	}
	switch {
	case p.Type == typeText || p.Type == typeKeyword:
		s, ok := scalarString(v)
		if !ok {
			return nil, errParsing("[term] value for field [%s] must be a scalar", field)
		}
		tq := query.NewTermQuery(s)
		tq.SetField(field)
		return tq, nil
	case isNumericType(p.Type):
		f, _, err := parseNumber(v, &property{Type: p.Type})
		if err != nil {
			return nil, errQueryShard("failed to create query: %s", err)
		}
		incl := true
		q := query.NewNumericRangeInclusiveQuery(&f, &f, &incl, &incl)
		q.SetField(field)
		return q, nil
	case p.Type == typeDate:
		lo, err := parseDateMath(v, p.dateFormats, qp.now, false)
		if err != nil {
			return nil, errQueryShard("failed to create query: %s", err)
		}
		hi, err := parseDateMath(v, p.dateFormats, qp.now, true)
		if err != nil {
			return nil, errQueryShard("failed to create query: %s", err)
		}
		incl := true
		q := query.NewDateRangeInclusiveQuery(lo, hi, &incl, &incl)
		q.SetField(field)
		return q, nil
	case p.Type == typeBoolean:
		b, err := parseBool(v)
		if err != nil {
			return nil, errQueryShard("failed to create query: %s", err)
		}
		q := query.NewBoolFieldQuery(b)
		q.SetField(field)
		return q, nil
	case p.Type == typeGeoPoint:
		return nil, errQueryShard("failed to create query: Geometry fields do not support exact searching, use dedicated geometry queries instead: [%s]", field)
	}
	return nil, errQueryShard("failed to create query: field [%s] of type [%s] cannot be queried by value", field, p.Type)
}

func (qp *queryParser) terms(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "terms")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "terms")
	if err != nil {
		return nil, err
	}
	if len(obj) != 1 {
		return nil, errParsing("[terms] query requires exactly one field")
	}
	for field, raw := range obj {
		var vals []any
		if err := decodeJSON(raw, &vals); err != nil {
			return nil, errUnsupported("terms lookup ([terms] with an object for field [%s])", field)
		}
		if len(vals) == 0 {
			return none(), nil
		}
		if field == "_id" {
			ids := make([]string, 0, len(vals))
			for _, v := range vals {
				s, _ := scalarString(v)
				ids = append(ids, s)
			}
			return boost(query.NewDocIDQuery(ids), b), nil
		}
		p, err := qp.resolve(field)
		if err != nil || p == nil {
			return none(), err
		}
		clauses := make([]query.Query, 0, len(vals))
		for _, v := range vals {
			q, err := qp.termValue(field, p, v)
			if err != nil {
				return nil, err
			}
			clauses = append(clauses, q)
		}
		if len(clauses) == 1 {
			return boost(clauses[0], b), nil
		}
		d := query.NewDisjunctionQuery(clauses)
		d.SetMin(1)
		return boost(d, b), nil
	}
	return nil, nil
}

func (qp *queryParser) ids(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "ids")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "ids")
	if err != nil {
		return nil, err
	}
	var vals []string
	if raw, ok := obj["values"]; ok {
		if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, errParsing("[ids] [values] must be an array of strings")
		}
		delete(obj, "values")
	}
	if err := noMore(obj, "ids"); err != nil {
		return nil, err
	}
	if len(vals) == 0 {
		return none(), nil
	}
	return boost(query.NewDocIDQuery(vals), b), nil
}

func (qp *queryParser) exists(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "exists")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "exists")
	if err != nil {
		return nil, err
	}
	var field string
	if raw, ok := obj["field"]; ok {
		if err := json.Unmarshal(raw, &field); err != nil {
			return nil, errParsing("[exists] [field] must be a string")
		}
		delete(obj, "field")
	}
	if err := noMore(obj, "exists"); err != nil {
		return nil, err
	}
	if field == "" {
		return nil, errParsing("[exists] must be provided with a [field]")
	}
	if strings.Contains(field, "*") {
		return nil, errUnsupported("wildcards in [exists] field [%s]", field)
	}
	if field == "_id" {
		return boost(query.NewMatchAllQuery(), b), nil
	}
	if qp.m.field(field) == nil {
		return none(), nil
	}
	tq := query.NewTermQuery(field)
	tq.SetField(fieldNames)
	return boost(tq, b), nil
}

func (qp *queryParser) pattern(typ, field string, opts map[string]any) (query.Query, error) {
	known := []string{"value", "case_insensitive", "rewrite"}
	switch typ {
	case "wildcard":
		known = append(known, "wildcard")
	case "regexp":
		known = append(known, "flags", "max_determinized_states")
	case "fuzzy":
		known = []string{"value", "fuzziness", "prefix_length", "max_expansions", "transpositions", "rewrite"}
	}
	if err := checkOpts(typ, opts, known, nil); err != nil {
		return nil, err
	}
	if ci, _ := opts["case_insensitive"].(bool); ci {
		return nil, errUnsupported("[case_insensitive] in [%s]", typ)
	}
	if f, ok := opts["flags"].(string); ok && f != "ALL" && f != "NONE" && f != "" {
		return nil, errUnsupported("[flags] %s in [regexp]", f)
	}
	v, ok := opts["value"]
	if !ok && typ == "wildcard" {
		v, ok = opts["wildcard"]
	}
	if !ok {
		return nil, errParsing("[%s] query requires a value for field [%s]", typ, field)
	}
	s, ok := scalarString(v)
	if !ok {
		return nil, errParsing("[%s] value must be a string", typ)
	}
	p, err := qp.resolve(field)
	if err != nil || p == nil {
		return none(), err
	}
	if p.Type != typeKeyword && p.Type != typeText {
		return nil, errQueryShard("failed to create query: Can only use %s queries on keyword and text fields - not on [%s] which is of type [%s]", typ, field, p.Type)
	}
	switch typ {
	case "prefix":
		q := query.NewPrefixQuery(s)
		q.SetField(field)
		return q, nil
	case "wildcard":
		q := query.NewWildcardQuery(s)
		q.SetField(field)
		return q, nil
	case "regexp":
		q := query.NewRegexpQuery(s)
		q.SetField(field)
		return q, nil
	}
	fz := "AUTO"
	if f, ok := opts["fuzziness"]; ok {
		fz = fmt.Sprint(f)
	}
	n, err := fuzzyEdits(fz, s)
	if err != nil {
		return nil, err
	}
	q := query.NewFuzzyQuery(s)
	q.SetField(field)
	q.SetFuzziness(n)
	if pl, ok := opts["prefix_length"]; ok {
		if n, err := toInt(pl); err == nil {
			q.SetPrefix(n)
		}
	}
	return q, nil
}

func (qp *queryParser) rangeQuery(typ, field string, opts map[string]any) (query.Query, error) {
	known := []string{"gte", "gt", "lte", "lt", "from", "to", "include_lower", "include_upper", "format", "time_zone", "relation"}
	if err := checkOpts(typ, opts, known, nil); err != nil {
		return nil, err
	}
	if tz, ok := opts["time_zone"].(string); ok && tz != "UTC" && tz != "Z" && tz != "+00:00" && tz != "Etc/UTC" {
		return nil, errUnsupported("[time_zone] %s in [range]", tz)
	}
	if rel, ok := opts["relation"].(string); ok && !strings.EqualFold(rel, "intersects") {
		return nil, errUnsupported("[relation] %s in [range]", rel)
	}
	type bound struct {
		v    any
		incl bool
		set  bool
	}
	var lo, hi bound
	if v, ok := opts["from"]; ok && v != nil {
		lo = bound{v, true, true}
		if il, ok := opts["include_lower"].(bool); ok {
			lo.incl = il
		}
	}
	if v, ok := opts["to"]; ok && v != nil {
		hi = bound{v, true, true}
		if iu, ok := opts["include_upper"].(bool); ok {
			hi.incl = iu
		}
	}
	if v, ok := opts["gte"]; ok && v != nil {
		lo = bound{v, true, true}
	}
	if v, ok := opts["gt"]; ok && v != nil {
		lo = bound{v, false, true}
	}
	if v, ok := opts["lte"]; ok && v != nil {
		hi = bound{v, true, true}
	}
	if v, ok := opts["lt"]; ok && v != nil {
		hi = bound{v, false, true}
	}
	p, err := qp.resolve(field)
	if err != nil || p == nil {
		return none(), err
	}
	if !lo.set && !hi.set {
		// An open range matches every document with a value, as in ES.
		tq := query.NewTermQuery(field)
		tq.SetField(fieldNames)
		return tq, nil
	}
	switch {
	case isNumericType(p.Type):
		var min, max *float64
		if lo.set {
			f, err := toFloat(lo.v)
			if err != nil {
				return nil, errQueryShard("failed to create query: For input string: \"%v\"", lo.v)
			}
			min = &f
		}
		if hi.set {
			f, err := toFloat(hi.v)
			if err != nil {
				return nil, errQueryShard("failed to create query: For input string: \"%v\"", hi.v)
			}
			max = &f
		}
		if p.Type == typeFloat || p.Type == typeHalfFloat {
			// Bounds round like the stored 32-bit values, so "gte": 0.1
			// still finds a document indexed with 0.1.
			for _, b := range []*float64{min, max} {
				if b != nil {
					*b = float64(float32(*b))
				}
			}
		}
		q := query.NewNumericRangeInclusiveQuery(min, max, &lo.incl, &hi.incl)
		q.SetField(field)
		return q, nil
	case p.Type == typeDate:
		formats := p.dateFormats
		if f, ok := opts["format"].(string); ok {
			pf, err := parseDateFormats(f)
			if err != nil {
				return nil, err
			}
			formats = pf
		}
		var start, end time.Time
		if lo.set {
			// gt rounds up and gte down, as ES does with date math.
			t, err := parseDateMath(lo.v, formats, qp.now, !lo.incl)
			if err != nil {
				return nil, errParsing("failed to parse date field [%v]: %s", lo.v, err)
			}
			start = t
		}
		if hi.set {
			t, err := parseDateMath(hi.v, formats, qp.now, hi.incl)
			if err != nil {
				return nil, errParsing("failed to parse date field [%v]: %s", hi.v, err)
			}
			end = t
		}
		q := query.NewDateRangeInclusiveQuery(start, end, &lo.incl, &hi.incl)
		q.SetField(field)
		return q, nil
	case p.Type == typeKeyword || p.Type == typeText:
		var min, max string
		if lo.set {
			min, _ = scalarString(lo.v)
		}
		if hi.set {
			max, _ = scalarString(hi.v)
		}
		q := query.NewTermRangeInclusiveQuery(min, max, &lo.incl, &hi.incl)
		q.SetField(field)
		return q, nil
	}
	return nil, errUnsupported("[range] on field [%s] of type [%s]", field, p.Type)
}

// clauses decodes a bool section, which may be one query or an array.
func (qp *queryParser) clauses(raw json.RawMessage) ([]query.Query, error) {
	raw = bytes.TrimSpace(raw)
	var list []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errParsing("[bool] malformed clause list: %s", err)
		}
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]query.Query, 0, len(list))
	for _, r := range list {
		q, err := qp.parse(r)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func (qp *queryParser) boolQuery(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "bool")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "bool")
	if err != nil {
		return nil, err
	}
	var must, filter, should, mustNot []query.Query
	var msmSpec string
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "must", "filter", "should", "must_not":
			cs, err := qp.clauses(raw)
			if err != nil {
				return nil, err
			}
			switch k {
			case "must":
				must = append(must, cs...)
			case "filter":
				filter = append(filter, cs...)
			case "should":
				should = append(should, cs...)
			case "must_not":
				mustNot = append(mustNot, cs...)
			}
		case "minimum_should_match":
			var v any
			_ = decodeJSON(raw, &v)
			msmSpec = fmt.Sprint(v)
		case "adjust_pure_negative":
		default:
			return nil, errParsing("[bool] query does not support [%s]", k)
		}
	}
	if len(must)+len(filter)+len(should)+len(mustNot) == 0 {
		return boost(query.NewMatchAllQuery(), b), nil
	}
	msm := 0
	if len(must)+len(filter) == 0 && len(should) > 0 {
		msm = 1
	}
	if msmSpec != "" {
		n, err := minimumShouldMatch(msmSpec, len(should))
		if err != nil {
			return nil, err
		}
		msm = n
		if len(must)+len(filter) == 0 && len(should) > 0 {
			msm = max(msm, 1)
		}
	}
	keep := func(qs []query.Query) []query.Query {
		return slices.DeleteFunc(qs, isNone)
	}
	for _, q := range slices.Concat(must, filter) {
		if isNone(q) {
			return none(), nil
		}
	}
	should = keep(should)
	mustNot = keep(mustNot)
	if msm > len(should) {
		return none(), nil
	}
	for _, q := range mustNot {
		if _, all := q.(*query.MatchAllQuery); all {
			return none(), nil
		}
	}
	bq := &query.BooleanQuery{}
	if len(must) > 0 {
		bq.Must = query.NewConjunctionQuery(must)
	}
	if len(filter) > 0 {
		bq.Filter = query.NewConjunctionQuery(filter)
	}
	if len(should) > 0 {
		if msm == 0 && len(must) == 0 {
			// ES treats should as optional next to a filter; bleve only does
			// next to a must, so give it one that matches everything.
			bq.Must = query.NewConjunctionQuery([]query.Query{query.NewMatchAllQuery()})
		}
		d := query.NewDisjunctionQuery(should)
		d.SetMin(float64(msm))
		bq.Should = d
	}
	if len(mustNot) > 0 {
		bq.MustNot = query.NewDisjunctionQuery(mustNot)
	}
	if bq.Must == nil && bq.Should == nil && bq.Filter == nil {
		// Only must_not is left (all other clauses were match-none shoulds
		// with msm 0): everything but the excluded documents.
		bq.Must = query.NewConjunctionQuery([]query.Query{query.NewMatchAllQuery()})
	}
	return boost(bq, b), nil
}

func (qp *queryParser) constantScore(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "constant_score")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "constant_score")
	if err != nil {
		return nil, err
	}
	raw, ok := obj["filter"]
	if !ok {
		return nil, errParsing("[constant_score] requires a 'filter' element")
	}
	delete(obj, "filter")
	if err := noMore(obj, "constant_score"); err != nil {
		return nil, err
	}
	f, err := qp.parse(raw)
	if err != nil || isNone(f) {
		return f, err
	}
	// Wrapping the filter as a bool filter makes bleve skip its scoring;
	// every hit then scores the same, as with ES's constant_score.
	bq := &query.BooleanQuery{Filter: f}
	return boost(bq, b), nil
}

func (qp *queryParser) disMax(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "dis_max")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "dis_max")
	if err != nil {
		return nil, err
	}
	delete(obj, "tie_breaker")
	raw, ok := obj["queries"]
	if !ok {
		return nil, errParsing("[dis_max] requires 'queries' field with at least one clause")
	}
	delete(obj, "queries")
	if err := noMore(obj, "dis_max"); err != nil {
		return nil, err
	}
	qs, err := qp.clauses(raw)
	if err != nil {
		return nil, err
	}
	qs = slices.DeleteFunc(qs, isNone)
	if len(qs) == 0 {
		return none(), nil
	}
	d := query.NewDisjunctionQuery(qs)
	d.SetMin(1)
	return boost(d, b), nil
}

func (qp *queryParser) multiMatch(body json.RawMessage) (query.Query, error) {
	var opts map[string]any
	if err := decodeJSON(body, &opts); err != nil || opts == nil {
		return nil, errParsing("[multi_match] query malformed")
	}
	b := 1.0
	if v, ok := opts["boost"]; ok {
		f, err := toFloat(v)
		if err != nil {
			return nil, errParsing("[multi_match] [boost] must be a number")
		}
		b = f
		delete(opts, "boost")
	}
	if _, ok := opts["_name"]; ok {
		return nil, errUnsupported("named queries ([_name] in [multi_match])")
	}
	known := []string{"query", "fields", "type", "operator", "minimum_should_match", "analyzer",
		"fuzziness", "lenient", "zero_terms_query", "tie_breaker", "slop", "prefix_length",
		"max_expansions", "auto_generate_synonyms_phrase_query", "fuzzy_transpositions"}
	if err := checkOpts("multi_match", opts, known, []string{"cutoff_frequency"}); err != nil {
		return nil, err
	}
	typ, _ := opts["type"].(string)
	if typ == "" {
		typ = "best_fields"
	}
	phrase := false
	switch typ {
	case "best_fields", "most_fields":
	case "phrase":
		phrase = true
	default:
		return nil, errUnsupported("[multi_match] type [%s]", typ)
	}
	if s, ok := opts["slop"]; ok {
		if n, err := toInt(s); err != nil || n != 0 {
			return nil, errUnsupported("[slop] other than 0 in [multi_match]")
		}
	}
	text, ok := opts["query"]
	if !ok {
		return nil, errParsing("No text specified for multi_match query")
	}
	var patterns []string
	switch f := opts["fields"].(type) {
	case nil:
		patterns = []string{"*"}
	case string:
		patterns = []string{f}
	case []any:
		for _, x := range f {
			s, _ := x.(string)
			patterns = append(patterns, s)
		}
	}
	mo := matchOpts{operator: "or"}
	if v, ok := opts["operator"].(string); ok {
		mo.operator = strings.ToLower(v)
	}
	if v, ok := opts["minimum_should_match"]; ok {
		mo.msm = fmt.Sprint(v)
	}
	if v, ok := opts["zero_terms_query"].(string); ok {
		mo.zeroAll = strings.EqualFold(v, "all")
	}
	if v, ok := opts["fuzziness"]; ok {
		mo.fuzziness = fmt.Sprint(v)
	}
	if v, ok := opts["lenient"].(bool); ok {
		mo.lenient = v
	}
	if v, ok := opts["analyzer"].(string); ok {
		a, ok := analyzers[v]
		if !ok {
			return nil, errUnsupported("analyzer [%s]", v)
		}
		mo.analyzer, mo.analyzerSet = a, true
	}
	var clauses []query.Query
	for _, pat := range patterns {
		name, fb := pat, 1.0
		if i := strings.LastIndexByte(pat, '^'); i >= 0 {
			f, err := strconv.ParseFloat(pat[i+1:], 64)
			if err != nil {
				return nil, errParsing("[multi_match] invalid boost in field [%s]", pat)
			}
			name, fb = pat[:i], f
		}
		fields := qp.expandFields(name)
		for _, field := range fields {
			fmo := mo
			if name == "*" || strings.Contains(name, "*") {
				fmo.lenient = true // ES is lenient on fields picked by pattern
			}
			q, err := qp.matchField(field, text, phrase, fmo)
			if err != nil {
				return nil, err
			}
			if !isNone(q) {
				clauses = append(clauses, boost(q, fb))
			}
		}
	}
	if len(clauses) == 0 {
		return none(), nil
	}
	if len(clauses) == 1 {
		return boost(clauses[0], b), nil
	}
	d := query.NewDisjunctionQuery(clauses)
	d.SetMin(1)
	return boost(d, b), nil
}

// expandFields resolves a field name or wildcard pattern to mapped leaf
// fields; "*" means all text and keyword fields, as ES's default_field does.
func (qp *queryParser) expandFields(pattern string) []string {
	if !strings.Contains(pattern, "*") {
		return []string{pattern}
	}
	var out []string
	for _, path := range sortedKeys(qp.m.flat) {
		p := qp.m.flat[path]
		if p.isObject() || !p.indexed() {
			continue
		}
		if pattern == "*" && p.Type != typeText && p.Type != typeKeyword {
			continue
		}
		if globMatch(pattern, path) {
			out = append(out, path)
		}
	}
	return out
}

// globMatch matches ES field patterns, where "*" also spans dots.
func globMatch(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		j := strings.Index(s, parts[i])
		if j < 0 {
			return false
		}
		s = s[j+len(parts[i]):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// geoFieldPoint splits a geo query body into its one field and point value
// and the remaining options.
func geoField(obj map[string]json.RawMessage, typ string, optionKeys []string) (string, any, error) {
	var field string
	var point any
	for _, k := range sortedKeys(obj) {
		if slices.Contains(optionKeys, k) {
			continue
		}
		if field != "" {
			return "", nil, errParsing("[%s] query doesn't support multiple fields, found [%s] and [%s]", typ, field, k)
		}
		field = k
		if err := decodeJSON(obj[k], &point); err != nil {
			return "", nil, errParsing("[%s] malformed point for field [%s]", typ, k)
		}
	}
	if field == "" {
		return "", nil, errParsing("[%s] query requires a field", typ)
	}
	return field, point, nil
}

func (qp *queryParser) geoPointField(field, typ string) (*property, error) {
	p, err := qp.resolve(field)
	if err != nil || p == nil {
		return nil, err
	}
	if p.Type != typeGeoPoint {
		return nil, errQueryShard("failed to find geo field [%s] of type geo_point for [%s] query (it is [%s])", field, typ, p.Type)
	}
	return p, nil
}

func (qp *queryParser) geoDistance(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "geo_distance")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "geo_distance")
	if err != nil {
		return nil, err
	}
	options := []string{"distance", "distance_type", "validation_method", "ignore_unmapped", "unit", "optimize_bbox"}
	field, point, err := geoField(obj, "geo_distance", options)
	if err != nil {
		return nil, err
	}
	var dist string
	if raw, ok := obj["distance"]; ok {
		var v any
		_ = decodeJSON(raw, &v)
		dist = fmt.Sprint(v)
	} else {
		return nil, errParsing("geo_distance requires 'distance' to be specified")
	}
	if raw, ok := obj["distance_type"]; ok {
		var dt string
		_ = json.Unmarshal(raw, &dt)
		if dt != "" && dt != "arc" {
			return nil, errUnsupported("[distance_type] %s in [geo_distance]", dt)
		}
	}
	meters, err := parseDistance(dist, "m")
	if err != nil {
		return nil, err
	}
	lat, lon, err := parseGeoPoint(point)
	if err != nil {
		return nil, errParsing("[geo_distance] failed to parse point: %s", err)
	}
	if _, err := qp.geoPointField(field, "geo_distance"); err != nil {
		return nil, err
	}
	if qp.m.field(field) == nil {
		return none(), nil
	}
	q := query.NewGeoDistanceQuery(lon, lat, strconv.FormatFloat(meters, 'f', -1, 64)+"m")
	q.SetField(field)
	return boost(q, b), nil
}

func (qp *queryParser) geoBoundingBox(body json.RawMessage) (query.Query, error) {
	obj, err := object(body, "geo_bounding_box")
	if err != nil {
		return nil, err
	}
	b, err := takeBoost(obj, "geo_bounding_box")
	if err != nil {
		return nil, err
	}
	field, box, err := geoField(obj, "geo_bounding_box", []string{"validation_method", "ignore_unmapped", "type"})
	if err != nil {
		return nil, err
	}
	m, ok := box.(map[string]any)
	if !ok {
		return nil, errParsing("[geo_bounding_box] expected an object for field [%s]", field)
	}
	var top, left, bottom, right float64
	switch {
	case m["top_left"] != nil && m["bottom_right"] != nil:
		t, l, err1 := parseGeoPoint(m["top_left"])
		bo, r, err2 := parseGeoPoint(m["bottom_right"])
		if err1 != nil || err2 != nil {
			return nil, errParsing("[geo_bounding_box] failed to parse corner points")
		}
		top, left, bottom, right = t, l, bo, r
	case m["top_right"] != nil && m["bottom_left"] != nil:
		t, r, err1 := parseGeoPoint(m["top_right"])
		bo, l, err2 := parseGeoPoint(m["bottom_left"])
		if err1 != nil || err2 != nil {
			return nil, errParsing("[geo_bounding_box] failed to parse corner points")
		}
		top, left, bottom, right = t, l, bo, r
	case m["top"] != nil && m["left"] != nil && m["bottom"] != nil && m["right"] != nil:
		var errs [4]error
		top, errs[0] = toFloat(m["top"])
		left, errs[1] = toFloat(m["left"])
		bottom, errs[2] = toFloat(m["bottom"])
		right, errs[3] = toFloat(m["right"])
		for _, e := range errs {
			if e != nil {
				return nil, errParsing("[geo_bounding_box] corner values must be numbers")
			}
		}
	default:
		return nil, errUnsupported("[geo_bounding_box] form for field [%s] (use top_left/bottom_right or top/left/bottom/right)", field)
	}
	if _, err := qp.geoPointField(field, "geo_bounding_box"); err != nil {
		return nil, err
	}
	if qp.m.field(field) == nil {
		return none(), nil
	}
	q := query.NewGeoBoundingBoxQuery(left, top, right, bottom)
	q.SetField(field)
	return boost(q, b), nil
}

// distanceUnits maps ES distance units to meters.
var distanceUnits = []struct {
	names []string
	m     float64
}{
	{[]string{"km", "kilometers"}, 1000},
	{[]string{"mm", "millimeters"}, 0.001},
	{[]string{"cm", "centimeters"}, 0.01},
	{[]string{"mi", "miles"}, 1609.344},
	{[]string{"yd", "yards"}, 0.9144},
	{[]string{"ft", "feet"}, 0.3048},
	{[]string{"in", "inch"}, 0.0254},
	{[]string{"NM", "nmi", "nauticalmiles"}, 1852},
	{[]string{"m", "meters"}, 1},
}

func unitMeters(u string) (float64, bool) {
	for _, d := range distanceUnits {
		if slices.Contains(d.names, u) {
			return d.m, true
		}
	}
	return 0, false
}

// parseDistance parses "5km", "300m", "1.5mi"; a bare number is in defUnit.
func parseDistance(s, defUnit string) (float64, error) {
	s = strings.TrimSpace(s)
	for _, d := range distanceUnits {
		for _, n := range d.names {
			if num, ok := strings.CutSuffix(s, n); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
				if err != nil {
					continue
				}
				return f * d.m, nil
			}
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errParsing("failed to parse distance [%s]", s)
	}
	m, _ := unitMeters(defUnit)
	return f * m, nil
}
