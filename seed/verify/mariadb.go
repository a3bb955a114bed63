package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/go-sql-driver/mysql" // the database/sql driver
)

func checkMariaSchema(ctx context.Context, e *env, r *recorder) error {
	db, err := sql.Open("mysql", e.t.MariaDB)
	if err != nil {
		return err
	}
	defer db.Close()
	var colType, charset, collation string
	err = db.QueryRowContext(ctx, `SELECT COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hashtags' AND COLUMN_NAME = 'name'`).Scan(&colType, &charset, &collation)
	if err != nil {
		return fmt.Errorf("read hashtags.name: %w", err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"type", colType, "varchar(190)"},
		{"character set", charset, "utf8mb4"},
		{"collation", collation, "utf8mb4_bin"},
	} {
		r.checked(1)
		if !strings.EqualFold(c.got, c.want) {
			r.mismatch("hashtags.name %s is %s, want %s", c.what, c.got, c.want)
		}
	}
	var unique int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hashtags' AND COLUMN_NAME = 'name' AND NON_UNIQUE = 0 AND SEQ_IN_INDEX = 1`).Scan(&unique)
	if err != nil {
		return fmt.Errorf("read hashtags indexes: %w", err)
	}
	r.checked(1)
	if unique == 0 {
		r.mismatch("hashtags.name has no unique key: search scans the table and duplicates can creep in")
	}
	return nil
}

// checkMariaTags merges the search table (ordered by id) with PostgreSQL's
// used tags and their link counts (ordered by id): one pass over each,
// constant memory whatever the corpus size.
func checkMariaTags(ctx context.Context, e *env, r *recorder) error {
	db, err := sql.Open("mysql", e.t.MariaDB)
	if err != nil {
		return err
	}
	defer db.Close()
	var n, maxID, sum int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(card_count), 0) FROM hashtags").Scan(&n, &maxID, &sum); err != nil {
		return fmt.Errorf("count hashtags: %w", err)
	}
	tags := e.ds.Counts().Tags
	r.checked(1)
	if n != tags || maxID != tags {
		r.mismatch("search table has %d rows with ids up to %d; the corpus has %d tags", n, maxID, tags)
	}
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var links int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM card_hashtags").Scan(&links); err != nil {
		return fmt.Errorf("count links: %w", err)
	}
	r.checked(1)
	if sum != links {
		r.mismatch("search table card counts sum to %d; PostgreSQL has %d links", sum, links)
	}

	pgRows, err := conn.Query(ctx, `SELECT h.id, h.name, count(l.card_id) FROM hashtags h
		LEFT JOIN card_hashtags l ON l.hashtag_id = h.id GROUP BY h.id ORDER BY h.id`)
	if err != nil {
		return fmt.Errorf("read links per tag: %w", err)
	}
	defer pgRows.Close()
	myRows, err := db.QueryContext(ctx, "SELECT id, name, card_count FROM hashtags ORDER BY id")
	if err != nil {
		return fmt.Errorf("read search table: %w", err)
	}
	defer myRows.Close()
	type tag struct {
		id    int64
		name  string
		count int64
		ok    bool
	}
	nextPG := func() tag {
		if !pgRows.Next() {
			return tag{}
		}
		var t tag
		if err := pgRows.Scan(&t.id, &t.name, &t.count); err != nil {
			return tag{}
		}
		t.ok = true
		return t
	}
	nextMy := func() tag {
		if !myRows.Next() {
			return tag{}
		}
		var t tag
		if err := myRows.Scan(&t.id, &t.name, &t.count); err != nil {
			return tag{}
		}
		t.ok = true
		return t
	}
	// Every row's name against the corpus too (dup-free by construction, so
	// a changed or swapped name shows here).
	p, m := nextPG(), nextMy()
	for p.ok || m.ok {
		r.checked(1)
		switch {
		case p.ok && (!m.ok || p.id < m.id):
			r.mismatch("tag %d %q: %d cards in PostgreSQL, missing from the search table", p.id, p.name, p.count)
			p = nextPG()
		case m.ok && (!p.ok || m.id < p.id):
			if m.count != 0 {
				r.mismatch("tag %d %q: card_count %d in the search table, no links in PostgreSQL", m.id, m.name, m.count)
			}
			if want := e.ds.Tag(m.id).Name; m.name != want {
				r.mismatch("tag %d: named %q in the search table, %q in the corpus", m.id, m.name, want)
			}
			m = nextMy()
		default:
			if p.count != m.count {
				r.mismatch("tag %d %q: card_count %d in the search table, %d links in PostgreSQL", m.id, m.name, m.count, p.count)
			}
			if p.name != m.name {
				r.mismatch("tag %d: named %q in the search table, %q in PostgreSQL", m.id, m.name, p.name)
			}
			p, m = nextPG(), nextMy()
		}
	}
	if err := pgRows.Err(); err != nil {
		return err
	}
	return myRows.Err()
}
