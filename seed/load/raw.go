package load

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/seed"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// RawResult is one store's raw bulk rate: the loader's own bulk writer
// (the function the seed calls, with its batching and workers) fed rows
// shaped like the seed's, from samples prepared beforehand so next to
// nothing but the load is timed, into scratch tables, collections,
// indices, keys and queues that are removed afterwards. Seed rate ÷ raw
// rate says what generation and sharing the machine with the other stores
// cost.
type RawResult struct {
	Store   string        `json:"store"`
	Rows    int64         `json:"rows"`
	Elapsed time.Duration `json:"elapsedNs"`
}

// RowsPerSec is the raw rate.
func (r RawResult) RowsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

// Raw measures store's raw bulk rate for rows shaped like ds's, at most
// limit rows (0: as many as the seed loads).
func Raw(ctx context.Context, t Targets, store string, ds *seed.Dataset, limit int64) (RawResult, error) {
	capped := func(n int64) int64 {
		if limit > 0 {
			return min(n, limit)
		}
		return n
	}
	c := ds.Counts()
	var n int64
	var run func() (time.Duration, error)
	switch store {
	case Postgres:
		n = capped(c.Users + ds.UsedTags() + c.Cards + links(ds))
		run = func() (time.Duration, error) { return rawPG(ctx, t, ds, n) }
	case MariaDB:
		n = capped(c.Tags)
		run = func() (time.Duration, error) { return rawMaria(ctx, t, n) }
	case Mongo:
		n = capped(ds.ViewLogRows())
		run = func() (time.Duration, error) { return rawMongo(ctx, t, n) }
	case Elasticsearch:
		n = capped(c.Cards)
		run = func() (time.Duration, error) { return rawES(ctx, t, ds, n) }
	case S3:
		n = capped(c.Cards)
		run = func() (time.Duration, error) { return rawS3(ctx, t, ds, n) }
	case Redis:
		n = capped(c.HotCards)
		run = func() (time.Duration, error) { return rawRedis(ctx, t, ds, n) }
	case RabbitMQ:
		n = capped(c.Jobs)
		run = func() (time.Duration, error) { return rawRabbit(ctx, t, ds, n) }
	default:
		return RawResult{}, fmt.Errorf("raw rate: unknown store %q", store)
	}
	elapsed, err := run()
	if err != nil {
		return RawResult{}, fmt.Errorf("raw rate of %s: %w", store, err)
	}
	return RawResult{Store: store, Rows: n, Elapsed: elapsed}, nil
}

// rawPrefix names the scratch tables, indices, keys and queues.
const rawPrefix = "mossdev_raw_"

// rawPG copies n rows split like the seed's over scratch copies of the four
// tables (LIKE ... INCLUDING ALL: the same indexes, no foreign keys, as in
// the seed's load), in one transaction through PgBouncer.
func rawPG(ctx context.Context, t Targets, ds *seed.Dataset, n int64) (time.Duration, error) {
	conn, err := connectPG(ctx, t.Postgres)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	c := ds.Counts()
	total := c.Users + ds.UsedTags() + c.Cards + links(ds)
	share := func(k int64) int64 { return max(1, k*n/total) }
	sample := make([][]any, 0, 1000)
	for row := range cardRows(ds) {
		if sample = append(sample, row); len(sample) == cap(sample) {
			break
		}
	}
	at := sample[0][4]
	rows := pgRows{
		users: counted(share(c.Users), func(i int64) []any {
			return []any{i, "raw" + strconv.FormatInt(i, 10), at}
		}),
		hashtags: counted(share(ds.UsedTags()), func(i int64) []any {
			return []any{i, "raw" + strconv.FormatInt(i, 10)}
		}),
		cards: counted(share(c.Cards), func(i int64) []any {
			r := sample[i%int64(len(sample))]
			return []any{i, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]}
		}),
		links: counted(share(links(ds)), func(i int64) []any {
			return []any{i/5 + 1, int16(i % 5), i}
		}),
	}
	for _, name := range pgTables {
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s%s; CREATE TABLE %s%s (LIKE %s INCLUDING ALL)", rawPrefix, name, rawPrefix, name, name)); err != nil {
			return 0, err
		}
		defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+rawPrefix+name) //nolint:errcheck // scratch
	}
	// The rows are built on the fly from the sample: a slice header and a
	// small string per row, next to nothing beside the COPY.
	t0 := time.Now()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := copyTables(ctx, tx, rawPrefix, rows, nil)
		return err
	})
	return time.Since(t0), err
}

func counted(n int64, row func(i int64) []any) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		for i := int64(1); i <= n; i++ {
			if !yield(row(i)) {
				return
			}
		}
	}
}

// rawMaria loads n hashtags into a scratch copy of the search table with
// the seed's own LOAD DATA path, the name key built afterwards as the seed
// does.
func rawMaria(ctx context.Context, t Targets, n int64) (time.Duration, error) {
	s, err := newMaria(ctx, t)
	if err != nil {
		return 0, err
	}
	defer s.close()
	table := rawPrefix + "hashtags"
	defer s.db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table) //nolint:errcheck // scratch
	tags := func(yield func(seed.Tag, int64) bool) {
		for i := int64(1); i <= n; i++ {
			if !yield(seed.Tag{ID: i, Name: "raw" + strconv.FormatInt(i, 10) + "일상🌙"}, i%7) {
				return
			}
		}
	}
	t0 := time.Now()
	_, err = s.loadTable(ctx, table, tags, n, nil)
	return time.Since(t0), err
}

// rawMongo inserts n view-shaped documents, built beforehand, with the
// seed's own insert path (its workers and batch size).
func rawMongo(ctx context.Context, t Targets, n int64) (time.Duration, error) {
	s, err := newMongo(ctx, t)
	if err != nil {
		return 0, err
	}
	defer s.close()
	coll := s.db.Collection(rawPrefix + "views")
	_ = coll.Drop(ctx)
	defer coll.Drop(context.WithoutCancel(ctx)) //nolint:errcheck // scratch
	at := time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]ViewDoc, n)
	for j := range docs {
		var id bson.ObjectID
		binary.BigEndian.PutUint32(id[0:4], uint32(at.Unix()))
		binary.BigEndian.PutUint64(id[4:12], uint64(j))
		docs[j] = ViewDoc{ID: id, CardID: int64(j)/10 + 1, UserID: int64(j)%5000 + 1, ViewedAt: at.Add(time.Duration(j) * time.Millisecond)}
	}
	t0 := time.Now()
	_, _, err = s.insertViews(ctx, coll, slices.Values(docs), nil)
	return time.Since(t0), err
}

// rawES bulk-indexes n copies of real card documents (a sample of 1,000
// cycled) into a scratch index with the cards mapping, with the seed's own
// bulk path.
func rawES(ctx context.Context, t Targets, ds *seed.Dataset, n int64) (time.Duration, error) {
	s, err := newES(ctx, t)
	if err != nil {
		return 0, err
	}
	const index = "mossdev-raw-cards"
	_ = deleteIndex(ctx, s.es, index)
	defer deleteIndex(context.WithoutCancel(ctx), s.es, index) //nolint:errcheck // scratch
	res, err := s.es.Indices.Create(index, s.es.Indices.Create.WithBody(strings.NewReader(
		`{"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": `+CardsMapping+`}`)),
		s.es.Indices.Create.WithContext(ctx))
	if err := ESErr(res, err); err != nil {
		return 0, err
	}
	var sample [][]byte
	for c := range ds.Cards(1, 1000) {
		b, _ := json.Marshal(NewCardDoc(c))
		sample = append(sample, b)
	}
	docs := func(yield func(string, []byte) bool) {
		for i := int64(1); i <= n; i++ {
			if !yield(strconv.FormatInt(i, 10), sample[i%int64(len(sample))]) {
				return
			}
		}
	}
	t0 := time.Now()
	_, err = s.bulkIndex(ctx, index, docs, n, nil)
	return time.Since(t0), err
}

// rawS3 puts n card images (a sample of 64, generated beforehand, cycled)
// under a scratch prefix with the seed's own put path (its workers and
// blocks), without the MD5 records.
func rawS3(ctx context.Context, t Targets, ds *seed.Dataset, n int64) (time.Duration, error) {
	s, err := newS3(ctx, t)
	if err != nil {
		return 0, err
	}
	var sample [][]byte
	for id := int64(1); id <= 64; id++ {
		img, err := ds.Image(id)
		if err != nil {
			return 0, err
		}
		sample = append(sample, img)
	}
	key := func(i int64) string { return "_mossdev/raw/" + strconv.FormatInt(i, 10) + ".png" }
	defer func() {
		var keys []string
		for i := int64(1); i <= n; i++ {
			if keys = append(keys, key(i)); len(keys) == 1000 || i == n {
				_ = s.deleteKeys(context.WithoutCancel(ctx), keys)
				keys = keys[:0]
			}
		}
	}()
	object := func(i int64) (string, []byte, error) { return key(i), sample[i%int64(len(sample))], nil }
	t0 := time.Now()
	err = s.putBlocks(ctx, blocksOf(n), n, object, false, nil)
	return time.Since(t0), err
}

// rawRedis SETs n cache entries (a sample cycled) with the seed's own
// pipelined path.
func rawRedis(ctx context.Context, t Targets, ds *seed.Dataset, n int64) (time.Duration, error) {
	s, err := newRedis(ctx, t)
	if err != nil {
		return 0, err
	}
	defer s.close()
	var sample [][]byte
	for c := range ds.Cards(1, 100) {
		_, v, _ := seed.CacheEntry(c)
		sample = append(sample, v)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "mossdev:raw:" + strconv.Itoa(i)
	}
	defer func() {
		for _, c := range s.shards {
			_ = c.Del(context.WithoutCancel(ctx), keys...).Err()
		}
	}()
	entries := func(yield func(string, []byte) bool) {
		for i, k := range keys {
			if !yield(k, sample[i%len(sample)]) {
				return
			}
		}
	}
	t0 := time.Now()
	_, err = s.setAll(ctx, entries, nil)
	return time.Since(t0), err
}

// rawRabbit publishes n job messages (a sample cycled) to a scratch queue
// with the seed's own confirmed publishing.
func rawRabbit(ctx context.Context, t Targets, ds *seed.Dataset, n int64) (time.Duration, error) {
	s, err := newRabbit(ctx, t)
	if err != nil {
		return 0, err
	}
	defer s.close()
	ch, err := s.conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	const queue = "mossdev.raw"
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return 0, err
	}
	defer ch.QueueDelete(queue, false, false, false) //nolint:errcheck // scratch
	if err := ch.Confirm(false); err != nil {
		return 0, err
	}
	var sample []amqp.Publishing
	for j := range ds.WriteBehindJobs() {
		if sample = append(sample, Publishing(j)); len(sample) == 100 {
			break
		}
	}
	msgs := func(yield func(outMsg) bool) {
		for i := int64(0); i < n; i++ {
			if !yield(outMsg{"", queue, sample[i%int64(len(sample))]}) {
				return
			}
		}
	}
	t0 := time.Now()
	_, err = publishConfirmed(ctx, ch, msgs, nil)
	return time.Since(t0), err
}
