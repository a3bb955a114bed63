package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/distanceunit"
)

// The tests drive the emulator only through the official client, the way
// mossdev's services will.

type fixture struct {
	srv   *Server
	http  *httptest.Server
	es    *es8.Client
	typed *es8.TypedClient
	dir   string
}

func startServer(t *testing.T, dir string, opts ...Option) *fixture {
	t.Helper()
	srv, err := New(dir, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	f := &fixture{srv: srv, http: hs, dir: dir}
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
	})
	cfg := es8.Config{Addresses: []string{hs.URL}}
	if f.es, err = es8.NewClient(cfg); err != nil {
		t.Fatalf("new client: %v", err)
	}
	cfg.EnableCompatibilityMode = true // sends compatible-with=8 media types
	if f.typed, err = es8.NewTypedClient(cfg); err != nil {
		t.Fatalf("new typed client: %v", err)
	}
	return f
}

// stop closes the emulator the way mossdev does on shutdown.
func (f *fixture) stop(t *testing.T) {
	t.Helper()
	f.http.Close()
	if err := f.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// result carries an esapi call's two return values into call.
type result struct {
	res *esapi.Response
	err error
}

func r(res *esapi.Response, err error) result { return result{res, err} }

// call checks an esapi response and decodes its JSON body.
func call(t *testing.T, rr result) (int, map[string]any) {
	t.Helper()
	res, err := rr.res, rr.err
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer res.Body.Close()
	if got := res.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Fatalf("X-Elastic-Product = %q", got)
	}
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return res.StatusCode, out
}

func mustOK(t *testing.T, status int, body map[string]any) map[string]any {
	t.Helper()
	if status >= 300 {
		t.Fatalf("status %d: %v", status, body)
	}
	return body
}

const cardsMapping = `{
  "settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {
    "properties": {
      "text":       {"type": "text", "analyzer": "cjk"},
      "title":      {"type": "text", "fields": {"raw": {"type": "keyword"}}},
      "hashtags":   {"type": "keyword"},
      "location":   {"type": "geo_point"},
      "created_at": {"type": "date"},
      "view_count": {"type": "integer"},
      "score":      {"type": "float"},
      "published":  {"type": "boolean"}
    }
  }
}`

type card struct {
	ID        string
	Text      string
	Tags      []string
	Lat, Lon  float64
	CreatedAt any // RFC 3339 string or epoch millis
	Views     int
}

// gangnam is Gangnam station, the centre of the "cards near me" searches.
var gangnam = struct{ Lat, Lon float64 }{37.4979, 127.0276}

var cards = []card{
	{"1", "강남역 맛집은 여기! 파스타가 정말 맛있어요", []string{"맛집", "강남", "파스타"}, 37.4979, 127.0276, "2024-05-01T12:00:00Z", 120},
	{"2", "역삼동 카페 추천, 분위기 좋은 디저트 카페", []string{"카페", "역삼", "디저트"}, 37.5006, 127.0364, "2024-05-03T09:30:00+09:00", 80},
	{"3", "신사동 가로수길 브런치 맛집 탐방", []string{"맛집", "브런치", "신사"}, 37.5163, 127.0203, "2024-05-05T10:00:00Z", 200},
	{"4", "선릉 직장인 점심 맛집 리스트", []string{"맛집", "점심"}, 37.5045, 127.0490, "2024-05-07T12:30:00Z", 50},
	{"5", "홍대 인디 공연과 밤거리 산책", []string{"홍대", "공연"}, 37.5563, 126.9220, "2024-04-20T20:00:00Z", 300},
	{"6", "광화문 역사 산책 코스", []string{"산책", "광화문"}, 37.5759, 126.9769, "2024-04-25T15:00:00Z", 30},
	{"7", "해운대 바다 보며 먹는 회 맛집", []string{"맛집", "부산", "해운대"}, 35.1587, 129.1604, "2024-03-15T18:00:00Z", 500},
	{"8", "서면 밀면 맛집 부산 여행 필수 코스", []string{"맛집", "부산", "밀면"}, 35.1578, 129.0600, "2024-03-20T13:00:00Z", 150},
	{"9", "강남 헬스장 운동 루틴 공유", []string{"운동", "강남"}, 37.4985, 127.0290, "2024-05-10T07:00:00Z", 10},
	{"10", "Seoul night view 야경 명소 남산타워", []string{"야경", "서울"}, 37.5512, 126.9882, int64(1715472000000), 400}, // 2024-05-12T00:00:00Z as epoch_millis
}

func bulkBody(t *testing.T, index string, cs []card) string {
	t.Helper()
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, `{"index":{"_index":%q,"_id":%q}}`+"\n", index, c.ID)
		doc, err := json.Marshal(map[string]any{
			"text":       c.Text,
			"hashtags":   c.Tags,
			"location":   map[string]float64{"lat": c.Lat, "lon": c.Lon},
			"created_at": c.CreatedAt,
			"view_count": c.Views,
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(doc)
		b.WriteByte('\n')
	}
	return b.String()
}

// loadCards creates the cards index and bulk-loads the fixture.
func loadCards(t *testing.T, f *fixture) {
	t.Helper()
	status, body := call(t, r(f.es.Indices.Create("cards", f.es.Indices.Create.WithBody(strings.NewReader(cardsMapping)))))
	mustOK(t, status, body)
	status, body = call(t, r(f.es.Bulk(strings.NewReader(bulkBody(t, "cards", cards)), f.es.Bulk.WithRefresh("true"))))
	mustOK(t, status, body)
	if body["errors"] != false {
		t.Fatalf("bulk reported errors: %v", body)
	}
	items := body["items"].([]any)
	if len(items) != len(cards) {
		t.Fatalf("bulk returned %d items, want %d", len(items), len(cards))
	}
	first := items[0].(map[string]any)["index"].(map[string]any)
	if first["result"] != "created" || first["status"] != json.Number("201") {
		t.Fatalf("first bulk item = %v", first)
	}
}

// searchIDs runs a search and returns the hit ids in order, and the body.
func searchIDs(t *testing.T, f *fixture, query string) ([]string, map[string]any) {
	t.Helper()
	status, body := call(t, r(f.es.Search(f.es.Search.WithIndex("cards"), f.es.Search.WithBody(strings.NewReader(query)))))
	mustOK(t, status, body)
	var ids []string
	for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	return ids, body
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func wantIDs(t *testing.T, name string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: ids = %v, want %v", name, got, want)
	}
}

func totalHits(body map[string]any) int64 {
	n, _ := body["hits"].(map[string]any)["total"].(map[string]any)["value"].(json.Number).Int64()
	return n
}

func TestInfoAndCluster(t *testing.T) {
	f := startServer(t, t.TempDir())
	info, err := f.typed.Info().Do(t.Context())
	if err != nil {
		t.Fatalf("typed Info: %v", err)
	}
	if info.Version.Int != "8.15.0" || info.Name != "mossdev-es-emulator" || info.ClusterName != "mossdev" || info.Tagline != "You Know, for Search" {
		t.Errorf("info = %+v", info)
	}
	status, body := call(t, r(f.es.Info()))
	mustOK(t, status, body)
	if body["mossdev_stand_in"] != standInNote || body["version"].(map[string]any)["build_flavor"] != "default" {
		t.Errorf("GET / = %v", body)
	}
	status, body = call(t, r(f.es.Cluster.Health()))
	mustOK(t, status, body)
	if body["status"] != "green" || body["number_of_nodes"] != json.Number("1") {
		t.Errorf("cluster health = %v", body)
	}
}

func TestCardsSearch(t *testing.T) {
	f := startServer(t, t.TempDir())
	loadCards(t, f)

	t.Run("hangul bigram match", func(t *testing.T) {
		// "맛집" is found inside "맛집은" only because Hangul is bigrammed.
		ids, _ := searchIDs(t, f, `{"query":{"match":{"text":"맛집"}},"size":20}`)
		wantIDs(t, "match 맛집", sorted(ids), "1", "3", "4", "7", "8")
		ids, _ = searchIDs(t, f, `{"query":{"match":{"text":{"query":"맛집은","operator":"and"}}}}`)
		wantIDs(t, "match 맛집은", ids, "1")
	})
	t.Run("match operator", func(t *testing.T) {
		ids, _ := searchIDs(t, f, `{"query":{"match":{"text":{"query":"부산 맛집","operator":"and"}}}}`)
		wantIDs(t, "and", ids, "8")
		ids, _ = searchIDs(t, f, `{"query":{"match":{"text":{"query":"부산 산책","operator":"or"}}},"size":20}`)
		wantIDs(t, "or", sorted(ids), "5", "6", "8")
		ids, _ = searchIDs(t, f, `{"query":{"match":{"text":{"query":"서면 밀면 공연","minimum_should_match":2}}}}`)
		wantIDs(t, "minimum_should_match", ids, "8")
	})
	t.Run("match_phrase", func(t *testing.T) {
		ids, _ := searchIDs(t, f, `{"query":{"match_phrase":{"text":"밀면 맛집"}}}`)
		wantIDs(t, "in order", ids, "8")
		ids, _ = searchIDs(t, f, `{"query":{"match_phrase":{"text":"맛집 밀면"}}}`)
		wantIDs(t, "reversed", ids)
	})
	t.Run("term and terms", func(t *testing.T) {
		ids, _ := searchIDs(t, f, `{"query":{"term":{"hashtags":"부산"}}}`)
		wantIDs(t, "term", sorted(ids), "7", "8")
		ids, _ = searchIDs(t, f, `{"query":{"terms":{"hashtags":["카페","운동"]}}}`)
		wantIDs(t, "terms", sorted(ids), "2", "9")
		ids, _ = searchIDs(t, f, `{"query":{"term":{"view_count":300}}}`)
		wantIDs(t, "term on integer", ids, "5")
	})
	t.Run("range", func(t *testing.T) {
		ids, _ := searchIDs(t, f, `{"query":{"range":{"view_count":{"gte":100,"lte":300}}}}`)
		wantIDs(t, "numbers", sorted(ids), "1", "3", "5", "8")
		ids, _ = searchIDs(t, f, `{"query":{"range":{"view_count":{"gt":120,"lt":300}}}}`)
		wantIDs(t, "exclusive", sorted(ids), "3", "8")
		// Card 2 was written with a +09:00 offset: 2024-05-03T00:30Z.
		ids, _ = searchIDs(t, f, `{"query":{"range":{"created_at":{"gte":"2024-05-01","lt":"2024-05-08"}}}}`)
		wantIDs(t, "dates", sorted(ids), "1", "2", "3", "4")
		// lte with a bare date includes the whole day, as in ES.
		ids, _ = searchIDs(t, f, `{"query":{"range":{"created_at":{"gte":"2024-05-12","lte":"2024-05-12"}}}}`)
		wantIDs(t, "epoch_millis document", ids, "10")
		ids, _ = searchIDs(t, f, `{"query":{"range":{"created_at":{"gte":1714521600000,"lt":"2024-05-02"}}}}`)
		wantIDs(t, "epoch_millis bound", ids, "1")
		ids, _ = searchIDs(t, f, `{"query":{"range":{"created_at":{"gte":"now-1d"}}}}`)
		wantIDs(t, "date math", ids)
	})
	t.Run("bool", func(t *testing.T) {
		ids, _ := searchIDs(t, f, `{"query":{"bool":{
			"must":[{"match":{"text":"맛집"}}],
			"filter":[{"term":{"hashtags":"부산"}}],
			"must_not":[{"term":{"hashtags":"밀면"}}]}}}`)
		wantIDs(t, "must/filter/must_not", ids, "7")
		ids, _ = searchIDs(t, f, `{"size":20,"query":{"bool":{
			"should":[{"term":{"hashtags":"강남"}},{"term":{"hashtags":"맛집"}},{"range":{"view_count":{"gte":100}}}],
			"minimum_should_match":2}}}`)
		wantIDs(t, "should msm 2", sorted(ids), "1", "3", "7", "8")
		// Next to a filter, should clauses are optional (they only score).
		ids, _ = searchIDs(t, f, `{"query":{"bool":{
			"filter":[{"term":{"hashtags":"부산"}}],
			"should":[{"term":{"hashtags":"강남"}}]}}}`)
		wantIDs(t, "filter + optional should", sorted(ids), "7", "8")
		ids, _ = searchIDs(t, f, `{"size":20,"query":{"bool":{"must_not":[{"exists":{"field":"hashtags"}}]}}}`)
		wantIDs(t, "must_not exists", ids)
	})
	t.Run("geo_distance near gangnam sorted by distance", func(t *testing.T) {
		q := fmt.Sprintf(`{
			"query":{"bool":{"filter":{"geo_distance":{"distance":"3km","location":{"lat":%v,"lon":%v}}}}},
			"sort":[{"_geo_distance":{"location":{"lat":%v,"lon":%v},"order":"asc","unit":"km"}}]}`,
			gangnam.Lat, gangnam.Lon, gangnam.Lat, gangnam.Lon)
		ids, body := searchIDs(t, f, q)
		wantIDs(t, "near gangnam", ids, "1", "9", "2", "4", "3")
		byID := map[string]card{}
		for _, c := range cards {
			byID[c.ID] = c
		}
		prev := -1.0
		for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
			hit := h.(map[string]any)
			got, err := hit["sort"].([]any)[0].(json.Number).Float64()
			if err != nil {
				t.Fatalf("sort value %v: %v", hit["sort"], err)
			}
			c := byID[hit["_id"].(string)]
			want := haversineKM(gangnam.Lat, gangnam.Lon, c.Lat, c.Lon)
			if math.Abs(got-want) > 0.01+want*0.005 {
				t.Errorf("card %s: distance %.4f km, want %.4f km", c.ID, got, want)
			}
			if got < prev {
				t.Errorf("distances not ascending: %v after %v", got, prev)
			}
			prev = got
			if hit["_score"] != nil {
				t.Errorf("_score = %v, want null when sorting by distance", hit["_score"])
			}
		}
		if prev < 1.5 || prev > 3 {
			t.Errorf("farthest near card at %.3f km, want about 2.1", prev)
		}
	})
	t.Run("terms aggregation", func(t *testing.T) {
		_, body := searchIDs(t, f, `{"size":0,"aggs":{"tags":{"terms":{"field":"hashtags","size":3}}}}`)
		agg := body["aggregations"].(map[string]any)["tags"].(map[string]any)
		var got []string
		for _, b := range agg["buckets"].([]any) {
			bm := b.(map[string]any)
			got = append(got, fmt.Sprintf("%s:%s", bm["key"], bm["doc_count"]))
		}
		// Ties (강남 and 부산, 2 each) are ordered by key, like ES.
		wantIDs(t, "buckets", got, "맛집:5", "강남:2", "부산:2")
		if agg["sum_other_doc_count"] != json.Number("16") {
			t.Errorf("sum_other_doc_count = %v, want 16", agg["sum_other_doc_count"])
		}
		if n := len(body["hits"].(map[string]any)["hits"].([]any)); n != 0 || totalHits(body) != 10 {
			t.Errorf("size 0: %d hits, total %d", n, totalHits(body))
		}
		_, body = searchIDs(t, f, `{"size":0,"query":{"term":{"hashtags":"맛집"}},"aggs":{"views":{"terms":{"field":"view_count","order":{"_key":"asc"},"size":2}}}}`)
		buckets := body["aggregations"].(map[string]any)["views"].(map[string]any)["buckets"].([]any)
		if len(buckets) != 2 || buckets[0].(map[string]any)["key"] != json.Number("50") || buckets[1].(map[string]any)["key"] != json.Number("120") {
			t.Errorf("numeric terms buckets = %v", buckets)
		}
	})
	t.Run("paging", func(t *testing.T) {
		ids, body := searchIDs(t, f, `{"from":3,"size":3,"sort":[{"view_count":"desc"}]}`)
		wantIDs(t, "page 2", ids, "3", "8", "1")
		sortVal := body["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["sort"].([]any)[0]
		if sortVal != json.Number("200") {
			t.Errorf("sort value = %v, want 200", sortVal)
		}
		if totalHits(body) != 10 {
			t.Errorf("total = %d, want 10", totalHits(body))
		}
		ids, _ = searchIDs(t, f, `{"size":3,"sort":[{"view_count":"desc"}],"search_after":[200]}`)
		wantIDs(t, "search_after", ids, "8", "1", "2")
		ids, _ = searchIDs(t, f, `{"size":2,"sort":[{"created_at":{"order":"asc"}}],"_source":["hashtags"]}`)
		wantIDs(t, "date sort", ids, "7", "8")
	})
	t.Run("source", func(t *testing.T) {
		_, body := searchIDs(t, f, `{"query":{"ids":{"values":["7"]}},"_source":{"includes":["hashtags","location.lat"]}}`)
		src := body["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"].(map[string]any)
		if _, ok := src["text"]; ok || len(src["hashtags"].([]any)) != 3 || src["location"].(map[string]any)["lat"] == nil || src["location"].(map[string]any)["lon"] != nil {
			t.Errorf("filtered _source = %v", src)
		}
	})
	t.Run("track_total_hits", func(t *testing.T) {
		_, body := searchIDs(t, f, `{"track_total_hits":3,"size":1}`)
		total := body["hits"].(map[string]any)["total"].(map[string]any)
		if total["value"] != json.Number("3") || total["relation"] != "gte" {
			t.Errorf("capped total = %v", total)
		}
		_, body = searchIDs(t, f, `{"track_total_hits":false,"size":1}`)
		if _, ok := body["hits"].(map[string]any)["total"]; ok {
			t.Errorf("total present with track_total_hits false")
		}
	})
	t.Run("count", func(t *testing.T) {
		status, body := call(t, r(f.es.Count(f.es.Count.WithIndex("cards"))))
		if mustOK(t, status, body)["count"] != json.Number("10") {
			t.Errorf("count = %v", body["count"])
		}
		status, body = call(t, r(f.es.Count(f.es.Count.WithIndex("cards"), f.es.Count.WithBody(strings.NewReader(`{"query":{"term":{"hashtags":"맛집"}}}`)))))
		if mustOK(t, status, body)["count"] != json.Number("5") {
			t.Errorf("count with query = %v", body["count"])
		}
	})
	t.Run("typed client", func(t *testing.T) {
		size := 0
		res, err := f.typed.Search().Index("cards").Request(&search.Request{
			Size:  &size,
			Query: &types.Query{Match: map[string]types.MatchQuery{"text": {Query: "맛집"}}},
			Aggregations: map[string]types.Aggregations{
				"tags": {Terms: &types.TermsAggregation{Field: ptr("hashtags"), Size: ptr(1)}},
			},
		}).Do(t.Context())
		if err != nil {
			t.Fatalf("typed search: %v", err)
		}
		if res.Hits.Total.Value != 5 {
			t.Errorf("typed total = %d, want 5", res.Hits.Total.Value)
		}
		agg, ok := res.Aggregations["tags"].(*types.StringTermsAggregate)
		if !ok {
			t.Fatalf("aggregation type %T", res.Aggregations["tags"])
		}
		buckets := agg.Buckets.([]types.StringTermsBucket)
		if len(buckets) != 1 || buckets[0].Key != "맛집" || buckets[0].DocCount != 5 {
			t.Errorf("typed buckets = %+v", buckets)
		}
		exists, err := f.typed.Indices.Exists("cards").Do(t.Context())
		if err != nil || !exists {
			t.Errorf("typed exists = %v, %v", exists, err)
		}
		doc, err := f.typed.Get("cards", "8").Do(t.Context())
		if err != nil || !doc.Found || !strings.Contains(string(doc.Source_), "밀면") {
			t.Errorf("typed get = %+v, %v", doc, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func haversineKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

func TestDocumentsAndIndices(t *testing.T) {
	f := startServer(t, t.TempDir())
	loadCards(t, f)

	// Auto id, then get, update, delete.
	status, body := call(t, r(f.es.Index("cards", strings.NewReader(`{"text":"부산 광안리 야경","hashtags":["부산","야경"],"view_count":"42"}`))))
	mustOK(t, status, body)
	if status != http.StatusCreated || body["result"] != "created" || len(body["_id"].(string)) != 20 {
		t.Fatalf("auto-id index = %d %v", status, body)
	}
	id := body["_id"].(string)
	status, body = call(t, r(f.es.Get("cards", id)))
	mustOK(t, status, body)
	if body["found"] != true || body["_version"] != json.Number("1") {
		t.Errorf("get = %v", body)
	}
	status, body = call(t, r(f.es.Update("cards", id, strings.NewReader(`{"doc":{"view_count":43}}`))))
	mustOK(t, status, body)
	if body["result"] != "updated" || body["_version"] != json.Number("2") {
		t.Errorf("update = %v", body)
	}
	ids, _ := searchIDs(t, f, `{"query":{"bool":{"filter":[{"term":{"view_count":43}},{"match":{"text":"광안리"}}]}}}`)
	wantIDs(t, "updated doc searchable", ids, id)
	status, body = call(t, r(f.es.Update("cards", id, strings.NewReader(`{"doc":{"view_count":43}}`))))
	if mustOK(t, status, body)["result"] != "noop" {
		t.Errorf("second identical update = %v", body)
	}
	status, body = call(t, r(f.es.Create("cards", "1", strings.NewReader(`{"text":"dup"}`))))
	if status != http.StatusConflict || errorType(body) != "version_conflict_engine_exception" {
		t.Errorf("create existing = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Delete("cards", id)))
	if mustOK(t, status, body)["result"] != "deleted" {
		t.Errorf("delete = %v", body)
	}
	status, body = call(t, r(f.es.Get("cards", id)))
	if status != http.StatusNotFound || body["found"] != false {
		t.Errorf("get deleted = %d %v", status, body)
	}

	// Bulk with every action and a failing item.
	nd := `{"create":{"_index":"cards","_id":"b1"}}
{"text":"대전 성심당 빵","hashtags":["빵"]}
{"index":{"_index":"cards","_id":"b2"}}
{"text":"bad","view_count":"not a number"}
{"update":{"_index":"cards","_id":"b1"}}
{"doc":{"hashtags":["빵","대전"]}}
{"delete":{"_index":"cards","_id":"6"}}
{"delete":{"_index":"cards","_id":"nope"}}
`
	status, body = call(t, r(f.es.Bulk(strings.NewReader(nd))))
	mustOK(t, status, body)
	if body["errors"] != true {
		t.Errorf("bulk errors flag = %v", body["errors"])
	}
	var statuses []string
	for _, it := range body["items"].([]any) {
		for action, v := range it.(map[string]any) {
			statuses = append(statuses, fmt.Sprintf("%s:%s", action, v.(map[string]any)["status"]))
		}
	}
	wantIDs(t, "bulk statuses", statuses, "create:201", "index:400", "update:200", "delete:200", "delete:404")
	ids, _ = searchIDs(t, f, `{"query":{"term":{"hashtags":"대전"}}}`)
	wantIDs(t, "bulk update applied", ids, "b1")

	// Mapping, cat, HEAD, delete index.
	status, body = call(t, r(f.es.Indices.GetMapping(f.es.Indices.GetMapping.WithIndex("cards"))))
	mustOK(t, status, body)
	props := body["cards"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	if props["text"].(map[string]any)["analyzer"] != "cjk" || props["location"].(map[string]any)["type"] != "geo_point" {
		t.Errorf("mapping = %v", props)
	}
	res, err := f.es.Cat.Indices(f.es.Cat.Indices.WithFormat("json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	_ = json.NewDecoder(res.Body).Decode(&rows)
	res.Body.Close()
	if len(rows) != 1 || rows[0]["index"] != "cards" || rows[0]["docs.count"] != "10" || rows[0]["health"] != "green" {
		t.Errorf("cat indices json = %v", rows)
	}
	res, err = f.es.Cat.Indices(f.es.Cat.Indices.WithV(true))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(text), "health status index") || !strings.Contains(string(text), "cards") {
		t.Errorf("cat indices text = %q", text)
	}
	res, err = f.es.Indices.Exists([]string{"cards"})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("HEAD cards = %v, %v", res, err)
	}
	status, body = call(t, r(f.es.Indices.Delete([]string{"cards"})))
	mustOK(t, status, body)
	res, err = f.es.Indices.Exists([]string{"cards"})
	if err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD deleted = %v, %v", res, err)
	}
}

func errorType(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

func errorReason(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["reason"].(string)
	return s
}

func TestErrors(t *testing.T) {
	f := startServer(t, t.TempDir())
	loadCards(t, f)

	for _, tc := range []struct{ name, body string }{
		{"query type", `{"query":{"function_score":{"query":{"match_all":{}}}}}`},
		{"query_string", `{"query":{"query_string":{"query":"맛집"}}}`},
		{"aggregation", `{"aggs":{"avg_views":{"avg":{"field":"view_count"}}}}`},
		{"highlight", `{"query":{"match":{"text":"맛집"}},"highlight":{"fields":{"text":{}}}}`},
	} {
		status, body := call(t, r(f.es.Search(f.es.Search.WithIndex("cards"), f.es.Search.WithBody(strings.NewReader(tc.body)))))
		if status != http.StatusBadRequest || body["status"] != json.Number("400") ||
			errorType(body) != unsupportedType ||
			!strings.HasSuffix(errorReason(body), "is not supported by the mossdev Elasticsearch emulator") {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
		rc, _ := body["error"].(map[string]any)["root_cause"].([]any)
		if len(rc) != 1 {
			t.Errorf("%s: root_cause = %v", tc.name, rc)
		}
	}

	// The typed client surfaces the same error as an ElasticsearchError.
	_, err := f.typed.Search().Index("cards").Request(&search.Request{
		Query: &types.Query{QueryString: &types.QueryStringQuery{Query: "맛집"}},
	}).Do(t.Context())
	var esErr *types.ElasticsearchError
	if !errorsAs(err, &esErr) || esErr.Status != 400 || esErr.ErrorCause.Type != unsupportedType {
		t.Errorf("typed unsupported query error = %v", err)
	}

	status, body := call(t, r(f.es.Search(f.es.Search.WithIndex("nope"))))
	if status != http.StatusNotFound || errorType(body) != "index_not_found_exception" || errorReason(body) != "no such index [nope]" {
		t.Errorf("unknown index search = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Get("nope", "1")))
	if status != http.StatusNotFound || errorType(body) != "index_not_found_exception" {
		t.Errorf("unknown index get = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Indices.Create("cards")))
	if status != http.StatusBadRequest || errorType(body) != "resource_already_exists_exception" {
		t.Errorf("create existing index = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Search(f.es.Search.WithIndex("cards"), f.es.Search.WithBody(strings.NewReader(`{"query":{"no_such_query":{}}}`)))))
	if status != http.StatusBadRequest || errorType(body) != "parsing_exception" {
		t.Errorf("unknown query = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Search(f.es.Search.WithIndex("cards"), f.es.Search.WithBody(strings.NewReader(`{"sort":["text"]}`)))))
	if status != http.StatusBadRequest || errorType(body) != "illegal_argument_exception" {
		t.Errorf("sort on text = %d %v", status, body)
	}
	status, body = call(t, r(f.es.Indices.Create("other", f.es.Indices.Create.WithBody(strings.NewReader(`{"mappings":{"properties":{"t":{"type":"text","analyzer":"nori"}}}}`)))))
	if status != http.StatusBadRequest || errorType(body) != unsupportedType {
		t.Errorf("unsupported analyzer = %d %v", status, body)
	}
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/_nodes/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	status, body = call(t, r(&esapi.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: resp.Body}, nil))
	if status != http.StatusBadRequest || errorType(body) != unsupportedType || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown endpoint = %d %v", status, body)
	}
}

func errorsAs(err error, target **types.ElasticsearchError) bool {
	e, ok := err.(*types.ElasticsearchError)
	if ok {
		*target = e
	}
	return ok
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	f := startServer(t, dir)
	loadCards(t, f)
	// Dynamic fields added by a document must survive a restart too.
	status, body := call(t, r(f.es.Index("cards", strings.NewReader(`{"text":"새 카드","mood":"happy"}`), f.es.Index.WithDocumentID("11"))))
	mustOK(t, status, body)
	f.stop(t)

	g := startServer(t, dir)
	status, body = call(t, r(g.es.Count(g.es.Count.WithIndex("cards"))))
	if mustOK(t, status, body)["count"] != json.Number("11") {
		t.Errorf("count after reopen = %v", body["count"])
	}
	ids, _ := searchIDs(t, g, `{"query":{"match":{"text":"맛집"}},"size":20}`)
	wantIDs(t, "cjk search after reopen", sorted(ids), "1", "3", "4", "7", "8")
	ids, _ = searchIDs(t, g, `{"query":{"term":{"mood.keyword":"happy"}}}`)
	wantIDs(t, "dynamic keyword after reopen", ids, "11")
	// Sequence numbers continue instead of restarting.
	status, body = call(t, r(g.es.Index("cards", strings.NewReader(`{"text":"x"}`), g.es.Index.WithDocumentID("12"))))
	mustOK(t, status, body)
	if n, _ := body["_seq_no"].(json.Number).Int64(); n != 11 {
		t.Errorf("_seq_no after reopen = %d, want 11", n)
	}
}

func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Listen: addr, Dir: t.TempDir(), Password: "pw"}) }()
	es, err := es8.NewClient(es8.Config{Addresses: []string{"http://elastic:pw@" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := es.Info()
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not answer on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestBulkManyThenOverwrite bulk-loads 2k cards, overwrites them (the
// version lookup path) and searches them; the logged rates are informative
// only, nothing is asserted on time.
func TestBulkManyThenOverwrite(t *testing.T) {
	f := startServer(t, t.TempDir())
	status, body := call(t, r(f.es.Indices.Create("cards", f.es.Indices.Create.WithBody(strings.NewReader(cardsMapping)))))
	mustOK(t, status, body)
	const n = 2000
	many := make([]card, n)
	for i := range many {
		c := cards[i%len(cards)]
		c.ID = fmt.Sprint("r", i)
		c.Lat += float64(i%100) * 0.0001
		many[i] = c
	}
	nd := bulkBody(t, "cards", many)
	start := time.Now()
	status, body = call(t, r(f.es.Bulk(strings.NewReader(nd))))
	elapsed := time.Since(start)
	mustOK(t, status, body)
	if body["errors"] != false {
		t.Fatal("bulk reported errors")
	}
	t.Logf("bulk-indexed %d new docs in %v (%.0f docs/s)", n, elapsed.Round(time.Millisecond), n/elapsed.Seconds())
	// Overwriting the same ids exercises the version lookup path.
	start = time.Now()
	status, body = call(t, r(f.es.Bulk(strings.NewReader(nd))))
	elapsed = time.Since(start)
	mustOK(t, status, body)
	if v := at(body, "items.0.index._version"); body["errors"] != false || v != json.Number("2") {
		t.Fatalf("re-index: errors %v, first _version %v", body["errors"], v)
	}
	t.Logf("bulk-overwrote %d docs in %v (%.0f docs/s)", n, elapsed.Round(time.Millisecond), n/elapsed.Seconds())
	status, body = call(t, r(f.es.Count(f.es.Count.WithIndex("cards"))))
	if mustOK(t, status, body)["count"] != json.Number(fmt.Sprint(n)) {
		t.Errorf("count = %v", body["count"])
	}
	start = time.Now()
	ids, _ := searchIDs(t, f, fmt.Sprintf(`{"query":{"bool":{"must":{"match":{"text":"맛집"}},"filter":{"geo_distance":{"distance":"3km","location":[%v,%v]}}}},"sort":[{"_geo_distance":{"location":[%v,%v]}}],"aggs":{"t":{"terms":{"field":"hashtags"}}}}`, gangnam.Lon, gangnam.Lat, gangnam.Lon, gangnam.Lat))
	t.Logf("match + geo_distance + geo sort + terms agg over %d docs: %v, %d hits", n, time.Since(start).Round(time.Microsecond), len(ids))
}

func TestTypedClientEndToEnd(t *testing.T) {
	f := startServer(t, t.TempDir())
	ctx := t.Context()
	text := types.NewTextProperty()
	text.Analyzer = ptr("cjk")
	_, err := f.typed.Indices.Create("places").Mappings(&types.TypeMapping{Properties: map[string]types.Property{
		"text":     text,
		"tags":     types.NewKeywordProperty(),
		"location": types.NewGeoPointProperty(),
		"views":    types.NewIntegerNumberProperty(),
		"at":       types.NewDateProperty(),
	}}).Do(ctx)
	if err != nil {
		t.Fatalf("typed create: %v", err)
	}

	// esutil.BulkIndexer is how bulk seeding is usually written.
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: f.es, Index: "places", FlushBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	for _, c := range cards {
		doc, _ := json.Marshal(map[string]any{"text": c.Text, "tags": c.Tags,
			"location": fmt.Sprintf("%v,%v", c.Lat, c.Lon), "views": c.Views, "at": c.CreatedAt})
		err := bi.Add(ctx, esutil.BulkIndexerItem{Action: "index", DocumentID: c.ID, Body: bytes.NewReader(doc),
			OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) { failed.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := bi.Stats(); st.NumIndexed != uint64(len(cards)) || failed.Load() != 0 {
		t.Fatalf("bulk indexer stats %+v, failures %d", st, failed.Load())
	}

	unit := distanceunit.Kilometers
	res, err := f.typed.Search().Index("places").Request(&search.Request{
		Query: &types.Query{Bool: &types.BoolQuery{
			Must:   []types.Query{{Match: map[string]types.MatchQuery{"text": {Query: "맛집"}}}},
			Filter: []types.Query{{GeoDistance: &types.GeoDistanceQuery{Distance: "10km", GeoDistanceQuery: map[string]types.GeoLocation{"location": types.LatLonGeoLocation{Lat: types.Float64(gangnam.Lat), Lon: types.Float64(gangnam.Lon)}}}}},
		}},
		Sort: []types.SortCombinations{types.SortOptions{GeoDistance_: &types.GeoDistanceSort{
			GeoDistanceSort: map[string][]types.GeoLocation{"location": {types.LatLonGeoLocation{Lat: types.Float64(gangnam.Lat), Lon: types.Float64(gangnam.Lon)}}},
			Unit:            &unit,
		}}},
		Aggregations: map[string]types.Aggregations{"views": {Terms: &types.TermsAggregation{Field: ptr("views")}}},
	}).Do(ctx)
	if err != nil {
		t.Fatalf("typed search: %v", err)
	}
	var ids []string
	for _, h := range res.Hits.Hits {
		ids = append(ids, *h.Id_)
	}
	wantIDs(t, "typed geo search", ids, "1", "4", "3")
	if d, ok := res.Hits.Hits[2].Sort[0].(float64); !ok || d < 2 || d > 2.3 {
		t.Errorf("distance of card 3 = %v, want about 2.15 km", res.Hits.Hits[2].Sort[0])
	}
	lt, ok := res.Aggregations["views"].(*types.LongTermsAggregate)
	if !ok {
		t.Fatalf("views aggregation is %T", res.Aggregations["views"])
	}
	if b := lt.Buckets.([]types.LongTermsBucket); len(b) != 3 || b[0].DocCount != 1 {
		t.Errorf("long terms buckets = %+v", b)
	}
	count, err := f.typed.Count().Index("places").Do(ctx)
	if err != nil || count.Count != int64(len(cards)) {
		t.Errorf("typed count = %v, %v", count, err)
	}
	health, err := f.typed.Cluster.Health().Do(ctx)
	if err != nil || health.Status.Name != "green" || health.NumberOfNodes != 1 {
		t.Errorf("typed health = %+v, %v", health, err)
	}
	m, err := f.typed.Indices.GetMapping().Index("places").Do(ctx)
	if err != nil {
		t.Fatalf("typed get mapping: %v", err)
	}
	if _, ok := m["places"].Mappings.Properties["location"].(*types.GeoPointProperty); !ok {
		t.Errorf("typed mapping location = %T", m["places"].Mappings.Properties["location"])
	}
	cat, err := f.typed.Cat.Indices().Do(ctx)
	if err != nil || len(cat) != 1 || *cat[0].Index != "places" || *cat[0].DocsCount != "10" {
		t.Errorf("typed cat indices = %+v, %v", cat, err)
	}
	if _, err := f.typed.Indices.Delete("places").Do(ctx); err != nil {
		t.Errorf("typed delete: %v", err)
	}
}

func TestSecondServerOnSameDirFails(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir)
	done := make(chan error, 1)
	go func() {
		s, err := New(dir)
		if err == nil {
			_ = s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another emulator") {
			t.Errorf("second New on a busy dir = %v, want an error naming the cause", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second New on a busy dir hung")
	}
}
