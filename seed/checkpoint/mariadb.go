package checkpoint

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/mossdev/mossdev/seed/load"
)

// mariaStore keeps a checkpoint as a database of the same server holding a
// copy of every table of the app database (INSERT … SELECT, while the app
// tables are locked for writes), and each table's CHECKSUM TABLE. A
// restore skips the tables whose checksum did not change (the common case
// after tests that only read hashtags) and swaps the others in by one
// atomic RENAME TABLE.
type mariaStore struct {
	db   *sql.DB // as root: it creates and drops the checkpoint databases
	app  string
	lock *sql.Conn
}

func newMaria(ctx context.Context, t Target) (*mariaStore, error) {
	cfg, err := mysql.ParseDSN(t.Targets.MariaDB)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", t.Targets.MariaDBRoot)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return &mariaStore{db: db, app: cfg.DBName}, nil
}

func (s *mariaStore) name() string { return load.MariaDB }
func (s *mariaStore) method() string {
	return "table copies in a database of the server, unchanged tables skipped by CHECKSUM TABLE, swapped in by RENAME TABLE"
}
func (s *mariaStore) close() { s.db.Close() }

func (s *mariaStore) version(ctx context.Context) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v)
	return v, err
}

func qi(names ...string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + strings.ReplaceAll(n, "`", "``") + "`"
	}
	return strings.Join(q, ".")
}

func (s *mariaStore) tables(ctx context.Context, db string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name`, db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

type mariaInfo struct {
	// Checksums are CHECKSUM TABLE per table at the cut.
	Checksums map[string]string `json:"checksums"`
}

func checksum(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, db, table string) (string, error) {
	var name string
	var sum sql.NullInt64
	if err := q.QueryRowContext(ctx, "CHECKSUM TABLE "+qi(db, table)).Scan(&name, &sum); err != nil {
		return "", err
	}
	if !sum.Valid {
		return "missing", nil
	}
	return fmt.Sprint(sum.Int64), nil
}

// hold creates the checkpoint's empty tables, then locks the app tables
// for reading (other sessions' writes wait) and the copies for writing,
// in one LOCK TABLES on a session the save then copies on.
func (s *mariaStore) hold(ctx context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	ck := ckPrefix + id
	tables, err := s.tables(ctx, s.app)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+qi(ck)+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return nil, nil, err
	}
	locks := make([]string, 0, 2*len(tables))
	for _, t := range tables {
		if _, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+qi(ck, t)+" LIKE "+qi(s.app, t)); err != nil {
			return nil, nil, err
		}
		locks = append(locks, qi(s.app, t)+" READ", qi(ck, t)+" WRITE")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(locks) > 0 {
		if _, err := conn.ExecContext(ctx, "LOCK TABLES "+strings.Join(locks, ", ")); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	release := func() {
		_, _ = conn.ExecContext(context.Background(), "UNLOCK TABLES")
		conn.Close()
	}
	save := func(ctx context.Context) (Part, error) {
		info := mariaInfo{Checksums: map[string]string{}}
		var rows int64
		for _, t := range tables {
			res, err := conn.ExecContext(ctx, "INSERT INTO "+qi(ck, t)+" SELECT * FROM "+qi(s.app, t))
			if err != nil {
				return Part{}, fmt.Errorf("copy %s: %w", t, err)
			}
			n, _ := res.RowsAffected()
			rows += n
			if info.Checksums[t], err = checksum(ctx, conn, s.app, t); err != nil {
				return Part{}, err
			}
		}
		b, _ := json.Marshal(info)
		var size sql.NullInt64
		_ = s.db.QueryRowContext(ctx, `SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = ?`, ck).Scan(&size)
		return Part{Bytes: size.Int64, Info: b}, nil
	}
	return save, release, nil
}

func (s *mariaStore) restore(ctx context.Context, id, _ string, p Part, _ Options) (string, error) {
	var info mariaInfo
	if err := json.Unmarshal(p.Info, &info); err != nil {
		return "", fmt.Errorf("read checkpoint info: %w", err)
	}
	ck := ckPrefix + id
	live, err := s.tables(ctx, s.app)
	if err != nil {
		return "", err
	}
	var copied, dropped []string
	names := make([]string, 0, len(info.Checksums))
	for t := range info.Checksums {
		names = append(names, t)
	}
	sort.Strings(names)
	var renames []string
	for _, t := range names {
		if sum, err := checksum(ctx, s.db, s.app, t); err == nil && sum == info.Checksums[t] {
			continue
		}
		next := t + "__restore"
		for _, q := range []string{
			"DROP TABLE IF EXISTS " + qi(s.app, next),
			"CREATE TABLE " + qi(s.app, next) + " LIKE " + qi(ck, t),
			"INSERT INTO " + qi(s.app, next) + " SELECT * FROM " + qi(ck, t),
			"DROP TABLE IF EXISTS " + qi(s.app, t+"__old"),
		} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return "", fmt.Errorf("copy back %s: %w", t, err)
			}
		}
		copied = append(copied, t)
		if slices.Contains(live, t) {
			renames = append(renames, qi(s.app, t)+" TO "+qi(s.app, t+"__old"))
		}
		renames = append(renames, qi(s.app, next)+" TO "+qi(s.app, t))
	}
	if len(renames) > 0 {
		// One statement: every changed table is swapped at once.
		if _, err := s.db.ExecContext(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
			return "", fmt.Errorf("swap in: %w", err)
		}
	}
	for _, t := range copied {
		if _, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+qi(s.app, t+"__old")); err != nil {
			return "", err
		}
	}
	// Tables made since the checkpoint go, and so do leftovers of a
	// restore killed halfway.
	for _, t := range live {
		if _, ok := info.Checksums[t]; ok {
			continue
		}
		if _, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+qi(s.app, t)); err != nil {
			return "", err
		}
		if !strings.HasSuffix(t, "__old") && !strings.HasSuffix(t, "__restore") {
			dropped = append(dropped, t)
		}
	}
	switch {
	case len(copied) == 0 && len(dropped) == 0:
		return "unchanged (checksums)", nil
	case len(dropped) == 0:
		return "copied back " + strings.Join(copied, ", "), nil
	default:
		return fmt.Sprintf("copied back %s; dropped %s", strings.Join(copied, ", "), strings.Join(dropped, ", ")), nil
	}
}

func (s *mariaStore) ids(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'mossdev\_ck\_%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, strings.TrimPrefix(n, ckPrefix))
	}
	return out, rows.Err()
}

func (s *mariaStore) remove(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+qi(ckPrefix+id))
	return err
}
