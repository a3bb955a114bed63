package seed

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/hex"
	"iter"
	"slices"
	"time"
)

// ViewLog is one view of a card by a member: a document of the per-user view
// log that lives in MongoDB, kept out of the main database.
type ViewLog struct {
	ID       ObjectID // deterministic, so re-seeding can upsert
	CardID   int64
	UserID   int64
	ViewedAt time.Time // UTC, whole milliseconds (BSON dates); after the card's CreatedAt and the viewer's sign-up, before the snapshot's end
}

// ObjectID is a MongoDB ObjectID: 4-byte big-endian seconds of ViewedAt, the
// 5-byte card id and a 3-byte row counter within the card. Card id and
// counter make it unique; the timestamp keeps it meaningful to MongoDB tools.
type ObjectID [12]byte

// Hex is the usual 24-character form.
func (o ObjectID) Hex() string { return hex.EncodeToString(o[:]) }

func newObjectID(at time.Time, card int64, seq uint32) ObjectID {
	var o ObjectID
	binary.BigEndian.PutUint32(o[0:4], uint32(at.Unix()))
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(card))
	copy(o[4:9], id[3:])
	o[9], o[10], o[11] = byte(seq>>16), byte(seq>>8), byte(seq)
	return o
}

// repeatViews returns how many more times a viewer looked at the card after
// the first view: none for most, up to three.
func repeatViews(r *rng) int {
	switch x := r.intn(100); {
	case x < 80:
		return 0
	case x < 92:
		return 1
	case x < 97:
		return 2
	default:
		return 3
	}
}

// ViewLogs yields card c's view log: for each of its UniqueViewCount distinct
// viewers a first view, then that viewer's repeat views, so there are more
// rows than distinct viewers. Rows are grouped by viewer, each group in time
// order. c must come from this dataset.
//
// Viewers are a keyed pseudo-random permutation of the card's viewer pool
// (minus the author), so they are distinct without a set and the log streams
// in constant memory however many views a card has.
func (d *Dataset) ViewLogs(c Card) iter.Seq[ViewLog] {
	return func(yield func(ViewLog) bool) {
		if c.UniqueViewCount == 0 {
			return
		}
		core := d.core(c.ID)
		cardKey := mix64(d.keys[streamViewLog] + uint64(c.ID)*golden)
		viewers := newPerm(uint64(core.pool-1), cardKey)
		seq := uint32(0)
		for j := range uint64(min(c.UniqueViewCount, core.pool-1)) {
			user := int64(viewers.at(j)) + 1
			if user >= core.author {
				user++ // skip the author
			}
			r := newRNG(cardKey, j)
			base := core.created
			if joined := d.userCreated(user); joined.After(base) {
				base = joined
			}
			// Most first views come within hours of posting, the rest trickle
			// in over days; repeat views follow each other by about half a day.
			mean := 3 * time.Hour
			if r.intn(100) < 30 {
				mean = 72 * time.Hour
			}
			// Offsets are drawn below the room left before the snapshot's end
			// (truncated exponentials), so no view lies in its future.
			room := float64(end.Sub(base) - time.Millisecond)
			offset := float64(time.Millisecond) + r.expBelow(float64(mean), room-float64(time.Millisecond))
			for k := range 1 + repeatViews(&r) {
				if k > 0 {
					offset += r.expBelow(float64(12*time.Hour), room-offset)
				}
				at := base.Add(time.Duration(offset).Truncate(time.Millisecond))
				if !yield(ViewLog{ID: newObjectID(at, c.ID, seq), CardID: c.ID, UserID: user, ViewedAt: at}) {
					return
				}
				seq++
			}
		}
	}
}

// ViewLogRows is the total number of view-log rows over all cards, for
// progress reporting and verification. The first call makes one pass over
// the cards' view counts (no texts, no view times: about 0.5 s at prod),
// later calls are free.
func (d *Dataset) ViewLogRows() int64 {
	d.viewRowsOnce.Do(func() {
		for id := int64(1); id <= d.counts.Cards; id++ {
			unique, _ := d.views(id, d.core(id))
			cardKey := mix64(d.keys[streamViewLog] + uint64(id)*golden)
			for j := range uint64(unique) {
				r := newRNG(cardKey, j)
				r.intn(100)
				r.float() // the same draws, in the same order, as ViewLogs
				d.viewRows += 1 + int64(repeatViews(&r))
			}
		}
	})
	return d.viewRows
}

// HotCards yields the Counts().HotCards most viewed cards, most viewed first
// (ties by lower id): the cards an app keeps in its Redis cache. The first
// call makes a pass over all view counts keeping a heap of HotCards ids;
// that list is all it keeps.
func (d *Dataset) HotCards() iter.Seq[Card] {
	d.hotOnce.Do(d.findHot)
	return func(yield func(Card) bool) {
		for _, id := range d.hot {
			if !yield(d.Card(id)) {
				return
			}
		}
	}
}

type viewed struct{ views, id int64 }

// hotter orders by views descending, then id ascending.
func hotter(a, b viewed) int {
	if c := cmp.Compare(b.views, a.views); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// coldHeap is a min-heap on hotness: its root is the coldest kept card.
type coldHeap []viewed

func (h coldHeap) Len() int           { return len(h) }
func (h coldHeap) Less(i, j int) bool { return hotter(h[i], h[j]) > 0 }
func (h coldHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *coldHeap) Push(x any)        { *h = append(*h, x.(viewed)) }
func (h *coldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (d *Dataset) findHot() {
	n := int(d.counts.HotCards)
	h := make(coldHeap, 0, n+1)
	for id := int64(1); id <= d.counts.Cards; id++ {
		unique, _ := d.views(id, d.core(id))
		v := viewed{unique, id}
		if len(h) < n {
			heap.Push(&h, v)
		} else if n > 0 && hotter(v, h[0]) < 0 {
			h[0] = v
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, hotter)
	d.hot = make([]int64, len(h))
	for i, v := range h {
		d.hot[i] = v.id
	}
}
