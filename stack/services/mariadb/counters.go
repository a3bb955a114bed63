package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/mossdev/mossdev/stack"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Hashtags    = "hashtags"
	Connections = "connections"
)

// Table is the hashtag table the seed loads and apps search with LIKE.
const Table = "hashtags"

// exactBelow is the size under which hashtags are counted exactly: InnoDB
// has no stored row count, so COUNT(*) over the platform's 6 million tags
// scans an index for seconds; above it the statistics' estimate is shown.
const exactBelow = 500_000

// counters reads how many hashtags the search store holds and how many
// clients are connected.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	cfg, err := mysql.ParseDSN(DSN(e))
	if err != nil {
		return nil, err
	}
	cfg.Timeout = time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return nil, err
	}
	out := []stack.Counter{{Key: Hashtags, Label: "hashtags", Value: hashtags(ctx, db)}}
	var name string
	var threads int64
	if err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_connected'").Scan(&name, &threads); err == nil {
		out = append(out, stack.Counter{Key: Connections, Label: "connections", Value: fmt.Sprint(threads)})
	}
	return out, nil
}

func hashtags(ctx context.Context, db *sql.DB) string {
	var estimate sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, DB, Table).Scan(&estimate)
	switch {
	case err == sql.ErrNoRows:
		return "no hashtag table (not seeded)"
	case err != nil:
		return "unavailable: " + err.Error()
	case estimate.Int64 > exactBelow:
		return fmt.Sprintf("≈%d (statistics estimate)", estimate.Int64)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Table).Scan(&n); err != nil {
		return "unavailable: " + err.Error()
	}
	return fmt.Sprint(n)
}
