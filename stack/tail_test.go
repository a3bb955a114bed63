package stack

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailReadsOnlyTheEndOfALog(t *testing.T) {
	var b strings.Builder
	for i := range 20000 { // ~300 KiB, well past the 64 KiB read
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%20))
		b.WriteString("\n")
	}
	b.WriteString("last, unterminated")
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(TailFile(path, 3), "\n")
	if len(got) != 3 || got[2] != "last, unterminated" || !strings.HasPrefix(got[0], "line ") {
		t.Errorf("tail of the file: %q", got)
	}
	// A reader that cannot seek is read through, keeping only the end.
	lines, err := LastLines(struct{ io.Reader }{strings.NewReader(b.String())}, 3)
	if err != nil || strings.Join(lines, "\n") != strings.Join(got, "\n") {
		t.Errorf("tail of a stream: %q, %v; want %q", lines, err, got)
	}
	if TailFile(filepath.Join(t.TempDir(), "missing"), 3) != "" {
		t.Error("a missing log has no tail")
	}
	if FirstLine("a: b\nc") != "a: b" || FirstLine("one") != "one" {
		t.Error("FirstLine")
	}
}
