package load

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// FerretTable is read access to the PostgreSQL table in which a FerretDB
// stand-in keeps one collection (one jsonb row per document).
//
// Why mossdev reads it: FerretDB 1.x decodes every document of a
// collection for a count or a scan (it pushes neither down), about 11 k
// documents a second here, so counting the default view log took 13-56 s
// and verifying it 30-170 s. PostgreSQL does the same over the jsonb rows in
// well under a second. Used only when the server says it is FerretDB and
// its storage database is reachable; a real MongoDB (the docker backend)
// is always read through the wire protocol. It only reads.
type FerretTable struct {
	Conn  *pgx.Conn
	Table string // sanitized schema.table
}

// OpenFerretTable finds the table behind db.collection when client talks
// to FerretDB whose storage is t.MongoStorage; ok is false otherwise.
func OpenFerretTable(ctx context.Context, t Targets, client *mongo.Client, db, collection string) (*FerretTable, bool, error) {
	if t.MongoStorage == "" {
		return nil, false, nil
	}
	var info bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return nil, false, fmt.Errorf("buildInfo: %w", err)
	}
	if _, ferret := info["ferretdbVersion"]; !ferret {
		return nil, false, nil
	}
	conn, err := pgx.Connect(ctx, t.MongoStorage)
	if err != nil {
		return nil, false, nil // not reachable from here: use the wire protocol
	}
	var table string
	err = conn.QueryRow(ctx, fmt.Sprintf(`SELECT _jsonb->>'table' FROM %s WHERE _jsonb->>'_id' = $1`,
		pgx.Identifier{db, "_ferretdb_database_metadata"}.Sanitize()), collection).Scan(&table)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, nil
	}
	return &FerretTable{Conn: conn, Table: pgx.Identifier{db, table}.Sanitize()}, true, nil
}

// Close closes the connection.
func (f *FerretTable) Close() { f.Conn.Close(context.Background()) }

// Digest is the row count and a sum of row hashes: equal digests mean (up
// to hash collisions) the same documents, whatever was inserted, updated
// or deleted in between.
func (f *FerretTable) Digest(ctx context.Context) (string, error) {
	var n, sum int64
	err := f.Conn.QueryRow(ctx, "SELECT count(*), COALESCE(sum(hashtext(_jsonb::text)), 0) FROM "+f.Table).Scan(&n, &sum)
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", f.Table, err)
	}
	return fmt.Sprintf("%d:%d", n, sum), nil
}
