package seed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
)

// Dataset is one generated Mossi dataset. It holds no entities: each user,
// card, tag, view log, image and job is computed on demand from the seed and
// its index, so any store's writer can stream its own view of the data, in
// parallel with the others, and entity i is identical wherever it is made.
// A Dataset is safe for concurrent use.
type Dataset struct {
	params   Params
	counts   Counts
	keys     [numStreams]uint64
	tagZipf  zipf
	nickPerm affine

	// One-pass aggregates, computed on first use (see their methods).
	tagCountsOnce sync.Once
	tagCounts     map[int64]int64
	hotOnce       sync.Once
	hot           []int64
	viewRowsOnce  sync.Once
	viewRows      int64
}

// TagZipfExponent is s in P(rank r) ∝ 1/r^s for hashtag draws.
const TagZipfExponent = 1.1

// New validates p and returns its dataset. Generation happens lazily.
func New(p Params) (*Dataset, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new dataset: %w", err)
	}
	if p.Scale == "" {
		p.Scale = Default
	}
	if p.Cards == 0 {
		p.Cards = scaleCards[p.Scale]
	}
	d := &Dataset{params: p, counts: countsFor(p.Cards)}
	for s := range d.keys {
		d.keys[s] = mix64(p.Seed ^ mix64(uint64(s)*golden+0x2545f4914f6cdd1d))
	}
	d.tagZipf = newZipf(d.counts.Tags, TagZipfExponent)
	nickKey := newRNG(d.keys[streamNick], 0)
	d.nickPerm = newAffine(uint64(len(nickAdjectives)*len(nickNouns)), 0.3+0.4*nickKey.float())
	return d, nil
}

// Params returns the parameters with defaults filled in (Scale and Cards).
func (d *Dataset) Params() Params { return d.params }

// Counts returns the sizes of the entity sets.
func (d *Dataset) Counts() Counts { return d.counts }

// Fingerprint identifies the generated data: equal fingerprints mean
// byte-identical data, so a stack already seeded with this fingerprint can
// skip re-seeding. It covers the generator version, the seed and the sizes
// (not the scale name: Scale small and Cards 2000 are the same data).
func (d *Dataset) Fingerprint() string {
	c := d.counts
	sum := sha256.Sum256(fmt.Appendf(nil, "mossdev-seed v%d seed=%d users=%d cards=%d tags=%d hot=%d jobs=%d",
		GeneratorVersion, d.params.Seed, c.Users, c.Cards, c.Tags, c.HotCards, c.Jobs))
	return hex.EncodeToString(sum[:16])
}
