package stack

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// tailBytes bounds what a tail reads: the end of a log, however long the
// log has grown.
const tailBytes = 64 << 10

// TailFile returns the last n lines of the log at path ("" when it cannot
// be read), for error messages.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	lines, _ := LastLines(f, n)
	return strings.Join(lines, "\n")
}

// LastLines returns the last n lines of r, from at most its last 64 KiB:
// it seeks there when r can, and otherwise reads through keeping only the
// end. A final partial line counts as a line.
func LastLines(r io.Reader, n int) ([]string, error) {
	if sk, ok := r.(io.Seeker); ok {
		if size, err := sk.Seek(0, io.SeekEnd); err == nil {
			_, _ = sk.Seek(max(0, size-tailBytes), io.SeekStart)
		}
	}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	for {
		k, err := r.Read(chunk)
		buf.Write(chunk[:k])
		if buf.Len() > 2*tailBytes {
			buf = *bytes.NewBuffer(append([]byte(nil), buf.Bytes()[buf.Len()-tailBytes:]...))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	text := strings.TrimRight(buf.String(), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// FirstLine is s up to its first newline: the summary of a multi-line
// error.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
