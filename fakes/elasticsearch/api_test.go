package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// perform sends a raw request through the client's transport, for
// endpoints and parameters esapi makes awkward to reach.
func perform(t *testing.T, f *fixture, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := f.es.Perform(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return call(t, r(fromHTTP(res), nil))
}

func fromHTTP(res *http.Response) *esapi.Response {
	return &esapi.Response{StatusCode: res.StatusCode, Header: res.Header, Body: res.Body}
}

// at walks a decoded JSON value by keys and array indices ("a.0.b").
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return "<nil>"
	}
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func expect(t *testing.T, what string, body map[string]any, checks map[string]string) {
	t.Helper()
	for path, want := range checks {
		if got := str(at(body, path)); got != want {
			t.Errorf("%s: %s = %s, want %s (body %v)", what, path, got, want, body)
		}
	}
}

func TestMappingAndDocumentAPIs(t *testing.T) {
	f := startServer(t, t.TempDir())
	status, body := perform(t, f, "PUT", "/strict", `{"mappings":{"dynamic":"strict","properties":{"name":{"type":"keyword"},"tags":{"type":"keyword"},"n":{"type":"long"},"ok":{"type":"boolean"},"at":{"type":"date","format":"yyyy-MM-dd HH:mm:ss||epoch_millis"},"price":{"type":"float"}}}}`)
	mustOK(t, status, body)

	status, body = perform(t, f, "PUT", "/strict/_doc/1", `{"name":"a","extra":1}`)
	if status != 400 || errorType(body) != "strict_dynamic_mapping_exception" {
		t.Errorf("strict mapping = %d %v", status, body)
	}
	status, body = perform(t, f, "PUT", "/strict/_mapping", `{"properties":{"extra":{"type":"integer"}}}`)
	mustOK(t, status, body)
	status, body = perform(t, f, "PUT", "/strict/_mapping", `{"properties":{"name":{"type":"text"}}}`)
	if status != 400 || errorType(body) != "illegal_argument_exception" {
		t.Errorf("type change = %d %v", status, body)
	}
	docs := []string{
		`{"name":"a","extra":1,"n":5,"ok":true,"at":"2024-01-02 03:04:05","price":0.1,"tags":["x","y"]}`,
		`{"name":"b","n":7,"ok":false,"at":1704164645000,"price":2.5,"tags":["x"]}`,
		`{"name":"c","n":5,"ok":true,"price":1}`,
	}
	for i, d := range docs {
		status, body = perform(t, f, "PUT", fmt.Sprintf("/strict/_doc/%d?refresh=true", i+1), d)
		expect(t, "index", mustOK(t, status, body), map[string]string{"result": "created", "forced_refresh": "true"})
	}

	status, body = perform(t, f, "POST", "/strict/_search?typed_keys=true", `{"size":0,"aggs":{
		"ok":{"terms":{"field":"ok"}},
		"at":{"terms":{"field":"at"}},
		"n":{"terms":{"field":"n"}},
		"price":{"terms":{"field":"price","order":{"_key":"asc"}}}}}`)
	expect(t, "typed aggs", mustOK(t, status, body), map[string]string{
		"aggregations.lterms#ok.buckets.0.key":           "1",
		"aggregations.lterms#ok.buckets.0.key_as_string": "true",
		"aggregations.lterms#ok.buckets.0.doc_count":     "2",
		"aggregations.lterms#at.buckets.0.key":           "1704164645000",
		"aggregations.lterms#at.buckets.0.key_as_string": "2024-01-02 03:04:05",
		"aggregations.lterms#n.buckets.0.key":            "5",
		"aggregations.lterms#n.buckets.0.doc_count":      "2",
		"aggregations.dterms#price.buckets.0.key":        "0.10000000149011612",
	})

	// Float fields sort with 32-bit precision like ES; missing dates sort last.
	status, body = perform(t, f, "GET", "/strict/_search?sort=price:asc&_source=false", "")
	expect(t, "float sort", mustOK(t, status, body), map[string]string{
		"hits.hits.0.sort.0": "0.10000000149011612", "hits.hits.0._source": "<nil>", "hits.hits.2.sort.0": "2.5",
	})
	status, body = perform(t, f, "POST", "/strict/_search", `{"sort":[{"at":"desc"}],"query":{"range":{"price":{"gte":0.1}}}}`)
	expect(t, "date sort", mustOK(t, status, body), map[string]string{
		"hits.hits.0._id": "1", "hits.hits.1._id": "2", "hits.hits.2._id": "3",
		"hits.hits.0.sort.0": "1704164645000", "hits.hits.2.sort.0": "-9223372036854775808",
	})
	status, body = perform(t, f, "POST", "/strict/_search?rest_total_hits_as_int=true", `{"query":{"bool":{"must":[{"term":{"ok":true}},{"term":{"n":5}}]}}}`)
	expect(t, "bool term", mustOK(t, status, body), map[string]string{"hits.total": "2"})
	status, body = perform(t, f, "POST", "/strict/_search", `{"query":{"term":{"at":"2024-01-02 03:04:05"}}}`)
	expect(t, "custom date format term", mustOK(t, status, body), map[string]string{"hits.hits.0._id": "1", "hits.total.value": "2"})

	for _, tc := range []struct{ q, ids string }{
		{`{"prefix":{"name":"b"}}`, "2"},
		{`{"wildcard":{"name":{"value":"?"}}}`, "1,2,3"},
		{`{"exists":{"field":"at"}}`, "1,2"},
		{`{"range":{"at":{}}}`, "1,2"},
		{`{"ids":{"values":["3","9"]}}`, "3"},
		{`{"constant_score":{"filter":{"term":{"tags":"x"}}}}`, "1,2"},
		{`{"dis_max":{"queries":[{"term":{"name":"a"}},{"term":{"name":"c"}}]}}`, "1,3"},
		{`{"bool":{"must_not":{"term":{"tags":"y"}}}}`, "2,3"},
		{`{"match":{"missing_field":"x"}}`, ""},
		{`{"bool":{"should":[{"match_none":{}}],"filter":{"term":{"n":7}}}}`, "2"},
	} {
		status, body = perform(t, f, "POST", "/strict/_search", `{"sort":["name"],"query":`+tc.q+`}`)
		mustOK(t, status, body)
		var ids []string
		for _, h := range at(body, "hits.hits").([]any) {
			ids = append(ids, h.(map[string]any)["_id"].(string))
		}
		if got := strings.Join(ids, ","); got != tc.ids {
			t.Errorf("%s: ids %q, want %q", tc.q, got, tc.ids)
		}
	}

	// Optimistic concurrency, upsert, mget, _source endpoint.
	status, body = perform(t, f, "PUT", "/strict/_doc/1?if_seq_no=99&if_primary_term=1", `{"name":"a2"}`)
	if status != 409 || errorType(body) != "version_conflict_engine_exception" {
		t.Errorf("stale if_seq_no = %d %v", status, body)
	}
	status, body = perform(t, f, "GET", "/strict/_doc/3", "")
	seq := str(at(mustOK(t, status, body), "_seq_no"))
	status, body = perform(t, f, "PUT", "/strict/_doc/3?if_seq_no="+seq+"&if_primary_term=1", `{"name":"c2"}`)
	expect(t, "current if_seq_no", mustOK(t, status, body), map[string]string{"result": "updated", "_version": "2"})
	status, body = perform(t, f, "POST", "/strict/_update/9", `{"doc":{"name":"z"},"doc_as_upsert":true}`)
	expect(t, "upsert", mustOK(t, status, body), map[string]string{"result": "created"})
	status, body = perform(t, f, "POST", "/strict/_mget", `{"ids":["9","404"]}`)
	expect(t, "mget", mustOK(t, status, body), map[string]string{"docs.0.found": "true", "docs.0._source.name": "z", "docs.1.found": "false"})
	status, body = perform(t, f, "GET", "/strict/_source/9", "")
	expect(t, "_source", mustOK(t, status, body), map[string]string{"name": "z"})
	status, body = perform(t, f, "POST", "/strict/_delete_by_query", `{"query":{"term":{"tags":"x"}}}`)
	expect(t, "delete_by_query", mustOK(t, status, body), map[string]string{"deleted": "2"})
	status, body = perform(t, f, "GET", "/strict/_count", "")
	expect(t, "count after delete_by_query", mustOK(t, status, body), map[string]string{"count": "2"})

	status, body = perform(t, f, "GET", "/strict", "")
	expect(t, "get index", mustOK(t, status, body), map[string]string{
		"strict.mappings.dynamic": "strict", "strict.mappings.properties.extra.type": "integer",
		"strict.settings.index.number_of_shards": "1",
	})
}

func TestSearchOptions(t *testing.T) {
	f := startServer(t, t.TempDir())
	loadCards(t, f)
	status, body := perform(t, f, "POST", "/cards/_search", `{"size":1,"query":{"match":{"text":"맛집"}},"post_filter":{"term":{"hashtags":"부산"}},"aggs":{"t":{"terms":{"field":"hashtags","size":1}}}}`)
	expect(t, "post_filter", mustOK(t, status, body), map[string]string{
		"hits.total.value": "2", "aggregations.t.buckets.0.key": "맛집", "aggregations.t.buckets.0.doc_count": "5",
	})
	status, body = perform(t, f, "POST", "/cards/_search", `{"query":{"multi_match":{"query":"부산","fields":["text","hashtags^2"]}},"size":5}`)
	expect(t, "multi_match", mustOK(t, status, body), map[string]string{"hits.total.value": "2"})
	status, body = perform(t, f, "POST", "/cards/_search", `{"query":{"geo_bounding_box":{"location":{"top_left":{"lat":35.2,"lon":129.0},"bottom_right":{"lat":35.1,"lon":129.2}}}},"sort":[{"view_count":"desc"}]}`)
	expect(t, "geo_bounding_box", mustOK(t, status, body), map[string]string{"hits.total.value": "2", "hits.hits.0._id": "7", "hits.hits.1._id": "8"})
	status, body = perform(t, f, "POST", "/cards/_search", `{"size":20,"sort":["_doc"]}`)
	expect(t, "_doc sort", mustOK(t, status, body), map[string]string{"hits.total.value": "10", "hits.hits.0.sort.0": "1", "hits.hits.9.sort.0": "10"})
	status, body = perform(t, f, "POST", "/cards/_search", `{"query":{"fuzzy":{"hashtags":{"value":"파스트","fuzziness":1}}}}`)
	expect(t, "fuzzy", mustOK(t, status, body), map[string]string{"hits.hits.0._id": "1"})
	status, body = perform(t, f, "POST", "/cards/_search", `{"from":9990,"size":20}`)
	if status != 400 || !strings.Contains(errorReason(body), "Result window is too large") {
		t.Errorf("result window = %d %v", status, body)
	}
	status, body = perform(t, f, "GET", "/cards/_search?bogus=1", "")
	if status != 400 || errorType(body) != "illegal_argument_exception" {
		t.Errorf("unknown parameter = %d %v", status, body)
	}
	status, body = perform(t, f, "GET", "/cards/_search?filter_path=hits", "")
	if status != 400 || errorType(body) != unsupportedType {
		t.Errorf("filter_path = %d %v", status, body)
	}
	status, body = perform(t, f, "GET", "/cards/_search?pretty&size=1&sort=view_count:asc", "")
	expect(t, "url sort", mustOK(t, status, body), map[string]string{"hits.hits.0._id": "9"})

	// Gzip-compressed bodies (the client's CompressRequestBody option).
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(`{"query":{"term":{"hashtags":"부산"}}}`))
	_ = w.Close()
	req, _ := http.NewRequest("POST", f.http.URL+"/cards/_count", &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	res, err := f.es.Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	status, body = call(t, r(fromHTTP(res), nil))
	expect(t, "gzip count", mustOK(t, status, body), map[string]string{"count": "2"})

	req, _ = http.NewRequest("GET", f.http.URL+"/", nil)
	req.Header.Set("Accept", "application/vnd.elasticsearch+json;compatible-with=7")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("compatible-with=7 = %d, want 400", res.StatusCode)
	}
}

// TestConcurrentWrites runs bulk writers and searchers on one index at
// once; with -race it checks the locking, without it the final count.
func TestConcurrentWrites(t *testing.T) {
	f := startServer(t, t.TempDir())
	status, body := perform(t, f, "PUT", "/c", `{"mappings":{"properties":{"w":{"type":"integer"},"text":{"type":"text","analyzer":"cjk"}}}}`)
	mustOK(t, status, body)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 5 {
				var nd strings.Builder
				for i := range 20 {
					fmt.Fprintf(&nd, `{"index":{"_id":"%d-%d-%d"}}`+"\n"+`{"w":%d,"text":"동시 쓰기 %d","new_%d":true}`+"\n", w, b, i, w, i, w)
				}
				req, _ := http.NewRequest("POST", f.http.URL+"/c/_bulk", strings.NewReader(nd.String()))
				req.Header.Set("Content-Type", "application/x-ndjson")
				res, err := f.es.Perform(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				var out map[string]any
				_ = json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if out["errors"] != false {
					errs <- fmt.Sprint(out)
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				req, _ := http.NewRequest("POST", f.http.URL+"/c/_search", strings.NewReader(`{"query":{"match":{"text":"동시"}}}`))
				req.Header.Set("Content-Type", "application/json")
				res, err := f.es.Perform(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Sprint("search status ", res.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	status, body = perform(t, f, "GET", "/c/_count", "")
	expect(t, "count", mustOK(t, status, body), map[string]string{"count": "400"})
	status, body = perform(t, f, "GET", "/c/_mapping", "")
	for w := range 4 {
		if at(body, fmt.Sprintf("c.mappings.properties.new_%d.type", w)) != "boolean" {
			t.Errorf("dynamic field new_%d missing from mapping: %v", w, body)
		}
	}
}
