package traffic

import (
	"math/rand/v2"

	"github.com/mossdev/mossdev/seed"
)

// Popularity: P(rank r) ∝ 1/(1+r)^s. Cards and tags are both long-tailed on
// the platform; 1.1 is the exponent the seed draws hashtags with.
const zipfS = 1.1

// planner turns an operation's index into what it does. Everything an
// operation draws comes from its own PCG stream keyed by (seed, index), so
// operation i is the same whichever goroutine runs it and whenever.
type planner struct {
	ds    *seed.Dataset
	seed  uint64
	mix   Mix
	total int
	hot   []int64 // card ids by popularity: the seed's hot cards first
	cards int64
	users int64
	tags  int64
}

func newPlanner(ds *seed.Dataset, s uint64, mix Mix) *planner {
	p := &planner{ds: ds, seed: s, mix: mix, total: mix.total(), cards: ds.Counts().Cards,
		users: ds.Counts().Users, tags: ds.Counts().Tags}
	for c := range ds.HotCards() {
		p.hot = append(p.hot, c.ID)
	}
	return p
}

// op is one operation: its flow and the draws every flow needs; flows draw
// the rest from r.
type op struct {
	i    int64
	flow string
	card int64 // read, view, image: a popular card
	user int64 // view: the viewer; post: the author
	r    *rand.Rand
}

func (p *planner) op(i int64) op {
	r := rand.New(rand.NewPCG(p.seed, uint64(i)))
	o := op{i: i, r: r, flow: p.mix.pick(r.IntN(p.total))}
	o.card = p.card(r)
	o.user = 1 + r.Int64N(p.users)
	return o
}

// card draws a card by popularity: rank r is the seed's r-th hottest card
// (the ones cached in Redis) while there are, then a card spread over the
// id space by a multiplicative hash, so the cold tail is all the cards.
func (p *planner) card(r *rand.Rand) int64 {
	if p.cards <= 1 {
		return 1
	}
	rank := rand.NewZipf(r, zipfS, 1, uint64(p.cards-1)).Uint64()
	if rank < uint64(len(p.hot)) {
		return p.hot[rank]
	}
	return 1 + int64((rank*0x9E3779B97F4A7C15)%uint64(p.cards))
}

// tag draws a hashtag of the seeded corpus by popularity: the corpus ids
// are popularity ranks already (id 1 is the most used).
func (p *planner) tag(r *rand.Rand) seed.Tag {
	id := int64(1)
	if p.tags > 1 {
		id = 1 + int64(rand.NewZipf(r, zipfS, 1, uint64(p.tags-1)).Uint64())
	}
	return p.ds.Tag(id)
}
