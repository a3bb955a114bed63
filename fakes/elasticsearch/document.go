package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/geo"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Hidden bleve fields kept beside the user's. '#' may not start a mapped
// field name here, so they cannot collide.
const (
	fieldSource = "#source"
	// fieldVersion holds "<version>:<seq_no>" as a doc value, so a bulk
	// request can learn every target document's version with one sorted
	// search instead of loading each stored document.
	fieldVersion = "#vs"
	// fieldNames lists every field path a document has a value for; it
	// answers "exists" queries (ES keeps _field_names for the same reason).
	fieldNames = "#field_names"
	// termsPrefix names a keyword copy of numeric and date values: bleve
	// keeps several precision terms per number, which would pollute terms
	// aggregation buckets, so aggregations read these exact copies instead.
	termsPrefix = "#terms:"
)

const (
	optsText    = bindex.IndexField | bindex.IncludeTermVectors
	optsKeyword = bindex.IndexField | bindex.DocValues
	optsStored  = bindex.StoreField
)

// docBuilder converts one ES document into a bleve document, growing the
// mapping when the index's dynamic setting allows new fields.
type docBuilder struct {
	m       *rootMapping
	changed bool // m is a private clone holding dynamic additions
	id      string
	doc     *document.Document
	names   map[string]bool
}

// buildDocument returns the bleve document for source and the mapping to
// use from now on (m itself when no field was added).
func buildDocument(m *rootMapping, id string, source []byte, version, seqNo int64) (*document.Document, *rootMapping, error) {
	obj, err := decodeSource(source)
	if err != nil {
		return nil, nil, err
	}
	b := &docBuilder{m: m, id: id, doc: document.NewDocument(id), names: map[string]bool{}}
	if err := b.walkObject(obj, ""); err != nil {
		return nil, nil, err
	}
	b.doc.AddField(document.NewTextFieldWithIndexingOptions(fieldSource, nil, source, optsStored))
	vs := strconv.FormatInt(version, 10) + ":" + strconv.FormatInt(seqNo, 10)
	b.doc.AddField(document.NewTextFieldWithIndexingOptions(fieldVersion, nil, []byte(vs), optsKeyword|bindex.StoreField))
	for name := range b.names {
		b.doc.AddField(document.NewTextFieldWithIndexingOptions(fieldNames, nil, []byte(name), bindex.IndexField))
	}
	if b.changed {
		if err := b.m.prepare(); err != nil {
			return nil, nil, err
		}
		b.m.reindex()
	}
	return b.doc, b.m, nil
}

// decodeSource parses a document body, keeping numbers exact.
func decodeSource(source []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(source))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errMapperParsing("failed to parse: %s", err)
	}
	if dec.More() {
		return nil, errMapperParsing("failed to parse: trailing data after the document")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errMapperParsing("failed to parse: the document must be a JSON object")
	}
	return obj, nil
}

func (b *docBuilder) walkObject(obj map[string]any, objPath string) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // dynamic mapping must not depend on map order
	for _, k := range keys {
		if k == "" || strings.HasPrefix(k, "#") || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
			return errMapperParsing("field name [%s] cannot be used in a document", k)
		}
		switch k {
		case "_id", "_index", "_source", "_routing", "_version", "_seq_no", "_primary_term":
			if objPath == "" {
				return errMapperParsing("Field [%s] is a metadata field and cannot be added inside a document. Use the index API request parameters.", k)
			}
		}
		if err := b.walkValue(joinPath(objPath, k), obj[k], nil); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func (b *docBuilder) walkValue(path string, v any, ap []uint64) error {
	p := b.m.field(path)
	switch x := v.(type) {
	case nil:
		if p != nil && p.NullValue != nil && !p.isObject() {
			return b.indexScalar(path, p, p.NullValue, ap)
		}
		return nil
	case []any:
		if p != nil && p.Type == typeGeoPoint && isCoordinatePair(x) {
			return b.indexScalar(path, p, x, ap)
		}
		for i, e := range x {
			if err := b.walkValue(path, e, append(slices.Clip(ap), uint64(i))); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if p == nil {
			np, err := b.addDynamic(path, &property{Type: typeObject, Properties: map[string]*property{}})
			if err != nil || np == nil {
				return err
			}
			p = np
		}
		switch {
		case p.isObject():
			if !p.enabled() {
				return nil
			}
			b.names[path] = true
			return b.walkObject(x, path)
		case p.Type == typeGeoPoint:
			return b.indexScalar(path, p, x, ap)
		default:
			return errMapperParsing("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", path, p.Type, b.id, preview(x))
		}
	default:
		if p == nil {
			np, err := b.addDynamic(path, b.inferProperty(x))
			if err != nil || np == nil {
				return err
			}
			p = np
		}
		if p.isObject() {
			return errMapperParsing("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, path)
		}
		return b.indexScalar(path, p, x, ap)
	}
}

// isCoordinatePair tells a [lon, lat] point from an array of points.
func isCoordinatePair(a []any) bool {
	if len(a) < 2 || len(a) > 3 {
		return false
	}
	for _, e := range a {
		if _, ok := e.(json.Number); !ok {
			return false
		}
	}
	return true
}

// inferProperty applies ES's dynamic mapping rules to a new scalar.
func (b *docBuilder) inferProperty(v any) *property {
	switch x := v.(type) {
	case bool:
		return &property{Type: typeBoolean}
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return &property{Type: typeFloat}
		}
		return &property{Type: typeLong}
	case string:
		detect := b.m.DateDetection == nil || *b.m.DateDetection
		if detect && looksLikeDate(x) {
			return &property{Type: typeDate}
		}
	}
	ignore := 256
	return &property{Type: typeText, Fields: map[string]*property{
		"keyword": {Type: typeKeyword, IgnoreAbove: &ignore},
	}}
}

// looksLikeDate follows ES's dynamic date detection, which only maps a
// string as a date when it carries at least a full calendar date.
func looksLikeDate(s string) bool {
	if len(s) < len("2006-01-02") {
		return false
	}
	if _, ok := parseISO(s, false); ok && s[4] == '-' {
		return true
	}
	for _, layout := range []string{"2006/01/02 15:04:05 -0700", "2006/01/02 15:04:05", "2006/01/02"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// addDynamic adds a new field at path following the dynamic setting of its
// parent object; it returns nil when the field is to be ignored.
func (b *docBuilder) addDynamic(path string, p *property) (*property, error) {
	parent := parentPath(path)
	switch b.m.dynamicAt(parent) {
	case "false":
		return nil, nil
	case "strict":
		within := parent
		if within == "" {
			within = "_doc"
		}
		return nil, newError(400, "strict_dynamic_mapping_exception",
			"[1:2] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", path[len(parent)+boolInt(parent != ""):], within)
	}
	if !b.changed {
		b.m = b.m.clone()
		b.changed = true
	}
	props := b.m.Properties
	parts := strings.Split(path, ".")
	for i, part := range parts[:len(parts)-1] {
		op := props[part]
		if op == nil {
			op = &property{Type: typeObject, Properties: map[string]*property{}}
			props[part] = op
		}
		if !op.isObject() {
			return nil, errMapperParsing("Could not dynamically add mapping for field [%s]. Existing mapping for [%s] must be of type object but found [%s].", path, strings.Join(parts[:i+1], "."), op.Type)
		}
		if op.Properties == nil {
			op.Properties = map[string]*property{}
		}
		props = op.Properties
	}
	props[parts[len(parts)-1]] = p
	if err := p.prepare(path); err != nil {
		return nil, err
	}
	for sub, sp := range p.Fields {
		if err := sp.prepare(path + "." + sub); err != nil {
			return nil, err
		}
	}
	b.m.reindex()
	return p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func preview(v any) string {
	out, _ := json.Marshal(v)
	if len(out) > 100 {
		out = out[:100]
	}
	return string(out)
}

func (b *docBuilder) malformed(path string, p *property, v any, cause error) error {
	if p.IgnoreMalformed != nil && *p.IgnoreMalformed {
		return nil
	}
	msg := fmt.Sprintf("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", path, p.Type, b.id, previewScalar(v))
	e := errMapperParsing("%s", msg)
	if cause != nil {
		e.extra = map[string]any{"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": cause.Error()}}
	}
	return e
}

func previewScalar(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return preview(v)
}

// indexScalar indexes one value of a leaf field and its multi-fields.
func (b *docBuilder) indexScalar(path string, p *property, v any, ap []uint64) error {
	if err := b.indexLeaf(path, p, v, ap); err != nil {
		return err
	}
	for sub, sp := range p.Fields {
		if err := b.indexLeaf(path+"."+sub, sp, v, ap); err != nil {
			return err
		}
	}
	return nil
}

func (b *docBuilder) indexLeaf(path string, p *property, v any, ap []uint64) error {
	if !p.indexed() {
		return nil
	}
	switch p.Type {
	case typeText, typeKeyword:
		s, ok := scalarString(v)
		if !ok {
			return b.malformed(path, p, v, nil)
		}
		if p.Type == typeKeyword {
			if p.IgnoreAbove != nil && utf8.RuneCountInString(s) > *p.IgnoreAbove {
				return nil
			}
			b.doc.AddField(document.NewTextFieldWithIndexingOptions(path, ap, []byte(s), optsKeyword))
		} else {
			b.doc.AddField(document.NewTextFieldCustom(path, ap, []byte(s), optsText, p.analyzer))
		}
	case typeLong, typeInteger, typeShort, typeByte, typeDouble, typeFloat, typeHalfFloat:
		f, canon, err := parseNumber(v, p)
		if err != nil {
			return b.malformed(path, p, v, err)
		}
		b.doc.AddField(document.NewNumericFieldWithIndexingOptions(path, ap, f, optsKeyword))
		b.doc.AddField(document.NewTextFieldWithIndexingOptions(termsPrefix+path, ap, []byte(canon), optsKeyword))
	case typeDate:
		t, err := parseDate(v, p.dateFormats, false)
		if err != nil {
			return b.malformed(path, p, v, err)
		}
		f, err := document.NewDateTimeFieldWithIndexingOptions(path, ap, t, time.RFC3339Nano, optsKeyword)
		if err != nil {
			return b.malformed(path, p, v, err)
		}
		b.doc.AddField(f)
		b.doc.AddField(document.NewTextFieldWithIndexingOptions(termsPrefix+path, ap, []byte(strconv.FormatInt(t.UnixMilli(), 10)), optsKeyword))
	case typeBoolean:
		bv, err := parseBool(v)
		if err != nil {
			return b.malformed(path, p, v, err)
		}
		b.doc.AddField(document.NewBooleanFieldWithIndexingOptions(path, ap, bv, optsKeyword))
	case typeGeoPoint:
		lat, lon, err := parseGeoPoint(v)
		if err != nil {
			return b.malformed(path, p, v, err)
		}
		b.doc.AddField(document.NewGeoPointFieldWithIndexingOptions(path, ap, lon, lat, optsKeyword))
	default:
		return errUnsupported("indexing field type [%s]", p.Type)
	}
	for q := path; q != ""; q = parentPath(q) {
		b.names[q] = true
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// parseNumber coerces a value to the field's numeric type the way ES does
// (numeric strings accepted, fractions truncated for integer types, range
// checked) and returns it with the exact text used for aggregation keys.
func parseNumber(v any, p *property) (float64, string, error) {
	coerce := p.Coerce == nil || *p.Coerce
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if !coerce {
			return 0, "", fmt.Errorf("strings are not allowed when coerce is false")
		}
		s = strings.TrimSpace(x)
	default:
		return 0, "", fmt.Errorf("cannot parse a number from %T", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "", fmt.Errorf("For input string: \"%s\"", s)
	}
	if isFloatType(p.Type) {
		if p.Type != typeDouble {
			// ES stores float and half_float in 32 bits; round the same
			// way so sort values and range edges agree with it.
			f = float64(float32(f))
		}
		return f, strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	if f != math.Trunc(f) && !coerce {
		return 0, "", fmt.Errorf("value [%s] has a decimal part", s)
	}
	var lo, hi float64
	switch p.Type {
	case typeInteger:
		lo, hi = math.MinInt32, math.MaxInt32
	case typeShort:
		lo, hi = math.MinInt16, math.MaxInt16
	case typeByte:
		lo, hi = math.MinInt8, math.MaxInt8
	default:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	t := math.Trunc(f)
	if t < lo || t > hi {
		return 0, "", fmt.Errorf("Value [%s] is out of range for %s", s, p.Type)
	}
	canon := strconv.FormatFloat(t, 'f', 0, 64)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		canon = strconv.FormatInt(n, 10) // exact beyond 2^53
	}
	return t, canon, nil
}

func parseBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch x {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("Failed to parse value [%v] as only [true] or [false] are allowed.", v)
}

// parseGeoPoint accepts the geo_point forms ES accepts: {"lat","lon"},
// GeoJSON points, "lat,lon", [lon, lat], WKT "POINT (lon lat)" and geohash.
func parseGeoPoint(v any) (lat, lon float64, err error) {
	num := func(x any) (float64, error) {
		switch n := x.(type) {
		case json.Number:
			return n.Float64()
		case float64:
			return n, nil
		case string:
			return strconv.ParseFloat(strings.TrimSpace(n), 64)
		}
		return 0, fmt.Errorf("geo coordinate must be a number")
	}
	switch x := v.(type) {
	case map[string]any:
		if coords, ok := x["coordinates"].([]any); ok && len(coords) >= 2 {
			if lon, err = num(coords[0]); err == nil {
				lat, err = num(coords[1])
			}
			break
		}
		la, okLat := x["lat"]
		lo, okLon := x["lon"]
		if !okLat || !okLon {
			return 0, 0, fmt.Errorf("field [lat] and [lon] must be set")
		}
		if lat, err = num(la); err == nil {
			lon, err = num(lo)
		}
	case []any:
		if len(x) < 2 || len(x) > 3 {
			return 0, 0, fmt.Errorf("geo_point array must be [lon, lat]")
		}
		if lon, err = num(x[0]); err == nil {
			lat, err = num(x[1])
		}
	case string:
		s := strings.TrimSpace(x)
		upper := strings.ToUpper(s)
		switch {
		case strings.HasPrefix(upper, "POINT"):
			inner := strings.Trim(strings.TrimSpace(s[len("POINT"):]), "()")
			parts := strings.Fields(inner)
			if len(parts) < 2 {
				return 0, 0, fmt.Errorf("invalid WKT point [%s]", s)
			}
			if lon, err = num(parts[0]); err == nil {
				lat, err = num(parts[1])
			}
		case strings.Contains(s, ","):
			parts := strings.Split(s, ",")
			if len(parts) < 2 || len(parts) > 3 {
				return 0, 0, fmt.Errorf("expected \"lat,lon\" but got [%s]", s)
			}
			if lat, err = num(parts[0]); err == nil {
				lon, err = num(parts[1])
			}
		default:
			if s == "" || strings.Trim(strings.ToLower(s), "0123456789bcdefghjkmnpqrstuvwxyz") != "" {
				return 0, 0, fmt.Errorf("invalid geohash [%s]", s)
			}
			lat, lon = geo.DecodeGeoHash(strings.ToLower(s))
		}
	default:
		return 0, 0, fmt.Errorf("unsupported geo_point value")
	}
	if err != nil {
		return 0, 0, err
	}
	if lat < -90 || lat > 90 {
		return 0, 0, fmt.Errorf("illegal latitude value [%v]", lat)
	}
	if lon < -180 || lon > 180 {
		return 0, 0, fmt.Errorf("illegal longitude value [%v]", lon)
	}
	return lat, lon, nil
}
