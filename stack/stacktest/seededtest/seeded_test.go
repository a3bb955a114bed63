// Package seededtest tests stacktest's seeded-stack API (WithSeed, Reset,
// Isolated) on a real stack of the whole platform, seeded at small scale.
package seededtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// The whole platform, kept light: two Redis shards, one RabbitMQ node.
func TestMain(m *testing.M) {
	stacktest.Main(m, stacktest.WithSeed(seed.Small),
		stacktest.WithOptions(stack.Options{RedisShards: 2, RabbitNodes: 1}),
		stacktest.WithTimeout(4*time.Minute))
}

// stores are the clients of one set of URLs: the stack's, or an
// isolation's.
type stores struct {
	pg     *pgx.Conn
	maria  *sql.DB
	mongo  *mongo.Database
	redis  []*redis.Client
	es     string // base URL
	index  string // the cards index
	s3     *s3.Client
	bucket string
	amqp   string
}

func connect(t *testing.T, iso *stacktest.Isolation) *stores {
	t.Helper()
	env := stacktest.Runtime(t)
	tg := load.TargetsFor(env)
	st := &stores{es: tg.Elasticsearch, index: load.CardsIndex, bucket: tg.S3.Bucket, amqp: tg.AMQP, s3: load.NewS3(tg.S3)}
	pgURL, mariaDSN, mongoURL, mongoDB, redisURLs := tg.Postgres, tg.MariaDB, tg.Mongo, load.MongoDB, tg.Redis
	if iso != nil {
		pgURL, mongoURL, mongoDB = iso.URL("postgres"), iso.URL("mongodb"), iso.Mongo
		for _, kv := range iso.Env() {
			if v, ok := strings.CutPrefix(kv, "MOSSDEV_MARIADB_DSN="); ok {
				mariaDSN = v
			}
		}
		redisURLs = nil
		for i := range env.Options.RedisShards {
			redisURLs = append(redisURLs, iso.URL(fmt.Sprintf("redis-%d", i)))
		}
		st.index, st.bucket, st.amqp = iso.IndexPrefix+load.CardsIndex, iso.Bucket, iso.URL("haproxy")
	}
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec // PgBouncer, transaction pooling
	if st.pg, err = pgx.ConnectConfig(t.Context(), cfg); err != nil {
		t.Fatalf("connect %s: %v", pgURL, err)
	}
	t.Cleanup(func() { st.pg.Close(context.Background()) })
	if st.maria, err = sql.Open("mysql", mariaDSN); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.maria.Close() })
	mc, err := mongo.Connect(options.Client().ApplyURI(mongoURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Disconnect(context.Background()) })
	st.mongo = mc.Database(mongoDB)
	for _, u := range redisURLs {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		st.redis = append(st.redis, c)
	}
	return st
}

func (st *stores) esDo(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, st.es+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

const probeQueue = "stacktest.probe"

// write puts v at the same place in every store: card 1's text, a
// hashtag, a view document, a key per shard, a search document, an
// object and a queued message.
func (st *stores) write(t *testing.T, v string) {
	t.Helper()
	ctx := t.Context()
	if _, err := st.pg.Exec(ctx, "UPDATE cards SET text = $1 WHERE id = 1", v); err != nil {
		t.Fatal(err)
	}
	if _, err := st.maria.ExecContext(ctx, "REPLACE INTO hashtags (id, name, card_count) VALUES (4000000001, ?, 1)", "probe-"+v); err != nil {
		t.Fatal(err)
	}
	if _, err := st.mongo.Collection(load.ViewsCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: "probe"}},
		bson.D{{Key: "_id", Value: "probe"}, {Key: "v", Value: v}}, options.Replace().SetUpsert(true)); err != nil {
		t.Fatal(err)
	}
	for _, c := range st.redis {
		if err := c.Set(ctx, "probe", v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if code, b := st.esDo(t, "PUT", "/"+st.index+"/_doc/probe?refresh=true", fmt.Sprintf(`{"text":%q}`, v)); code/100 != 2 {
		t.Fatalf("index probe: %d %s", code, b)
	}
	if _, err := st.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.bucket), Key: aws.String("probe"), Body: strings.NewReader(v)}); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(st.amqp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare(probeQueue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, "", probeQueue, false, false, amqp.Publishing{Body: []byte(v), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
}

// read returns what every store holds at the probe's places ("" where
// nothing is).
func (st *stores) read(t *testing.T) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	var s string
	if err := st.pg.QueryRow(ctx, "SELECT text FROM cards WHERE id = 1").Scan(&s); err != nil {
		t.Fatal(err)
	}
	out["postgres"] = s
	s = ""
	if err := st.maria.QueryRowContext(ctx, "SELECT name FROM hashtags WHERE id = 4000000001").Scan(&s); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	out["mariadb"] = strings.TrimPrefix(s, "probe-")
	var doc struct{ V string }
	if err := st.mongo.Collection(load.ViewsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: "probe"}}).Decode(&doc); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatal(err)
	}
	out["mongodb"] = doc.V
	for i, c := range st.redis {
		v, err := c.Get(ctx, "probe").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		out[fmt.Sprintf("redis-%d", i)] = v
	}
	if code, b := st.esDo(t, "GET", "/"+st.index+"/_doc/probe", ""); code == 200 {
		i := strings.Index(b, `"text":"`)
		out["elasticsearch"] = strings.SplitN(b[i+8:], `"`, 2)[0]
	}
	if o, err := st.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.bucket), Key: aws.String("probe")}); err == nil {
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		out["s3"] = string(b)
	}
	conn, err := amqp.Dial(st.amqp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	var msgs []string
	for {
		d, ok, err := ch.Get(probeQueue, false)
		if err != nil || !ok {
			break // no such queue closes the channel: nothing queued
		}
		msgs = append(msgs, string(d.Body))
	}
	out["rabbitmq"] = strings.Join(msgs, ",")
	return out
}

// counts sizes the seeded data in every store, to compare a copy with
// the original.
func (st *stores) counts(t *testing.T) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	out := map[string]int64{}
	var n int64
	if err := st.pg.QueryRow(ctx, "SELECT count(*) FROM cards").Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["postgres cards"] = n
	if err := st.maria.QueryRowContext(ctx, "SELECT count(*) FROM hashtags WHERE id < 4000000000").Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["mariadb hashtags"] = n
	n, err := st.mongo.Collection(load.ViewsCollection).CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: "probe"}}}})
	if err != nil {
		t.Fatal(err)
	}
	out["mongodb views"] = n
	for i, c := range st.redis {
		keys, err := c.Keys(ctx, "card:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("redis-%d card keys", i)] = int64(len(keys))
	}
	_, b := st.esDo(t, "GET", "/"+st.index+"/_count", "")
	_, _ = fmt.Sscanf(b[strings.Index(b, `"count":`)+8:], "%d", &n)
	out["elasticsearch cards"] = n
	var objs int64
	p := s3.NewListObjectsV2Paginator(st.s3, &s3.ListObjectsV2Input{Bucket: aws.String(st.bucket), Prefix: aws.String("cards/")})
	for p.HasMorePages() {
		o, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		objs += int64(len(o.Contents))
	}
	out["s3 objects"] = objs
	return out
}

// Two parallel tests write the same places in every store and each sees
// only its own writes; a third sees the seeded data; what the isolations
// made is gone once they end. The shared stores never see any of it.
func TestIsolatedTestsDoNotSeeEachOther(t *testing.T) {
	main := connect(t, nil)
	before := main.read(t)
	seeded := main.counts(t)
	if seeded["postgres cards"] == 0 || seeded["s3 objects"] == 0 || seeded["mongodb views"] == 0 {
		t.Fatalf("the stack is not seeded: %v", seeded)
	}
	var made []*stacktest.Isolation
	var mu sync.Mutex
	t.Run("group", func(t *testing.T) {
		var both sync.WaitGroup
		both.Add(2)
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// Whatever happens, the others do not wait for this one forever.
				done := sync.OnceFunc(both.Done)
				defer done()
				t0 := time.Now()
				iso := stacktest.Isolated(t)
				t.Logf("isolation %d in %.2fs: %v", iso.Slot, time.Since(t0).Seconds(), iso.Took)
				mu.Lock()
				made = append(made, iso)
				mu.Unlock()
				st := connect(t, iso)
				if got := st.counts(t); fmt.Sprint(got) != fmt.Sprint(seeded) {
					t.Errorf("the isolation's copy holds %v, the seeded stack %v", got, seeded)
				}
				st.write(t, name)
				// Both have written before either reads.
				done()
				// With -parallel 1 the other never runs beside this one:
				// wait for it a while, not forever.
				together := make(chan struct{})
				go func() { both.Wait(); close(together) }()
				select {
				case <-together:
				case <-time.After(time.Minute):
					t.Log("the other isolation did not run alongside (-parallel 1?)")
				}
				for store, v := range st.read(t) {
					if v != name {
						t.Errorf("%s: isolation %s reads %q, want its own %q", store, name, v, name)
					}
				}
			})
		}
	})
	// A third, after them, sees the seeded data.
	t.Run("pristine", func(t *testing.T) {
		st := connect(t, stacktest.Isolated(t))
		if got := st.read(t); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("a third isolation reads %v, want the seeded %v", got, before)
		}
	})
	if after := main.read(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the stack's own stores changed: %v, were %v", after, before)
	}
	if len(made) != 2 || made[0].Slot == made[1].Slot {
		t.Fatalf("isolations %v: want two with their own slots", made)
	}
	for _, iso := range made {
		gone(t, main, iso)
	}
}

// gone fails the test if anything an isolation made is left.
func gone(t *testing.T, main *stores, iso *stacktest.Isolation) {
	t.Helper()
	ctx := t.Context()
	env := stacktest.Runtime(t)
	super, err := pgx.Connect(ctx, postgres.SuperuserURL(env, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	var n int
	if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", iso.Postgres).Scan(&n); err != nil || n != 0 {
		t.Errorf("postgres: database %s left (%d, %v)", iso.Postgres, n, err)
	}
	root, err := sql.Open("mysql", mariadb.RootDSN(env))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := root.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", iso.MariaDB).Scan(&n); err != nil || n != 0 {
		t.Errorf("mariadb: database %s left (%d, %v)", iso.MariaDB, n, err)
	}
	dbs, err := main.mongo.Client().ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbs {
		if d == iso.Mongo {
			t.Errorf("mongodb: database %s left", d)
		}
	}
	for i, c := range main.redis {
		opt := *c.Options()
		opt.DB = iso.RedisDB
		rc := redis.NewClient(&opt)
		if size, err := rc.DBSize(ctx).Result(); err != nil || size != 0 {
			t.Errorf("redis-%d: database %d holds %d keys (%v)", i, iso.RedisDB, size, err)
		}
		rc.Close()
	}
	if code, b := main.esDo(t, "GET", "/_cat/indices/"+iso.IndexPrefix+"*?format=json", ""); code != 200 || strings.Contains(b, iso.IndexPrefix) {
		t.Errorf("elasticsearch: indices %s* left: %d %s", iso.IndexPrefix, code, b)
	}
	if _, err := main.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(iso.Bucket)}); err == nil {
		t.Errorf("s3: bucket %s left", iso.Bucket)
	}
	out, err := rabbitmq.Ctl(ctx, env, 1, "list_vhosts", "--formatter", "json", "name")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, `"`+iso.VHost+`"`) {
		t.Errorf("rabbitmq: vhost %s left: %s", iso.VHost, out)
	}
	if _, err := url.Parse(iso.URL("postgres")); err != nil {
		t.Error(err)
	}
}

// Reset undoes a test's changes in every store; the restore after the
// first renames in the copy the background Prepare made.
func TestResetRestoresTheSeededState(t *testing.T) {
	res := stacktest.Reset(t)
	t.Logf("first reset in %.2fs: %v", res.Elapsed, res.Actions)
	main := connect(t, nil)
	before := main.read(t)
	seeded := main.counts(t)
	main.write(t, "changed")
	if _, err := main.pg.Exec(t.Context(), "DELETE FROM cards WHERE id > 100"); err != nil {
		t.Fatal(err)
	}
	// The background Prepare the first reset started is what makes this
	// one a rename; waiting for it is the point, so it is not timed out.
	res = stacktest.Reset(t)
	t.Logf("second reset in %.2fs: %v", res.Elapsed, res.Actions)
	if !strings.Contains(res.Actions[load.Postgres], "spare") {
		t.Errorf("postgres: %q, want the spare copy the background prepare made renamed in", res.Actions[load.Postgres])
	}
	main = connect(t, nil) // the app database was swapped under the old session
	after := main.read(t)
	after["rabbitmq"] = strings.ReplaceAll(after["rabbitmq"], "changed", "") // a queue made after the seed is kept, its messages are not restored
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after reset the stores read %v, want %v", after, before)
	}
	if got := main.counts(t); fmt.Sprint(got) != fmt.Sprint(seeded) {
		t.Errorf("after reset the stores hold %v, want %v", got, seeded)
	}
	cleanQueue(t, main)
}

func cleanQueue(t *testing.T, st *stores) {
	conn, err := amqp.Dial(st.amqp)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(probeQueue, false, false, false)
	}
}

// The seed made the checkpoint Reset and Isolated use.
func TestWithSeedSavedTheSeedCheckpoint(t *testing.T) {
	m, err := checkpoint.Get(stacktest.Runtime(t).Dir, checkpoint.SeedName)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dataset == nil || m.Dataset.Cards != 2000 {
		t.Errorf("checkpoint %q holds dataset %+v, want the small scale's 2000 cards", m.Name, m.Dataset)
	}
}
