package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/x/ansi"
	"github.com/mossdev/mossdev/stack"
)

// fit pads or truncates s (which may hold ANSI styles) to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

// fitLeft right-aligns s in w cells.
func fitLeft(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-n) + s
}

// truncate cuts s to w cells with an ellipsis, without padding.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// wrap word-wraps plain text to w cells and returns its lines.
func wrap(s string, w int) []string {
	if w < 10 {
		w = 10
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// latency formats a probe latency compactly ("0.8ms", "12ms", "1.2s").
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// uptime formats how long a process has run ("45s", "12m03s", "3h02m", "2d03h").
func uptime(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// bytesize formats resident memory ("812K", "45M", "1.2G").
func bytesize(b uint64) string {
	switch {
	case b == 0:
		return ""
	case b < 1<<20:
		return fmt.Sprintf("%dK", b>>10)
	case b < 1<<30:
		return fmt.Sprintf("%dM", b>>20)
	}
	return fmt.Sprintf("%.1fG", float64(b)/(1<<30))
}

// compact turns a counter value into a short arrow label: a leading count
// ("1234567 ready", "≈6000000 (estimate)") becomes "1.2M"; words are kept
// short ("not seeded", "none", "?").
func compact(v string) string {
	v = strings.TrimSpace(v)
	prefix := ""
	for _, p := range []string{"≈", "≥"} {
		if rest, ok := strings.CutPrefix(v, p); ok {
			prefix, v = p, rest
		}
	}
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end > 0 {
		n, _ := strconv.ParseInt(v[:end], 10, 64)
		if end < len(v) && v[end] == '.' { // a percentage or a decimal
			if f := strings.Fields(v); len(f) > 0 {
				return prefix + f[0]
			}
		}
		return prefix + humanCount(n)
	}
	switch {
	case v == "":
		return "–"
	case strings.Contains(v, "not seeded"):
		return "not seeded"
	case strings.HasPrefix(v, "absent"):
		return "no queue"
	case strings.HasPrefix(v, "unavailable"):
		return "?"
	case strings.HasPrefix(v, "no requests"):
		return "no requests"
	}
	return strings.Fields(v)[0]
}

func humanCount(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000:
		return fmt.Sprintf("%dk", n/1000)
	case n < 10_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%dM", n/1_000_000)
}

// leadingInt reads the count at the start of a counter value, if any.
func leadingInt(v string) (int64, bool) {
	v = strings.TrimLeft(strings.TrimSpace(v), "≈≥")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:end], 10, 64)
	return n, err == nil
}

// shortErr keeps the part of an error chain a person reads first: the
// innermost cause ("connection refused"), whole when it is short.
func shortErr(s string) string {
	s = strings.TrimSpace(stack.FirstLine(s))
	if len(s) <= 60 {
		return s
	}
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i > 8 {
		return s[i+2:]
	}
	return s
}

// mask and maskVar hide secrets on screen until `v`; the rules are the
// stack's, shared with the CLI's JSON.
func mask(raw string) string { return stack.MaskURL(raw) }

func maskVar(name, value string) string { return stack.MaskVar(name, value) }

// clean makes a log line safe to draw: no escape sequences, no control
// characters, tabs as spaces.
func clean(line string) string {
	line = ansi.Strip(line)
	line = strings.ReplaceAll(line, "\t", "    ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, line)
}

// shortStandIn is the stand-in's name without its explanation in brackets.
func shortStandIn(s string) string {
	if i := strings.Index(s, " ("); i > 0 {
		return s[:i]
	}
	return s
}

// plural is "1 service" or "3 services".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// andList joins names as "a", "a and b", "a, b and c".
func andList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// lipWidth is the display width of a styled string.
func lipWidth(s string) int { return ansi.StringWidth(s) }
