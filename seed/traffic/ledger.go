package traffic

import (
	"slices"
	"sync"

	"github.com/mossdev/mossdev/seed"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Ledger is what a run wrote, for Check: the views it logged, per viewed
// card the highest count its flush jobs carried, the cards it posted.
type Ledger struct {
	mu    sync.Mutex
	views []bson.ObjectID
	cards map[int64]*cardEntry
	posts []posted
}

// posted is a card the run posted and its image's MD5 (the S3 ETag).
type posted struct {
	card seed.Card
	etag string
}

type cardEntry struct {
	views     int64
	published int64 // highest unique_view_count a job carried; 0 if none
	degraded  bool  // a view was counted in PostgreSQL directly
}

func newLedger() *Ledger { return &Ledger{cards: map[int64]*cardEntry{}} }

func (l *Ledger) card(id int64) *cardEntry {
	e := l.cards[id]
	if e == nil {
		e = &cardEntry{}
		l.cards[id] = e
	}
	return e
}

func (l *Ledger) viewed(card int64, doc bson.ObjectID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.views = append(l.views, doc)
	l.card(card).views++
}

func (l *Ledger) published(card, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.card(card)
	e.published = max(e.published, n)
}

func (l *Ledger) degrade(card int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.card(card).degraded = true
}

func (l *Ledger) post(c seed.Card, etag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.posts = append(l.posts, posted{c, etag})
}

// Views is how many views the run logged; Posts how many cards it posted;
// Cards how many distinct cards it viewed.
func (l *Ledger) Views() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.views) }
func (l *Ledger) Posts() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.posts) }
func (l *Ledger) Cards() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.cards) }

// PublishedCounts are the highest count a flush job carried per card.
func (l *Ledger) PublishedCounts() map[int64]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]int64{}
	for id, e := range l.cards {
		if e.published > 0 {
			out[id] = e.published
		}
	}
	return out
}

// ViewedCards are the cards viewed, in id order.
func (l *Ledger) ViewedCards() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, 0, len(l.cards))
	for id := range l.cards {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// snapshot copies the ledger for a check.
func (l *Ledger) snapshot() (views []bson.ObjectID, cards map[int64]cardEntry, posts []posted) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cards = make(map[int64]cardEntry, len(l.cards))
	for id, e := range l.cards {
		cards[id] = *e
	}
	return slices.Clone(l.views), cards, slices.Clone(l.posts)
}
