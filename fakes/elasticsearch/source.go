package elasticsearch

import (
	"encoding/json"
	"strings"
)

// _source filtering (includes/excludes with wildcards).

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
