package traffic

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var sqlNoRows = sql.ErrNoRows

const cardQuery = `SELECT c.id, c.user_id, c.text, c.image_key, c.created_at, c.latitude, c.longitude, c.place,
	c.unique_view_count, c.like_count,
	COALESCE(array_agg(l.hashtag_id ORDER BY l.position) FILTER (WHERE l.card_id IS NOT NULL), '{}'),
	COALESCE(array_agg(h.name ORDER BY l.position) FILTER (WHERE l.card_id IS NOT NULL), '{}')
FROM cards c
LEFT JOIN card_hashtags l ON l.card_id = c.id
LEFT JOIN hashtags h ON h.id = l.hashtag_id
WHERE c.id = $1
GROUP BY c.id`

// errNoCard: the card a read asked for is not in PostgreSQL.
var errNoCard = errors.New("no such card")

// loadCard reads a card row with its hashtags, as the app's model does.
func (r *runner) loadCard(ctx context.Context, id int64) (seed.Card, error) {
	c, err := loadCardFrom(ctx, r.pg, id)
	if errors.Is(err, errNoCard) {
		r.stats.use(StorePostgres, nil)
		return c, err
	}
	return c, r.stats.use(StorePostgres, err)
}

func loadCardFrom(ctx context.Context, pg *pgxpool.Pool, id int64) (seed.Card, error) {
	var c seed.Card
	var lat, lon *float64
	var place *string
	var tagIDs []int64
	var tagNames []string
	err := pg.QueryRow(ctx, cardQuery, id).Scan(&c.ID, &c.UserID, &c.Text, &c.ImageKey, &c.CreatedAt, &lat, &lon, &place,
		&c.UniqueViewCount, &c.LikeCount, &tagIDs, &tagNames)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("read card %d: %w", id, errNoCard)
	}
	if err != nil {
		return c, fmt.Errorf("postgres: read card %d: %w", id, err)
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
	return c, nil
}

// read is cache-aside: GET card:<id> on its shard; on a miss, the row from
// PostgreSQL, whose count is raised to the viewers counted in Redis but not
// flushed yet, SET only if still absent (a concurrent view's entry wins)
// with a TTL. A shard that does not answer sends the read to PostgreSQL,
// counted as a fallback.
func (r *runner) read(ctx context.Context, o op) error {
	key := seed.CacheKey(o.card)
	i := r.redis.of(key)
	st := r.stats.shards[i]
	if r.redis.up(i) {
		_, err := r.redis.c[i].Get(ctx, key).Bytes()
		r.stats.use(StoreRedis, notNil(err))
		switch {
		case err == nil:
			st.hits.Add(1)
			return nil
		case errors.Is(err, redis.Nil):
			st.misses.Add(1)
		case r.redis.fail(i, err):
			r.report(fmt.Errorf("redis-%d: %w (reads of its cards fall back to postgres)", i, err))
			st.fallbacks.Add(1)
			_, err := r.loadCard(ctx, o.card)
			return err
		default:
			return fmt.Errorf("redis-%d: get %s: %w", i, key, err)
		}
	} else {
		st.fallbacks.Add(1)
		_, err := r.loadCard(ctx, o.card)
		return err
	}
	c, err := r.loadCard(ctx, o.card)
	if err != nil {
		return err
	}
	if n, ok := r.countedViewers(ctx, o.card); ok && n > c.UniqueViewCount {
		c.UniqueViewCount = n
	}
	_, val, err := seed.CacheEntry(c)
	if err != nil {
		return err
	}
	set, err := r.redis.c[i].SetNX(ctx, key, val, r.o.CacheTTL).Result()
	if err := r.stats.use(StoreRedis, err); err != nil {
		r.redis.fail(i, err)
		return fmt.Errorf("redis-%d: set %s: %w", i, key, err)
	}
	// A viewer counted between our SCARD and our SET found no entry to
	// update; looking again after the SET closes that window (a viewer
	// counted later finds the entry and updates it itself).
	if n, ok := r.countedViewers(ctx, o.card); set && ok && n > c.UniqueViewCount {
		r.updateEntry(ctx, o.card, n)
	}
	return nil
}

// countedViewers is the cardinality of the card's viewer set, when its
// shard answers and the set exists.
func (r *runner) countedViewers(ctx context.Context, card int64) (int64, bool) {
	key := ViewersKey(card)
	i := r.redis.of(key)
	if !r.redis.up(i) {
		return 0, false
	}
	n, err := r.redis.c[i].SCard(ctx, key).Result()
	r.stats.use(StoreRedis, err)
	if err != nil {
		r.redis.fail(i, err)
		return 0, false
	}
	return n, n > 0
}

// seededViewers are the card's distinct viewers in the seeded view log.
func (r *runner) seededViewers(id int64) []int64 {
	if id < 1 || id > r.ds.Counts().Cards {
		return nil
	}
	seen := map[int64]bool{}
	var out []int64
	for v := range r.ds.ViewLogs(r.ds.Card(id)) {
		if !seen[v.UserID] {
			seen[v.UserID] = true
			out = append(out, v.UserID)
		}
	}
	return out
}

// view appends to the view log, then counts the viewer if new: SADD to the
// card's viewer set in Redis (created from the seeded view log on first
// use), whose cardinality is the new absolute count; the card's cache
// entry, if any, gets that count; and a flush job carries it to
// PostgreSQL. With the set's shard down, newness is judged from the seeded
// log and this run's own views, and the count goes to PostgreSQL directly.
func (r *runner) view(ctx context.Context, o op) error {
	viewer := o.user
	if c := r.ds.Card(o.card); viewer == c.UserID { // authors do not count as viewers of their own cards
		viewer = viewer%r.plan.users + 1
	}
	doc := load.ViewDoc{ID: bson.NewObjectID(), CardID: o.card, UserID: viewer, ViewedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := r.views.InsertOne(ctx, doc); r.stats.use(StoreMongo, err) != nil {
		return fmt.Errorf("mongodb: insert view: %w", err)
	}
	r.ledger.viewed(o.card, doc.ID)

	key := ViewersKey(o.card)
	i := r.redis.of(key)
	if r.redis.up(i) {
		n, isNew, err := r.countViewer(ctx, i, o.card, viewer)
		r.stats.use(StoreRedis, err)
		if err == nil {
			if !isNew {
				return nil
			}
			r.updateEntry(ctx, o.card, n)
			j := r.pub.job(o.card, n)
			// Pending before publishing: the worker may flush it before the
			// confirm is back.
			r.stats.published(j.TaskID)
			if err := r.stats.use(StoreRabbit, r.pub.publish(ctx, j)); err != nil {
				r.stats.unpublished(j.TaskID)
				return fmt.Errorf("rabbitmq: %w", err)
			}
			r.ledger.published(o.card, n)
			return nil
		}
		if !r.redis.fail(i, err) {
			return fmt.Errorf("redis-%d: count viewer: %w", i, err)
		}
		r.report(fmt.Errorf("redis-%d: %w (views of its cards are counted in postgres)", i, err))
	}
	return r.viewDirect(ctx, i, o.card, viewer)
}

// countViewer adds viewer to the card's set and returns its cardinality.
func (r *runner) countViewer(ctx context.Context, i int, card, viewer int64) (int64, bool, error) {
	key := ViewersKey(card)
	c := r.redis.c[i]
	exists, err := c.Exists(ctx, key).Result()
	if err != nil {
		return 0, false, err
	}
	if exists == 0 {
		// Two views may both find it missing: SADD of the same members twice
		// is harmless.
		if seeded := r.seededViewers(card); len(seeded) > 0 {
			members := make([]any, len(seeded))
			for k, u := range seeded {
				members[k] = u
			}
			if err := c.SAdd(ctx, key, members...).Err(); err != nil {
				return 0, false, err
			}
		}
	}
	var add *redis.IntCmd
	var scard *redis.IntCmd
	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		add = p.SAdd(ctx, key, viewer)
		scard = p.SCard(ctx, key)
		return nil
	}); err != nil {
		return 0, false, err
	}
	return scard.Val(), add.Val() == 1, nil
}

// updateEntry sets the cached card's count to n if it is lower
// (optimistic: WATCH, GET, MULTI SET), keeping its TTL. No entry, nothing
// to do: the next read fills it.
func (r *runner) updateEntry(ctx context.Context, card, n int64) {
	key := seed.CacheKey(card)
	i := r.redis.of(key)
	if !r.redis.up(i) {
		return
	}
	c := r.redis.c[i]
	for range 5 {
		err := c.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if err != nil {
				return err
			}
			cc, err := DecodeEntry(b)
			if err != nil || cc.UniqueViewCount >= n {
				return err
			}
			cc.UniqueViewCount = n
			_, val, err := seed.CacheEntry(cc)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.SetArgs(ctx, key, val, redis.SetArgs{KeepTTL: true})
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			r.redis.fail(i, err)
		}
		return
	}
}

// viewDirect is the degraded path: the viewer set is out of reach, so
// newness comes from the seeded log and this run's views, and a new
// viewer's count is added in PostgreSQL at once.
func (r *runner) viewDirect(ctx context.Context, i int, card, viewer int64) error {
	r.stats.shards[i].direct.Add(1)
	r.viewerMu.Lock()
	known, ok := r.viewers[card]
	if !ok {
		known = map[int64]bool{}
		for _, u := range r.seededViewers(card) {
			known[u] = true
		}
		r.viewers[card] = known
	}
	isNew := !known[viewer]
	known[viewer] = true
	r.viewerMu.Unlock()
	r.ledger.degrade(card)
	if !isNew {
		return nil
	}
	if _, err := r.pg.Exec(ctx, "UPDATE cards SET unique_view_count = unique_view_count + 1 WHERE id = $1", card); r.stats.use(StorePostgres, err) != nil {
		return fmt.Errorf("postgres: count view of card %d: %w", card, err)
	}
	r.stats.degraded.Add(1)
	return nil
}

// post writes a new card the way the app does: the row and its hashtag
// links in one PostgreSQL transaction (through PgBouncer), then the
// hashtags' card counts in MariaDB's search table (a tag new to the corpus
// is inserted: emoji need utf8mb4, case variants are distinct under
// utf8mb4_bin), the search document, and the image in the bucket.
func (r *runner) post(ctx context.Context, o op) error {
	id := r.postBase + o.i
	src := r.ds.Card(r.plan.card(o.r)) // text and place of a seeded card: a repost, as apps see many
	c := seed.Card{ID: id, UserID: o.user, Text: src.Text, ImageKey: seed.ImageKey(id),
		CreatedAt: time.Now().UTC().Truncate(time.Second), Location: src.Location}
	for range o.r.IntN(4) {
		t := r.plan.tag(o.r)
		if o.r.IntN(10) == 0 { // one tag in ten is a variant the corpus may lack
			var err error
			if t, err = r.variantTag(ctx, t, o.r.IntN(2)); err != nil {
				return err
			}
		}
		dup := false
		for _, have := range c.Tags {
			dup = dup || have.ID == t.ID
		}
		if !dup {
			c.Tags = append(c.Tags, t)
		}
	}
	err := pgx.BeginFunc(ctx, r.pg, func(tx pgx.Tx) error {
		for _, t := range c.Tags {
			if _, err := tx.Exec(ctx, "INSERT INTO hashtags (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", t.ID, t.Name); err != nil {
				return err
			}
		}
		var lat, lon *float64
		var place *string
		if l := c.Location; l != nil {
			lat, lon, place = &l.Lat, &l.Lon, &l.Place
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cards (id, user_id, text, image_key, created_at, latitude, longitude, place)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, c.UserID, c.Text, c.ImageKey, c.CreatedAt, lat, lon, place); err != nil {
			return err
		}
		for k, t := range c.Tags {
			if _, err := tx.Exec(ctx, "INSERT INTO card_hashtags (card_id, position, hashtag_id) VALUES ($1, $2, $3)", c.ID, k, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if r.stats.use(StorePostgres, err) != nil {
		return fmt.Errorf("postgres: insert card %d: %w", id, err)
	}
	for _, t := range c.Tags {
		if _, err := r.maria.ExecContext(ctx, `INSERT INTO hashtags (id, name, card_count) VALUES (?, ?, 1)
			ON DUPLICATE KEY UPDATE card_count = card_count + 1`, t.ID, t.Name); r.stats.use(StoreMaria, err) != nil {
			return fmt.Errorf("mariadb: count hashtag %q: %w", t.Name, err)
		}
	}
	// Indexed in bulk in the background, as apps index through a queue:
	// one document per request costs the search emulator (bleve) a commit
	// each, about half a second a post under load; a bulk request a fifth
	// of a second commits them together. A failure counts as the post
	// flow's error when it comes back.
	doc, _ := json.Marshal(load.NewCardDoc(c)) // plain fields: cannot fail
	err = r.bulk.Add(ctx, esutil.BulkIndexerItem{Action: "index", DocumentID: strconv.FormatInt(id, 10), Body: bytes.NewReader(doc),
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			if err == nil {
				err = fmt.Errorf("%s: %s", res.Error.Type, res.Error.Reason)
			}
			r.stats.use(StoreElasticsearch, err)
			r.stats.flows[Post].fail(fmt.Errorf("elasticsearch: index card %d: %w", id, err))
		}})
	if r.stats.use(StoreElasticsearch, err) != nil {
		return fmt.Errorf("elasticsearch: index card %d: %w", id, err)
	}
	img, err := r.ds.Image(id)
	if err != nil {
		return err
	}
	sum := md5.Sum(img)
	_, err = r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.t.S3.Bucket), Key: aws.String(c.ImageKey),
		Body: bytes.NewReader(img), ContentType: aws.String("image/png"), ContentLength: aws.Int64(int64(len(img))),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
	if r.stats.use(StoreS3, err) != nil {
		return fmt.Errorf("s3: put %s: %w", c.ImageKey, err)
	}
	r.ledger.post(c, hex.EncodeToString(sum[:]))
	return nil
}

// variantTag is a hashtag a user might write instead of t: for Latin tags
// its first letter's case flipped (distinct under utf8mb4_bin), otherwise
// t with a moon (a 4-byte emoji). A variant the corpus has keeps its id;
// one MariaDB already knows (an earlier run's) keeps that id; else it gets
// the next free id, held under a lock so two posts cannot give one name two.
func (r *runner) variantTag(ctx context.Context, t seed.Tag, kind int) (seed.Tag, error) {
	name := t.Name + "🌙"
	if first, size := utf8.DecodeRuneInString(t.Name); kind == 0 && first < utf8.RuneSelf && unicode.IsLetter(first) {
		flip := unicode.ToUpper(first)
		if unicode.IsUpper(first) {
			flip = unicode.ToLower(first)
		}
		name = string(flip) + t.Name[size:]
	}
	if utf8.RuneCountInString(name) > seed.MaxTagLen {
		return t, nil
	}
	if id, ok := r.ds.TagID(name); ok {
		return seed.Tag{ID: id, Name: name}, nil
	}
	r.tagMu.Lock()
	defer r.tagMu.Unlock()
	var id int64
	err := r.maria.QueryRowContext(ctx, "SELECT id FROM hashtags WHERE name = ?", name).Scan(&id)
	switch {
	case err == nil:
		return seed.Tag{ID: id, Name: name}, nil
	case !errors.Is(err, sqlNoRows):
		return t, fmt.Errorf("mariadb: look up hashtag %q: %w", name, err)
	}
	id = r.tagNext.Add(1) - 1
	if _, err := r.maria.ExecContext(ctx, "INSERT INTO hashtags (id, name, card_count) VALUES (?, ?, 0)", id, name); err != nil {
		return t, fmt.Errorf("mariadb: insert hashtag %q: %w", name, err)
	}
	return seed.Tag{ID: id, Name: name}, nil
}

// cities are where geo searches look: city centres (the seed's districts
// cluster around them).
var cities = []struct {
	name     string
	lat, lon float64
}{
	{"서울", 37.5665, 126.9780}, {"부산", 35.1796, 129.0756}, {"대구", 35.8714, 128.6014},
	{"인천", 37.4563, 126.7052}, {"대전", 36.3504, 127.3845}, {"광주", 35.1595, 126.8526},
	{"제주", 33.4996, 126.5312}, {"수원", 37.2636, 127.0286},
}

// search is one of the app's three searches, chosen by the operation:
// hashtag prefix in MariaDB (the index serves LIKE 'prefix%' under the
// case-sensitive collation), full text over the cards in Elasticsearch
// (a word of a popular card's Korean text), or cards within a few
// kilometres of a Korean city, nearest first.
func (r *runner) search(ctx context.Context, o op) error {
	switch o.r.IntN(3) {
	case 0:
		t := r.plan.tag(o.r)
		runes := []rune(t.Name)
		prefix := string(runes[:min(len(runes), 1+o.r.IntN(2))])
		rows, err := r.maria.QueryContext(ctx, "SELECT id, name, card_count FROM hashtags WHERE name LIKE ? ORDER BY name LIMIT 20",
			likeEscape(prefix)+"%")
		if r.stats.use(StoreMaria, err) != nil {
			return fmt.Errorf("mariadb: hashtag search: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("mariadb: hashtag search: %w", err)
		}
		return nil
	case 1:
		words := strings.Fields(r.ds.Card(o.card).Text)
		if len(words) == 0 {
			words = []string{"새벽"}
		}
		w := strings.TrimFunc(words[o.r.IntN(len(words))], func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsNumber(c) })
		q, _ := json.Marshal(map[string]any{"size": 20, "query": map[string]any{"match": map[string]any{"text": w}}})
		return r.esSearch(ctx, q, "full-text")
	default:
		c := cities[o.r.IntN(len(cities))]
		at := map[string]float64{"lat": c.lat, "lon": c.lon}
		q, _ := json.Marshal(map[string]any{"size": 20,
			"query": map[string]any{"bool": map[string]any{"filter": map[string]any{
				"geo_distance": map[string]any{"distance": "5km", "location": at}}}},
			"sort": []any{map[string]any{"_geo_distance": map[string]any{"location": at, "order": "asc", "unit": "km"}}}})
		return r.esSearch(ctx, q, "geo")
	}
}

func (r *runner) esSearch(ctx context.Context, body []byte, what string) error {
	res, err := r.es.Search(r.es.Search.WithIndex(load.CardsIndex), r.es.Search.WithBody(bytes.NewReader(body)),
		r.es.Search.WithContext(ctx))
	if err := r.stats.use(StoreElasticsearch, esErr(res, err)); err != nil {
		return fmt.Errorf("elasticsearch: %s search: %w", what, err)
	}
	return nil
}

// likeEscape escapes LIKE's wildcards and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// image fetches a popular card's image through the CDN, as every phone
// does; X-Cache says whether the edge had it.
func (r *runner) image(ctx context.Context, o op) error {
	url := strings.TrimSuffix(r.t.CDN, "/") + "/" + seed.ImageKey(o.card)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := r.cdn.Do(req)
	if err != nil {
		r.stats.use(StoreCDN, err)
		return fmt.Errorf("cdn: get %s: %w", seed.ImageKey(o.card), err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return fmt.Errorf("cdn: read %s: %w", seed.ImageKey(o.card), err)
	}
	if r.stats.use(StoreCDN, statusErr(res.StatusCode)) != nil {
		return fmt.Errorf("cdn: get %s: %s (X-Cache %q)", seed.ImageKey(o.card), res.Status, res.Header.Get("X-Cache"))
	}
	if strings.Contains(strings.ToLower(res.Header.Get("X-Cache")), "hit") {
		r.stats.cdnHits.Add(1)
	} else {
		r.stats.cdnMiss.Add(1)
	}
	return nil
}

// esErr turns a failed request or an error response into an error and
// drains the body.
func esErr(res *esapi.Response, err error) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("%s: %s", res.Status(), bytes.TrimSpace(b))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// notNil is err, except a cache miss, which is no failure.
func notNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

func statusErr(code int) error {
	if code != http.StatusOK {
		return errors.New(http.StatusText(code))
	}
	return nil
}
