package stack

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

func (s *Stack) writeDotenv() error {
	vars, err := s.Vars()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v.Name, DotenvQuote(v.Value))
	}
	return writeFileAtomic(s.DotenvPath(), []byte(b.String()), 0o600)
}

// DotenvQuote single-quotes a value that a shell or a dotenv parser would
// otherwise split or expand (the MariaDB DSN has parentheses), so the file
// works with `set -a; . mossdev.env` and with dotenv libraries alike.
func DotenvQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`()&;|<>*?[]#~!{}") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// DotenvPath is the .env file written at up (mode 0600: it holds secrets).
func (s *Stack) DotenvPath() string { return filepath.Join(s.dir, "mossdev.env") }

// Var is one exported environment variable. Service is the service that
// exports it ("" for the stack's own): HAProxy exports
// MOSSDEV_RABBITMQ_URL, because apps reach the broker through it.
type Var struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Service string `json:"service,omitempty"`
}

// Vars are the variables an app needs: one URL per service plus extras.
func (s *Stack) Vars() ([]Var, error) {
	e, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	out := []Var{{Name: "MOSSDEV_STACK", Value: s.cfg.Name}}
	for _, sv := range s.all {
		if sv.URL != nil {
			out = append(out, Var{Name: sv.EnvVar(), Value: sv.URL(e), Service: sv.Name})
		}
		if sv.Extra != nil {
			ex := sv.Extra(e)
			keys := make([]string, 0, len(ex))
			for k := range ex {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = append(out, Var{Name: k, Value: ex[k], Service: sv.Name})
			}
		}
	}
	return out, nil
}

// URL returns the URL apps use for a service.
func (s *Stack) URL(service string) (string, error) {
	sv, err := s.Service(service)
	if err != nil {
		return "", err
	}
	e, err := s.Runtime()
	if err != nil {
		return "", err
	}
	if sv.URL == nil {
		return "", fmt.Errorf("service %s has no URL", service)
	}
	return sv.URL(e), nil
}
