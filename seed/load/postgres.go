package load

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mossdev/mossdev/seed"
)

// TemplateDB is the snapshot of the seeded app database, taken at the end
// of a seed (CREATE DATABASE ... TEMPLATE copies files). Its comment holds
// the marker of the seed it was taken from, which verify checks.
const TemplateDB = "mossi_seed"

// pgTables are the seeded tables, referencing ones last, and the ones
// pg_prewarm loads into shared buffers after a load (the cache warm-up
// Mossi did with vmtouch).
var pgTables = []string{"card_hashtags", "cards", "hashtags", "users"}

// connectPG connects for work through PgBouncer in transaction pooling:
// no named prepared statements (they would not survive the transaction),
// so statements with arguments use the extended protocol unnamed
// (QueryExecModeExec) and COPY describes its columns unnamed too.
func connectPG(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	return pgx.ConnectConfig(ctx, cfg)
}

type pgStore struct {
	t    Targets
	conn *pgx.Conn // through PgBouncer
}

// newPG connects through PgBouncer. Seed migrates first; a database that
// was never migrated simply has no marker.
func newPG(ctx context.Context, t Targets) (*pgStore, error) {
	conn, err := connectPG(ctx, t.Postgres)
	if err != nil {
		return nil, fmt.Errorf("connect through pgbouncer: %w", err)
	}
	return &pgStore{t: t, conn: conn}, nil
}

// reconnect replaces the connection after PgBouncer's pool was paused or
// killed for a template copy.
func (s *pgStore) reconnect(ctx context.Context) error {
	s.conn.Close(ctx)
	conn, err := connectPG(ctx, s.t.Postgres)
	if err != nil {
		return fmt.Errorf("reconnect through pgbouncer: %w", err)
	}
	s.conn = conn
	return nil
}

func (s *pgStore) name() string { return Postgres }
func (s *pgStore) close()       { s.conn.Close(context.Background()) }

func (s *pgStore) marker(ctx context.Context) (Marker, error) {
	return pgManifestRow(ctx, s.conn, Postgres)
}

func pgManifestRow(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, store string) (Marker, error) {
	var m Marker
	var seedText string
	err := q.QueryRow(ctx, `SELECT fingerprint, seed, cards, complete, rows, updated_at
		FROM mossdev_seed WHERE store = $1`, store).Scan(&m.Fingerprint, &seedText, &m.Cards, &m.Complete, &m.Rows, &m.At)
	var pe *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		return Marker{}, nil
	}
	if err != nil {
		return Marker{}, fmt.Errorf("read seed manifest: %w", err)
	}
	_, err = fmt.Sscan(seedText, &m.Seed)
	return m, err
}

// upsertManifest records a store's marker in PostgreSQL's manifest table.
func upsertManifest(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, store string, m Marker, seconds float64) error {
	_, err := q.Exec(ctx, `INSERT INTO mossdev_seed (store, fingerprint, seed, cards, complete, rows, seconds, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		ON CONFLICT (store) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, seed = EXCLUDED.seed,
			cards = EXCLUDED.cards, complete = EXCLUDED.complete, rows = EXCLUDED.rows,
			seconds = EXCLUDED.seconds, updated_at = now()`,
		store, m.Fingerprint, fmt.Sprint(m.Seed), m.Cards, m.Complete, m.Rows, seconds)
	if err != nil {
		return fmt.Errorf("write seed manifest row %s: %w", store, err)
	}
	return nil
}

func (s *pgStore) total(ds *seed.Dataset) int64 {
	c := ds.Counts()
	return c.Users + ds.UsedTags() + c.Cards + links(ds)
}

// load replaces the data in one transaction: TRUNCATE, then COPY users,
// hashtags, cards and links in the order the foreign keys need, then the
// manifest row. An interrupted load rolls back whole, so the database holds
// either the previous dataset with its marker or the new one with its own.
func (s *pgStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	t0 := time.Now()
	var rows int64
	err := pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(pgTables, ", ")); err != nil {
			return err
		}
		readd, err := dropForeignKeys(ctx, tx)
		if err != nil {
			return err
		}
		n, err := copyTables(ctx, tx, "", pgRows{userRows(ds), tagRows(ds), cardRows(ds), linkRows(ds)}, m)
		if err != nil {
			return err
		}
		rows = n
		for _, q := range readd {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("restore foreign key: %w", err)
			}
		}
		return upsertManifest(ctx, tx, Postgres, newMarker(ds, true, rows), time.Since(t0).Seconds())
	})
	if err != nil {
		return fmt.Errorf("load postgres: %w", err)
	}
	// Statistics for the planner and the visibility map for index-only
	// scans; outside the transaction, as VACUUM must be.
	if _, err := s.conn.Exec(ctx, "VACUUM ANALYZE "+strings.Join(pgTables, ", ")); err != nil {
		return fmt.Errorf("vacuum after load: %w", err)
	}
	return nil
}

// pgRows are the rows of the seeded tables, in their COPY column order.
type pgRows struct{ users, hashtags, cards, links iter.Seq[[]any] }

// copyTables is the seed's bulk path into PostgreSQL: one COPY per table,
// in the order the foreign keys need, into the tables named prefix+name
// (raw.go measures it on scratch copies). It returns the rows copied.
func copyTables(ctx context.Context, tx pgx.Tx, prefix string, r pgRows, m *meter) (int64, error) {
	copies := []struct {
		table string
		cols  []string
		rows  iter.Seq[[]any]
	}{
		{"users", []string{"id", "nickname", "created_at"}, r.users},
		{"hashtags", []string{"id", "name"}, r.hashtags},
		{"cards", []string{"id", "user_id", "text", "image_key", "created_at", "latitude", "longitude",
			"place", "unique_view_count", "like_count"}, r.cards},
		{"card_hashtags", []string{"card_id", "position", "hashtag_id"}, r.links},
	}
	var rows int64
	for _, c := range copies {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{prefix + c.table}, c.cols, newCopySource(c.rows, m))
		if err != nil {
			return rows, fmt.Errorf("copy %s: %w", c.table, err)
		}
		rows += n
	}
	return rows, nil
}

// dropForeignKeys drops the foreign keys of the seeded tables and returns
// the statements that add them back. Checked row by row during COPY they
// cost an index probe and a trigger call per row (measured: 27 k links/s
// with them, 175 k/s without); added back after the load, each is one
// validating join. It all happens inside the load's transaction, so the
// schema is never seen without them, and the definitions are read from the
// catalog, so they follow the migrations.
func dropForeignKeys(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
		FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::regclass[]) ORDER BY conname`, pgTables)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	type fk struct{ table, name, def string }
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk, error) {
		var f fk
		return f, r.Scan(&f.table, &f.name, &f.def)
	})
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	var readd []string
	for _, f := range fks {
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", f.table, pgx.Identifier{f.name}.Sanitize())); err != nil {
			return nil, fmt.Errorf("drop foreign key %s: %w", f.name, err)
		}
		readd = append(readd, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", f.table, pgx.Identifier{f.name}.Sanitize(), f.def))
	}
	return readd, nil
}

func userRows(ds *seed.Dataset) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		for u := range ds.Users(1, ds.Counts().Users) {
			if !yield([]any{u.ID, u.Nickname, u.CreatedAt}) {
				return
			}
		}
	}
}

func tagRows(ds *seed.Dataset) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		for id := range usedTags(ds) {
			if !yield([]any{id, ds.Tag(id).Name}) {
				return
			}
		}
	}
}

func cardRows(ds *seed.Dataset) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		for c := range ds.Cards(1, ds.Counts().Cards) {
			var lat, lon, place any
			if l := c.Location; l != nil {
				lat, lon, place = l.Lat, l.Lon, l.Place
			}
			if !yield([]any{c.ID, c.UserID, c.Text, c.ImageKey, c.CreatedAt, lat, lon, place,
				int32(c.UniqueViewCount), int32(c.LikeCount)}) {
				return
			}
		}
	}
}

func linkRows(ds *seed.Dataset) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		for c := range ds.Cards(1, ds.Counts().Cards) {
			for i, t := range c.Tags {
				if !yield([]any{c.ID, int16(i), t.ID}) {
					return
				}
			}
		}
	}
}

// prewarm loads the seeded tables and their indexes into shared buffers,
// so the first queries after a seed or reset are served from memory.
func (s *pgStore) prewarm(ctx context.Context) error {
	_, err := s.conn.Exec(ctx, `SELECT pg_prewarm(c.oid) FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')
		AND (c.relname = ANY($1) OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ANY($1::regclass[])))`,
		pgTables)
	if err != nil {
		return fmt.Errorf("prewarm: %w", err)
	}
	return nil
}

// templateMarker reads the marker of the snapshot reset restores from.
func templateMarker(ctx context.Context, super *pgx.Conn) (Marker, bool, error) {
	var comment *string
	err := super.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`,
		TemplateDB).Scan(&comment)
	if errors.Is(err, pgx.ErrNoRows) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, fmt.Errorf("read template database: %w", err)
	}
	if comment == nil {
		return Marker{}, true, nil
	}
	m, err := parseMarker([]byte(*comment))
	return m, true, err
}

// AppDB is the database name in the PgBouncer URL.
func (t Targets) AppDB() string {
	u, err := url.Parse(t.Postgres)
	if err != nil {
		return "mossi"
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Exclusive runs fn while nothing else is connected to the app database:
// PgBouncer's pool for it is paused and direct sessions are terminated.
// CREATE DATABASE ... TEMPLATE and DROP DATABASE both need that.
func (t Targets) Exclusive(ctx context.Context, super *pgx.Conn, fn func() error) error {
	resume, err := t.PausePool(ctx)
	if err != nil {
		return err
	}
	defer resume()
	return Alone(ctx, super, t.AppDB(), fn)
}

// PausePool pauses PgBouncer's pool for the app database until resume is
// called: clients queue instead of failing, and PAUSE waits for running
// transactions to end and closes the server connections. A client that
// holds a transaction open longer than 5 s is cut rather than waited for.
// If this process dies, PgBouncer keeps the pause (it outlives the console
// session): ResumePool undoes it, and every checkpoint command calls it
// first.
func (t Targets) PausePool(ctx context.Context) (resume func(), err error) {
	db := t.AppDB()
	admin, err := connectAdmin(ctx, t.PgBouncerAdmin)
	if err != nil {
		return nil, fmt.Errorf("connect to pgbouncer console: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = admin.Exec(pctx, "PAUSE "+db)
	cancel()
	if err != nil && strings.Contains(err.Error(), "already") {
		err = nil // paused by a killed earlier run: ours now
	}
	if err != nil {
		// A client holds a transaction open: cut it rather than wait.
		admin.Close(context.WithoutCancel(ctx))
		if admin, err = connectAdmin(ctx, t.PgBouncerAdmin); err != nil {
			return nil, fmt.Errorf("reconnect to pgbouncer console: %w", err)
		}
		if _, err := admin.Exec(ctx, "KILL "+db); err != nil && !strings.Contains(err.Error(), "already") {
			admin.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("pgbouncer KILL %s: %w", db, err)
		}
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		_, _ = admin.Exec(ctx, "RESUME "+db) // best effort; reported by the next query
		admin.Close(ctx)
	}, nil
}

// ResumePool resumes PgBouncer's pool for the app database if a killed
// process left it paused or killed; a running pool is left alone.
func (t Targets) ResumePool(ctx context.Context) error {
	admin, err := connectAdmin(ctx, t.PgBouncerAdmin)
	if err != nil {
		return fmt.Errorf("connect to pgbouncer console: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "RESUME "+t.AppDB()); err != nil && !strings.Contains(err.Error(), "not paused") {
		return fmt.Errorf("pgbouncer RESUME: %w", err)
	}
	return nil
}

// Alone runs fn after terminating every other session on database db,
// again while a session slips in between ("being accessed by other
// users", 55006).
func Alone(ctx context.Context, super *pgx.Conn, db string, fn func() error) error {
	var last error
	for range 20 {
		if _, err := super.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, db); err != nil {
			return fmt.Errorf("terminate sessions on %s: %w", db, err)
		}
		if last = fn(); last == nil {
			return nil
		}
		var pe *pgconn.PgError
		if !errors.As(last, &pe) || pe.Code != "55006" {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

// connectAdmin opens PgBouncer's console, which speaks only the simple
// query protocol.
func connectAdmin(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}

// snapshot (re)creates the template database from the app database and
// records m on it.
func (t Targets) snapshot(ctx context.Context, m Marker) error {
	super, err := pgx.Connect(ctx, t.PostgresSuper)
	if err != nil {
		return fmt.Errorf("connect as superuser: %w", err)
	}
	defer super.Close(context.WithoutCancel(ctx))
	tpl := pgx.Identifier{TemplateDB}.Sanitize()
	if _, err := super.Exec(ctx, "DROP DATABASE IF EXISTS "+tpl+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop old template: %w", err)
	}
	err = t.Exclusive(ctx, super, func() error {
		_, err := super.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY %s",
			tpl, pgx.Identifier{t.AppDB()}.Sanitize(), CopyStrategy(ctx, super, t.AppDB())))
		return err
	})
	if err != nil {
		return fmt.Errorf("create template %s: %w", TemplateDB, err)
	}
	if _, err := super.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS %s", tpl, quoteLiteral(string(m.json())))); err != nil {
		return fmt.Errorf("mark template: %w", err)
	}
	return nil
}

// CopyStrategy picks how CREATE DATABASE copies: WAL_LOG (block by block
// through the WAL) for databases up to 256 MB, FILE_COPY (two checkpoints,
// then a file copy) above. Measured here on the 26 MB default-scale
// database: WAL_LOG 0.24-0.43 s, FILE_COPY 0.9-1.0 s, the checkpoints
// being the cost; for large databases, writing everything to the WAL
// costs more than they do.
func CopyStrategy(ctx context.Context, super *pgx.Conn, db string) string {
	var size int64
	if err := super.QueryRow(ctx, "SELECT pg_database_size($1)", db).Scan(&size); err == nil && size > 256<<20 {
		return "FILE_COPY"
	}
	return "WAL_LOG"
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
