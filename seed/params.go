package seed

import (
	"errors"
	"fmt"
	"strings"
)

// GeneratorVersion changes whenever the generated data changes for the same
// Params. It is part of the Fingerprint, so bumping it makes every stack
// re-seed; forgetting to bump it leaves stacks holding stale data that no
// longer matches what verify regenerates.
const GeneratorVersion = 1

// Scale names a dataset size. Every count derives from the number of cards,
// so a scale is only a named card count.
type Scale string

// The scales. Prod matches the order of magnitude that matters for the
// platform's design: about 6 million distinct hashtags in the search table.
const (
	Small   Scale = "small"   // 2,000 cards: unit-test and CI fixtures
	Default Scale = "default" // 30,000 cards: a laptop, seeded in seconds
	Large   Scale = "large"   // 200,000 cards
	Prod    Scale = "prod"    // 1,000,000 cards, 6,000,000 hashtags
)

var scaleCards = map[Scale]int64{
	Small:   2_000,
	Default: 30_000,
	Large:   200_000,
	Prod:    1_000_000,
}

// Scales lists the valid scales, smallest first.
func Scales() []Scale { return []Scale{Small, Default, Large, Prod} }

// MaxCards bounds an explicit card count: ten times prod, which keeps every
// id inside the 32-bit stamp drawn into the card images.
const MaxCards = 10_000_000

// ErrBadParams is the cause of every Validate error.
var ErrBadParams = errors.New("bad seed parameters")

// Params defines a dataset: the same Params always give the same data.
type Params struct {
	Seed  uint64
	Scale Scale // "" means Default
	Cards int64 // explicit card count, overriding the scale's; 0 means the scale's
}

// Validate reports unknown scales and out-of-range card counts.
func (p Params) Validate() error {
	if p.Scale != "" {
		if _, ok := scaleCards[p.Scale]; !ok {
			names := make([]string, 0, len(scaleCards))
			for _, s := range Scales() {
				names = append(names, string(s))
			}
			return fmt.Errorf("validate seed params: unknown scale %q (valid: %s): %w",
				p.Scale, strings.Join(names, ", "), ErrBadParams)
		}
	}
	if p.Cards < 0 || p.Cards > MaxCards {
		return fmt.Errorf("validate seed params: cards %d out of range (1..%d, or 0 for the scale's count): %w",
			p.Cards, MaxCards, ErrBadParams)
	}
	return nil
}

// Counts are the sizes of a dataset's entity sets. Ids run from 1 to the count.
type Counts struct {
	Users    int64
	Cards    int64
	Tags     int64 // distinct hashtags in the search table, used or not
	HotCards int64 // cards cached in Redis
	Jobs     int64 // write-behind messages in the broker (one per hot card)
}

// countsFor derives every size from the card count. The ratios follow the
// platform at prod scale: six distinct hashtags per card (6 M for 1 M cards)
// and one member per four cards.
func countsFor(cards int64) Counts {
	c := Counts{Cards: cards, Users: max(1, cards/4), Tags: max(1, 6*cards)}
	c.HotCards = min(cards, max(10, min(20_000, cards/50)))
	c.Jobs = c.HotCards
	return c
}
