package load

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
)

func dataset(t *testing.T, p seed.Params) *seed.Dataset {
	t.Helper()
	ds, err := seed.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestMigrationsAreOrderedAndVersionedByName(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("%d migrations", len(ms))
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d has version %d: versions must run 1..N without gaps", i, m.Version)
		}
		if m.SQL == "" || len(m.Sum) != 64 {
			t.Errorf("migration %04d_%s: empty or unsummed", m.Version, m.Name)
		}
	}
	if SchemaVersion() != len(ms) {
		t.Errorf("SchemaVersion %d, want %d", SchemaVersion(), len(ms))
	}
	// The tables the loader writes and the verifier reads are created by them.
	all := ""
	for _, m := range ms {
		all += m.SQL
	}
	for _, table := range append(pgTables, "mossdev_seed") {
		if !strings.Contains(all, "CREATE TABLE "+table+" ") {
			t.Errorf("no migration creates %s", table)
		}
	}
}

func TestMarkerHoldsOnlyItsCompleteDataset(t *testing.T) {
	ds := dataset(t, seed.Params{Seed: 1, Scale: seed.Small})
	other := dataset(t, seed.Params{Seed: 2, Scale: seed.Small})
	m := newMarker(ds, true, 10)
	if !m.Holds(ds) || m.Holds(other) {
		t.Fatalf("marker %v: holds ds %v, other %v", m, m.Holds(ds), m.Holds(other))
	}
	m.Complete = false
	if m.Holds(ds) {
		t.Fatal("an incomplete marker holds its dataset")
	}
	if (Marker{}).Holds(ds) {
		t.Fatal("no marker holds a dataset")
	}
	m = newMarker(ds, true, 10)
	m.Digest, m.Storage, m.Extent = "42", "1:2", 3000
	back, err := parseMarker(m.json())
	if err != nil {
		t.Fatal(err)
	}
	if back != m {
		t.Fatalf("marker round trip: %+v != %+v", back, m)
	}
	// Seeds above 2^53 survive JSON (stored as a string).
	m.Seed = 1<<64 - 1
	if back, _ := parseMarker(m.json()); back.Seed != m.Seed {
		t.Fatalf("seed %d came back as %d", m.Seed, back.Seed)
	}
}

func TestCardIDOfKeyInvertsImageKey(t *testing.T) {
	for _, id := range []int64{1, 7, 999, 1000, 1001, 123456, seed.MaxCards} {
		got, ok := CardIDOfKey(seed.ImageKey(id))
		if !ok || got != id {
			t.Errorf("CardIDOfKey(%s) = %d, %v", seed.ImageKey(id), got, ok)
		}
	}
	for _, key := range []string{"cards/001/2.png", "cards/7.png", "cards/007/7.jpg", "_mossdev/seed.json", "cards/007/x.png", "cards/007/07.png"} {
		if id, ok := CardIDOfKey(key); ok {
			t.Errorf("CardIDOfKey(%q) = %d, want no card", key, id)
		}
	}
}

func TestCardDocIsTheCard(t *testing.T) {
	ds := dataset(t, seed.Params{Seed: 3, Scale: seed.Small})
	var located, unlocated bool
	for c := range ds.Cards(1, 200) {
		d := NewCardDoc(c)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back CardDoc
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Text != c.Text || back.UserID != c.UserID || len(back.Hashtags) != len(c.Tags) ||
			back.UniqueViewCount != c.UniqueViewCount || back.CreatedAt != c.CreatedAt.UTC().Format(time.RFC3339) {
			t.Fatalf("card %d: doc %s", c.ID, b)
		}
		if c.Location != nil {
			located = true
			if back.Location == nil || back.Location.Lat != c.Location.Lat || back.Location.Lon != c.Location.Lon || back.Place != c.Location.Place {
				t.Fatalf("card %d: location %+v, want %+v", c.ID, back.Location, c.Location)
			}
		} else {
			unlocated = true
			if bytes.Contains(b, []byte(`"location"`)) {
				t.Fatalf("card %d has no location but the doc has one: %s", c.ID, b)
			}
		}
	}
	if !located || !unlocated {
		t.Fatal("sample lacks located or unlocated cards")
	}
	// Every field of the document is in the mapping, which is strict.
	var mapping struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(CardsMapping), &mapping); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(NewCardDoc(ds.Card(1)))
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for f := range fields {
		if _, ok := mapping.Properties[f]; !ok {
			t.Errorf("field %s is not mapped", f)
		}
	}
}

func TestHashtagTSVEscapesAndCounts(t *testing.T) {
	ds := dataset(t, seed.Params{Seed: 4, Scale: seed.Small})
	var buf bytes.Buffer
	m := &meter{}
	if err := writeHashtagTSV(context.Background(), &buf, ds.Hashtags(), m); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if int64(len(lines)) != ds.Counts().Tags || m.done.Load() != ds.Counts().Tags {
		t.Fatalf("%d lines, meter %d, want %d", len(lines), m.done.Load(), ds.Counts().Tags)
	}
	var sum int64
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("line %d has %d fields: %q", i+1, len(f), l)
		}
		if want := ds.Tag(int64(i + 1)).Name; f[1] != want {
			t.Fatalf("line %d: name %q, want %q", i+1, f[1], want)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if sum != links(ds) {
		t.Fatalf("card counts sum to %d, links %d", sum, links(ds))
	}
}

func TestCopySourceCountsRows(t *testing.T) {
	ds := dataset(t, seed.Params{Seed: 5, Scale: seed.Small})
	m := &meter{}
	src := newCopySource(linkRows(ds), m)
	var n int64
	for src.Next() {
		v, _ := src.Values()
		if len(v) != 3 {
			t.Fatalf("row %v", v)
		}
		n++
	}
	if n != links(ds) || m.done.Load() != n {
		t.Fatalf("%d rows, meter %d, links %d", n, m.done.Load(), links(ds))
	}
}

func TestPublishingCarriesTheJob(t *testing.T) {
	ds := dataset(t, seed.Params{Seed: 6, Scale: seed.Small})
	for j := range ds.WriteBehindJobs() {
		p := Publishing(j)
		if p.CorrelationId != j.TaskID || p.Headers["id"] != j.TaskID || p.DeliveryMode != 2 ||
			p.ContentType != "application/json" || !bytes.Equal(p.Body, j.Body) {
			t.Fatalf("publishing %+v for job %+v", p, j)
		}
		if err := p.Headers.Validate(); err != nil {
			t.Fatalf("headers are no valid AMQP table: %v", err)
		}
	}
}

func TestTargetsComeFromTheStack(t *testing.T) {
	e := &stack.Runtime{Stack: "t", Options: stack.Options{RedisShards: 3, RabbitNodes: 1},
		Ports: map[string]map[string]int{
			"postgres": {"main": 1}, "pgbouncer": {"main": 2}, "mariadb": {"main": 3}, "mongodb": {"main": 4},
			"redis-0": {"main": 5}, "redis-1": {"main": 6}, "redis-2": {"main": 7}, "haproxy": {"main": 8},
			"elasticsearch": {"main": 9}, "s3": {"main": 10}, "cdn": {"main": 11},
		},
		Secrets: stack.Secrets{AppUser: "mossi", AppPassword: "pw", PostgresPassword: "su", MariaDBRoot: "root", RedisPassword: "r"}}
	tg := TargetsFor(e)
	if !strings.Contains(tg.Postgres, ":2/") || !strings.Contains(tg.PostgresDirect, ":1/") {
		t.Errorf("postgres through pgbouncer %s, direct %s", tg.Postgres, tg.PostgresDirect)
	}
	if len(tg.Redis) != 3 || !strings.Contains(tg.Redis[2], ":7/") {
		t.Errorf("redis shards %v: must be in shard order", tg.Redis)
	}
	if tg.AppDB() != "mossi" {
		t.Errorf("app database %q", tg.AppDB())
	}
}
