package elasticsearch

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
)

// Sorting: ES sort specs, their bleve form, and the sort values ES prints.

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
