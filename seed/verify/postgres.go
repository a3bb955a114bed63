package verify

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/seed"
)

// cardQuery reads cards with their hashtags (id and name, in link order)
// as the app's ORM would assemble them.
const cardQuery = `SELECT c.id, c.user_id, c.text, c.image_key, c.created_at, c.latitude, c.longitude, c.place,
	c.unique_view_count, c.like_count,
	COALESCE(array_agg(l.hashtag_id ORDER BY l.position) FILTER (WHERE l.card_id IS NOT NULL), '{}'),
	COALESCE(array_agg(h.name ORDER BY l.position) FILTER (WHERE l.card_id IS NOT NULL), '{}')
FROM cards c
LEFT JOIN card_hashtags l ON l.card_id = c.id
LEFT JOIN hashtags h ON h.id = l.hashtag_id
WHERE %s
GROUP BY c.id ORDER BY c.id`

// pgCards yields the cards matching where (SQL over c.*, with args),
// rebuilt as seed.Card from the rows, in id order.
func pgCards(ctx context.Context, conn *pgx.Conn, errp *error, where string, args ...any) iter.Seq[seed.Card] {
	return func(yield func(seed.Card) bool) {
		rows, err := conn.Query(ctx, fmt.Sprintf(cardQuery, where), args...)
		if err != nil {
			*errp = fmt.Errorf("read cards: %w", err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var c seed.Card
			var lat, lon *float64
			var place *string
			var tagIDs []int64
			var tagNames []string
			if err := rows.Scan(&c.ID, &c.UserID, &c.Text, &c.ImageKey, &c.CreatedAt, &lat, &lon, &place,
				&c.UniqueViewCount, &c.LikeCount, &tagIDs, &tagNames); err != nil {
				*errp = fmt.Errorf("read cards: %w", err)
				return
			}
			c.CreatedAt = c.CreatedAt.UTC()
			if lat != nil && lon != nil {
				c.Location = &seed.Location{Lat: *lat, Lon: *lon}
				if place != nil {
					c.Location.Place = *place
				}
			}
			c.Tags = make([]seed.Tag, len(tagIDs))
			for i := range tagIDs {
				c.Tags[i] = seed.Tag{ID: tagIDs[i], Name: tagNames[i]}
			}
			if !yield(c) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			*errp = fmt.Errorf("read cards: %w", err)
		}
	}
}

// hotCards returns the ids of the cards an app caches: the most viewed,
// ties by lower id, read from PostgreSQL.
func hotCards(ctx context.Context, conn *pgx.Conn, n int64) ([]int64, error) {
	rows, err := conn.Query(ctx, "SELECT id FROM cards ORDER BY unique_view_count DESC, id LIMIT $1", n)
	if err != nil {
		return nil, fmt.Errorf("read hot cards: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("read hot cards: %w", err)
	}
	return ids, nil
}

func checkPostgres(ctx context.Context, e *env, r *recorder) error {
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	c := e.ds.Counts()
	var links int64
	for id := int64(1); id <= c.Tags; id++ {
		links += e.ds.TagCards(id)
	}
	for _, q := range []struct {
		table string
		want  int64
		ids   bool
	}{
		{"users", c.Users, true},
		{"cards", c.Cards, true},
		{"hashtags", e.ds.UsedTags(), false},
		{"card_hashtags", links, false},
	} {
		var n, maxID int64
		sql := "SELECT count(*), 0 FROM " + q.table
		if q.ids {
			sql = "SELECT count(*), COALESCE(max(id), 0) FROM " + q.table
		}
		if err := conn.QueryRow(ctx, sql).Scan(&n, &maxID); err != nil {
			return fmt.Errorf("count %s: %w", q.table, err)
		}
		r.checked(1)
		if n != q.want {
			r.mismatch("%s has %d rows, the dataset %d", q.table, n, q.want)
		}
		if q.ids && maxID != n {
			r.mismatch("%s ids run to %d with %d rows: not 1..N", q.table, maxID, n)
		}
	}
	// Each card's row against the generator: catches a row changed in
	// PostgreSQL alone (and so a reference that is itself wrong).
	var qerr error
	for row := range pgCards(ctx, conn, &qerr, "true") {
		want := e.ds.Card(row.ID)
		r.checked(1)
		if d := cardDiff(row, want); d != "" {
			r.mismatch("card %d: %s", row.ID, d)
		}
	}
	return qerr
}

// cardDiff names the fields where a and b differ ("" when equal).
func cardDiff(got, want seed.Card) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s %v, want %v", field, g, w)) }
	if got.UserID != want.UserID {
		add("user_id", got.UserID, want.UserID)
	}
	if got.Text != want.Text {
		add("text", fmt.Sprintf("%q", got.Text), fmt.Sprintf("%q", want.Text))
	}
	if got.ImageKey != want.ImageKey {
		add("image_key", got.ImageKey, want.ImageKey)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		add("created_at", got.CreatedAt.Format(time.RFC3339), want.CreatedAt.Format(time.RFC3339))
	}
	if locString(got.Location) != locString(want.Location) {
		add("location", locString(got.Location), locString(want.Location))
	}
	if got.UniqueViewCount != want.UniqueViewCount {
		add("unique_view_count", got.UniqueViewCount, want.UniqueViewCount)
	}
	if got.LikeCount != want.LikeCount {
		add("like_count", got.LikeCount, want.LikeCount)
	}
	if tagString(got.Tags) != tagString(want.Tags) {
		add("hashtags", tagString(got.Tags), tagString(want.Tags))
	}
	if len(d) == 0 {
		return ""
	}
	return joinDiff(d)
}

func locString(l *seed.Location) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("(%v,%v %s)", l.Lat, l.Lon, l.Place)
}

func tagString(ts []seed.Tag) string {
	s := "["
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%s", t.ID, t.Name)
	}
	return s + "]"
}

func joinDiff(d []string) string {
	s := d[0]
	for _, x := range d[1:] {
		s += "; " + x
	}
	return s
}
