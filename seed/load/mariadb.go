package load

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/mossdev/mossdev/seed"
)

// HashtagTable is the search table's DDL. Each choice is one of the
// platform's lessons:
//   - utf8mb4: MariaDB's "utf8" is 3 bytes a character and rejects emoji
//     tags such as 🌙새벽;
//   - utf8mb4_bin: a binary collation makes search case-sensitive, so
//     #DailyLife and #dailylife are distinct tags (the default
//     utf8mb4_unicode_ci would call them duplicates and refuse the second);
//   - VARCHAR(190) with ROW_FORMAT=COMPACT: InnoDB's index key limit for
//     that format (MariaDB 10.1, the platform's era) is 767 bytes, and 190
//     utf8mb4 characters (760 bytes) is the longest key that fits;
//     VARCHAR(192) fails with "Specified key was too long".
//
// The name key is added after the bulk load (see load) rather than created
// here, which is the measured-faster way to build it.
const HashtagTable = `CREATE TABLE %s (
  id         INT UNSIGNED NOT NULL,
  name       VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  card_count INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=COMPACT`

// HashtagNameKey is the search index: prefix LIKE 'abc%' and equality.
const HashtagNameKey = "ALTER TABLE %s ADD UNIQUE KEY hashtags_name (name)"

const mariaMarkerTable = `CREATE TABLE IF NOT EXISTS mossdev_seed (
  store  VARCHAR(32) NOT NULL PRIMARY KEY,
  marker TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

type mariaStore struct {
	t  Targets
	db *sql.DB
	// addKeyAfter builds the name key after LOAD DATA instead of
	// maintaining it row by row: 6 M prod tags, 256 MB buffer pool,
	// measured 32 s (185 k rows/s) against 49 s (123 k rows/s).
	addKeyAfter bool
}

func newMaria(ctx context.Context, t Targets) (*mariaStore, error) {
	db, err := sql.Open("mysql", t.MariaDB)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := db.ExecContext(ctx, mariaMarkerTable); err != nil {
		db.Close()
		return nil, fmt.Errorf("create marker table: %w", err)
	}
	return &mariaStore{t: t, db: db, addKeyAfter: true}, nil
}

func (s *mariaStore) name() string { return MariaDB }
func (s *mariaStore) close()       { s.db.Close() }

func (s *mariaStore) marker(ctx context.Context) (Marker, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, "SELECT marker FROM mossdev_seed WHERE store = 'hashtags'").Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return Marker{}, nil
	}
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	return parseMarker(b)
}

func (s *mariaStore) setMarker(ctx context.Context, m Marker) error {
	_, err := s.db.ExecContext(ctx, "REPLACE INTO mossdev_seed (store, marker) VALUES ('hashtags', ?)", string(m.json()))
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

func (s *mariaStore) total(ds *seed.Dataset) int64 { return ds.Counts().Tags }

// readerSeq names LOAD DATA readers uniquely: the driver's registry is
// process-global.
var readerSeq atomic.Int64

// load builds the new table beside the live one and swaps them with one
// atomic RENAME, so hashtag search keeps answering (from the old data)
// while 6 M rows load. Rows go in with LOAD DATA LOCAL INFILE streamed from
// the generator in id order (the primary key's order, so InnoDB appends);
// the unique name key is added afterwards, which InnoDB builds by sorting
// instead of inserting 6 M random keys into a B-tree that outgrows the
// buffer pool.
func (s *mariaStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	if err := s.setMarker(ctx, newMarker(ds, false, 0)); err != nil {
		return err
	}
	rows, err := s.loadTable(ctx, "hashtags_load", ds.Hashtags(), ds.Counts().Tags, m)
	if err != nil {
		return err
	}
	if err := s.swapIn(ctx, "hashtags_load"); err != nil {
		return err
	}
	sum, err := s.checksum(ctx)
	if err != nil {
		return err
	}
	mk := newMarker(ds, true, rows)
	mk.Digest = sum
	return s.setMarker(ctx, mk)
}

// loadTable is the seed's bulk path into MariaDB: it creates table and
// fills it with want hashtags and their card counts (raw.go measures it on
// a scratch table).
func (s *mariaStore) loadTable(ctx context.Context, table string, tags iter.Seq2[seed.Tag, int64], want int64, m *meter) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	for _, q := range []string{"DROP TABLE IF EXISTS " + table, fmt.Sprintf(HashtagTable, table)} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("create %s: %w", table, err)
		}
	}
	if !s.addKeyAfter {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(HashtagNameKey, table)); err != nil {
			return 0, fmt.Errorf("add name key: %w", err)
		}
	}
	name := "mossdev-hashtags-" + strconv.FormatInt(readerSeq.Add(1), 10)
	pr, pw := io.Pipe()
	mysql.RegisterReaderHandler(name, func() io.Reader { return pr })
	defer mysql.DeregisterReaderHandler(name)
	go func() { pw.CloseWithError(writeHashtagTSV(ctx, pw, tags, m)) }()
	res, err := conn.ExecContext(ctx, `LOAD DATA LOCAL INFILE 'Reader::`+name+`' INTO TABLE `+table+`
		CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
		(id, name, card_count)`)
	pr.CloseWithError(errors.New("load data ended")) // unblock the writer if the server stopped reading
	if err != nil {
		return 0, fmt.Errorf("load data into %s: %w", table, err)
	}
	n, _ := res.RowsAffected()
	if n != want {
		// LOAD DATA turns bad rows into warnings, not errors.
		return n, fmt.Errorf("load data into %s: %d rows loaded of %d (see SHOW WARNINGS)", table, n, want)
	}
	if s.addKeyAfter {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(HashtagNameKey, table)); err != nil {
			return n, fmt.Errorf("add name key: %w", err)
		}
	}
	return n, nil
}

// writeHashtagTSV streams the search table as LOAD DATA's default text
// format.
func writeHashtagTSV(ctx context.Context, w io.Writer, tags iter.Seq2[seed.Tag, int64], m *meter) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	esc := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`)
	var buf []byte
	n := 0
	for tag, count := range tags {
		buf = strconv.AppendInt(buf[:0], tag.ID, 10)
		buf = append(buf, '\t')
		buf = append(buf, esc.Replace(tag.Name)...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, count, 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		if n++; n == 4096 {
			m.add(int64(n))
			n = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	m.add(int64(n))
	return bw.Flush()
}

// swapIn makes table the live hashtags table in one atomic RENAME.
func (s *mariaStore) swapIn(ctx context.Context, table string) error {
	var exists int
	_ = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name = 'hashtags'`).Scan(&exists)
	q := "RENAME TABLE " + table + " TO hashtags"
	if exists > 0 {
		q = "RENAME TABLE hashtags TO hashtags_old, " + table + " TO hashtags"
	}
	for _, q := range []string{"DROP TABLE IF EXISTS hashtags_old", q, "DROP TABLE IF EXISTS hashtags_old"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("swap in %s: %w", table, err)
		}
	}
	return nil
}

func (s *mariaStore) checksum(ctx context.Context) (string, error) {
	var table string
	var sum sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "CHECKSUM TABLE hashtags").Scan(&table, &sum); err != nil {
		return "", fmt.Errorf("checksum hashtags: %w", err)
	}
	if !sum.Valid {
		return "", nil
	}
	return strconv.FormatInt(sum.Int64, 10), nil
}
