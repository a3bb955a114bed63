package stacktest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/mongodb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	redissvc "github.com/mossdev/mossdev/stack/services/redis"
	s3svc "github.com/mossdev/mossdev/stack/services/s3"
)

// MaxIsolations is how many Isolations a stack holds at once, across every
// process sharing it: Redis numbers its databases 0-15 and the app's data
// is in 0. An Isolated call beyond that waits for one to end.
const MaxIsolations = 15

// Isolation is one test's own copy of the seeded data, in every store of
// the stack where a copy is cheap (see the package doc for what each
// store gives and costs). Its URLs and Env point the test's code at it;
// everything it made is removed when the test ends.
type Isolation struct {
	// Slot numbers the isolation among those alive on the stack (1 to
	// MaxIsolations); every name below derives from it.
	Slot int
	// Postgres is the PostgreSQL database (through PgBouncer, like the app
	// database), MariaDB the MariaDB database, Mongo the MongoDB database.
	Postgres, MariaDB, Mongo string
	// RedisDB is the database index on every Redis shard.
	RedisDB int
	// IndexPrefix starts the names of the Elasticsearch indices (the
	// seeded "cards" is IndexPrefix+"cards").
	IndexPrefix string
	// Bucket is the S3 bucket holding the card images.
	Bucket string
	// VHost is the RabbitMQ virtual host.
	VHost string
	// Took is what the copy cost per store (wall time, in parallel).
	Took map[string]time.Duration

	vars map[string]string // the variables that differ from the stack's
	base []stack.Var
	urls map[string]string // by service
}

// Isolated gives the test its own copy of the seeded data (the stack must
// be seeded: WithSeed), removed by t.Cleanup, so tests can run with
// t.Parallel() and write the same keys, rows, documents and objects
// without seeing each other:
//
//	func TestLike(t *testing.T) {
//		t.Parallel()
//		iso := stacktest.Isolated(t)
//		db, _ := pgx.Connect(t.Context(), iso.URL("postgres"))
//		...
//	}
//
// Code that reads its configuration from the environment gets iso.Env().
func Isolated(t testing.TB) *Isolation {
	t.Helper()
	s := Stack(t)
	env := Runtime(t)
	m, err := checkpoint.Get(env.Dir, checkpoint.SeedName)
	if errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("stacktest.Isolated: stack %s was never seeded, so there is no seeded data to copy: "+
			"give TestMain stacktest.Main(m, stacktest.WithSeed(seed.Small)) (or another scale)", env.Stack)
	}
	if err != nil {
		t.Fatalf("stacktest.Isolated: %v", err)
	}
	// No Reset runs while the isolation lives (see resetLock); registered
	// before the slot's release, so it is let go last.
	if err := holdIsolation(t, env); err != nil {
		t.Fatalf("stacktest.Isolated: %v", err)
	}
	slot, release, err := takeSlot(t.Context(), env.Dir)
	if err != nil {
		t.Fatalf("stacktest.Isolated: %v", err)
	}
	// Registered first, so it runs last: the slot is free only once every
	// store's copy is gone.
	t.Cleanup(release)
	base, err := s.Vars()
	if err != nil {
		t.Fatalf("stacktest.Isolated: %v", err)
	}
	iso := &Isolation{Slot: slot, RedisDB: slot, base: base, vars: map[string]string{}, urls: map[string]string{},
		Took: map[string]time.Duration{}}
	var mu sync.Mutex
	var cleanups []func(context.Context) error
	g, ctx := errgroup.WithContext(t.Context())
	for _, c := range isoStores {
		if _, ok := env.Ports[c.service]; !ok {
			continue
		}
		g.Go(func() error {
			t0 := time.Now()
			undo, err := c.copy(ctx, env, m, iso, &mu)
			mu.Lock()
			defer mu.Unlock()
			if undo != nil {
				cleanups = append(cleanups, undo)
			}
			iso.Took[c.store] = time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", c.store, err)
			}
			return nil
		})
	}
	err = g.Wait()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var errs []error
		for _, undo := range slices.Backward(cleanups) {
			errs = append(errs, undo(ctx))
		}
		if err := errors.Join(errs...); err != nil {
			t.Errorf("stacktest.Isolated: remove isolation %d: %v", slot, err)
		}
	})
	if err != nil {
		t.Fatalf("stacktest.Isolated: copy the seeded data: %v", err)
	}
	return iso
}

// URL is the service's URL for this isolation (the stack's where the
// isolation changes nothing, as for S3's endpoint: use Bucket).
func (iso *Isolation) URL(service string) string {
	if u, ok := iso.urls[service]; ok {
		return u
	}
	for _, v := range iso.base {
		if v.Service == service && v.Name == stack.EnvName(service, "URL") {
			return v.Value
		}
	}
	return ""
}

// Env is the environment `mossdev env` prints, pointed at this
// isolation: KEY=VALUE lines for exec.Cmd.Env or os.Setenv. It adds
// MOSSDEV_ELASTICSEARCH_INDEX_PREFIX and MOSSDEV_RABBITMQ_VHOST.
func (iso *Isolation) Env() []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range iso.base {
		val := v.Value
		if o, ok := iso.vars[v.Name]; ok {
			val = o
		}
		seen[v.Name] = true
		out = append(out, v.Name+"="+val)
	}
	for k, v := range iso.vars {
		if !seen[k] {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out[len(iso.base):])
	return out
}

// takeSlot claims a free isolation slot with a flock on a file in the
// stack's directory: unique across every process sharing the stack, and
// freed by the kernel if the test binary dies. What a dead holder left in
// the stores under the slot's names is replaced by the next holder.
func takeSlot(ctx context.Context, stackDir string) (int, func(), error) {
	dir := filepath.Join(stackDir, "stacktest")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, nil, err
	}
	for {
		for n := 1; n <= MaxIsolations; n++ {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("isolation-%d.lock", n)), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return 0, nil, err
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
				return n, func() { f.Close() }, nil
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("all %d isolations of the stack are in use (Redis has 16 databases): %w", MaxIsolations, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// isoStore copies one store's seeded data into the isolation; the
// returned undo (also after a failed copy) removes what it made.
type isoStore struct {
	store, service string
	copy           func(ctx context.Context, e *stack.Runtime, m *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error)
}

var isoStores = []isoStore{
	{load.Postgres, "pgbouncer", isoPostgres},
	{load.MariaDB, "mariadb", isoMariaDB},
	{load.Mongo, "mongodb", isoMongo},
	{load.Elasticsearch, "elasticsearch", isoElastic},
	{load.S3, "s3", isoS3},
	{load.Redis, "redis-0", isoRedis},
	{load.RabbitMQ, "haproxy", isoRabbit},
}

func withPath(raw, path string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = path
	return u.String()
}

// PostgreSQL: CREATE DATABASE ... TEMPLATE of the seed checkpoint's copy,
// a file copy inside the server. The app database cannot be the template
// (it has clients); the checkpoint's copy never does. PgBouncer's
// [databases] has a "*" entry, so the new database is reachable through
// the pooler like the app's.
func isoPostgres(ctx context.Context, e *stack.Runtime, m *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	db := fmt.Sprintf("mossi_iso_%d", iso.Slot)
	super, err := pgx.Connect(ctx, postgres.SuperuserURL(e, "postgres"))
	if err != nil {
		return nil, err
	}
	defer super.Close(context.WithoutCancel(ctx))
	drop := func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, postgres.SuperuserURL(e, "postgres"))
		if err != nil {
			return err
		}
		defer c.Close(context.WithoutCancel(ctx))
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
		return err
	}
	if err := drop(ctx); err != nil {
		return nil, err
	}
	tpl := m.PostgresDB()
	var owner string
	if err := super.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", tpl).Scan(&owner); err != nil {
		return nil, fmt.Errorf("the seed checkpoint's database %s: %w", tpl, err)
	}
	if _, err := super.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE %s STRATEGY %s", pgx.Identifier{db}.Sanitize(),
		pgx.Identifier{owner}.Sanitize(), pgx.Identifier{tpl}.Sanitize(), load.CopyStrategy(ctx, super, tpl))); err != nil {
		return drop, fmt.Errorf("clone %s: %w", tpl, err)
	}
	mu.Lock()
	defer mu.Unlock()
	iso.Postgres = db
	iso.urls["postgres"] = withPath(pgbouncer.AppURL(e), "/"+db)
	iso.vars[stack.EnvName("postgres", "URL")] = iso.urls["postgres"]
	iso.vars[stack.EnvName("postgres", "DIRECT_URL")] = withPath(postgres.DirectURL(e), "/"+db)
	return drop, nil
}

// MariaDB: a database of the same server, each table made LIKE the app's
// and filled with INSERT ... SELECT (MariaDB has no template databases),
// granted to the app user.
func isoMariaDB(ctx context.Context, e *stack.Runtime, _ *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	db := fmt.Sprintf("mossi_iso_%d", iso.Slot)
	root, err := sql.Open("mysql", mariadb.RootDSN(e))
	if err != nil {
		return nil, err
	}
	root.SetMaxOpenConns(1)
	q := "`" + db + "`"
	drop := func(ctx context.Context) error {
		defer root.Close()
		_, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q)
		return err
	}
	if _, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q); err != nil {
		return drop, err
	}
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+q+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return drop, err
	}
	cfg, err := mysql.ParseDSN(mariadb.DSN(e))
	if err != nil {
		return drop, err
	}
	var host string
	if err := root.QueryRowContext(ctx, "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host = 'localhost' LIMIT 1", cfg.User).Scan(&host); err != nil {
		return drop, fmt.Errorf("find the app user %s: %w", cfg.User, err)
	}
	if _, err := root.ExecContext(ctx, fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%s'", q, cfg.User, host)); err != nil {
		return drop, err
	}
	rows, err := root.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", cfg.DBName)
	if err != nil {
		return drop, err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return drop, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		src, dst := "`"+cfg.DBName+"`.`"+tb+"`", q+".`"+tb+"`"
		if _, err := root.ExecContext(ctx, "CREATE TABLE "+dst+" LIKE "+src); err != nil {
			return drop, err
		}
		if _, err := root.ExecContext(ctx, "INSERT INTO "+dst+" SELECT * FROM "+src); err != nil {
			return drop, fmt.Errorf("copy table %s: %w", tb, err)
		}
	}
	cfg.DBName = db
	mu.Lock()
	defer mu.Unlock()
	iso.MariaDB = db
	iso.urls["mariadb"] = withPath(mariaURL(iso.base), "/"+db)
	iso.vars[stack.EnvName("mariadb", "URL")] = iso.urls["mariadb"]
	iso.vars[stack.EnvName("mariadb", "DSN")] = cfg.FormatDSN()
	return drop, nil
}

func mariaURL(vars []stack.Var) string {
	for _, v := range vars {
		if v.Name == stack.EnvName("mariadb", "URL") {
			return v.Value
		}
	}
	return ""
}

// MongoDB: a database of its own, filled through the wire protocol
// (collections, documents, indexes): FerretDB keeps every database in one
// PostgreSQL database, so there is no copy of one database to clone.
func isoMongo(ctx context.Context, e *stack.Runtime, _ *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	db := fmt.Sprintf("mossi_iso_%d", iso.Slot)
	c, err := mongo.Connect(options.Client().ApplyURI(mongodb.URL(e)))
	if err != nil {
		return nil, err
	}
	drop := func(ctx context.Context) error {
		defer c.Disconnect(context.WithoutCancel(ctx)) //nolint:errcheck // closing
		return c.Database(db).Drop(ctx)
	}
	if err := c.Database(db).Drop(ctx); err != nil {
		return drop, err
	}
	src, dst := c.Database(load.MongoDB), c.Database(db)
	names, err := src.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return drop, err
	}
	for _, n := range names {
		if err := copyCollection(ctx, src.Collection(n), dst.Collection(n)); err != nil {
			return drop, fmt.Errorf("collection %s: %w", n, err)
		}
	}
	u := withPath(mongodb.URL(e), "/"+db)
	mu.Lock()
	defer mu.Unlock()
	iso.Mongo = db
	iso.urls["mongodb"] = u
	iso.vars[stack.EnvName("mongodb", "URL")] = u
	return drop, nil
}

func copyCollection(ctx context.Context, src, dst *mongo.Collection) error {
	if err := dst.Database().CreateCollection(ctx, dst.Name()); err != nil {
		return err
	}
	cur, err := src.Indexes().List(ctx)
	if err != nil {
		return err
	}
	var specs []bson.D
	if err := cur.All(ctx, &specs); err != nil {
		return err
	}
	for _, spec := range specs {
		var keys any
		var name string
		unique := false
		for _, el := range spec {
			switch el.Key {
			case "key":
				keys = el.Value
			case "name":
				name, _ = el.Value.(string)
			case "unique":
				unique, _ = el.Value.(bool)
			}
		}
		if name == "_id_" || keys == nil {
			continue
		}
		if _, err := dst.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys,
			Options: options.Index().SetName(name).SetUnique(unique)}); err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	docs, err := src.Find(ctx, bson.D{}, options.Find().SetBatchSize(5000))
	if err != nil {
		return err
	}
	defer docs.Close(ctx)
	batch := make([]any, 0, 5000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := dst.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		batch = batch[:0]
		return err
	}
	for docs.Next(ctx) {
		batch = append(batch, bson.Raw(slices.Clone(docs.Current)))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := docs.Err(); err != nil {
		return err
	}
	return flush()
}

// Elasticsearch: the seeded index under the isolation's prefix, with the
// same mapping, its documents read with _mget (ids 1 to the seed's card
// count) and written with _bulk. The emulator has no _reindex or restore
// with rename_pattern; these calls work on both it and a real server.
func isoElastic(ctx context.Context, e *stack.Runtime, m *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	base := ""
	for _, v := range iso.base {
		if v.Name == stack.EnvName("elasticsearch", "URL") {
			base = v.Value
		}
	}
	prefix := fmt.Sprintf("iso-%d-", iso.Slot)
	dst := prefix + load.CardsIndex
	do := func(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if strings.HasSuffix(path, "_bulk") || strings.Contains(path, "_bulk?") {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return b, res.StatusCode, err
	}
	// By name: Elasticsearch 8 refuses wildcard deletes
	// (action.destructive_requires_name), and so does the emulator.
	drop := func(ctx context.Context) error {
		_, code, err := do(ctx, http.MethodDelete, "/"+dst, nil)
		if err == nil && code/100 != 2 && code != 404 {
			err = fmt.Errorf("delete %s: status %d", dst, code)
		}
		return err
	}
	if err := drop(ctx); err != nil {
		return nil, err
	}
	b, code, err := do(ctx, http.MethodGet, "/"+load.CardsIndex+"/_mapping", nil)
	if err != nil || code != 200 {
		return drop, fmt.Errorf("mapping of %s: %d %s %v", load.CardsIndex, code, b, err)
	}
	var mapping map[string]struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	if err := json.Unmarshal(b, &mapping); err != nil {
		return drop, err
	}
	create, _ := json.Marshal(map[string]any{"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
		"mappings": mapping[load.CardsIndex].Mappings})
	if b, code, err := do(ctx, http.MethodPut, "/"+dst, create); err != nil || code/100 != 2 {
		return drop, fmt.Errorf("create %s: %d %s %v", dst, code, b, err)
	}
	var cards int64
	if m.Dataset != nil {
		cards = m.Dataset.Cards
	}
	const page = 1000
	for lo := int64(1); lo <= cards; lo += page {
		var ids []string
		for id := lo; id < lo+page && id <= cards; id++ {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		q, _ := json.Marshal(map[string]any{"ids": ids})
		b, code, err := do(ctx, http.MethodPost, "/"+load.CardsIndex+"/_mget", q)
		if err != nil || code != 200 {
			return drop, fmt.Errorf("read %s: %d %.200s %v", load.CardsIndex, code, b, err)
		}
		var got struct {
			Docs []struct {
				ID     string          `json:"_id"`
				Found  bool            `json:"found"`
				Source json.RawMessage `json:"_source"`
			} `json:"docs"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			return drop, err
		}
		var bulk bytes.Buffer
		for _, d := range got.Docs {
			if !d.Found {
				continue
			}
			fmt.Fprintf(&bulk, `{"index":{"_id":%q}}`+"\n%s\n", d.ID, d.Source)
		}
		if bulk.Len() == 0 {
			continue
		}
		b, code, err = do(ctx, http.MethodPost, "/"+dst+"/_bulk", bulk.Bytes())
		if err != nil || code != 200 || bytes.Contains(b, []byte(`"errors":true`)) {
			return drop, fmt.Errorf("write %s: %d %.300s %v", dst, code, b, err)
		}
	}
	if b, code, err := do(ctx, http.MethodPost, "/"+dst+"/_refresh", nil); err != nil || code != 200 {
		return drop, fmt.Errorf("refresh %s: %d %s %v", dst, code, b, err)
	}
	mu.Lock()
	defer mu.Unlock()
	iso.IndexPrefix = prefix
	iso.vars[stack.EnvName("elasticsearch", "INDEX_PREFIX")] = prefix
	return drop, nil
}

// S3: a bucket of its own, every object of the image bucket copied into
// it.
func isoS3(ctx context.Context, e *stack.Runtime, _ *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	t := load.TargetsFor(e).S3
	c := load.NewS3(t)
	bucket := fmt.Sprintf("%s-iso-%d", s3svc.Bucket, iso.Slot)
	drop := func(ctx context.Context) error {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				var nb *s3types.NoSuchBucket
				if errors.As(err, &nb) || strings.Contains(err.Error(), "NoSuchBucket") {
					return nil
				}
				return err
			}
			if len(out.Contents) == 0 {
				break
			}
			var ids []s3types.ObjectIdentifier
			for _, o := range out.Contents {
				ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
			}
			if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return err
			}
		}
		_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		return err
	}
	if err := drop(ctx); err != nil {
		return nil, err
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return drop, err
	}
	// One object at a time, and one isolation at a time across every
	// process sharing the stack: the S3 fake's bolt backend (gofakes3)
	// dies with SIGSEGV when a read overlaps a write (a GetObject body or
	// a CopyObject source hash is read from bolt's mmap after its
	// transaction ends, and a concurrent write remaps it). Get and put,
	// not CopyObject, for the same reason.
	unlock, err := flockFile(ctx, filepath.Join(e.Dir, "stacktest", "s3-copy.lock"), syscall.LOCK_EX)
	if err != nil {
		return drop, err
	}
	defer unlock()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(t.Bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return drop, err
		}
		for _, o := range out.Contents {
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.Bucket), Key: o.Key})
			if err != nil {
				return drop, fmt.Errorf("copy %s: %w", aws.ToString(o.Key), err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return drop, fmt.Errorf("copy %s: %w", aws.ToString(o.Key), err)
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: o.Key, Body: bytes.NewReader(body),
				ContentType: obj.ContentType, Metadata: obj.Metadata}); err != nil {
				return drop, fmt.Errorf("copy %s: %w", aws.ToString(o.Key), err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	iso.Bucket = bucket
	iso.vars[stack.EnvName("s3", "BUCKET")] = bucket
	return drop, nil
}

// Redis: database index Slot on every shard (SELECT n; URLs end in /n),
// each key of database 0 copied with COPY ... DB n (server-side, no
// payload through the client).
func isoRedis(ctx context.Context, e *stack.Runtime, _ *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	n := iso.Slot
	// One client on database 0 (the source of COPY), one on database n
	// (FLUSHDB): a SELECT on a pooled connection would leak to others.
	var clients, isoClients []*redis.Client
	var urls []string
	for i := range e.Options.RedisShards {
		u := redissvc.ShardURL(e, i)
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, err
		}
		clients = append(clients, redis.NewClient(opt))
		iopt := *opt
		iopt.DB = n
		isoClients = append(isoClients, redis.NewClient(&iopt))
		urls = append(urls, withPath(u, "/"+strconv.Itoa(n)))
	}
	flush := func(ctx context.Context) error {
		var errs []error
		for _, c := range isoClients {
			errs = append(errs, c.FlushDB(ctx).Err())
		}
		return errors.Join(errs...)
	}
	undo := func(ctx context.Context) error {
		err := flush(ctx)
		for _, c := range append(clients, isoClients...) {
			c.Close()
		}
		return err
	}
	if err := flush(ctx); err != nil {
		return undo, err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range clients {
		g.Go(func() error {
			var cursor uint64
			for {
				keys, next, err := c.Scan(gctx, cursor, "*", 1000).Result()
				if err != nil {
					return err
				}
				pipe := c.Pipeline()
				for _, k := range keys {
					pipe.Copy(gctx, k, k, n, true)
				}
				if _, err := pipe.Exec(gctx); err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				if cursor = next; cursor == 0 {
					return nil
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return undo, err
	}
	mu.Lock()
	defer mu.Unlock()
	for i, u := range urls {
		name := redissvc.ShardName(i)
		iso.urls[name] = u
		iso.vars[stack.EnvName(name, "URL")] = u
	}
	return undo, nil
}

// RabbitMQ: a virtual host of its own (rabbitmqctl add_vhost, then
// set_permissions for the app user) with the broker's durable queues
// declared in it as in "/". The messages are not copied: a broker can
// only read a queue by consuming it, which would disturb the shared one.
func isoRabbit(ctx context.Context, e *stack.Runtime, _ *checkpoint.Manifest, iso *Isolation, mu *sync.Mutex) (func(context.Context) error, error) {
	vh := fmt.Sprintf("mossi-iso-%d", iso.Slot)
	drop := func(ctx context.Context) error {
		out, err := rabbitmq.Ctl(ctx, e, 1, "delete_vhost", vh)
		if err != nil && strings.Contains(out, "does not exist") {
			return nil
		}
		return err
	}
	// rabbitmqctl starts an Erlang VM per call (seconds each): the queue
	// listing runs beside the vhost's creation.
	type listing struct {
		out string
		err error
	}
	listed := make(chan listing, 1)
	go func() {
		out, err := rabbitmq.Ctl(ctx, e, 1, "list_queues", "-q", "--formatter", "json", "name", "durable", "auto_delete", "exclusive", "arguments")
		listed <- listing{out, err}
	}()
	if out, err := rabbitmq.Ctl(ctx, e, 1, "add_vhost", vh); err != nil {
		if !strings.Contains(out+err.Error(), "already exists") {
			<-listed
			return drop, err
		}
		// What a dead holder of the slot left.
		if err := drop(ctx); err != nil {
			<-listed
			return drop, err
		}
		if _, err := rabbitmq.Ctl(ctx, e, 1, "add_vhost", vh); err != nil {
			<-listed
			return drop, err
		}
	}
	amqpURL := haproxy.AMQPURL(e)
	u, err := url.Parse(amqpURL)
	if err != nil {
		<-listed
		return drop, err
	}
	if _, err := rabbitmq.Ctl(ctx, e, 1, "set_permissions", "-p", vh, u.User.Username(), ".*", ".*", ".*"); err != nil {
		<-listed
		return drop, err
	}
	l := <-listed
	if l.err != nil {
		return drop, l.err
	}
	out := l.out
	var queues []struct {
		Name       string          `json:"name"`
		Durable    bool            `json:"durable"`
		AutoDelete bool            `json:"auto_delete"`
		Exclusive  bool            `json:"exclusive"`
		Arguments  json.RawMessage `json:"arguments"`
	}
	if i := strings.Index(out, "["); i >= 0 {
		_ = json.Unmarshal([]byte(out[i:]), &queues)
	}
	u.Path = "/" + vh
	u.RawPath = "/" + url.PathEscape(vh)
	conn, err := amqp.Dial(u.String())
	if err != nil {
		return drop, fmt.Errorf("connect to vhost %s: %w", vh, err)
	}
	defer conn.Close()
	for _, q := range queues {
		if !q.Durable || q.Exclusive || q.AutoDelete || strings.HasPrefix(q.Name, "amq.") {
			continue
		}
		ch, err := conn.Channel()
		if err != nil {
			return drop, err
		}
		_, err = ch.QueueDeclare(q.Name, true, false, false, false, queueArgs(q.Arguments))
		ch.Close()
		if err != nil {
			return drop, fmt.Errorf("declare %s: %w", q.Name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	iso.VHost = vh
	iso.urls["haproxy"] = u.String()
	iso.vars[stack.EnvName("haproxy", "URL")] = u.String()
	iso.vars["MOSSDEV_RABBITMQ_URL"] = u.String()
	iso.vars["MOSSDEV_RABBITMQ_VHOST"] = vh
	return drop, nil
}

// queueArgs reads rabbitmqctl's rendering of queue arguments: an object,
// or (older versions) a list of [key, value] pairs; JSON numbers become
// AMQP integers where they are whole.
func queueArgs(raw json.RawMessage) amqp.Table {
	out := amqp.Table{}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		for k, v := range obj {
			out[k] = argValue(v)
		}
		return out
	}
	var pairs [][]any
	if json.Unmarshal(raw, &pairs) == nil {
		for _, p := range pairs {
			if len(p) == 2 {
				if k, ok := p[0].(string); ok {
					out[k] = argValue(p[1])
				}
			}
		}
	}
	return out
}

func argValue(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}
