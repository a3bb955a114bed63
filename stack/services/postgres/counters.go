package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/stack"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Connections = "connections"
	Cards       = "cards"
)

// CountTimeout bounds one read of the live figures: the TUI asks every 2 s
// and must not pile up reads against a server that hangs.
const CountTimeout = 1500 * time.Millisecond

// exactBelow is the table size under which cards are counted exactly; above
// it the planner's estimate is shown, because count(*) scans the whole table
// and the TUI asks every 2 s.
const exactBelow = 200_000

// counters reads the figures a new hire watches: how many connections the
// server holds (PgBouncer keeps this small however many clients there are)
// and how many cards the main table has. It connects directly as the
// superuser, so it works while PgBouncer is down and sees every backend.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, CountTimeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(SuperuserURL(e, AppDB))
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	var conns, active int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'active')
		FROM pg_stat_activity WHERE backend_type = 'client backend'`).Scan(&conns, &active); err != nil {
		return nil, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	out := []stack.Counter{
		{Key: Connections, Label: "connections", Value: fmt.Sprintf("%d (%d active)", conns, active)},
		{Key: Cards, Label: "cards", Value: cards(ctx, conn)},
	}
	return out, nil
}

// cards counts the card table, or says why it cannot.
func cards(ctx context.Context, conn *pgx.Conn) string {
	var estimate float64
	var exists bool
	err := conn.QueryRow(ctx, `SELECT to_regclass('public.cards') IS NOT NULL,
		coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass('public.cards')), 0)`).Scan(&exists, &estimate)
	switch {
	case err != nil:
		return "unavailable: " + err.Error()
	case !exists:
		return "no cards table (not seeded)"
	case estimate > exactBelow:
		return fmt.Sprintf("≈%d (planner estimate)", int64(estimate))
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM cards").Scan(&n); err != nil {
		return "unavailable: " + err.Error()
	}
	return fmt.Sprint(n)
}
