package stacktest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/mossdev/mossdev/stack/stacktest"
)

// Index Korean cards around Seoul and Busan, then search text and geo
// through the official client: the same test runs against the real
// Elasticsearch on the docker backend.
func TestElasticsearchIndexSearchGeo(t *testing.T) {
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{stacktest.URL(t, "elasticsearch")}})
	if err != nil {
		t.Fatal(err)
	}
	const idx = "it-cards"
	res, err := es.Indices.Delete([]string{idx}, es.Indices.Delete.WithIgnoreUnavailable(true))
	if err == nil {
		res.Body.Close()
	}
	res, err = es.Indices.Create(idx, es.Indices.Create.WithBody(strings.NewReader(`{"mappings":{"properties":{
		"text":{"type":"text","analyzer":"cjk"},"hashtags":{"type":"keyword"},
		"location":{"type":"geo_point"},"created_at":{"type":"date"}}}}`)))
	mustES(t, res, err)
	t.Cleanup(func() {
		if r, err := es.Indices.Delete([]string{idx}); err == nil {
			r.Body.Close()
		}
	})
	bulk := `{"index":{"_id":"1"}}
{"text":"강남역 맛집은 새벽에도 열려 있다","hashtags":["맛집","새벽감성"],"location":{"lat":37.4979,"lon":127.0276},"created_at":"2015-06-01T15:00:00Z"}
{"index":{"_id":"2"}}
{"text":"해운대 바다 보면서 혼자 맛집 투어","hashtags":["맛집","부산"],"location":{"lat":35.1587,"lon":129.1604},"created_at":"2015-07-01T15:00:00Z"}
{"index":{"_id":"3"}}
{"text":"잠이 안 오는 밤, 역삼동 편의점","hashtags":["새벽감성"],"location":{"lat":37.5006,"lon":127.0364},"created_at":"2015-08-01T15:00:00Z"}
`
	res, err = es.Bulk(strings.NewReader(bulk), es.Bulk.WithIndex(idx), es.Bulk.WithRefresh("true"))
	mustES(t, res, err)

	// Hangul bigrams: "맛집" matches "맛집은".
	ids := searchIDs(t, es, idx, `{"query":{"match":{"text":"맛집"}},"sort":[{"created_at":"asc"}]}`)
	if strings.Join(ids, ",") != "1,2" {
		t.Fatalf("match 맛집: %v, want 1,2", ids)
	}
	// Cards near Gangnam station, nearest first.
	ids = searchIDs(t, es, idx, `{"query":{"bool":{"filter":{"geo_distance":{"distance":"3km","location":{"lat":37.4979,"lon":127.0276}}}}},
		"sort":[{"_geo_distance":{"location":{"lat":37.4979,"lon":127.0276},"order":"asc","unit":"km"}}]}`)
	if strings.Join(ids, ",") != "1,3" {
		t.Fatalf("near Gangnam: %v, want 1,3", ids)
	}
}

func mustES(t *testing.T, res interface {
	IsError() bool
	String() string
}, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError() {
		t.Fatal(res.String())
	}
}

func searchIDs(t *testing.T, es *elasticsearch.Client, idx, body string) []string {
	t.Helper()
	res, err := es.Search(es.Search.WithIndex(idx), es.Search.WithBody(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatal(res.String())
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// Elasticsearch runs with security on: without the credentials the env URL
// carries, go-elasticsearch gets 401 and ES's security_exception.
func TestElasticsearchNeedsCredentials(t *testing.T) {
	withCreds := stacktest.URL(t, "elasticsearch")
	u, err := url.Parse(withCreds)
	if err != nil || u.User == nil {
		t.Fatalf("MOSSDEV_ELASTICSEARCH_URL %q carries no credentials", withCreds)
	}
	u.User = nil
	for name, tc := range map[string]struct {
		addr string
		want int
	}{"without credentials": {u.String(), http.StatusUnauthorized}, "with the env URL's": {withCreds, http.StatusOK}} {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{tc.addr}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := es.Cluster.Health()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := res.String()
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %s, want %d", name, body, tc.want)
		}
		if tc.want == http.StatusUnauthorized && (!strings.Contains(body, "security_exception") ||
			!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic realm=\"security\"")) {
			t.Errorf("%s: %s (WWW-Authenticate %q), want ES's security_exception and Basic challenge", name, body, res.Header.Get("WWW-Authenticate"))
		}
	}
}
