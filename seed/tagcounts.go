package seed

import "iter"

// countTags makes the one pass over all cards' hashtags. A map is kept
// rather than a slice over every tag id because most of a Zipf corpus is
// never used: at prod about 0.4 M of the 6 M tags appear on a card, so the
// map holds some 0.4 M counters (tens of MB), not 6 M.
func (d *Dataset) countTags() {
	d.tagCounts = make(map[int64]int64)
	buf := make([]int64, 0, 5)
	for id := int64(1); id <= d.counts.Cards; id++ {
		buf = d.tagIDs(buf[:0], id)
		for _, t := range buf {
			d.tagCounts[t]++
		}
	}
}

// TagCards returns how many cards carry hashtag id: exactly the number of
// card-hashtag links with that id. The first call of TagCards, UsedTags or
// Hashtags counts all cards' hashtags in one pass.
func (d *Dataset) TagCards(id int64) int64 {
	d.tagCountsOnce.Do(d.countTags)
	return d.tagCounts[id]
}

// UsedTags returns how many distinct hashtags appear on at least one card.
func (d *Dataset) UsedTags() int64 {
	d.tagCountsOnce.Do(d.countTags)
	return int64(len(d.tagCounts))
}

// Hashtags yields every hashtag of the search table in id order, with its
// card count; tags used by no card are included (count 0), since the whole
// deduplicated table is the search corpus. Tags are generated as they are
// yielded, so only the counts are held in memory.
func (d *Dataset) Hashtags() iter.Seq2[Tag, int64] {
	d.tagCountsOnce.Do(d.countTags)
	return func(yield func(Tag, int64) bool) {
		for id := int64(1); id <= d.counts.Tags; id++ {
			if !yield(d.Tag(id), d.tagCounts[id]) {
				return
			}
		}
	}
}
