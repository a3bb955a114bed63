package seed

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The word lists carry the distinctness argument (see corpus); these tests
// check each property it relies on.
func TestTagWordLists(t *testing.T) {
	distinct := func(name string, words []string) {
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] || w == "" {
				t.Errorf("%s: %q empty or repeated", name, w)
			}
			seen[w] = true
		}
	}
	distinct("tagHead", tagHead)
	distinct("tagNouns", tagNouns)
	distinct("tagSuffixes", tagSuffixes)
	distinct("tagLatin1", tagLatin1)
	distinct("tagLatin2", tagLatin2)
	distinct("tagEmoji", tagEmoji)

	allHangul := func(s string) bool {
		for _, r := range s {
			if !isHangul(r) {
				return false
			}
		}
		return s != ""
	}
	nouns := map[string]bool{}
	for _, n := range tagNouns {
		if utf8.RuneCountInString(n) != 2 || !allHangul(n) {
			t.Errorf("noun %q is not two Hangul syllables", n)
		}
		nouns[n] = true
	}
	for _, s := range tagSuffixes {
		if !allHangul(s) {
			t.Errorf("suffix %q is not all Hangul", s)
		}
		if nouns[s] {
			t.Errorf("suffix %q is also a noun: noun+suffix and noun+noun would collide", s)
		}
		if head, rest, ok := cutSyllables(s); ok && nouns[head] && slices.Contains(tagSuffixes, rest) {
			t.Errorf("suffix %q is noun %q + suffix %q: pairs and triples would collide", s, head, rest)
		}
	}
	for _, list := range [][]string{tagLatin1, tagLatin2} {
		for _, w := range list {
			if len(w) < 2 || strings.ToLower(w) != w || strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
				t.Errorf("latin word %q is not two or more lowercase letters", w)
			}
		}
	}
	// Every Latin pair splits exactly one way, so casing decides the rest.
	l1, l2 := indexOf(tagLatin1), indexOf(tagLatin2)
	for _, a := range tagLatin1 {
		for _, b := range tagLatin2 {
			s, splits := a+b, 0
			for cut := 2; cut <= len(s)-2; cut++ {
				_, ok1 := l1[s[:cut]]
				_, ok2 := l2[s[cut:]]
				if ok1 && ok2 {
					splits++
				}
			}
			if splits != 1 {
				t.Errorf("latin pair %q splits %d ways", s, splits)
			}
		}
	}
	for _, e := range tagEmoji {
		for _, r := range e {
			if isHangul(r) || r < 0x80 {
				t.Errorf("emoji %q contains %U", e, r)
			}
		}
	}
	// A head name that is also a composed one occupies that composed slot
	// (a hole); decoding must give back exactly that slot.
	c := tagCorpus()
	for _, h := range tagHead {
		if j, ok := c.decodeRaw(h); ok {
			if got := c.encodeRaw(j); got != h || !slices.Contains(c.holes, j) {
				t.Errorf("head %q decodes to slot %d = %q (hole: %v)", h, j, got, slices.Contains(c.holes, j))
			}
		}
	}
	for _, h := range tagHead {
		last, _ := utf8.DecodeLastRuneInString(h)
		if last >= '0' && last <= '9' {
			t.Errorf("head tag %q ends in a digit: numbered tags would be ambiguous", h)
		}
	}
}

func checkTagName(t *testing.T, id int64, name string) {
	t.Helper()
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxTagLen ||
		strings.IndexFunc(name, unicode.IsSpace) >= 0 || strings.ContainsRune(name, '#') {
		t.Fatalf("tag %d %q is not a valid hashtag", id, name)
	}
}

func TestTagsDistinctDefault(t *testing.T) {
	d := mustNew(t, Params{Scale: Default})
	n := d.Counts().Tags
	seen := make(map[string]int64, n)
	for id := int64(1); id <= n; id++ {
		name := d.Tag(id).Name
		checkTagName(t, id, name)
		if other, ok := seen[name]; ok {
			t.Fatalf("tags %d and %d are both %q", other, id, name)
		}
		seen[name] = id
		if back, ok := d.TagID(name); !ok || back != id {
			t.Fatalf("TagID(Tag(%d) = %q) = %d, %v", id, name, back, ok)
		}
	}
}

// At prod scale every tier is exercised, and TagID(Tag(r)) == r on windows
// across the whole range proves those names distinct (an injective function
// has a left inverse); the word-list test covers the construction itself.
func TestTagsDistinctProd(t *testing.T) {
	d := mustNew(t, Params{Scale: Prod})
	c := tagCorpus()
	n := d.Counts().Tags
	if n <= c.plain {
		t.Fatalf("prod has %d tags but %d plain ones: the numbered tier is not exercised", n, c.plain)
	}
	seen := map[string]int64{}
	starts := []int64{1, int64(len(tagHead)) - 50, c.plain - 500, c.plain + 1, n - 2000}
	for k := int64(1); k <= 40; k++ {
		starts = append(starts, k*n/41)
	}
	for _, s := range starts {
		for id := max(1, s); id < s+2000 && id <= n; id++ {
			name := d.Tag(id).Name
			checkTagName(t, id, name)
			if other, ok := seen[name]; ok && other != id {
				t.Fatalf("tags %d and %d are both %q", other, id, name)
			}
			seen[name] = id
			if back, ok := d.TagID(name); !ok || back != id {
				t.Fatalf("TagID(Tag(%d) = %q) = %d, %v", id, name, back, ok)
			}
		}
	}
	// The whole pairs tier, exhaustively.
	for j := range c.nPairs {
		name := c.encodeRaw(j)
		if back, ok := c.decodeRaw(name); !ok || back != j {
			t.Fatalf("pair %d %q decodes to %d, %v", j, name, back, ok)
		}
	}
	for _, bad := range []string{"", "일상1", "일상01", "zz", "🌙", "새벽새벽새벽", "dailyLIFE", "x" + c.name(300)} {
		if id, ok := d.TagID(bad); ok && d.Tag(id).Name != bad {
			t.Errorf("TagID(%q) = %d, but that tag is %q", bad, id, d.Tag(id).Name)
		}
	}
	if _, ok := d.TagID("일상1"); ok {
		t.Error(`"일상1" is not a tag (numbers start at 2)`)
	}
	if _, ok := mustNew(t, Params{Scale: Small}).TagID(d.Tag(n).Name); ok {
		t.Error("a prod-only tag is found in the small corpus")
	}
}

func TestTagShapes(t *testing.T) {
	d := mustNew(t, Params{Scale: Small})
	fourByte, caseVariants := 0, 0
	byLower := map[string][]string{}
	for id := int64(1); id <= d.Counts().Tags; id++ {
		name := d.Tag(id).Name
		for _, r := range name {
			if utf8.RuneLen(r) == 4 {
				fourByte++
				break
			}
		}
		byLower[strings.ToLower(name)] = append(byLower[strings.ToLower(name)], name)
	}
	for _, names := range byLower {
		if len(names) > 1 {
			caseVariants++
		}
	}
	if fourByte < 100 {
		t.Errorf("only %d tags with a 4-byte character (emoji)", fourByte)
	}
	if caseVariants < 5 || !slices.Contains(byLower["love"], "Love") || !slices.Contains(byLower["love"], "love") {
		t.Errorf("case variants: %d groups, love: %q", caseVariants, byLower["love"])
	}
	if got := d.Tag(1).Name; got != "일상" {
		t.Errorf("most popular tag %q", got)
	}
}

func TestZipf(t *testing.T) {
	const n, draws = 6_000_000, 400_000
	z := newZipf(n, TagZipfExponent)
	r := newRNG(1, 1)
	counts := map[int64]int{}
	for range draws {
		k := z.draw(&r)
		if k < 1 || k > n {
			t.Fatalf("rank %d out of [1, %d]", k, n)
		}
		counts[k]++
	}
	// P(1) = 1/H(n, s); H(6M, 1.1) is about 8.5.
	if p := float64(counts[1]) / draws; p < 0.10 || p > 0.13 {
		t.Errorf("P(rank 1) = %.3f, want about 0.118", p)
	}
	// Least-squares slope of log count on log rank over ranks 1..100.
	var sx, sy, sxx, sxy float64
	for k := 1; k <= 100; k++ {
		x, y := math.Log(float64(k)), math.Log(float64(counts[int64(k)]))
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope := (100*sxy - sx*sy) / (100*sxx - sx*sx)
	if slope > -1.0 || slope < -1.2 {
		t.Errorf("log-log slope %.3f, want about -1.1", slope)
	}
}

// TestCardTagPopularity checks the shape where it matters: on the cards.
func TestCardTagPopularity(t *testing.T) {
	d := mustNew(t, Params{Seed: 2, Scale: Small})
	var used []int64
	for id := int64(1); id <= d.Counts().Tags; id++ {
		if n := d.TagCards(id); n > 0 {
			used = append(used, n)
		}
	}
	slices.Sort(used)
	top, median := used[len(used)-1], used[len(used)/2]
	if top < 100*median {
		t.Errorf("top tag on %d cards, median used tag on %d: not long-tailed", top, median)
	}
	if d.TagCards(1) != top {
		t.Errorf("rank 1 on %d cards, but the top tag is on %d", d.TagCards(1), top)
	}
}

func TestTagCounts(t *testing.T) {
	d := mustNew(t, Params{Seed: 11, Cards: 3000})
	links := map[int64]int64{}
	var total int64
	for c := range d.Cards(1, d.Counts().Cards) {
		for _, tg := range c.Tags {
			links[tg.ID]++
			total++
		}
	}
	var yielded, sum int64
	for tg, n := range d.Hashtags() {
		yielded++
		if tg.ID != yielded || tg.Name == "" {
			t.Fatalf("hashtag %d yielded as %+v", yielded, tg)
		}
		if n != links[tg.ID] {
			t.Fatalf("tag %d: count %d, links %d", tg.ID, n, links[tg.ID])
		}
		sum += n
	}
	if yielded != d.Counts().Tags || sum != total || d.UsedTags() != int64(len(links)) {
		t.Errorf("yielded %d tags (want %d), counts sum %d (links %d), used %d (want %d)",
			yielded, d.Counts().Tags, sum, total, d.UsedTags(), len(links))
	}
}
