package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
)

// Field types the emulator indexes. Anything else ES knows is refused at
// mapping time, so a document is never silently indexed the wrong way.
const (
	typeText      = "text"
	typeKeyword   = "keyword"
	typeLong      = "long"
	typeInteger   = "integer"
	typeShort     = "short"
	typeByte      = "byte"
	typeDouble    = "double"
	typeFloat     = "float"
	typeHalfFloat = "half_float"
	typeDate      = "date"
	typeBoolean   = "boolean"
	typeGeoPoint  = "geo_point"
	typeObject    = "object"
)

func isIntegerType(t string) bool {
	return t == typeLong || t == typeInteger || t == typeShort || t == typeByte
}

func isFloatType(t string) bool {
	return t == typeDouble || t == typeFloat || t == typeHalfFloat
}

func isNumericType(t string) bool { return isIntegerType(t) || isFloatType(t) }

// knownESTypes are field types Elasticsearch has but the emulator does not
// implement: naming them gets "not supported" instead of "unknown type".
var knownESTypes = map[string]bool{
	"nested": true, "ip": true, "wildcard": true, "flattened": true, "dense_vector": true,
	"sparse_vector": true, "scaled_float": true, "date_nanos": true, "geo_shape": true,
	"binary": true, "completion": true, "search_as_you_type": true, "alias": true,
	"join": true, "percolator": true, "unsigned_long": true, "constant_keyword": true,
	"match_only_text": true, "rank_feature": true, "rank_features": true, "token_count": true,
	"version": true, "histogram": true, "integer_range": true, "float_range": true,
	"long_range": true, "double_range": true, "date_range": true, "ip_range": true,
	"shape": true, "point": true, "semantic_text": true, "annotated_text": true,
	"aggregate_metric_double": true, "counted_keyword": true,
}

// Mapping parameters: those with an effect here, those accepted and echoed
// without one (they change nothing observable through the search API), and
// those ES supports that we refuse.
var (
	paramsByType = map[string][]string{
		typeText:     {"analyzer", "search_analyzer", "index", "fields", "fielddata"},
		typeKeyword:  {"index", "doc_values", "ignore_above", "null_value", "fields"},
		typeDate:     {"index", "doc_values", "format", "null_value", "ignore_malformed", "fields"},
		typeBoolean:  {"index", "doc_values", "null_value", "fields"},
		typeGeoPoint: {"index", "doc_values", "ignore_malformed", "null_value"},
		typeObject:   {"properties", "dynamic", "enabled"},
	}
	numericParams = []string{"index", "doc_values", "null_value", "coerce", "ignore_malformed", "fields"}
	echoParams    = map[string]bool{
		"store": true, "norms": true, "eager_global_ordinals": true, "index_options": true,
		"term_vector": true, "meta": true, "similarity": true, "ignore_z_value": true,
		"split_queries_on_whitespace": true,
	}
	refusedParams = map[string]bool{
		"copy_to": true, "normalizer": true, "search_quote_analyzer": true,
		"position_increment_gap": true, "index_prefixes": true, "index_phrases": true,
		"script": true, "on_script_error": true, "time_series_dimension": true,
		"time_series_metric": true, "locale": true, "fielddata_frequency_filter": true,
		"subobjects": true,
	}
)

// property is one field (or object) of an ES mapping.
type property struct {
	Type            string
	Analyzer        string
	SearchAnalyzer  string
	Index           *bool
	DocValues       *bool
	Format          string
	IgnoreAbove     *int
	NullValue       any
	Coerce          *bool
	IgnoreMalformed *bool
	Dynamic         string // objects: "", "true", "false" or "strict"
	Enabled         *bool
	Fields          map[string]*property
	Properties      map[string]*property
	// echo holds accepted parameters that have no effect here, so GET
	// _mapping returns what the user put.
	echo map[string]json.RawMessage

	// derived, set by prepare
	analyzer       analysis.Analyzer
	searchAnalyzer analysis.Analyzer
	dateFormats    []dateFormat
}

func (p *property) indexed() bool  { return p.Index == nil || *p.Index }
func (p *property) isObject() bool { return p.Type == typeObject }
func (p *property) enabled() bool  { return p.Enabled == nil || *p.Enabled }

// rootMapping is an index's whole mapping.
type rootMapping struct {
	Dynamic       string
	DateDetection *bool
	Properties    map[string]*property
	Meta          json.RawMessage

	// flat maps every field path ("user.name", "title.keyword") to its
	// property, objects included.
	flat map[string]*property
}

func newRootMapping() *rootMapping {
	m := &rootMapping{Properties: map[string]*property{}}
	m.reindex()
	return m
}

func (m *rootMapping) field(path string) *property { return m.flat[path] }

func (m *rootMapping) reindex() {
	m.flat = map[string]*property{}
	var walk func(prefix string, props map[string]*property)
	walk = func(prefix string, props map[string]*property) {
		for name, p := range props {
			path := prefix + name
			m.flat[path] = p
			for sub, sp := range p.Fields {
				m.flat[path+"."+sub] = sp
			}
			walk(path+".", p.Properties)
		}
	}
	walk("", m.Properties)
}

// parseRootMapping parses the "mappings" object of create-index or
// put-mapping.
func parseRootMapping(raw json.RawMessage) (*rootMapping, error) {
	m := newRootMapping()
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return m, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errMapperParsing("failed to parse mapping: %s", err)
	}
	// ES 7 clients may still wrap properties in a type name; ES 8 refuses it.
	for key, v := range obj {
		switch key {
		case "properties":
			props, err := parseProperties("", v)
			if err != nil {
				return nil, err
			}
			m.Properties = props
		case "dynamic":
			d, err := parseDynamic(v)
			if err != nil {
				return nil, err
			}
			m.Dynamic = d
		case "date_detection":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, errMapperParsing("failed to parse [date_detection]: %s", err)
			}
			m.DateDetection = &b
		case "numeric_detection":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil || b {
				return nil, errUnsupported("mapping parameter [numeric_detection: true]")
			}
		case "_meta":
			m.Meta = v
		case "dynamic_templates":
			var arr []any
			if err := json.Unmarshal(v, &arr); err != nil || len(arr) > 0 {
				return nil, errUnsupported("mapping parameter [dynamic_templates]")
			}
		case "_source":
			var src map[string]any
			_ = json.Unmarshal(v, &src)
			if en, ok := src["enabled"].(bool); (ok && !en) || src["includes"] != nil || src["excludes"] != nil || src["mode"] != nil {
				return nil, errUnsupported("mapping parameter [_source] other than enabled")
			}
		case "_routing", "runtime", "_data_stream_timestamp", "_field_names", "_size", "subobjects":
			return nil, errUnsupported("mapping parameter [%s]", key)
		default:
			return nil, errMapperParsing("Root mapping definition has unsupported parameters:  [%s : %s]", key, string(v))
		}
	}
	if err := m.prepare(); err != nil {
		return nil, err
	}
	m.reindex()
	return m, nil
}

func parseDynamic(v json.RawMessage) (string, error) {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return "", errMapperParsing("failed to parse [dynamic]: %s", err)
	}
	switch d := fmt.Sprint(x); d {
	case "true", "false", "strict":
		return d, nil
	case "runtime":
		return "", errUnsupported("[dynamic: runtime]")
	default:
		return "", errMapperParsing("Could not convert [dynamic] to boolean")
	}
}

func parseProperties(prefix string, raw json.RawMessage) (map[string]*property, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errMapperParsing("failed to parse [properties]: %s", err)
	}
	props := make(map[string]*property, len(obj))
	for name, v := range obj {
		if name == "" || strings.HasPrefix(name, "#") {
			return nil, errMapperParsing("field name [%s] is not allowed", name)
		}
		// A dotted name is shorthand for nested objects, as in ES.
		parts := strings.Split(name, ".")
		p, err := parseProperty(prefix+name, v)
		if err != nil {
			return nil, err
		}
		for i := len(parts) - 1; i > 0; i-- {
			p = &property{Type: typeObject, Properties: map[string]*property{parts[i]: p}}
		}
		if old, ok := props[parts[0]]; ok {
			if err := mergeProperty(prefix+parts[0], old, p); err != nil {
				return nil, err
			}
			continue
		}
		props[parts[0]] = p
	}
	return props, nil
}

func parseProperty(path string, raw json.RawMessage) (*property, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errMapperParsing("Expected map for property [%s] but got %s", path, string(raw))
	}
	p := &property{Type: typeObject}
	if t, ok := obj["type"]; ok {
		if err := json.Unmarshal(t, &p.Type); err != nil {
			return nil, errMapperParsing("failed to parse [type] of [%s]", path)
		}
	} else if _, hasProps := obj["properties"]; !hasProps && len(obj) > 0 {
		if _, hasFields := obj["fields"]; hasFields {
			return nil, errMapperParsing("No type specified for field [%s]", path)
		}
	}
	allowed, known := paramsByType[p.Type]
	switch {
	case isNumericType(p.Type):
		allowed, known = numericParams, true
	case knownESTypes[p.Type]:
		return nil, errUnsupported("field type [%s] (field [%s])", p.Type, path)
	case !known:
		return nil, errMapperParsing("No handler for type [%s] declared on field [%s]", p.Type, path)
	}
	for key, v := range obj {
		if key == "type" {
			continue
		}
		if !slices.Contains(allowed, key) {
			switch {
			case echoParams[key]:
				if p.echo == nil {
					p.echo = map[string]json.RawMessage{}
				}
				p.echo[key] = v
				continue
			case refusedParams[key]:
				return nil, errUnsupported("mapping parameter [%s] (field [%s])", key, path)
			default:
				return nil, errMapperParsing("unknown parameter [%s] on mapper [%s] of type [%s]", key, path, p.Type)
			}
		}
		var err error
		switch key {
		case "analyzer":
			err = json.Unmarshal(v, &p.Analyzer)
		case "search_analyzer":
			err = json.Unmarshal(v, &p.SearchAnalyzer)
		case "index":
			err = unmarshalBool(v, &p.Index)
		case "doc_values":
			err = unmarshalBool(v, &p.DocValues)
		case "coerce":
			err = unmarshalBool(v, &p.Coerce)
		case "ignore_malformed":
			err = unmarshalBool(v, &p.IgnoreMalformed)
		case "enabled":
			err = unmarshalBool(v, &p.Enabled)
		case "format":
			err = json.Unmarshal(v, &p.Format)
		case "ignore_above":
			var n int
			err = json.Unmarshal(v, &n)
			p.IgnoreAbove = &n
		case "null_value":
			err = json.Unmarshal(v, &p.NullValue)
		case "fielddata":
			var b bool
			if err = json.Unmarshal(v, &b); err == nil && b {
				return nil, errUnsupported("mapping parameter [fielddata: true] (field [%s])", path)
			}
		case "dynamic":
			p.Dynamic, err = parseDynamic(v)
		case "properties":
			p.Properties, err = parseProperties(path+".", v)
		case "fields":
			p.Fields, err = parseProperties(path+".", v)
			if err == nil {
				for sub, sp := range p.Fields {
					if sp.isObject() || len(sp.Fields) > 0 {
						return nil, errMapperParsing("Field [%s.%s] of a multi-field must be a leaf field", path, sub)
					}
				}
			}
		}
		if err != nil {
			var es *esError
			if errors.As(err, &es) {
				return nil, es
			}
			return nil, errMapperParsing("failed to parse [%s] of field [%s]: %s", key, path, err)
		}
	}
	return p, nil
}

func unmarshalBool(v json.RawMessage, dst **bool) error {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return err
	}
	var b bool
	switch t := x.(type) {
	case bool:
		b = t
	case string:
		switch t {
		case "true":
			b = true
		case "false":
		default:
			return fmt.Errorf("cannot convert [%s] to boolean", t)
		}
	default:
		return fmt.Errorf("cannot convert [%v] to boolean", x)
	}
	*dst = &b
	return nil
}

// prepare resolves analyzer names and date formats once, so indexing and
// queries do not look them up per value.
func (m *rootMapping) prepare() error {
	var walk func(prefix string, props map[string]*property) error
	walk = func(prefix string, props map[string]*property) error {
		for name, p := range props {
			path := prefix + name
			if err := p.prepare(path); err != nil {
				return err
			}
			for sub, sp := range p.Fields {
				if err := sp.prepare(path + "." + sub); err != nil {
					return err
				}
			}
			if err := walk(path+".", p.Properties); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("", m.Properties)
}

func (p *property) prepare(path string) error {
	switch p.Type {
	case typeText:
		name := p.Analyzer
		if name == "" {
			name = "standard"
		}
		a, ok := analyzers[name]
		if !ok {
			return errUnsupported("analyzer [%s] (field [%s]); supported analyzers are standard, cjk, simple, whitespace and keyword", name, path)
		}
		p.analyzer, p.searchAnalyzer = a, a
		if p.SearchAnalyzer != "" {
			sa, ok := analyzers[p.SearchAnalyzer]
			if !ok {
				return errUnsupported("analyzer [%s] (field [%s]); supported analyzers are standard, cjk, simple, whitespace and keyword", p.SearchAnalyzer, path)
			}
			p.searchAnalyzer = sa
		}
	case typeDate:
		f, err := parseDateFormats(p.Format)
		if err != nil {
			return err
		}
		p.dateFormats = f
	}
	return nil
}

// mergeProperty folds src into dst (put-mapping, dynamic updates). Like ES
// it adds fields and multi-fields but refuses to change a field's type or
// analysis, because documents already indexed would no longer match it.
func mergeProperty(path string, dst, src *property) error {
	if dst.Type != src.Type {
		return errIllegalArgument("mapper [%s] cannot be changed from type [%s] to [%s]", path, dst.Type, src.Type)
	}
	if src.Analyzer != dst.Analyzer && src.Type == typeText {
		return errIllegalArgument("Mapper for [%s] conflicts with existing mapper:\n\tCannot update parameter [analyzer] from [%s] to [%s]", path, orDefault(dst.Analyzer, "default"), orDefault(src.Analyzer, "default"))
	}
	if src.Format != dst.Format {
		return errIllegalArgument("Mapper for [%s] conflicts with existing mapper:\n\tCannot update parameter [format] from [%s] to [%s]", path, dst.Format, src.Format)
	}
	if !sameBool(src.Index, dst.Index) {
		return errIllegalArgument("Mapper for [%s] conflicts with existing mapper:\n\tCannot update parameter [index]", path)
	}
	if src.SearchAnalyzer != "" {
		dst.SearchAnalyzer = src.SearchAnalyzer
	}
	if src.IgnoreAbove != nil {
		dst.IgnoreAbove = src.IgnoreAbove
	}
	if src.Dynamic != "" {
		dst.Dynamic = src.Dynamic
	}
	for k, v := range src.echo {
		if dst.echo == nil {
			dst.echo = map[string]json.RawMessage{}
		}
		dst.echo[k] = v
	}
	for name, sp := range src.Fields {
		if dp, ok := dst.Fields[name]; ok {
			if err := mergeProperty(path+"."+name, dp, sp); err != nil {
				return err
			}
			continue
		}
		if dst.Fields == nil {
			dst.Fields = map[string]*property{}
		}
		dst.Fields[name] = sp
	}
	for name, sp := range src.Properties {
		if dp, ok := dst.Properties[name]; ok {
			if err := mergeProperty(path+"."+name, dp, sp); err != nil {
				return err
			}
			continue
		}
		if dst.Properties == nil {
			dst.Properties = map[string]*property{}
		}
		dst.Properties[name] = sp
	}
	return nil
}

func sameBool(a, b *bool) bool {
	return (a == nil || *a) == (b == nil || *b)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// merge returns a new mapping with src folded into m; m is left untouched
// because searches may be reading it concurrently.
func (m *rootMapping) merge(src *rootMapping) (*rootMapping, error) {
	out := m.clone()
	root := &property{Type: typeObject, Properties: out.Properties}
	if err := mergeProperty("", root, &property{Type: typeObject, Properties: src.Properties}); err != nil {
		return nil, err
	}
	out.Properties = root.Properties
	if src.Dynamic != "" {
		out.Dynamic = src.Dynamic
	}
	if src.DateDetection != nil {
		out.DateDetection = src.DateDetection
	}
	if src.Meta != nil {
		out.Meta = src.Meta
	}
	if err := out.prepare(); err != nil {
		return nil, err
	}
	out.reindex()
	return out, nil
}

func (m *rootMapping) clone() *rootMapping {
	out := &rootMapping{Dynamic: m.Dynamic, DateDetection: m.DateDetection, Meta: m.Meta}
	out.Properties = cloneProps(m.Properties)
	out.reindex()
	return out
}

func cloneProps(props map[string]*property) map[string]*property {
	if props == nil {
		return nil
	}
	out := make(map[string]*property, len(props))
	for k, p := range props {
		c := *p
		c.Fields = cloneProps(p.Fields)
		c.Properties = cloneProps(p.Properties)
		c.echo = maps.Clone(p.echo)
		out[k] = &c
	}
	return out
}

// toJSON renders the mapping as ES returns it from GET _mapping.
func (m *rootMapping) toJSON() map[string]any {
	out := map[string]any{}
	if m.Dynamic != "" {
		out["dynamic"] = m.Dynamic
	}
	if m.DateDetection != nil {
		out["date_detection"] = *m.DateDetection
	}
	if m.Meta != nil {
		out["_meta"] = m.Meta
	}
	if len(m.Properties) > 0 {
		out["properties"] = propsJSON(m.Properties)
	}
	return out
}

func propsJSON(props map[string]*property) map[string]any {
	out := make(map[string]any, len(props))
	for name, p := range props {
		out[name] = p.toJSON()
	}
	return out
}

func (p *property) toJSON() map[string]any {
	out := map[string]any{}
	if p.Type != typeObject || (len(p.Properties) == 0 && p.Dynamic == "" && p.Enabled == nil) {
		out["type"] = p.Type
	}
	set := func(k string, v any) { out[k] = v }
	if p.Analyzer != "" {
		set("analyzer", p.Analyzer)
	}
	if p.SearchAnalyzer != "" {
		set("search_analyzer", p.SearchAnalyzer)
	}
	if p.Index != nil {
		set("index", *p.Index)
	}
	if p.DocValues != nil {
		set("doc_values", *p.DocValues)
	}
	if p.Format != "" {
		set("format", p.Format)
	}
	if p.IgnoreAbove != nil {
		set("ignore_above", *p.IgnoreAbove)
	}
	if p.NullValue != nil {
		set("null_value", p.NullValue)
	}
	if p.Coerce != nil {
		set("coerce", *p.Coerce)
	}
	if p.IgnoreMalformed != nil {
		set("ignore_malformed", *p.IgnoreMalformed)
	}
	if p.Dynamic != "" {
		set("dynamic", p.Dynamic)
	}
	if p.Enabled != nil {
		set("enabled", *p.Enabled)
	}
	for k, v := range p.echo {
		set(k, v)
	}
	if len(p.Fields) > 0 {
		set("fields", propsJSON(p.Fields))
	}
	if len(p.Properties) > 0 {
		set("properties", propsJSON(p.Properties))
	}
	return out
}

// dynamicAt resolves the effective "dynamic" setting for an object path.
func (m *rootMapping) dynamicAt(objPath string) string {
	d := m.Dynamic
	if d == "" {
		d = "true"
	}
	if objPath == "" {
		return d
	}
	props := m.Properties
	for _, part := range strings.Split(objPath, ".") {
		p := props[part]
		if p == nil {
			break
		}
		if p.Dynamic != "" {
			d = p.Dynamic
		}
		props = p.Properties
	}
	return d
}
