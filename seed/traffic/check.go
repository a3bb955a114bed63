package traffic

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/shard"
	"github.com/mossdev/mossdev/seed/verify"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// DrainTimeout bounds the wait for the write-behind queue to empty
	// (default 30 s).
	DrainTimeout time.Duration
	// Examples is how many mismatches each check names (default 20).
	Examples int
}

// CheckReport is a consistency check's outcome, in verify's shape.
type CheckReport struct {
	Checks []verify.Check `json:"checks"`
	// Degraded are the cards some view of which was counted in PostgreSQL
	// directly (a shard was down): left out of the count checks, since
	// their Redis state missed those viewers.
	Degraded []int64       `json:"degraded,omitempty"`
	Elapsed  time.Duration `json:"elapsedNs"`
}

// OK reports whether every check passed.
func (r *CheckReport) OK() bool {
	for _, c := range r.Checks {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Failures lists one line per mismatch example and per check that could
// not run.
func (r *CheckReport) Failures() []string {
	vr := verify.Report{Checks: r.Checks}
	return vr.Failures()
}

// ErrInconsistent is returned (wrapped) by Check when a check fails.
var ErrInconsistent = errors.New("stores disagree after traffic")

type rec struct {
	mu sync.Mutex
	c  verify.Check
	n  int
}

func (r *rec) checked(n int64) { r.mu.Lock(); r.c.Checked += n; r.mu.Unlock() }
func (r *rec) mismatch(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Mismatches++
	if len(r.c.Examples) < r.n {
		r.c.Examples = append(r.c.Examples, fmt.Sprintf(format, a...))
	}
}

// Check waits for the write-behind queue to drain, then checks that the
// stores agree about everything the run wrote (see the invariants below).
func Check(ctx context.Context, t load.Targets, l *Ledger, o CheckOptions) (*CheckReport, error) {
	t0 := time.Now()
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Examples <= 0 {
		o.Examples = 20
	}
	views, cards, posts := l.snapshot()
	rep := &CheckReport{}
	for id, e := range cards {
		if e.degraded {
			rep.Degraded = append(rep.Degraded, id)
		}
	}
	slices.Sort(rep.Degraded)
	pg, err := newPGPool(ctx, t.Postgres, 4)
	if err != nil {
		return nil, fmt.Errorf("check: connect to postgres through pgbouncer: %w", err)
	}
	defer pg.Close()
	// pgCounts are the viewed cards' counts in PostgreSQL, read after the drain.
	pgCounts := map[int64]int64{}
	readCounts := func() error {
		ids := make([]int64, 0, len(cards))
		for id := range cards {
			ids = append(ids, id)
		}
		rows, err := pg.Query(ctx, "SELECT id, unique_view_count FROM cards WHERE id = ANY($1)", ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			pgCounts[id] = n
		}
		return rows.Err()
	}

	run := func(name, invariant string, fn func(r *rec) error) {
		r := &rec{c: verify.Check{Name: name, Invariant: invariant}, n: o.Examples}
		ts := time.Now()
		if err := fn(r); err != nil {
			r.c.Error = err.Error()
		}
		r.c.Elapsed = time.Since(ts)
		rep.Checks = append(rep.Checks, r.c)
	}

	run("writebehind.drained", "the write-behind queue empties and PostgreSQL holds, for every card, the count its last flush job carried", func(r *rec) error {
		r.checked(1)
		left, err := waitDrained(ctx, t.AMQP, o.DrainTimeout)
		if err != nil {
			return err
		}
		if left > 0 {
			r.mismatch("queue %s still holds %d jobs after %s: is a worker consuming it? (`mossdev worker`, or traffic without --no-worker)",
				seed.WriteBehindName, left, o.DrainTimeout)
		}
		// Jobs delivered but not yet acknowledged are not in the depth: give
		// their commits a moment.
		published := l.PublishedCounts()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if err := readCounts(); err != nil {
				return fmt.Errorf("read counts: %w", err)
			}
			behind := 0
			for id, n := range published {
				if pgCounts[id] < n {
					behind++
				}
			}
			if behind == 0 || time.Now().After(deadline) || left > 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		for _, id := range sortedKeys(published) {
			r.checked(1)
			if cards[id].degraded {
				continue
			}
			if got, want := pgCounts[id], published[id]; got != want {
				r.mismatch("card %d: unique_view_count %d in PostgreSQL, its last flush job carried %d", id, got, want)
			}
		}
		return nil
	})
	run("views.logged", "every view the run made is in the MongoDB view log", func(r *rec) error {
		return checkLogged(ctx, t, views, r)
	})
	run("views.counted", "each viewed card's distinct viewers in the view log equal its unique_view_count in PostgreSQL", func(r *rec) error {
		return checkCounted(ctx, t, cards, pgCounts, r)
	})
	run("redis.viewers", "each viewed card's viewer set (on the shard shard.Index names) has that many members, and its cache entry, if any, that count", func(r *rec) error {
		return checkRedis(ctx, t, cards, pgCounts, r)
	})
	run("posts.stores", "every posted card is in PostgreSQL with its hashtags, counted in MariaDB's search table, indexed in Elasticsearch, and its image is in S3", func(r *rec) error {
		return checkPosts(ctx, t, pg, posts, r)
	})
	rep.Elapsed = time.Since(t0)
	if !rep.OK() {
		return rep, fmt.Errorf("check: %w", ErrInconsistent)
	}
	return rep, nil
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// waitDrained polls the queue's depth until 0 or timeout; it returns the
// depth left.
func waitDrained(ctx context.Context, url string, timeout time.Duration) (int, error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return 0, fmt.Errorf("connect to rabbitmq through haproxy: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(timeout)
	for {
		q, err := ch.QueueDeclarePassive(seed.WriteBehindName, true, false, false, false, nil)
		if err != nil {
			return 0, fmt.Errorf("queue %s: %w", seed.WriteBehindName, err)
		}
		if q.Messages == 0 || time.Now().After(deadline) {
			return q.Messages, nil
		}
		select {
		case <-ctx.Done():
			return q.Messages, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func openMongo(ctx context.Context, t load.Targets) (*mongo.Client, *load.FerretTable, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(t.Mongo))
	if err != nil {
		return nil, nil, err
	}
	ft, ok, err := load.OpenFerretTable(ctx, t, client, load.MongoDB, load.ViewsCollection)
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	if !ok {
		ft = nil
	}
	return client, ft, nil
}

// checkLogged looks every view up by _id: in the FerretDB stand-in's
// storage when it is reachable (FerretDB 1.x scans a collection for any
// filter; see load.FerretTable), else through the wire protocol.
func checkLogged(ctx context.Context, t load.Targets, views []bson.ObjectID, r *rec) error {
	client, ft, err := openMongo(ctx, t)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	found := map[bson.ObjectID]bool{}
	for b := range slices.Chunk(views, 5000) {
		if ft != nil {
			hexes := make([]string, len(b))
			for i, id := range b {
				hexes[i] = id.Hex()
			}
			rows, err := ft.Conn.Query(ctx, "SELECT _jsonb->>'_id' FROM "+ft.Table+" WHERE _jsonb->>'_id' = ANY($1)", hexes)
			if err != nil {
				return fmt.Errorf("read view log storage: %w", err)
			}
			for rows.Next() {
				var h string
				if err := rows.Scan(&h); err == nil {
					if id, err := bson.ObjectIDFromHex(h); err == nil {
						found[id] = true
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read view log storage: %w", err)
			}
			continue
		}
		cur, err := client.Database(load.MongoDB).Collection(load.ViewsCollection).Find(ctx,
			bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: b}}}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			return fmt.Errorf("read views: %w", err)
		}
		for cur.Next(ctx) {
			var v struct {
				ID bson.ObjectID `bson:"_id"`
			}
			if cur.Decode(&v) == nil {
				found[v.ID] = true
			}
		}
		if err := cur.Err(); err != nil {
			cur.Close(ctx)
			return fmt.Errorf("read views: %w", err)
		}
		cur.Close(ctx)
	}
	if ft != nil {
		ft.Close()
	}
	for _, id := range views {
		r.checked(1)
		if !found[id] {
			r.mismatch("view %s is not in the view log", id.Hex())
		}
	}
	return nil
}

// checkCounted counts each viewed card's distinct viewers in the log.
func checkCounted(ctx context.Context, t load.Targets, cards map[int64]cardEntry, pgCounts map[int64]int64, r *rec) error {
	client, ft, err := openMongo(ctx, t)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	ids := sortedKeys(cards)
	distinct := map[int64]int64{}
	if ft != nil {
		defer ft.Close()
		rows, err := ft.Conn.Query(ctx, `SELECT (_jsonb->>'card_id')::bigint, count(DISTINCT _jsonb->>'user_id')
			FROM `+ft.Table+` WHERE (_jsonb->>'card_id')::bigint = ANY($1) GROUP BY 1`, ids)
		if err != nil {
			return fmt.Errorf("read view log storage: %w", err)
		}
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			distinct[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read view log storage: %w", err)
		}
	} else {
		viewers := map[int64]map[int64]bool{}
		cur, err := client.Database(load.MongoDB).Collection(load.ViewsCollection).Find(ctx,
			bson.D{{Key: "card_id", Value: bson.D{{Key: "$in", Value: ids}}}},
			options.Find().SetProjection(bson.D{{Key: "card_id", Value: 1}, {Key: "user_id", Value: 1}}).SetBatchSize(10000))
		if err != nil {
			return fmt.Errorf("read views: %w", err)
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var v struct {
				CardID int64 `bson:"card_id"`
				UserID int64 `bson:"user_id"`
			}
			if cur.Decode(&v) != nil {
				continue
			}
			if viewers[v.CardID] == nil {
				viewers[v.CardID] = map[int64]bool{}
			}
			viewers[v.CardID][v.UserID] = true
		}
		if err := cur.Err(); err != nil {
			return fmt.Errorf("read views: %w", err)
		}
		for id, s := range viewers {
			distinct[id] = int64(len(s))
		}
	}
	for _, id := range ids {
		r.checked(1)
		if cards[id].degraded {
			continue
		}
		if got, want := distinct[id], pgCounts[id]; got != want {
			r.mismatch("card %d: %d distinct viewers in the view log, unique_view_count %d in PostgreSQL", id, got, want)
		}
	}
	return nil
}

func checkRedis(ctx context.Context, t load.Targets, cards map[int64]cardEntry, pgCounts map[int64]int64, r *rec) error {
	var cs []*redis.Client
	for i, u := range t.Redis {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("redis shard %d: %w", i, err)
		}
		c := redis.NewClient(opt)
		defer c.Close()
		cs = append(cs, c)
	}
	// A shard that is down (the degraded mode) cannot be checked: its keys
	// are left out and the check says so, rather than failing on the fault
	// the run was tolerating.
	dead := map[int]bool{}
	for i, c := range cs {
		if err := c.Ping(ctx).Err(); err != nil {
			dead[i] = true
		}
	}
	skipped := 0
	defer func() {
		if len(dead) > 0 {
			var names []string
			for _, i := range sortedKeys(intKeys(dead)) {
				names = append(names, "redis-"+strconv.FormatInt(i, 10))
			}
			r.mu.Lock()
			r.c.Note = fmt.Sprintf("%s did not answer: %d cards whose keys live there not checked", strings.Join(names, ", "), skipped)
			r.mu.Unlock()
		}
	}()
	for _, id := range sortedKeys(cards) {
		if cards[id].degraded {
			continue
		}
		want := pgCounts[id]
		vk := ViewersKey(id)
		home := shardOf(vk, len(cs))
		if dead[home] || dead[shardOf(seed.CacheKey(id), len(cs))] {
			skipped++
			continue
		}
		r.checked(1)
		n, err := cs[home].SCard(ctx, vk).Result()
		if err != nil {
			return fmt.Errorf("redis-%d: scard %s: %w", home, vk, err)
		}
		if n != want && !(n == 0 && cards[id].published == 0) {
			r.mismatch("card %d: %s on redis-%d has %d members, unique_view_count %d in PostgreSQL", id, vk, home, n, want)
		}
		for i, c := range cs {
			if i == home || dead[i] {
				continue
			}
			if k, _ := c.Exists(ctx, vk).Result(); k > 0 {
				r.mismatch("card %d: %s on redis-%d, but shard.Index puts it on redis-%d", id, vk, i, home)
			}
		}
		ck := seed.CacheKey(id)
		ch := shardOf(ck, len(cs))
		b, err := cs[ch].Get(ctx, ck).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return fmt.Errorf("redis-%d: get %s: %w", ch, ck, err)
		}
		c, err := DecodeEntry(b)
		if err != nil {
			r.mismatch("card %d: %s on redis-%d: %v", id, ck, ch, err)
			continue
		}
		if c.UniqueViewCount != want {
			r.mismatch("card %d: %s on redis-%d says unique_view_count %d, PostgreSQL %d", id, ck, ch, c.UniqueViewCount, want)
		}
	}
	return nil
}

func intKeys(m map[int]bool) map[int64]bool {
	out := make(map[int64]bool, len(m))
	for k, v := range m {
		out[int64(k)] = v
	}
	return out
}

func shardOf(key string, n int) int { return shard.Index(key, n) }

// checkPosts reads every posted card back from each store.
func checkPosts(ctx context.Context, t load.Targets, pg *pgxpool.Pool, posts []posted, r *rec) error {
	if len(posts) == 0 {
		return nil
	}
	maria, err := sql.Open("mysql", t.MariaDB)
	if err != nil {
		return err
	}
	defer maria.Close()
	es, err := load.NewES(t.Elasticsearch)
	if err != nil {
		return err
	}
	s3c := load.NewS3(t.S3)
	tags := map[int64]string{}
	for _, p := range posts {
		c := p.card
		r.checked(1)
		got, err := loadCardFrom(ctx, pg, c.ID)
		if err != nil {
			r.mismatch("card %d: not in PostgreSQL: %v", c.ID, err)
			continue
		}
		if got.Text != c.Text || got.UserID != c.UserID || got.ImageKey != c.ImageKey || !slices.Equal(got.Tags, c.Tags) ||
			!reflect.DeepEqual(got.Location, c.Location) {
			r.mismatch("card %d: PostgreSQL row differs from what was posted", c.ID)
		}
		for _, tg := range c.Tags {
			tags[tg.ID] = tg.Name
		}
		res, err := es.Get(load.CardsIndex, strconv.FormatInt(c.ID, 10), es.Get.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("elasticsearch: get card %d: %w", c.ID, err)
		}
		var doc struct {
			Found  bool            `json:"found"`
			Source json.RawMessage `json:"_source"`
		}
		derr := json.NewDecoder(res.Body).Decode(&doc)
		res.Body.Close()
		var src load.CardDoc
		switch {
		case res.StatusCode == http.StatusNotFound || derr == nil && !doc.Found:
			r.mismatch("card %d: no document in Elasticsearch", c.ID)
		case derr != nil || json.Unmarshal(doc.Source, &src) != nil:
			r.mismatch("card %d: Elasticsearch answered %s", c.ID, res.Status())
		case !reflect.DeepEqual(src, load.NewCardDoc(got)):
			r.mismatch("card %d: Elasticsearch document differs from the row", c.ID)
		}
		head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.S3.Bucket), Key: aws.String(c.ImageKey)})
		if err != nil {
			r.mismatch("card %d: image %s not in the bucket: %v", c.ID, c.ImageKey, err)
		} else if etag := strings.Trim(aws.ToString(head.ETag), `"`); etag != p.etag {
			r.mismatch("card %d: image %s has ETag %s, the posted image %s", c.ID, c.ImageKey, etag, p.etag)
		}
	}
	ids := sortedKeys(tags)
	links := map[int64]int64{}
	rows, err := pg.Query(ctx, "SELECT hashtag_id, count(*) FROM card_hashtags WHERE hashtag_id = ANY($1) GROUP BY 1", ids)
	if err != nil {
		return fmt.Errorf("postgres: count links: %w", err)
	}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return err
		}
		links[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, 1000) {
		q := "SELECT id, name, card_count FROM hashtags WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",") + ")"
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		mrows, err := maria.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("mariadb: read hashtags: %w", err)
		}
		seen := map[int64]bool{}
		for mrows.Next() {
			var id, n int64
			var name string
			if err := mrows.Scan(&id, &name, &n); err != nil {
				mrows.Close()
				return err
			}
			seen[id] = true
			r.checked(1)
			if name != tags[id] {
				r.mismatch("hashtag %d: %q in MariaDB, %q in PostgreSQL", id, name, tags[id])
			}
			if n != links[id] {
				r.mismatch("hashtag %d %q: card_count %d in MariaDB, %d links in PostgreSQL", id, name, n, links[id])
			}
		}
		mrows.Close()
		for _, id := range chunk {
			if !seen[id] {
				r.mismatch("hashtag %d %q: not in MariaDB's search table", id, tags[id])
			}
		}
	}
	return nil
}
