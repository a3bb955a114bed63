package load

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"github.com/mossdev/mossdev/seed"
)

// Store names, in the order reports list them.
const (
	Postgres      = "postgres"
	MariaDB       = "mariadb"
	Mongo         = "mongodb"
	Elasticsearch = "elasticsearch"
	S3            = "s3"
	Redis         = "redis"
	RabbitMQ      = "rabbitmq"
)

// Stores lists every store the seed loads.
var Stores = []string{Postgres, MariaDB, Mongo, Elasticsearch, S3, Redis, RabbitMQ}

// Marker is what a store records about the dataset it holds. Each store
// keeps its own marker (a row, a document, an object, a key, a mapping's
// _meta), written as "loading" before the store is touched and "complete"
// last, so whether a store holds a dataset is decided from the store itself:
// a crash at any point leaves an incomplete or missing marker, and the next
// seed cleans that store and loads it again.
type Marker struct {
	Fingerprint string    `json:"fingerprint"`
	Seed        uint64    `json:"seed,string"`
	Cards       int64     `json:"cards"`
	Complete    bool      `json:"complete"`
	Rows        int64     `json:"rows"`
	At          time.Time `json:"at"`
	// Extent is the most cards an unfinished load may have written objects
	// for: where the S3 clean-up must look, since S3 keys are per card id.
	Extent int64 `json:"extent,omitempty"`
	// Digest is a store-specific summary of the loaded state (MariaDB
	// CHECKSUM TABLE, the S3 listing).
	Digest string `json:"digest,omitempty"`
	// Storage is a digest of a stand-in's storage (FerretTable.Digest).
	Storage string `json:"storage,omitempty"`
}

// Holds reports whether the marker says the store holds ds completely.
func (m Marker) Holds(ds *seed.Dataset) bool {
	return m.Complete && m.Fingerprint == ds.Fingerprint()
}

func (m Marker) String() string {
	if m.Fingerprint == "" {
		return "not seeded"
	}
	s := fmt.Sprintf("%s (seed %d, %d cards)", m.Fingerprint, m.Seed, m.Cards)
	if !m.Complete {
		s += ", incomplete"
	}
	return s
}

func (m Marker) json() []byte {
	b, _ := json.Marshal(m) // plain fields: cannot fail
	return b
}

func parseMarker(b []byte) (Marker, error) {
	var m Marker
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Marker{}, fmt.Errorf("read seed marker: %w", err)
	}
	return m, nil
}

func newMarker(ds *seed.Dataset, complete bool, rows int64) Marker {
	p := ds.Params()
	return Marker{Fingerprint: ds.Fingerprint(), Seed: p.Seed, Cards: ds.Counts().Cards,
		Complete: complete, Rows: rows, At: time.Now().UTC().Truncate(time.Millisecond)}
}

// store is one store's bulk writer. Implementations connect in their
// constructor and are used by one orchestrator at a time.
type store interface {
	name() string
	// marker reads the store's marker; the zero Marker when there is none.
	marker(ctx context.Context) (Marker, error)
	// total is how many rows load writes for ds, for progress.
	total(ds *seed.Dataset) int64
	// load replaces whatever the store holds with ds: marker "loading",
	// clean, bulk write (counting rows on m), marker "complete". prev is
	// the marker found before, for clean-up of an earlier load.
	load(ctx context.Context, ds *seed.Dataset, prev Marker, m *meter) error
	close()
}

// meter counts a store's progress; the orchestrator reads it for events.
type meter struct {
	done  atomic.Int64
	total atomic.Int64
}

func (m *meter) add(n int64) {
	if m != nil {
		m.done.Add(n)
	}
}

// copySource adapts a pull iterator of rows to pgx.CopyFromSource and
// counts the rows on a meter.
type copySource struct {
	next func() ([]any, bool)
	stop func()
	row  []any
	m    *meter
	n    int64
}

func newCopySource(seq iter.Seq[[]any], m *meter) *copySource {
	next, stop := iter.Pull(seq)
	return &copySource{next: next, stop: stop, m: m}
}

func (c *copySource) Next() bool {
	row, ok := c.next()
	if !ok {
		c.stop()
		if c.n > 0 {
			c.m.add(c.n)
			c.n = 0
		}
		return false
	}
	c.row = row
	if c.n++; c.n == 1000 {
		c.m.add(c.n)
		c.n = 0
	}
	return true
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }
func (c *copySource) Err() error             { return nil }

// usedTags yields the ids of the hashtags at least one card carries, in id
// order, with their card counts.
func usedTags(ds *seed.Dataset) iter.Seq2[int64, int64] {
	return func(yield func(int64, int64) bool) {
		if ds.UsedTags() == 0 {
			return
		}
		for id := int64(1); id <= ds.Counts().Tags; id++ {
			if n := ds.TagCards(id); n > 0 && !yield(id, n) {
				return
			}
		}
	}
}

// links is the number of card-hashtag links.
func links(ds *seed.Dataset) int64 {
	var n int64
	for _, c := range usedTags(ds) {
		n += c
	}
	return n
}

// ParamsOf names a dataset found in a store by seed and card count: the
// scale whose card count it is, or Cards alone.
func ParamsOf(s uint64, cards int64) seed.Params {
	p := seed.Params{Seed: s, Cards: cards}
	for _, sc := range seed.Scales() {
		if ds, err := seed.New(seed.Params{Scale: sc}); err == nil && ds.Counts().Cards == cards {
			p.Scale = sc
		}
	}
	return p
}
