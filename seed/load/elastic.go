package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/mossdev/mossdev/seed"
)

// CardsIndex is the search index: one document per card, id = card id.
const CardsIndex = "cards"

// CardsMapping is the index's mapping: Korean text with the cjk analyzer
// (bigrams, so "맛집" finds "맛집은"), hashtags as exact keywords,
// the location as a geo_point for "cards near Gangnam". Strict, so a
// document with a field the mapping lacks is an error, not a new field.
const CardsMapping = `{
  "dynamic": "strict",
  "properties": {
    "user_id":           {"type": "long"},
    "text":              {"type": "text", "analyzer": "cjk"},
    "hashtags":          {"type": "keyword"},
    "image_key":         {"type": "keyword", "index": false},
    "created_at":        {"type": "date"},
    "location":          {"type": "geo_point"},
    "place":             {"type": "keyword"},
    "unique_view_count": {"type": "integer"},
    "like_count":        {"type": "integer"}
  }
}`

// CardDoc is a card as indexed.
type CardDoc struct {
	UserID          int64     `json:"user_id"`
	Text            string    `json:"text"`
	Hashtags        []string  `json:"hashtags"`
	ImageKey        string    `json:"image_key"`
	CreatedAt       string    `json:"created_at"` // RFC 3339, UTC, whole seconds
	Location        *GeoPoint `json:"location,omitempty"`
	Place           string    `json:"place,omitempty"`
	UniqueViewCount int64     `json:"unique_view_count"`
	LikeCount       int64     `json:"like_count"`
}

// GeoPoint is an ES geo_point in object form.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// NewCardDoc is card c's search document.
func NewCardDoc(c seed.Card) CardDoc {
	d := CardDoc{UserID: c.UserID, Text: c.Text, Hashtags: make([]string, len(c.Tags)), ImageKey: c.ImageKey,
		CreatedAt: c.CreatedAt.UTC().Format(seed.CacheTimeLayout), UniqueViewCount: c.UniqueViewCount, LikeCount: c.LikeCount}
	for i, t := range c.Tags {
		d.Hashtags[i] = t.Name
	}
	if l := c.Location; l != nil {
		d.Location, d.Place = &GeoPoint{l.Lat, l.Lon}, l.Place
	}
	return d
}

type esStore struct {
	es      *elasticsearch.Client
	workers int
}

// NewES returns a go-elasticsearch client for url.
func NewES(url string) (*elasticsearch.Client, error) {
	return elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url},
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}})
}

func newES(ctx context.Context, t Targets) (*esStore, error) {
	es, err := NewES(t.Elasticsearch)
	if err != nil {
		return nil, err
	}
	res, err := es.Info(es.Info.WithContext(ctx))
	if err := ESErr(res, err); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &esStore{es: es, workers: 2}, nil
}

func (s *esStore) name() string { return Elasticsearch }
func (s *esStore) close()       {}

// ESErr turns a failed request or an error response into an error and
// drains the body.
func ESErr(res *esapi.Response, err error) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return fmt.Errorf("%s: %s", res.Status(), bytes.TrimSpace(b))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// The marker lives in the index mapping's _meta, so it goes wherever the
// index goes (deleted with it, restored with it).
func (s *esStore) marker(ctx context.Context) (Marker, error) {
	res, err := s.es.Indices.GetMapping(s.es.Indices.GetMapping.WithIndex(CardsIndex), s.es.Indices.GetMapping.WithContext(ctx))
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return Marker{}, nil
	}
	if res.IsError() {
		return Marker{}, fmt.Errorf("read marker: %s", res.Status())
	}
	var body map[string]struct {
		Mappings struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"mappings"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	return parseMarker(body[CardsIndex].Mappings.Meta["mossdev_seed"])
}

func (s *esStore) setMarker(ctx context.Context, m Marker) error {
	body := `{"_meta": {"mossdev_seed": ` + string(m.json()) + `}}`
	res, err := s.es.Indices.PutMapping([]string{CardsIndex}, strings.NewReader(body), s.es.Indices.PutMapping.WithContext(ctx))
	if err := ESErr(res, err); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

func (s *esStore) total(ds *seed.Dataset) int64 { return ds.Counts().Cards }

// load recreates the index and bulk-indexes every card through
// go-elasticsearch's BulkIndexer (parallel _bulk requests of ~5 MB).
func (s *esStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	if err := deleteIndex(ctx, s.es, CardsIndex); err != nil {
		return err
	}
	mapping := strings.Replace(CardsMapping, `"dynamic": "strict",`,
		`"dynamic": "strict", "_meta": {"mossdev_seed": `+string(newMarker(ds, false, 0).json())+`},`, 1)
	body := `{"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": ` + mapping + `}`
	res, err := s.es.Indices.Create(CardsIndex, s.es.Indices.Create.WithBody(strings.NewReader(body)), s.es.Indices.Create.WithContext(ctx))
	if err := ESErr(res, err); err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	var marshalErr error
	docs := func(yield func(string, []byte) bool) {
		for c := range ds.Cards(1, ds.Counts().Cards) {
			b, err := json.Marshal(NewCardDoc(c))
			if err != nil {
				marshalErr = fmt.Errorf("card %d: %w", c.ID, err)
				return
			}
			if !yield(strconv.FormatInt(c.ID, 10), b) {
				return
			}
		}
	}
	n, err := s.bulkIndex(ctx, CardsIndex, docs, ds.Counts().Cards, m)
	if err == nil {
		err = marshalErr
	}
	if err != nil {
		return err
	}
	res, err = s.es.Indices.Refresh(s.es.Indices.Refresh.WithIndex(CardsIndex), s.es.Indices.Refresh.WithContext(ctx))
	if err := ESErr(res, err); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return s.setMarker(ctx, newMarker(ds, true, n))
}

// bulkIndex is the seed's bulk path into Elasticsearch (raw.go measures it
// on a scratch index): docs, by id, through go-elasticsearch's
// BulkIndexer; want is how many must end up indexed.
func (s *esStore) bulkIndex(ctx context.Context, index string, docs iter.Seq2[string, []byte], want int64, m *meter) (int64, error) {
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err) }
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client: s.es, Index: index, NumWorkers: s.workers, FlushBytes: 4 << 20, FlushInterval: time.Minute,
		OnError: func(_ context.Context, err error) { fail(err) },
	})
	if err != nil {
		return 0, err
	}
	onOK := func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) { m.add(1) }
	onFail := func(_ context.Context, it esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
		if err == nil {
			err = fmt.Errorf("%s: %s", r.Error.Type, r.Error.Reason)
		}
		fail(fmt.Errorf("index document %s: %w", it.DocumentID, err))
	}
	for id, b := range docs {
		if firstErr.Load() != nil || ctx.Err() != nil {
			break
		}
		err := bi.Add(ctx, esutil.BulkIndexerItem{Action: "index", DocumentID: id,
			Body: bytes.NewReader(b), OnSuccess: onOK, OnFailure: onFail})
		if err != nil {
			fail(err)
			break
		}
	}
	if err := bi.Close(context.WithoutCancel(ctx)); err != nil {
		fail(err)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p := firstErr.Load(); p != nil {
		return 0, fmt.Errorf("bulk index: %w", *p)
	}
	st := bi.Stats()
	if st.NumFailed > 0 || int64(st.NumIndexed) != want {
		return int64(st.NumIndexed), fmt.Errorf("bulk index: %d indexed, %d failed, of %d documents", st.NumIndexed, st.NumFailed, want)
	}
	return int64(st.NumIndexed), nil
}

// deleteIndex deletes index if it exists.
func deleteIndex(ctx context.Context, es *elasticsearch.Client, index string) error {
	res, err := es.Indices.Delete([]string{index}, es.Indices.Delete.WithContext(ctx))
	if err == nil && res.StatusCode == http.StatusNotFound {
		res.Body.Close()
		return nil
	}
	if err := ESErr(res, err); err != nil {
		return fmt.Errorf("delete index %s: %w", index, err)
	}
	return nil
}

// Count returns the number of documents in index.
func Count(ctx context.Context, es *elasticsearch.Client, index string) (int64, error) {
	res, err := es.Count(es.Count.WithIndex(index), es.Count.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return 0, fmt.Errorf("count %s: %s", index, res.Status())
	}
	var body struct {
		Count int64 `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return 0, err
	}
	return body.Count, nil
}
