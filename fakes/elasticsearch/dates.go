package elasticsearch

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// defaultDateFormat is what ES applies to a date field without "format".
const defaultDateFormat = "strict_date_optional_time||epoch_millis"

// dateFormat is one alternative of a "||"-separated ES date format.
type dateFormat struct {
	name string
	kind dateKind
	// layout is the Go layout of a custom Java-style pattern.
	layout string
}

type dateKind int

const (
	dateISO dateKind = iota
	dateEpochMillis
	dateEpochSecond
	dateLayout
)

// isoNames are the named ES formats our ISO-8601 parser covers; the strict
// and lenient variants differ only in zero padding, which we do not police.
var isoNames = map[string]bool{
	"strict_date_optional_time": true, "date_optional_time": true,
	"strict_date_optional_time_nanos": true, "strict_date": true, "date": true,
	"strict_date_time": true, "date_time": true, "strict_date_time_no_millis": true,
	"date_time_no_millis": true, "strict_date_hour_minute_second": true,
	"date_hour_minute_second": true, "strict_year_month_day": true, "year_month_day": true,
}

// parseDateFormats parses a mapping's or query's "format" value.
func parseDateFormats(spec string) ([]dateFormat, error) {
	if spec == "" {
		spec = defaultDateFormat
	}
	var out []dateFormat
	for _, name := range strings.Split(spec, "||") {
		name = strings.TrimSpace(name)
		switch {
		case isoNames[name]:
			out = append(out, dateFormat{name: name, kind: dateISO})
		case name == "epoch_millis":
			out = append(out, dateFormat{name: name, kind: dateEpochMillis})
		case name == "epoch_second":
			out = append(out, dateFormat{name: name, kind: dateEpochSecond})
		default:
			layout, err := javaLayout(name)
			if err != nil {
				return nil, err
			}
			out = append(out, dateFormat{name: name, kind: dateLayout, layout: layout})
		}
	}
	return out, nil
}

// javaLayout converts the common subset of Java DateTimeFormatter patterns
// (the letters ES users write in mappings) to a Go layout; anything else is
// refused rather than parsed differently from ES.
func javaLayout(p string) (string, error) {
	repl := []struct{ java, gos string }{
		{"yyyy", "2006"}, {"uuuu", "2006"}, {"MM", "01"}, {"dd", "02"},
		{"HH", "15"}, {"mm", "04"}, {"ss", "05"}, {"SSSSSS", "000000"},
		{"SSS", "000"}, {"XXX", "Z07:00"}, {"ZZZZZ", "Z07:00"}, {"Z", "-0700"},
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if p[i] == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", errUnsupported("date format [%s]", p)
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, r := range repl {
			if strings.HasPrefix(p[i:], r.java) {
				b.WriteString(r.gos)
				i += len(r.java)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		switch c := p[i]; c {
		case '-', ':', '/', ' ', '.', ',', 'T':
			b.WriteByte(c)
			i++
		default:
			return "", errUnsupported("date format [%s]", p)
		}
	}
	return b.String(), nil
}

var isoDate = regexp.MustCompile(`^([+-]?\d{4,})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$`)

// parseISO parses ISO-8601 dates with optional trailing parts, as ES's
// strict_date_optional_time does. When roundUp is set, missing parts are
// filled with their maximum, which is how ES treats "lte: 2024-01-31"
// (the whole day is included).
func parseISO(s string, roundUp bool) (time.Time, bool) {
	m := isoDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	year := num(1, 0)
	month, day := num(2, 1), num(3, 1)
	hour, minute, sec := num(4, 0), num(5, 0), num(6, 0)
	nanos := 0
	if m[7] != "" {
		frac := (m[7] + "000000000")[:9]
		nanos, _ = strconv.Atoi(frac)
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(z[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		mins := 0
		if len(digits) >= 4 {
			mins, _ = strconv.Atoi(digits[2:4])
		}
		loc = time.FixedZone(z, sign*(h*3600+mins*60))
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if t.Day() != day {
		return time.Time{}, false // e.g. February 30th
	}
	if roundUp {
		switch {
		case m[2] == "":
			t = t.AddDate(1, 0, 0).Add(-time.Millisecond)
		case m[3] == "":
			t = t.AddDate(0, 1, 0).Add(-time.Millisecond)
		case m[4] == "":
			t = t.AddDate(0, 0, 1).Add(-time.Millisecond)
		case m[5] == "":
			t = t.Add(time.Hour - time.Millisecond)
		case m[6] == "":
			t = t.Add(time.Minute - time.Millisecond)
		case m[7] == "":
			t = t.Add(time.Second - time.Millisecond)
		}
	}
	return t, true
}

// parseDate parses a document or query value with the field's formats.
// JSON numbers are epoch values (ES accepts them whenever epoch_millis or
// epoch_second is among the formats; it is in the default).
func parseDate(v any, formats []dateFormat, roundUp bool) (time.Time, error) {
	var s string
	isNumber := false
	switch x := v.(type) {
	case json.Number:
		s, isNumber = x.String(), true
	case float64:
		s, isNumber = strconv.FormatFloat(x, 'f', -1, 64), true
	case string:
		s = x
	default:
		return time.Time{}, fmt.Errorf("cannot parse date from %v", v)
	}
	for _, f := range formats {
		switch f.kind {
		case dateISO:
			if isNumber {
				continue
			}
			if t, ok := parseISO(s, roundUp); ok {
				return t, nil
			}
		case dateEpochMillis, dateEpochSecond:
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
				continue
			}
			if f.kind == dateEpochSecond {
				n *= 1000
			}
			ms := int64(n)
			frac := n - float64(ms)
			return time.UnixMilli(ms).Add(time.Duration(frac * float64(time.Millisecond))).UTC(), nil
		case dateLayout:
			if t, err := time.Parse(f.layout, s); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("failed to parse date field [%s] with format [%s]", s, joinFormats(formats))
}

func joinFormats(formats []dateFormat) string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return strings.Join(names, "||")
}

// formatDate renders t with the first format, as ES does for
// key_as_string and for date values it prints.
func formatDate(t time.Time, formats []dateFormat) string {
	if len(formats) == 0 {
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	switch f := formats[0]; f.kind {
	case dateEpochMillis:
		return strconv.FormatInt(t.UnixMilli(), 10)
	case dateEpochSecond:
		return strconv.FormatInt(t.Unix(), 10)
	case dateLayout:
		return t.UTC().Format(f.layout)
	default:
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
}

// parseDateMath evaluates ES date math: "now", "now-1d/d", "2024-01-01||+1M".
// roundUp selects how "/unit" rounds (and how partial dates fill), which ES
// decides from the range operator: gt and lte round up, gte and lt down.
func parseDateMath(v any, formats []dateFormat, now time.Time, roundUp bool) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return parseDate(v, formats, roundUp)
	}
	var t time.Time
	var expr string
	switch {
	case strings.HasPrefix(s, "now"):
		t, expr = now.UTC(), s[len("now"):]
	case strings.Contains(s, "||"):
		i := strings.Index(s, "||")
		anchor, err := parseDate(s[:i], formats, false)
		if err != nil {
			return time.Time{}, err
		}
		t, expr = anchor, s[i+2:]
	default:
		return parseDate(s, formats, roundUp)
	}
	for len(expr) > 0 {
		op := expr[0]
		expr = expr[1:]
		switch op {
		case '+', '-':
			i := 0
			for i < len(expr) && expr[i] >= '0' && expr[i] <= '9' {
				i++
			}
			n := 1
			if i > 0 {
				n, _ = strconv.Atoi(expr[:i])
			}
			if i >= len(expr) {
				return time.Time{}, errParsing("operation [%c] must be followed by a unit in date math [%s]", op, s)
			}
			unit := expr[i]
			expr = expr[i+1:]
			if op == '-' {
				n = -n
			}
			var err error
			if t, err = addDateUnit(t, unit, n, s); err != nil {
				return time.Time{}, err
			}
		case '/':
			if len(expr) == 0 {
				return time.Time{}, errParsing("rounding [/] must be followed by a unit in date math [%s]", s)
			}
			unit := expr[0]
			expr = expr[1:]
			start, err := truncateDate(t, unit, s)
			if err != nil {
				return time.Time{}, err
			}
			t = start
			if roundUp {
				next, _ := addDateUnit(start, unit, 1, s)
				t = next.Add(-time.Millisecond)
			}
		default:
			return time.Time{}, errParsing("unit [%c] not supported for date math [%s]", op, s)
		}
	}
	return t, nil
}

func addDateUnit(t time.Time, unit byte, n int, expr string) (time.Time, error) {
	switch unit {
	case 'y':
		return t.AddDate(n, 0, 0), nil
	case 'M':
		return t.AddDate(0, n, 0), nil
	case 'w':
		return t.AddDate(0, 0, 7*n), nil
	case 'd':
		return t.AddDate(0, 0, n), nil
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour), nil
	case 'm':
		return t.Add(time.Duration(n) * time.Minute), nil
	case 's':
		return t.Add(time.Duration(n) * time.Second), nil
	}
	return time.Time{}, errParsing("unit [%c] not supported for date math [%s]", unit, expr)
}

func truncateDate(t time.Time, unit byte, expr string) (time.Time, error) {
	t = t.UTC()
	switch unit {
	case 'y':
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC), nil
	case 'M':
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC), nil
	case 'w':
		// ES weeks start on Monday.
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		back := (int(d.Weekday()) + 6) % 7
		return d.AddDate(0, 0, -back), nil
	case 'd':
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
	case 'h', 'H':
		return t.Truncate(time.Hour), nil
	case 'm':
		return t.Truncate(time.Minute), nil
	case 's':
		return t.Truncate(time.Second), nil
	}
	return time.Time{}, errParsing("unit [%c] not supported for date math [%s]", unit, expr)
}
