// Package postgres is the Mossi platform's main database: nearly all service
// data (users, cards, hashtag links, unique view counts) lives here. In 2016
// it was PostgreSQL 9.4 with tuned autovacuum and kernel resources, its data
// files warmed into the page cache with vmtouch at boot; mossdev runs the
// PostgreSQL Debian ships (or postgres:16 in Docker) with the same ideas:
// pg_prewarm is loaded for cache warm-up and autovacuum is tuned for a
// write-heavy card table.
//
// Apps never connect here directly: PostgreSQL forks a process per
// connection, so Mossi's apps went through PgBouncer. MOSSDEV_POSTGRES_URL is
// therefore PgBouncer's address; MOSSDEV_POSTGRES_DIRECT_URL is for
// migrations and admin work.
package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Name is the service id.
const Name = "postgres"

// Databases created at setup: the app's, and FerretDB's (the MongoDB
// stand-in keeps its collections in PostgreSQL).
const (
	AppDB      = "mossi"
	FerretDBDB = "ferretdb"
)

// Service describes PostgreSQL.
func Service() stack.Service {
	return stack.Service{
		Name: Name, Kind: Name,
		Explain: "The main database: users, cards, hashtag links and the unique view counts all live here. " +
			"PostgreSQL forks a process per connection, so apps never connect directly: they go through PgBouncer. " +
			"Stop it and watch PgBouncer and the MongoDB stand-in (it stores its collections here) turn unhealthy.",
		Role:       "main database: users, cards, hashtag links, unique view counts (apps reach it through PgBouncer)",
		Ports:      []string{"main"},
		StopSignal: "INT", // "fast" shutdown; SIGTERM's "smart" one waits for every client
		Native:     native,
		Docker:     docker,
		Probe:      func(e *stack.Runtime) probe.Probe { return probe.Postgres(SuperuserURL(e, "postgres")) },
		Setup:      setup,
		Counters:   counters,
		// Apps go through PgBouncer; the service id is spelled here because
		// package pgbouncer imports this one.
		URL: func(e *stack.Runtime) string { return AppURLAt(e, e.Addr("pgbouncer", "main")) },
		Extra: func(e *stack.Runtime) map[string]string {
			return map[string]string{
				stack.EnvName(Name, "DIRECT_URL"): DirectURL(e),
			}
		},
	}
}

// DirectURL reaches PostgreSQL itself as the app role, bypassing PgBouncer.
func DirectURL(e *stack.Runtime) string { return AppURLAt(e, e.Addr(Name, "main")) }

// AppURLAt is the app database as the app role at addr (host:port): the
// server itself or PgBouncer in front of it.
func AppURLAt(e *stack.Runtime, addr string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable",
		e.Secrets.AppUser, e.Secrets.AppPassword, addr, AppDB)
}

// FerretDBRole owns FerretDB's database and nothing else: the MongoDB
// stand-in stores its collections there without superuser rights.
const FerretDBRole = "ferretdb"

// FerretDBURL is FerretDB's storage as its own role.
func FerretDBURL(e *stack.Runtime) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable",
		FerretDBRole, e.Secrets.FerretDBPassword, e.Addr(Name, "main"), FerretDBDB)
}

// SuperuserURL reaches a database as the superuser "postgres".
func SuperuserURL(e *stack.Runtime, db string) string {
	return fmt.Sprintf("postgres://postgres:%s@%s/%s?sslmode=disable",
		e.Secrets.PostgresPassword, e.Addr(Name, "main"), db)
}

func native(e *stack.Runtime) (stack.NativeSpec, error) {
	data, run := filepath.Join(e.DataDir(Name), "pgdata"), e.RunDir(Name)
	pw := filepath.Join(run, "pwfile")
	return stack.NativeSpec{
		Files: map[string]string{pw: e.Secrets.PostgresPassword + "\n"},
		Prepare: []stack.Command{{Path: "initdb", Args: []string{
			"-D", data, "-U", "postgres", "--pwfile", pw, "--auth=scram-sha-256",
			"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"}}},
		Run: stack.Command{Path: "postgres", Args: append([]string{"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", fmt.Sprintf("port=%d", e.Port(Name, "main")),
			"-c", "unix_socket_directories=" + run,
		}, Settings()...)},
	}, nil
}

// Settings are the server settings both backends pass on the command line.
func Settings() []string {
	return []string{
		// Cache warm-up as vmtouch did for Mossi: pg_prewarm's function is used
		// by the seed after loading; autoprewarm keeps the cache across restarts.
		"-c", "shared_preload_libraries=pg_prewarm",
		"-c", "max_connections=200",
		// Autovacuum tuned for a card table that is updated constantly (view
		// and like counts flushed by the write-behind workers).
		"-c", "autovacuum_vacuum_scale_factor=0.05",
		"-c", "autovacuum_analyze_scale_factor=0.02",
		"-c", "autovacuum_naptime=10s",
		// A development copy trades the last few ms of commits on an OS crash
		// for bulk-load speed; the database itself stays crash-safe.
		"-c", "synchronous_commit=off",
		"-c", "max_wal_size=2GB",
	}
}

// ownFerretDB gives FerretDB's database, and what a stack made by an older
// mossdev had FerretDB create in it as the superuser, to FerretDBRole.
func ownFerretDB(ctx context.Context, e *stack.Runtime) error {
	conn, err := pgx.Connect(ctx, SuperuserURL(e, FerretDBDB))
	if err != nil {
		return fmt.Errorf("connect to %s as superuser: %w", FerretDBDB, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `ALTER DATABASE `+FerretDBDB+` OWNER TO `+FerretDBRole+`;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' AND nspowner <> '`+FerretDBRole+`'::regrole LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO `+FerretDBRole+`', r.nspname);
  END LOOP;
  FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
             AND c.relkind IN ('r', 'p', 'S', 'v', 'm') AND c.relowner <> '`+FerretDBRole+`'::regrole LOOP
    EXECUTE format('ALTER TABLE %I.%I OWNER TO `+FerretDBRole+`', r.nspname, r.relname);
  END LOOP;
END $$`)
	if err != nil {
		return fmt.Errorf("give %s to role %s: %w", FerretDBDB, FerretDBRole, err)
	}
	return nil
}

// setup creates the app and FerretDB roles (no superuser rights) and their
// databases; safe to run on every start.
func setup(ctx context.Context, e *stack.Runtime, _ func(string) error) error {
	conn, err := pgx.Connect(ctx, SuperuserURL(e, "postgres"))
	if err != nil {
		return fmt.Errorf("connect as superuser: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	for role, secret := range map[string]string{e.Secrets.AppUser: e.Secrets.AppPassword, FerretDBRole: e.Secrets.FerretDBPassword} {
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return err
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s'",
			verb, pgx.Identifier{role}.Sanitize(), strings.ReplaceAll(secret, "'", "''"))); err != nil {
			return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), role, err)
		}
	}
	for db, owner := range map[string]string{AppDB: e.Secrets.AppUser, FerretDBDB: FerretDBRole} {
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgx.Identifier{db}.Sanitize(), pgx.Identifier{owner}.Sanitize())); err != nil {
				return fmt.Errorf("create database %s: %w", db, err)
			}
		}
	}
	if err := ownFerretDB(ctx, e); err != nil {
		return err
	}
	app, err := pgx.Connect(ctx, SuperuserURL(e, AppDB))
	if err != nil {
		return err
	}
	defer app.Close(context.Background())
	if _, err := app.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_prewarm"); err != nil {
		return fmt.Errorf("create extension pg_prewarm: %w", err)
	}
	return nil
}
