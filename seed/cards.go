package seed

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"time"
)

// Card is a post: a short text over an image, with hashtags. The same values
// go to every store (PostgreSQL row, Elasticsearch document, Redis cache
// entry, S3 object key, MongoDB view logs).
type Card struct {
	ID              int64
	UserID          int64 // author; signed up no later than CreatedAt
	Text            string
	Tags            []Tag // 0-5 distinct hashtags, in the order written
	ImageKey        string
	CreatedAt       time.Time // UTC, whole seconds; non-decreasing in ID
	Location        *Location // nil for about 40% of cards
	UniqueViewCount int64     // distinct viewers: exactly the distinct users in ViewLogs
	LikeCount       int64     // at most UniqueViewCount
}

// Location is where a card was posted, clustered around Korean city
// districts for the geo queries.
type Location struct {
	Lat, Lon float64 // WGS84 degrees, rounded to 6 decimals so every store holds the same value
	Place    string  // the district the point was drawn around, e.g. "서울 홍대"
}

// maxUniqueViews caps a card's distinct viewers. It keeps a view log's rows
// under the 2^24 counter of its ObjectID and a hot card's log streamable.
const maxUniqueViews = 5_000

// cardCore is what several outputs of a card need: its place in time, its
// author and the users who may view it.
type cardCore struct {
	created time.Time
	author  int64
	pool    int64 // users 1..pool may view the card
}

func (d *Dataset) core(id int64) cardCore {
	r := newRNG(d.keys[streamCardMeta], uint64(id))
	p := (float64(id-1) + r.float()) / float64(d.counts.Cards)
	c := cardCore{created: timeAt(p)}

	// Users 1..signed existed at p (user j's fraction is below j/Users);
	// step back in the rare case float rounding says otherwise.
	u := float64(d.counts.Users)
	signed := max(1, min(d.counts.Users, int64(p*u)))
	for signed > 1 && d.userCreated(signed).After(c.created) {
		signed--
	}
	// Early members post more: half the cards come from a uniform pick, half
	// from a pick skewed towards low ids.
	if r.intn(2) == 0 {
		c.author = 1 + r.intn(signed)
	} else {
		f := r.float()
		c.author = 1 + int64(float64(signed)*f*f)
	}
	// Viewers are members who existed within about two weeks of the post
	// (3% of the activity span); views by later members are rare enough to
	// leave out.
	c.pool = max(c.author, min(d.counts.Users, int64(math.Min(1, p+0.03)*u)))
	return c
}

// views returns card id's distinct viewer and like counts.
func (d *Dataset) views(id int64, c cardCore) (unique, likes int64) {
	r := newRNG(d.keys[streamCardViews], uint64(id))
	var v float64
	if r.intn(100) == 0 {
		v = 30 * math.Pow(1-r.float(), -1/1.1) // one card in a hundred goes viral: Pareto tail
	} else {
		v = math.Exp(1.5 + r.norm()) // log-normal: median 4.5, mean 7.4
	}
	// A card posted shortly before the snapshot has had only part of its
	// views: the share of the view-delay distribution (see ViewLogs) that
	// fits in its age.
	age := float64(end.Sub(c.created))
	v *= 0.7*-math.Expm1(-age/float64(3*time.Hour)) + 0.3*-math.Expm1(-age/float64(72*time.Hour))
	unique = min(int64(v), maxUniqueViews, c.pool-1) // the author is no viewer
	rate := 0.04 + 0.25*r.float()
	likes = min(unique, int64(float64(unique)*rate+r.float()))
	return unique, likes
}

// tagIDs appends card id's hashtag ids to dst.
func (d *Dataset) tagIDs(dst []int64, id int64) []int64 {
	r := newRNG(d.keys[streamCardTags], uint64(id))
	n := int64(0)
	for x := r.intn(100); n < 5 && x >= tagsPerCardCum[n]; n++ {
	}
	n = min(n, d.counts.Tags)
	start := len(dst)
	for attempts := 0; int64(len(dst)-start) < n; attempts++ {
		t := d.tagZipf.draw(&r)
		if attempts > 64 { // only reachable with a handful of tags in all
			for t = 1; slices.Contains(dst[start:], t); t++ {
			}
		}
		if !slices.Contains(dst[start:], t) {
			dst = append(dst, t)
		}
	}
	return dst
}

// tagsPerCardCum[k] is P(fewer than k+1 tags) in percent: 14% none, 20% one,
// 24% two, 20% three, 13% four, 9% five (mean 2.3).
var tagsPerCardCum = [5]int64{14, 34, 58, 78, 91}

type place struct {
	name     string
	lat, lon float64
	weight   int64
	sigmaKm  float64
}

// places are the clusters: the districts where the app's (young, urban)
// users go out, weighted by how busy they are.
var places = []place{
	{"서울 강남", 37.4979, 127.0276, 14, 1.5},
	{"서울 홍대", 37.5572, 126.9245, 14, 1.2},
	{"서울 잠실", 37.5133, 127.1001, 8, 1.5},
	{"서울 신촌", 37.5552, 126.9368, 6, 1.0},
	{"서울 이태원", 37.5345, 126.9946, 5, 1.0},
	{"서울 명동", 37.5636, 126.9826, 5, 1.0},
	{"서울 건대입구", 37.5404, 127.0692, 5, 1.0},
	{"서울 여의도", 37.5219, 126.9245, 4, 1.2},
	{"부산 해운대", 35.1631, 129.1635, 7, 1.5},
	{"부산 서면", 35.1577, 129.0592, 5, 1.2},
	{"대구 동성로", 35.8694, 128.5956, 5, 1.5},
	{"인천 부평", 37.4895, 126.7245, 4, 1.5},
	{"인천 송도", 37.3925, 126.6393, 2, 1.5},
	{"대전 둔산", 36.3515, 127.3787, 4, 1.5},
	{"광주 충장로", 35.1489, 126.9166, 4, 1.5},
	{"제주 제주시", 33.4996, 126.5312, 3, 2.0},
	{"제주 서귀포", 33.2541, 126.5601, 2, 2.0},
	{"수원 인계동", 37.2636, 127.0286, 3, 1.5},
	{"울산 삼산동", 35.5388, 129.3388, 2, 1.5},
	{"전주 한옥마을", 35.8147, 127.1526, 2, 1.0},
	{"춘천", 37.8813, 127.7298, 1, 2.0},
	{"경주", 35.8562, 129.2247, 1, 2.0},
}

var placeWeight = func() (total int64) {
	for _, p := range places {
		total += p.weight
	}
	return total
}()

// LocatedPercent is the share of cards with a location.
const LocatedPercent = 60

// maxSpreadSigmas bounds a point's distance from its district's centre.
const maxSpreadSigmas = 3

func (d *Dataset) location(id int64) *Location {
	r := newRNG(d.keys[streamCardLoc], uint64(id))
	if r.intn(100) >= LocatedPercent {
		return nil
	}
	x := r.intn(placeWeight)
	pl := places[0]
	for _, p := range places {
		if x < p.weight {
			pl = p
			break
		}
		x -= p.weight
	}
	// A gaussian around the centre, redrawn past 3 sigma (and pulled in
	// after 8 tries) so no card lands far out of its district.
	var dx, dy float64
	limit := maxSpreadSigmas * pl.sigmaKm
	for try := 0; ; try++ {
		dx, dy = r.norm()*pl.sigmaKm, r.norm()*pl.sigmaKm
		dist := math.Hypot(dx, dy)
		if dist <= limit {
			break
		}
		if try == 7 {
			dx, dy = dx*limit/dist, dy*limit/dist
			break
		}
	}
	const kmPerDegree = 111.32
	lat := pl.lat + dy/kmPerDegree
	lon := pl.lon + dx/(kmPerDegree*math.Cos(pl.lat*math.Pi/180))
	return &Location{Lat: round6(lat), Lon: round6(lon), Place: pl.name}
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// ImageKey is card id's object key in the image bucket. The id%1000 folder
// spreads keys over prefixes, as one would for S3 request-rate partitions.
func ImageKey(id int64) string {
	folder := strconv.FormatInt(id%1000, 10)
	for len(folder) < 3 {
		folder = "0" + folder
	}
	return "cards/" + folder + "/" + strconv.FormatInt(id, 10) + ".png"
}

// Card returns card id (1..Counts().Cards); other ids return the zero Card.
func (d *Dataset) Card(id int64) Card {
	if id < 1 || id > d.counts.Cards {
		return Card{}
	}
	c := d.core(id)
	unique, likes := d.views(id, c)
	ids := d.tagIDs(make([]int64, 0, 5), id)
	tags := make([]Tag, len(ids))
	for i, t := range ids {
		tags[i] = d.Tag(t)
	}
	text := newRNG(d.keys[streamCardText], uint64(id))
	return Card{
		ID:              id,
		UserID:          c.author,
		Text:            cardText(&text),
		Tags:            tags,
		ImageKey:        ImageKey(id),
		CreatedAt:       c.created,
		Location:        d.location(id),
		UniqueViewCount: unique,
		LikeCount:       likes,
	}
}

// Cards yields cards first..last (inclusive, clamped to the dataset) in id
// order. Split the id range to write in parallel.
func (d *Dataset) Cards(first, last int64) iter.Seq[Card] {
	return func(yield func(Card) bool) {
		for id := max(first, 1); id <= min(last, d.counts.Cards); id++ {
			if !yield(d.Card(id)) {
				return
			}
		}
	}
}

// Users yields users first..last (inclusive, clamped to the dataset) in id
// order.
func (d *Dataset) Users(first, last int64) iter.Seq[User] {
	return func(yield func(User) bool) {
		for id := max(first, 1); id <= min(last, d.counts.Users); id++ {
			if !yield(d.User(id)) {
				return
			}
		}
	}
}
