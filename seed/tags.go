package seed

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Tag is a hashtag. Its ID is its popularity rank (1 is the most used), the
// same number in every store.
type Tag struct {
	ID   int64
	Name string
}

// MaxTagLen is the longest hashtag in characters: a utf8mb4 VARCHAR key in
// InnoDB (767-byte index prefix, 4 bytes a character) holds 190.
const MaxTagLen = 190

// The tag corpus is a pure function from rank to name, independent of the
// seed (the seed decides which cards use which tags), so a tag is generated
// anywhere from its rank alone and the 6 M-row search table is never held in
// memory. Ranks are laid out in tiers of falling popularity:
//
//  1. head: the curated tagHead list.
//  2. pairs: noun+suffix ("카페투어"), noun+noun ("퇴근맥주"), Latin word
//     pairs in four casings ("dailylife", "DailyLife", "DAILYLIFE",
//     "Dailylife") and emoji+noun or noun+emoji ("🌙새벽", "커피☕️"), mixed
//     by an affine permutation (about 70% Korean, 15% Latin, 15% emoji).
//  3. triples: noun+noun+suffix ("홍대카페추천"), likewise permuted.
//  4. numbered: every name of tiers 1-3 followed by a number from 2 up
//     ("일상2", "홍대카페추천3"), cycling through all of them per number;
//     unbounded, so any tag count is reachable.
//
// Why names are distinct: tiers 2-3 are uniquely decodable (a fixed-width
// two-syllable noun first, whole words from fixed lists after it; the tests
// check every pair and the suffix rule), so decodeRaw inverts them. Where a
// curated head name is also a composed one (새벽감성 is 새벽+감성) that
// composed slot is skipped (a "hole"). No name of tiers 1-3 ends in an ASCII
// digit, so a numbered name splits uniquely into base name and number, and
// distinct (base, number) pairs give distinct names. TagID inverts Tag
// exactly, and the tests check TagID(Tag(r)) == r over every rank of the
// default scale and over windows spread across prod's 6 M.
type corpus struct {
	headID               map[string]int64
	nounID, suffixID     map[string]uint64
	latin1ID, latin2ID   map[string]uint64
	emojiID              map[string]uint64
	nPairKo, nPairNN     uint64
	nPairLatin, nEmo     uint64
	nPairs, nTriples     uint64
	pairPerm, triplePerm affine
	holes                []uint64 // sorted raw tail indices equal to a head name
	plain                int64    // ranks in tiers 1-3
}

var tagCorpus = sync.OnceValue(func() *corpus {
	c := &corpus{
		headID:   make(map[string]int64, len(tagHead)),
		nounID:   indexOf(tagNouns),
		suffixID: indexOf(tagSuffixes),
		latin1ID: indexOf(tagLatin1),
		latin2ID: indexOf(tagLatin2),
		emojiID:  indexOf(tagEmoji),
	}
	for i, h := range tagHead {
		c.headID[h] = int64(i + 1)
	}
	nn, ns := uint64(len(tagNouns)), uint64(len(tagSuffixes))
	c.nPairKo = nn * ns
	c.nPairNN = nn * nn
	c.nPairLatin = uint64(len(tagLatin1)*len(tagLatin2)) * 4
	c.nEmo = uint64(len(tagEmoji)) * nn
	c.nPairs = c.nPairKo + c.nPairNN + c.nPairLatin + c.nEmo
	c.nTriples = nn * nn * ns
	c.pairPerm = newAffine(c.nPairs, 0.6180339887)
	c.triplePerm = newAffine(c.nTriples, 0.6180339887)
	for _, h := range tagHead {
		if j, ok := c.decodeRaw(h); ok {
			c.holes = append(c.holes, j)
		}
	}
	slices.Sort(c.holes)
	c.plain = int64(len(tagHead)) + int64(c.nPairs+c.nTriples) - int64(len(c.holes))
	return c
})

func indexOf(words []string) map[string]uint64 {
	m := make(map[string]uint64, len(words))
	for i, w := range words {
		m[w] = uint64(i)
	}
	return m
}

// name returns the tag of rank r >= 1.
func (c *corpus) name(r int64) string {
	h := int64(len(tagHead))
	switch {
	case r <= h:
		return tagHead[r-1]
	case r <= c.plain:
		return c.encodeRaw(c.rawOf(uint64(r - h - 1)))
	default:
		k := r - c.plain - 1
		return c.name(k%c.plain+1) + strconv.FormatInt(k/c.plain+2, 10)
	}
}

// rank inverts name; ok is false for a string that is no tag at any rank.
func (c *corpus) rank(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	digits := len(s)
	for digits > 0 && s[digits-1] >= '0' && s[digits-1] <= '9' {
		digits--
	}
	if digits < len(s) {
		num := s[digits:]
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || num[0] == '0' || n < 2 || digits == 0 {
			return 0, false
		}
		b, ok := c.plainRank(s[:digits])
		if !ok || (n-2) > (1<<62)/c.plain {
			return 0, false
		}
		return c.plain + 1 + (n-2)*c.plain + (b - 1), true
	}
	return c.plainRank(s)
}

func (c *corpus) plainRank(s string) (int64, bool) {
	if r, ok := c.headID[s]; ok {
		return r, true
	}
	j, ok := c.decodeRaw(s)
	if !ok {
		return 0, false
	}
	before, _ := slices.BinarySearch(c.holes, j)
	return int64(len(tagHead)) + 1 + int64(j) - int64(before), true
}

// rawOf maps a tail position q (holes excluded) to its raw index.
func (c *corpus) rawOf(q uint64) uint64 {
	j := q
	for _, h := range c.holes {
		if h > j {
			break
		}
		j++
	}
	return j
}

// encodeRaw composes raw tail index j of tiers 2-3.
func (c *corpus) encodeRaw(j uint64) string {
	nn, ns := uint64(len(tagNouns)), uint64(len(tagSuffixes))
	if j >= c.nPairs {
		u := c.triplePerm.at(j - c.nPairs)
		return tagNouns[u/(nn*ns)] + tagNouns[u/ns%nn] + tagSuffixes[u%ns]
	}
	u := c.pairPerm.at(j)
	if u < c.nPairKo {
		return tagNouns[u/ns] + tagSuffixes[u%ns]
	}
	if u -= c.nPairKo; u < c.nPairNN {
		return tagNouns[u/nn] + tagNouns[u%nn]
	}
	if u -= c.nPairNN; u < c.nPairLatin {
		n2 := uint64(len(tagLatin2))
		w := u / 4
		return latinStyle(tagLatin1[w/n2], tagLatin2[w%n2], int(u%4))
	}
	u -= c.nPairLatin
	// One orientation per (emoji, noun), alternating, so emoji pairs do not
	// crowd out the Korean ones.
	e, n := tagEmoji[u/nn], tagNouns[u%nn]
	if u%2 == 0 {
		return e + n
	}
	return n + e
}

// emojiBase is the first pair index of the emoji pairs.
func (c *corpus) emojiBase() uint64 { return c.nPairKo + c.nPairNN + c.nPairLatin }

// latinStyle writes a Latin word pair in one of four casings. Case variants
// are distinct tags, as in the search table's utf8mb4_bin collation.
func latinStyle(a, b string, style int) string {
	switch style {
	case 0:
		return a + b
	case 1:
		return strings.ToUpper(a[:1]) + a[1:] + strings.ToUpper(b[:1]) + b[1:]
	case 2:
		return strings.ToUpper(a + b)
	default:
		return strings.ToUpper(a[:1]) + a[1:] + b
	}
}

// decodeRaw inverts encodeRaw.
func (c *corpus) decodeRaw(s string) (uint64, bool) {
	first, _ := utf8.DecodeRuneInString(s)
	switch {
	case isLatinLetter(first):
		return c.decodeLatin(s)
	case isHangul(first):
		return c.decodeHangulFirst(s)
	default:
		return c.decodeEmojiFirst(s)
	}
}

func (c *corpus) decodeLatin(s string) (uint64, bool) {
	for i := 0; i < len(s); i++ {
		if !isLatinLetter(rune(s[i])) {
			return 0, false
		}
	}
	lower := strings.ToLower(s)
	n2 := uint64(len(tagLatin2))
	for cut := 2; cut <= len(lower)-2; cut++ {
		a, okA := c.latin1ID[lower[:cut]]
		b, okB := c.latin2ID[lower[cut:]]
		if !okA || !okB {
			continue
		}
		for style := range 4 {
			if latinStyle(lower[:cut], lower[cut:], style) == s {
				return c.pairPerm.inv(c.nPairKo + c.nPairNN + (a*n2+b)*4 + uint64(style)), true
			}
		}
	}
	return 0, false
}

func (c *corpus) decodeHangulFirst(s string) (uint64, bool) {
	noun, rest, ok := cutSyllables(s)
	if !ok {
		return 0, false
	}
	a, ok := c.nounID[noun]
	if !ok {
		return 0, false
	}
	nn, ns := uint64(len(tagNouns)), uint64(len(tagSuffixes))
	if e, ok := c.emojiID[rest]; ok {
		if v := e*nn + a; v%2 == 1 {
			return c.pairPerm.inv(c.emojiBase() + v), true
		}
		return 0, false
	}
	if x, ok := c.suffixID[rest]; ok {
		return c.pairPerm.inv(a*ns + x), true
	}
	if b, ok := c.nounID[rest]; ok {
		return c.pairPerm.inv(c.nPairKo + a*nn + b), true
	}
	noun2, rest2, ok := cutSyllables(rest)
	if !ok {
		return 0, false
	}
	b, okB := c.nounID[noun2]
	x, okX := c.suffixID[rest2]
	if !okB || !okX {
		return 0, false
	}
	return c.nPairs + c.triplePerm.inv((a*nn+b)*ns+x), true
}

func (c *corpus) decodeEmojiFirst(s string) (uint64, bool) {
	// The noun is the last two runes; both must be Hangul syllables.
	i := len(s)
	for range 2 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !isHangul(r) {
			return 0, false
		}
		i -= size
	}
	e, okE := c.emojiID[s[:i]]
	a, okA := c.nounID[s[i:]]
	if !okE || !okA {
		return 0, false
	}
	v := e*uint64(len(tagNouns)) + a
	if v%2 == 1 {
		return 0, false
	}
	return c.pairPerm.inv(c.emojiBase() + v), true
}

// cutSyllables splits off the first two runes when both are Hangul syllables.
func cutSyllables(s string) (head, rest string, ok bool) {
	i := 0
	for range 2 {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isHangul(r) {
			return "", "", false
		}
		i += size
	}
	return s[:i], s[i:], true
}

func isHangul(r rune) bool      { return r >= 0xAC00 && r <= 0xD7A3 }
func isLatinLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// Tag returns the hashtag of the given id (rank), 1..Counts().Tags; other ids
// return the zero Tag.
func (d *Dataset) Tag(id int64) Tag {
	if id < 1 || id > d.counts.Tags {
		return Tag{}
	}
	return Tag{ID: id, Name: tagCorpus().name(id)}
}

// TagID returns the id of a hashtag name, without any table: the corpus is
// invertible. ok is false for names not in this dataset's corpus.
func (d *Dataset) TagID(name string) (int64, bool) {
	r, ok := tagCorpus().rank(name)
	if !ok || r > d.counts.Tags {
		return 0, false
	}
	return r, true
}
