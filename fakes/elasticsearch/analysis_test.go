package elasticsearch

import (
	"slices"
	"testing"
)

func terms(analyzer, text string) []string {
	var out []string
	for _, tok := range analyzeTokens(analyzers[analyzer], text) {
		out = append(out, string(tok.Term))
	}
	return out
}

func TestCJKAnalyzer(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		// Hangul is bigrammed like ES's cjk analyzer (bleve's own does not).
		{"맛집은 최고", []string{"맛집", "집은", "최고"}},
		{"맛집", []string{"맛집"}},
		{"한", []string{"한"}},
		// Han characters arrive one token each and are joined across tokens.
		{"東京都", []string{"東京", "京都"}},
		{"ひらがな", []string{"ひら", "らが", "がな"}},
		{"カタカナ", []string{"カタ", "タカ", "カナ"}},
		// Non-CJK tokens pass through lowercased; stop words go.
		{"The BTS 콘서트", []string{"bts", "콘서", "서트"}},
		// Full-width Latin is folded to ASCII.
		{"ＡＢＣ", []string{"abc"}},
		// A token mixing scripts is split at the script change.
		{"abc맛집", []string{"abc", "맛집"}},
		{"2024년 5월", []string{"2024", "년", "5", "월"}},
	} {
		if got := terms("cjk", tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("cjk(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCJKPositionsAndOffsets(t *testing.T) {
	toks := analyzeTokens(analyzers["cjk"], "서면 밀면 맛집")
	var got []string
	for _, tok := range toks {
		got = append(got, string(tok.Term))
	}
	if !slices.Equal(got, []string{"서면", "밀면", "맛집"}) {
		t.Fatalf("terms = %q", got)
	}
	for i, tok := range toks {
		if tok.Position != i+1 {
			t.Errorf("token %q at position %d, want %d", tok.Term, tok.Position, i+1)
		}
	}
	// Offsets point into the original text.
	if toks[2].Start != len("서면 밀면 ") || toks[2].End != len("서면 밀면 맛집") {
		t.Errorf("offsets of 맛집 = %d..%d", toks[2].Start, toks[2].End)
	}
}

func TestStandardAnalyzerKeepsStopWords(t *testing.T) {
	// ES's standard analyzer has no stop words; bleve's does.
	if got := terms("standard", "The Quick fox 맛집은"); !slices.Equal(got, []string{"the", "quick", "fox", "맛집은"}) {
		t.Errorf("standard = %q", got)
	}
}
