package verify

import (
	"context"
	"fmt"
	"slices"

	"github.com/mossdev/mossdev/seed/load"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// checkMongo reads the whole view log once (projected to card and
// viewer), keeps each card's viewer ids (4 bytes a view: ~45 MB at prod),
// and compares each card's distinct viewers with PostgreSQL's count.
// A plain find, not $group: the stand-in evaluates aggregations in memory
// and is slower at them than at streaming.
func checkMongo(ctx context.Context, e *env, r *recorder) error {
	client, err := mongo.Connect(options.Client().ApplyURI(e.t.Mongo))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	ft, ok, err := load.OpenFerretTable(ctx, e.t, client, load.MongoDB, load.ViewsCollection)
	if err != nil {
		return err
	}
	if ok {
		defer ft.Close()
		return checkFerretViews(ctx, e, r, ft)
	}
	views := client.Database(load.MongoDB).Collection(load.ViewsCollection)
	c := e.ds.Counts()
	viewers := make([][]uint32, c.Cards+1)
	cur, err := views.Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{{Key: "card_id", Value: 1}, {Key: "user_id", Value: 1}}).SetBatchSize(10000))
	if err != nil {
		return fmt.Errorf("read views: %w", err)
	}
	defer cur.Close(ctx)
	var rows int64
	for cur.Next(ctx) {
		var v struct {
			ID     bson.ObjectID `bson:"_id"`
			CardID int64         `bson:"card_id"`
			UserID int64         `bson:"user_id"`
		}
		if err := cur.Decode(&v); err != nil {
			r.mismatch("view %s: %v", cur.Current.Lookup("_id"), err)
			continue
		}
		rows++
		switch {
		case v.CardID < 1 || v.CardID > c.Cards:
			r.mismatch("view %s: card %d does not exist", v.ID.Hex(), v.CardID)
		case v.UserID < 1 || v.UserID > c.Users:
			r.mismatch("view %s of card %d: viewer %d does not exist", v.ID.Hex(), v.CardID, v.UserID)
		default:
			viewers[v.CardID] = append(viewers[v.CardID], uint32(v.UserID))
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read views: %w", err)
	}
	r.checked(1)
	if want := e.ds.ViewLogRows(); rows != want {
		r.mismatch("view log has %d rows, the dataset %d", rows, want)
	}
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pg, err := conn.Query(ctx, "SELECT id, unique_view_count FROM cards ORDER BY id")
	if err != nil {
		return fmt.Errorf("read unique view counts: %w", err)
	}
	defer pg.Close()
	for pg.Next() {
		var id, unique int64
		if err := pg.Scan(&id, &unique); err != nil {
			return err
		}
		if id < 1 || id > c.Cards {
			continue // postgres.rows reports it
		}
		vs := viewers[id]
		slices.Sort(vs)
		distinct := int64(len(slices.Compact(vs)))
		r.checked(1)
		if distinct != unique {
			r.mismatch("card %d: %d distinct viewers in the view log, unique_view_count %d in PostgreSQL", id, distinct, unique)
		}
		viewers[id] = nil
	}
	return pg.Err()
}

// checkFerretViews is checkMongo over the FerretDB stand-in's storage
// (see load.FerretTable): the same invariants, computed by PostgreSQL over
// the jsonb documents and merged with the cards in id order.
func checkFerretViews(ctx context.Context, e *env, r *recorder, ft *load.FerretTable) error {
	c := e.ds.Counts()
	var rows, badCard, badUser int64
	err := ft.Conn.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE NOT ((_jsonb->>'card_id')::bigint BETWEEN 1 AND $1)),
		count(*) FILTER (WHERE NOT ((_jsonb->>'user_id')::bigint BETWEEN 1 AND $2))
		FROM `+ft.Table, c.Cards, c.Users).Scan(&rows, &badCard, &badUser)
	if err != nil {
		return fmt.Errorf("read view log storage: %w", err)
	}
	r.checked(1)
	if want := e.ds.ViewLogRows(); rows != want {
		r.mismatch("view log has %d rows, the dataset %d", rows, want)
	}
	if badCard > 0 {
		r.mismatch("%d views reference cards that do not exist", badCard)
	}
	if badUser > 0 {
		r.mismatch("%d views reference viewers that do not exist", badUser)
	}
	mv, err := ft.Conn.Query(ctx, `SELECT (_jsonb->>'card_id')::bigint AS card, count(DISTINCT _jsonb->>'user_id')
		FROM `+ft.Table+` GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("read view log storage: %w", err)
	}
	defer mv.Close()
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pg, err := conn.Query(ctx, "SELECT id, unique_view_count FROM cards ORDER BY id")
	if err != nil {
		return fmt.Errorf("read unique view counts: %w", err)
	}
	defer pg.Close()
	type pair struct {
		id, n int64
		ok    bool
	}
	next := func(rows interface {
		Next() bool
		Scan(...any) error
	}) pair {
		var p pair
		if rows.Next() && rows.Scan(&p.id, &p.n) == nil {
			p.ok = true
		}
		return p
	}
	a, b := next(pg), next(mv) // cards, viewed cards
	for a.ok {
		r.checked(1)
		switch {
		case b.ok && b.id < a.id:
			b = next(mv) // a view of a card that does not exist: counted above
			continue
		case b.ok && b.id == a.id:
			if b.n != a.n {
				r.mismatch("card %d: %d distinct viewers in the view log, unique_view_count %d in PostgreSQL", a.id, b.n, a.n)
			}
			b = next(mv)
		default:
			if a.n != 0 {
				r.mismatch("card %d: no views in the view log, unique_view_count %d in PostgreSQL", a.id, a.n)
			}
		}
		a = next(pg)
	}
	if err := pg.Err(); err != nil {
		return err
	}
	return mv.Err()
}
