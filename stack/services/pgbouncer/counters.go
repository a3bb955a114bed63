package pgbouncer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/postgres"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Pools          = "pools"
	ClientsActive  = "clients_active"
	ClientsWaiting = "clients_waiting"
	ServerActive   = "server_active"
	ServerIdle     = "server_idle"
)

// counters reads SHOW POOLS on the admin console for the app database:
// clients served and waiting, and the server connections behind them. Many
// clients over few server connections is the point of the pooler; waiting
// clients mean the pool is too small for the load.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, postgres.CountTimeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(ConsoleURL(e, false))
	if err != nil {
		return nil, err
	}
	// The console speaks only the simple query protocol.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SHOW POOLS")
	if err != nil {
		return nil, fmt.Errorf("show pools: %w", err)
	}
	defer rows.Close()
	want := []string{"cl_active", "cl_waiting", "sv_active", "sv_idle"}
	sum := map[string]int64{}
	pools := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("read pools: %w", err)
		}
		row := map[string]any{}
		for i, f := range rows.FieldDescriptions() {
			row[f.Name] = vals[i]
		}
		if fmt.Sprint(row["database"]) != postgres.AppDB {
			continue
		}
		pools++
		for _, k := range want {
			sum[k] += asInt(row[k])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("show pools: %w", err)
	}
	if pools == 0 {
		// PgBouncer opens a pool at the first client of a database.
		return []stack.Counter{{Key: Pools, Label: "pools", Value: "no pool for " + postgres.AppDB + " yet (no client has connected)"}}, nil
	}
	return []stack.Counter{
		{Key: ClientsActive, Label: "clients active", Value: fmt.Sprint(sum["cl_active"])},
		{Key: ClientsWaiting, Label: "clients waiting", Value: fmt.Sprint(sum["cl_waiting"])},
		{Key: ServerActive, Label: "server active", Value: fmt.Sprint(sum["sv_active"])},
		{Key: ServerIdle, Label: "server idle", Value: fmt.Sprint(sum["sv_idle"])},
	}, nil
}

// asInt reads a SHOW POOLS number: the console sends text, which pgx's
// simple protocol may hand back as int64 or string depending on the type.
func asInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case string:
		var x int64
		fmt.Sscan(n, &x)
		return x
	}
	var x int64
	fmt.Sscan(fmt.Sprint(v), &x)
	return x
}
