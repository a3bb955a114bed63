package stack

import (
	"net/url"
	"regexp"
	"strings"
)

// MaskURL hides the password of a URL ("postgres://mossi:••••••@host/db").
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	user := u.User.Username()
	at := strings.Index(raw, "@")
	scheme := strings.Index(raw, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return raw
	}
	return raw[:scheme+3] + user + ":••••••" + raw[at:]
}

var dsnSecret = regexp.MustCompile(`^([^:/@]+):([^@]+)@tcp\(`)

// MaskVar hides a variable's secret: the password of a URL or a DSN, and
// the whole value of a *SECRET*, *PASSWORD*, *TOKEN* or *COOKIE* variable.
func MaskVar(name, value string) string {
	for _, w := range []string{"SECRET", "PASSWORD", "TOKEN", "COOKIE"} {
		if strings.Contains(name, w) {
			return "••••••"
		}
	}
	if dsnSecret.MatchString(value) {
		return dsnSecret.ReplaceAllString(value, "$1:••••••@tcp(")
	}
	return MaskURL(value)
}
