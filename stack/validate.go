package stack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Port bounds for --port: below 1024 a port is privileged and the servers,
// which run as an unprivileged user, cannot bind it.
const (
	MinPort = 1024
	MaxPort = 65535
)

// CheckFixedPorts validates --port requests against the services before
// anything is written: each key names a service ("redis-0") or one of its
// named ports ("rabbitmq-1:dist"), and each port is in 1024–65535 and asked
// for once.
func CheckFixedPorts(svcs []Service, fixed map[string]int) error {
	valid := []string{}
	ports := map[string][]string{}
	for _, s := range svcs {
		valid = append(valid, s.Name)
		ports[s.Name] = s.Ports
	}
	keys := make([]string, 0, len(fixed))
	for k := range fixed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := map[int]string{}
	for _, k := range keys {
		p := fixed[k]
		svc, name, named := strings.Cut(k, ":")
		bad := func(detail, fix string) error {
			return &Error{Op: "check --port " + k + "=" + fmt.Sprint(p), Err: ErrBadInput, Detail: detail, Fix: fix}
		}
		sp, ok := ports[svc]
		switch {
		case !ok:
			return bad(fmt.Sprintf("no service %q in this stack", svc), "services: "+strings.Join(valid, ", "))
		case named && !slices.Contains(sp, name):
			return bad(fmt.Sprintf("%s has no port named %q", svc, name),
				fmt.Sprintf("%s's ports: %s (write --port %s=PORT for the first)", svc, strings.Join(sp, ", "), svc))
		case len(sp) == 0:
			return bad(svc+" listens on no port", "drop this --port")
		case p < MinPort && p > 0:
			return bad(fmt.Sprintf("port %d is privileged (below %d): the servers run as an unprivileged user and cannot bind it", p, MinPort),
				fmt.Sprintf("use a port from %d to %d", MinPort, MaxPort))
		case p < MinPort || p > MaxPort:
			return bad(fmt.Sprintf("port %d is out of range %d–%d", p, MinPort, MaxPort),
				fmt.Sprintf("use a port from %d to %d", MinPort, MaxPort))
		}
		if other, dup := seen[p]; dup {
			return bad(fmt.Sprintf("port %d is also asked for %s", p, other), "give each service its own port")
		}
		seen[p] = k
	}
	return nil
}

// portChanges lists the fixed ports that differ from the ones a stack
// already has ("redis-0 is on 21234, --port asks 21300").
func portChanges(have map[string]map[string]int, svcs []Service, fixed map[string]int) map[string]string {
	out := map[string]string{}
	for _, s := range svcs {
		for i, n := range s.Ports {
			want, ok := fixed[s.Name+":"+n]
			if !ok && i == 0 {
				want, ok = fixed[s.Name]
			}
			if cur := have[s.Name][n]; ok && cur != 0 && cur != want {
				out[s.Name] = fmt.Sprintf("%s is on port %d (%s), --port asks for %d", s.Name, cur, n, want)
			}
		}
	}
	return out
}

// ParsePorts reads --port SERVICE[:PORTNAME]=PORT flags; which services
// and ports exist, and the range, CheckFixedPorts checks when the stack
// opens.
func ParsePorts(specs []string) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, &Error{Op: "parse --port", Err: ErrBadInput, Detail: fmt.Sprintf("%q is not SERVICE=PORT", s),
				Fix: "write --port SERVICE=PORT or SERVICE:PORTNAME=PORT, e.g. --port postgres=15432"}
		}
		k = strings.TrimSpace(k)
		if _, dup := out[k]; dup {
			return nil, &Error{Op: "parse --port", Err: ErrBadInput, Detail: fmt.Sprintf("%s is given twice", k),
				Fix: "give one --port per service"}
		}
		out[k] = p
	}
	return out, nil
}

// checkConfig refuses a Config that cannot be right whatever the stack.
func checkConfig(cfg Config) error {
	if cfg.Timeout < 0 {
		return &Error{Op: "check timeout", Err: ErrBadInput, Detail: fmt.Sprintf("--timeout %s is negative", cfg.Timeout),
			Fix: "give a positive duration, e.g. --timeout 5m"}
	}
	if cfg.Timeout > 0 && cfg.Timeout < time.Second {
		return &Error{Op: "check timeout", Err: ErrBadInput, Detail: fmt.Sprintf("--timeout %s is too short for any server to start", cfg.Timeout),
			Fix: "give at least 1s; the default is 3m"}
	}
	return nil
}
