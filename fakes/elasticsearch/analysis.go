package elasticsearch

import (
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/stop"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/character"
	bleveunicode "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
)

// The analyzers below are built from bleve parts but named and composed like
// Elasticsearch's built-ins, because bleve's analyzers of the same names do
// not behave the same: bleve's "standard" drops English stop words (ES's does
// not), and bleve's "cjk" bigrams only Han and Kana, so Korean words stay
// whole and "맛집" never matches "맛집은" (ES's cjk bigrams Hangul too).

// cjkStopWords is Lucene's CJKAnalyzer default stop set, which ES's cjk
// analyzer uses: English words, since CJK text has none worth stopping.
var cjkStopWords = []string{
	"a", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
	"into", "is", "it", "no", "not", "of", "on", "or", "s", "such", "t",
	"that", "the", "their", "then", "there", "these", "they", "this", "to",
	"was", "will", "with", "www",
}

// analyzers holds the analyzers a mapping may name. Analyzers are stateless
// and safe for concurrent use, so one instance of each serves every index.
var analyzers = map[string]analysis.Analyzer{
	"standard":   newStandardAnalyzer(),
	"cjk":        newCJKAnalyzer(),
	"simple":     newSimpleAnalyzer(),
	"whitespace": &analysis.DefaultAnalyzer{Tokenizer: character.NewCharacterTokenizer(notSpace)},
	// keyword is handled by indexing the whole value as one term (a nil
	// analyzer in bleve); it is listed so mappings may name it.
	"keyword": nil,
}

func notSpace(r rune) bool { return !unicode.IsSpace(r) }

// newStandardAnalyzer mirrors ES's standard analyzer: UAX#29 word
// segmentation and lowercasing, no stop words.
func newStandardAnalyzer() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{
		Tokenizer:    bleveunicode.NewUnicodeTokenizer(),
		TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter()},
	}
}

// newSimpleAnalyzer mirrors ES's simple analyzer: split on non-letters,
// lowercase.
func newSimpleAnalyzer() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{
		Tokenizer:    character.NewCharacterTokenizer(unicode.IsLetter),
		TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter()},
	}
}

// newCJKAnalyzer mirrors ES's cjk analyzer (Lucene CJKAnalyzer): standard
// tokenizer, width folding, lowercase, bigrams over Han, Hiragana, Katakana
// and Hangul, then the CJK stop set. Only the bigram filter is our own.
func newCJKAnalyzer() analysis.Analyzer {
	stops := analysis.NewTokenMap()
	for _, w := range cjkStopWords {
		stops.AddToken(w)
	}
	return &analysis.DefaultAnalyzer{
		Tokenizer: bleveunicode.NewUnicodeTokenizer(),
		TokenFilters: []analysis.TokenFilter{
			cjk.NewCJKWidthFilter(),
			lowercase.NewLowerCaseFilter(),
			cjkBigramFilter{},
			stop.NewStopTokensFilter(stops),
		},
	}
}

// isCJK reports whether r belongs to a script Lucene's CJKBigramFilter
// bigrams by default. The prolonged sound mark and iteration marks are in
// the Common script but are part of Japanese words, as in Lucene.
func isCJK(r rune) bool {
	switch r {
	case 0x3005, 0x3006, 0x3007, 0x303B, 0x309B, 0x309C, 0x30FC, 0xFF70:
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// cjkBigramFilter turns runs of CJK characters into overlapping bigrams,
// like Lucene's CJKBigramFilter: characters are joined across token
// boundaries only when the tokens touch in the original text (Han
// characters arrive one token each), a lone CJK character is kept as a
// unigram, and any other token passes through. Tokens that mix a CJK
// script with another (UAX#29 keeps "abc맛집" whole) are split at the
// script change, so the CJK part is bigrammed on its own.
type cjkBigramFilter struct{}

type cjkChar struct {
	term       []byte
	start, end int
}

func (cjkBigramFilter) Filter(input analysis.TokenStream) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(input)*2)
	pos := 0
	emit := func(term []byte, start, end int, typ analysis.TokenType) {
		pos++
		out = append(out, &analysis.Token{Term: term, Start: start, End: end, Position: pos, Type: typ})
	}
	var run []cjkChar
	flush := func() {
		switch {
		case len(run) == 1:
			emit(run[0].term, run[0].start, run[0].end, analysis.Single)
		case len(run) > 1:
			for i := 0; i+1 < len(run); i++ {
				term := make([]byte, 0, len(run[i].term)+len(run[i+1].term))
				term = append(append(term, run[i].term...), run[i+1].term...)
				emit(term, run[i].start, run[i+1].end, analysis.Double)
			}
		}
		run = run[:0]
	}
	for _, tok := range input {
		// Filters before this one may have changed the term's byte length
		// (width folding), so offsets inside the token are clamped to it.
		offset := func(i int) int { return min(tok.Start+i, tok.End) }
		term := tok.Term
		segStart := 0
		for segStart < len(term) {
			r, size := utf8.DecodeRune(term[segStart:])
			if isCJK(r) {
				c := cjkChar{term: term[segStart : segStart+size], start: offset(segStart), end: offset(segStart + size)}
				if len(run) > 0 && run[len(run)-1].end != c.start {
					flush()
				}
				run = append(run, c)
				segStart += size
				continue
			}
			flush()
			segEnd := segStart + size
			for segEnd < len(term) {
				r, size := utf8.DecodeRune(term[segEnd:])
				if isCJK(r) {
					break
				}
				segEnd += size
			}
			typ := tok.Type
			if segStart > 0 || segEnd < len(term) {
				typ = analysis.AlphaNumeric
			}
			emit(term[segStart:segEnd], offset(segStart), offset(segEnd), typ)
			segStart = segEnd
		}
	}
	flush()
	return out
}

// analyzeTokens runs an analyzer and returns terms with their positions, for
// building match and phrase queries the way ES does (analysis at query time
// with the field's search analyzer).
func analyzeTokens(a analysis.Analyzer, text string) []analysis.Token {
	if a == nil {
		return []analysis.Token{{Term: []byte(text), Position: 1}}
	}
	stream := a.Analyze([]byte(text))
	toks := make([]analysis.Token, 0, len(stream))
	for _, t := range stream {
		toks = append(toks, *t)
	}
	return toks
}
