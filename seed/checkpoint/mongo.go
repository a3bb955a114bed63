package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mossdev/mossdev/seed/load"
)

// newMongo picks the method by server: the FerretDB stand-in keeps every
// collection in a PostgreSQL database, which is copied like the app's;
// a real MongoDB (the docker backend's official image) copies collections
// into a database of its own.
func newMongo(ctx context.Context, t Target) (store, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(t.Targets.Mongo))
	if err != nil {
		return nil, err
	}
	var info bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("buildInfo: %w", err)
	}
	version, _ := info["version"].(string)
	if fv, ok := info["ferretdbVersion"].(string); ok && t.Targets.MongoStorage != "" && !t.forceWire && ferretOnPostgres(t) {
		u, err := url.Parse(t.Targets.MongoStorage)
		if err != nil {
			_ = client.Disconnect(context.Background())
			return nil, err
		}
		super, err := connectSuper(ctx, t.Targets.PostgresSuper)
		if err != nil {
			_ = client.Disconnect(context.Background())
			return nil, err
		}
		return &ferretStore{t: t, client: client, ver: "FerretDB " + fv + " (MongoDB " + version + ")",
			pgDB: pgDB{super: super, db: strings.TrimPrefix(u.Path, "/"), prefix: "mossdev_ckm_"}}, nil
	}
	if fv, ok := info["ferretdbVersion"].(string); ok {
		version = "FerretDB " + fv + " (MongoDB " + version + ")"
	}
	return &wireMongo{client: client, ver: version, db: load.MongoDB}, nil
}

// ferretOnPostgres reports whether the FerretDB answering keeps its
// documents in the stack's PostgreSQL: the native stand-in does (from its
// first start, before any collection exists); the docker stand-in image
// keeps them in SQLite files of its own.
func ferretOnPostgres(t Target) bool { return t.Env.Backend == "native" }

// ferretStore checkpoints the FerretDB stand-in through its storage
// database.
type ferretStore struct {
	t      Target
	client *mongo.Client
	ver    string
	pgDB
}

func (s *ferretStore) name() string { return load.Mongo }
func (s *ferretStore) method() string {
	return "template copy of FerretDB's PostgreSQL storage database, swapped in by rename"
}
func (s *ferretStore) close() {
	_ = s.client.Disconnect(context.Background())
	s.super.Close(context.Background())
}
func (s *ferretStore) version(context.Context) (string, error) { return s.ver, nil }

// FerretDB writes cannot be held (it has no such switch): the copy cuts its
// sessions on the storage database for the instant of the copy, and a
// request in that instant gets an error its driver retries.
func (s *ferretStore) hold(_ context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	save := func(ctx context.Context) (Part, error) {
		n, err := s.copy(ctx, id)
		if err != nil {
			return Part{}, err
		}
		d, err := s.metadata(ctx, s.ckName(id))
		if err != nil {
			return Part{}, err
		}
		info, _ := json.Marshal(ferretInfo{Metadata: d})
		s.flush(ctx)
		return Part{Bytes: n, Info: info}, nil
	}
	return save, func() {}, nil
}

// ferretPool is the most connections FerretDB 1.x keeps to PostgreSQL
// (its pool_max_conns default).
const ferretPool = 50

// flush takes the hit of FerretDB's cut connections so apps do not: the
// copy and the swap terminate its sessions on the storage database, and
// its pool hands a connection used within the last second out again
// without a ping, so the next request on each would fail once. As many
// requests at once as the pool has connections use every one of them; a
// broken one fails here and is dropped. (A one-document find on the
// seed's marker collection: a count would decode a whole collection.)
func (s *ferretStore) flush(ctx context.Context) {
	var wg sync.WaitGroup
	for range ferretPool {
		wg.Go(func() {
			_ = s.client.Database(load.MongoDB).Collection("mossdev_seed").FindOne(ctx, bson.D{}).Err()
		})
	}
	wg.Wait()
}

type ferretInfo struct {
	// Metadata digests FerretDB's collection list, which it caches: a
	// restore that changes it restarts FerretDB.
	Metadata string `json:"metadata"`
}

// metadata digests every FerretDB metadata table of database db.
func (s *ferretStore) metadata(ctx context.Context, db string) (string, error) {
	u, err := url.Parse(s.t.Targets.MongoStorage)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT table_schema FROM information_schema.tables
		WHERE table_name = '_ferretdb_database_metadata' ORDER BY 1`)
	if err != nil {
		return "", err
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, sc := range schemas {
		var agg *string
		q := fmt.Sprintf(`SELECT string_agg(_jsonb::text, ',' ORDER BY _jsonb->>'_id') FROM %s`,
			pgx.Identifier{sc, "_ferretdb_database_metadata"}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&agg); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n", sc)
		if agg != nil {
			h.Write([]byte(*agg))
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *ferretStore) restore(ctx context.Context, id, _ string, p Part, o Options) (string, error) {
	var info ferretInfo
	_ = json.Unmarshal(p.Info, &info)
	before, err := s.metadata(ctx, s.db)
	if err != nil {
		return "", fmt.Errorf("read FerretDB's collections: %w", err)
	}
	spare, err := s.swapIn(ctx, id, nil)
	if err != nil {
		return "", err
	}
	what := "copied and renamed in the storage database"
	if spare {
		what = "renamed in the spare storage database"
	}
	if before == info.Metadata {
		s.flush(ctx)
		return what, nil
	}
	if o.Restart == nil {
		return "", errors.New("FerretDB's collections changed under it: restart it (mossdev stop mongodb && mossdev start mongodb)")
	}
	if err := o.Restart(ctx, "mongodb"); err != nil {
		return "", fmt.Errorf("restart FerretDB after its collections changed: %w", err)
	}
	return what + ", restarted FerretDB (its collections changed)", nil
}

// The seed cache keeps FerretDB's storage as a pg_dump archive of the
// checkpoint's copy: restoring it (pg_restore, COPY underneath) takes a
// fraction of the time inserting the view log through FerretDB does.
func (s *ferretStore) cacheVersion(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		return "", nil // no client tools here: not cached
	}
	var pgv string
	if err := s.super.QueryRow(ctx, "SHOW server_version").Scan(&pgv); err != nil {
		return "", err
	}
	return s.ver + " on PostgreSQL " + pgv, nil
}

// pgEnv is the libpq environment for the superuser on database db: the
// password goes in the environment, never on a command line.
func (s *ferretStore) pgEnv(db string) ([]string, error) {
	u, err := url.Parse(s.t.Targets.PostgresSuper)
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	return append(os.Environ(), "PGHOST="+u.Hostname(), "PGPORT="+u.Port(), "PGUSER="+u.User.Username(),
		"PGPASSWORD="+pw, "PGDATABASE="+db, "PGSSLMODE=disable"), nil
}

func (s *ferretStore) export(ctx context.Context, id, dir string) (int64, bool, error) {
	env, err := s.pgEnv(s.ckName(id))
	if err != nil {
		return 0, false, err
	}
	out := filepath.Join(dir, "ferretdb.dump")
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--compress=1", "--no-owner", "--no-acl", "--file="+out)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, false, fmt.Errorf("pg_dump: %w: %s", err, strings.TrimSpace(string(b)))
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, false, err
	}
	return fi.Size(), true, nil
}

// load restores the archive into a new database owned by FerretDB's role
// (pg_restore as that role, so FerretDB owns every table), swaps it in by
// rename and restarts FerretDB, whose collection list is cached.
func (s *ferretStore) load(ctx context.Context, dir string, o Options) error {
	if o.Restart == nil {
		return errors.New("FerretDB must be restarted after its storage is replaced, and nothing can restart it here")
	}
	var owner string
	if err := s.super.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, s.db).Scan(&owner); err != nil {
		return err
	}
	next := s.db + "__import"
	if _, err := s.super.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{next}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := s.super.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgx.Identifier{next}.Sanitize(), pgx.Identifier{owner}.Sanitize())); err != nil {
		return err
	}
	env, err := s.pgEnv(next)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pg_restore", "--no-owner", "--no-acl", "--role="+owner, "--jobs=2", "--dbname="+next, filepath.Join(dir, "ferretdb.dump"))
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_restore: %w: %s", err, strings.TrimSpace(string(b)))
	}
	old := pgx.Identifier{s.db + "__old"}.Sanitize()
	if _, err := s.super.Exec(ctx, "DROP DATABASE IF EXISTS "+old+" WITH (FORCE)"); err != nil {
		return err
	}
	err = load.Alone(ctx, s.super, s.db, func() error {
		tx, err := s.super.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit, a no-op
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{s.db}.Sanitize(), old)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{next}.Sanitize(), pgx.Identifier{s.db}.Sanitize())); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return fmt.Errorf("swap in the cached storage: %w", err)
	}
	if _, err := s.super.Exec(ctx, "DROP DATABASE IF EXISTS "+old+" WITH (FORCE)"); err != nil {
		return err
	}
	return o.Restart(ctx, "mongodb")
}
