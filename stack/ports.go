package stack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"

	psnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
)

// Ports are chosen in 20000–32767: below Linux's ephemeral range
// (32768–60999), whose ports an outgoing connection may take as its source
// port between our choice and the server's bind (seen here: RabbitMQ boots
// failing with eaddrinuse).
const (
	portLow  = 20000
	portHigh = 32768
)

// allocatePorts fills in a port for every named port of every service,
// keeping ports already chosen and honouring fixed ones ("svc" or "svc:port").
func allocatePorts(svcs []Service, have map[string]map[string]int, fixed map[string]int) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	used := map[int]string{}
	for s, m := range have {
		for n, p := range m {
			if out[s] == nil {
				out[s] = map[string]int{}
			}
			out[s][n] = p
			used[p] = s
		}
	}
	for _, s := range svcs {
		if out[s.Name] == nil {
			out[s.Name] = map[string]int{}
		}
		for i, n := range s.Ports {
			want, ok := fixed[s.Name+":"+n]
			if !ok && i == 0 {
				want, ok = fixed[s.Name]
			}
			if ok {
				if other, taken := used[want]; taken && other != s.Name {
					return nil, &Error{Op: "choose ports", Err: ErrBadInput,
						Detail: fmt.Sprintf("port %d asked for %s is already %s's", want, s.Name, other),
						Fix:    "give each service its own --port"}
				}
				out[s.Name][n] = want
				used[want] = s.Name
				continue
			}
			if out[s.Name][n] != 0 {
				continue
			}
			p, err := freePort(used)
			if err != nil {
				return nil, err
			}
			out[s.Name][n] = p
			used[p] = s.Name
		}
	}
	return out, nil
}

func freePort(used map[int]string) (int, error) {
	for range 200 {
		p := portLow + rand.IntN(portHigh-portLow)
		if _, taken := used[p]; taken {
			continue
		}
		if portFree(p) {
			return p, nil
		}
	}
	return 0, &Error{Op: "choose ports", Err: ErrPortInUse, Detail: "no free port found in 20000-32767 after 200 tries",
		Fix: "free some ports, or ask for fixed ones with --port"}
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// PortHolder names the process listening on a loopback or wildcard port, so
// a conflict error can say who to stop ("pid 812 (postgres)"). gopsutil reads
// /proc/net/tcp and maps socket inodes to processes; without permission to
// see the holder it answers "another process".
func PortHolder(p int) string {
	conns, err := psnet.Connections("tcp")
	if err != nil {
		return "another process"
	}
	for _, c := range conns {
		if c.Status != "LISTEN" || int(c.Laddr.Port) != p {
			continue
		}
		if c.Pid == 0 {
			return "another process"
		}
		name := ""
		if pr, err := process.NewProcess(c.Pid); err == nil {
			name, _ = pr.Name()
		}
		return fmt.Sprintf("pid %d (%s)", c.Pid, name)
	}
	return "another process"
}

// checkPorts fails with ErrPortInUse naming the holder if a port the service
// is about to bind is taken.
func checkPorts(svc Service, e *Runtime) error {
	for _, n := range svc.Ports {
		p := e.Port(svc.Name, n)
		if !portFree(p) {
			return &Error{Op: "start " + svc.Name, Service: svc.Name, Err: ErrPortInUse,
				Detail: fmt.Sprintf("127.0.0.1:%d (%s port) is held by %s", p, n, PortHolder(p)),
				Fix:    fmt.Sprintf("stop that process, or choose another port with --port %s=PORT (or `mossdev down` and up again to pick new ports)", svc.Name)}
		}
	}
	return nil
}
