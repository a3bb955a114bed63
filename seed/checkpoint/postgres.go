package checkpoint

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mossdev/mossdev/seed/load"
)

// A checkpoint of a PostgreSQL database is a database of the same server,
// made with CREATE DATABASE ... TEMPLATE: a file copy inside the server
// (no dump, no reload), whatever the size. Restoring copies it back to a
// new database and swaps the names in one transaction, so the app
// database is the old one or the checkpoint's, never half of either.
type pgDB struct {
	super *pgx.Conn
	// db is the database a checkpoint copies (the app's, or FerretDB's
	// storage); prefix names the checkpoint copies of it.
	db, prefix string
}

func (p *pgDB) ckName(id string) string { return p.prefix + id }

// copy makes checkpoint id's copy of the database. Nothing else may be
// connected to it: the caller holds the writers off, and Alone cuts the
// sessions that remain.
func (p *pgDB) copy(ctx context.Context, id string) (int64, error) {
	ck := pgx.Identifier{p.ckName(id)}.Sanitize()
	if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+ck); err != nil {
		return 0, err
	}
	// The copy keeps the database's owner, which the restored database
	// takes from it.
	var owner string
	if err := p.super.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, p.db).Scan(&owner); err != nil {
		return 0, fmt.Errorf("owner of %s: %w", p.db, err)
	}
	strategy := load.CopyStrategy(ctx, p.super, p.db)
	err := load.Alone(ctx, p.super, p.db, func() error {
		_, err := p.super.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE %s STRATEGY %s",
			ck, pgx.Identifier{owner}.Sanitize(), pgx.Identifier{p.db}.Sanitize(), strategy))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("copy database %s: %w", p.db, err)
	}
	var size int64
	_ = p.super.QueryRow(ctx, "SELECT pg_database_size($1)", p.ckName(id)).Scan(&size)
	return size, nil
}

// spareName is the ready copy of checkpoint id that the next restore
// renames in: copying a database costs 0.3-1.5 s here (the copy's WAL or
// its checkpoints, then fsync), a rename 2 ms. The copy is made ahead of
// time, after a save or a restore, by prepare.
func (p *pgDB) spareName(id string) string { return p.prefix + "next_" + id }
func (p *pgDB) oldName() string            { return p.db + "__old" }

func (p *pgDB) exists(ctx context.Context, db string) (bool, error) {
	var ok bool
	err := p.super.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&ok)
	return ok, err
}

// swapIn makes the database a copy of checkpoint id again: the spare copy
// if prepare made one, else a copy made now; the swap is two renames in
// one transaction, so the database is the old one or the checkpoint's,
// never half of either. pause, if not nil, holds the database's clients
// off for the instant of the swap. The replaced database is left as
// oldName for prepare to drop (dropping waits for a checkpoint).
func (p *pgDB) swapIn(ctx context.Context, id string, pause func(context.Context) (func(), error)) (spare bool, err error) {
	src := p.spareName(id)
	if spare, err = p.exists(ctx, src); err != nil {
		return false, err
	}
	if !spare {
		if err := p.makeCopy(ctx, id, src); err != nil {
			return false, err
		}
	}
	old := pgx.Identifier{p.oldName()}.Sanitize()
	if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+old+" WITH (FORCE)"); err != nil {
		return spare, err
	}
	if pause != nil {
		resume, err := pause(ctx)
		if err != nil {
			return spare, err
		}
		defer resume()
	}
	err = load.Alone(ctx, p.super, p.db, func() error {
		tx, err := p.super.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit, a no-op
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{p.db}.Sanitize(), old)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{src}.Sanitize(), pgx.Identifier{p.db}.Sanitize())); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return spare, fmt.Errorf("swap in the checkpoint of %s: %w", p.db, err)
	}
	return spare, nil
}

// makeCopy copies checkpoint id's database to db (replacing it). Nothing
// uses the checkpoint's database, so nothing needs to pause.
func (p *pgDB) makeCopy(ctx context.Context, id, db string) error {
	var owner string
	if err := p.super.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, p.ckName(id)).Scan(&owner); err != nil {
		return fmt.Errorf("checkpoint copy of %s: %w", p.db, err)
	}
	dst := pgx.Identifier{db}.Sanitize()
	if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+dst+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := p.super.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE %s STRATEGY %s", dst,
		pgx.Identifier{owner}.Sanitize(), pgx.Identifier{p.ckName(id)}.Sanitize(),
		load.CopyStrategy(ctx, p.super, p.ckName(id)))); err != nil {
		return fmt.Errorf("copy checkpoint of %s: %w", p.db, err)
	}
	return nil
}

// prepare drops what the last restore replaced and makes the spare copy
// of checkpoint id, dropping spares of other checkpoints (one spare per
// database: the disk holds one more copy, not one per checkpoint).
func (p *pgDB) prepare(ctx context.Context, id string) error {
	if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{p.oldName()}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	rows, err := p.super.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", p.prefix+"next_")
	if err != nil {
		return err
	}
	spares, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	have := false
	for _, sp := range spares {
		if sp == p.spareName(id) {
			have = true
			continue
		}
		if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{sp}.Sanitize()+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	if have {
		return nil
	}
	return p.makeCopy(ctx, id, p.spareName(id))
}

func (p *pgDB) ids(ctx context.Context) ([]string, error) {
	rows, err := p.super.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", p.prefix)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range names {
		if id, ok := strings.CutPrefix(n, p.prefix+"next_"); ok {
			ids = append(ids, id) // a spare: collected with its checkpoint
			continue
		}
		ids = append(ids, strings.TrimPrefix(n, p.prefix))
	}
	return ids, nil
}

func (p *pgDB) remove(ctx context.Context, id string) error {
	for _, db := range []string{p.spareName(id), p.ckName(id)} {
		if _, err := p.super.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	return nil
}

// appName marks the sessions checkpoints open, so the next operation can
// end those a killed process left running.
const appName = "mossdev-checkpoint"

// connectSuper connects as the superuser, marked with appName.
func connectSuper(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = appName
	return pgx.ConnectConfig(ctx, cfg)
}

// endOrphans terminates the sessions of checkpoint operations whose
// process is gone, waiting up to 10 s for each to exit. The caller holds
// the checkpoint lock, so no live operation has one.
func endOrphans(ctx context.Context, superURL string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, appName)
	if err != nil {
		return fmt.Errorf("end the sessions of a killed checkpoint operation: %w", err)
	}
	return nil
}

// pgStore is the app database, reached through PgBouncer.
type pgStore struct {
	t     Target
	guard func() func() // see Options.Guard
	pgDB
}

// pause pauses PgBouncer's pool for the app database, under the guard if
// there is one.
func (s *pgStore) pause(ctx context.Context) (func(), error) {
	stop := func() {}
	if s.guard != nil {
		stop = s.guard()
	}
	resume, err := s.t.Targets.PausePool(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	return func() { resume(); stop() }, nil
}

func newPG(ctx context.Context, t Target, guard func() func()) (*pgStore, error) {
	super, err := connectSuper(ctx, t.Targets.PostgresSuper)
	if err != nil {
		return nil, err
	}
	return &pgStore{t: t, guard: guard, pgDB: pgDB{super: super, db: t.Targets.AppDB(), prefix: ckPrefix}}, nil
}

func (s *pgStore) name() string { return load.Postgres }
func (s *pgStore) method() string {
	return "template database in the server (CREATE DATABASE … TEMPLATE), swapped in by rename"
}
func (s *pgStore) close() { s.super.Close(context.Background()) }

func (s *pgStore) version(ctx context.Context) (string, error) {
	var v string
	err := s.super.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

// hold pauses PgBouncer's pool for the app database: app clients queue.
func (s *pgStore) hold(ctx context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	resume, err := s.pause(ctx)
	if err != nil {
		return nil, nil, err
	}
	save := func(ctx context.Context) (Part, error) {
		n, err := s.copy(ctx, id)
		return Part{Bytes: n}, err
	}
	return save, resume, nil
}

func (s *pgStore) restore(ctx context.Context, id, _ string, _ Part, _ Options) (string, error) {
	spare, err := s.swapIn(ctx, id, s.pause)
	if err != nil {
		return "", err
	}
	// The first queries after a restore are served from memory, as after a
	// seed.
	conn, err := pgx.Connect(ctx, s.t.Targets.PostgresDirect)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_prewarm(c.oid) FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')`); err != nil {
		return "", fmt.Errorf("prewarm: %w", err)
	}
	if spare {
		return "renamed in the spare copy, prewarmed", nil
	}
	return "copied and renamed in, prewarmed", nil
}
