package main

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/native"
	"github.com/spf13/cobra"
)

// check is one doctor finding.
type check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

// binaries the native backend runs, with the Debian package providing each.
var binaries = []struct{ bin, pkg string }{
	{"initdb", "postgresql"}, {"postgres", "postgresql"}, {"pgbouncer", "pgbouncer"},
	{"mariadbd", "mariadb-server"}, {"mariadb-install-db", "mariadb-server"},
	{"redis-server", "redis-server"}, {"/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"},
	{"/usr/lib/rabbitmq/bin/rabbitmqctl", "rabbitmq-server"}, {"haproxy", "haproxy"},
}

func doctorChecks(home string) []check {
	var out []check
	var missing []string
	for _, b := range binaries {
		p, err := native.Look(b.bin)
		c := check{Name: "binary " + b.bin, OK: err == nil, Info: p}
		if err != nil {
			c.Info = "not found"
			c.Fix = "apt-get install " + b.pkg
			missing = append(missing, b.pkg)
		}
		out = append(out, c)
	}
	if len(missing) > 0 {
		out = append(out, check{Name: "native servers", OK: false, Info: "missing packages: " + strings.Join(uniq(missing), " "),
			Fix: "sudo scripts/install-native.sh   (or: sudo apt-get install -y " + strings.Join(uniq(missing), " ") + ")"})
	}
	if os.Geteuid() == 0 {
		_, err := user.Lookup(native.RunUser)
		c := check{Name: "server user", OK: err == nil, Info: "servers run as " + native.RunUser + " when mossdev runs as root"}
		if err != nil {
			c.Fix = "scripts/install-native.sh (or: useradd --system --no-create-home " + native.RunUser + ")"
		}
		out = append(out, c)
	}
	if home == "" {
		home = stack.DefaultRoot()
	}
	dc := check{Name: "stack dir", OK: true, Info: home}
	if err := os.MkdirAll(home, 0o755); err != nil {
		dc.OK, dc.Info, dc.Fix = false, err.Error(), "set MOSSDEV_HOME to a writable directory"
	} else {
		var st syscall.Statfs_t
		if syscall.Statfs(home, &st) == nil {
			free := st.Bavail * uint64(st.Bsize)
			dc.Info = fmt.Sprintf("%s (%.1f GiB free)", home, float64(free)/(1<<30))
			if free < 2<<30 {
				dc.OK, dc.Fix = false, "free disk space: a seeded stack needs about 2 GiB"
			}
		}
	}
	out = append(out, dc)
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		mem := uint64(si.Totalram) * uint64(si.Unit)
		c := check{Name: "memory", OK: mem >= 4<<30, Info: fmt.Sprintf("%.1f GiB", float64(mem)/(1<<30))}
		if !c.OK {
			c.Fix = "a full stack wants about 3 GiB: try --rabbitmq-nodes 1 --redis-shards 1"
		}
		out = append(out, c)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	lc := check{Name: "loopback", OK: err == nil, Info: "127.0.0.1 accepts listeners"}
	if err != nil {
		lc.Info, lc.Fix = err.Error(), "mossdev needs a loopback interface"
	} else {
		l.Close()
	}
	out = append(out, lc)
	dk := check{Name: "docker engine", OK: true, Info: "not needed by the native backend"}
	if c, err := net.DialTimeout("unix", "/var/run/docker.sock", time.Second); err == nil {
		c.Close()
		dk.Info = "answers on /var/run/docker.sock"
	}
	out = append(out, dk)
	return out
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func newDoctor(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check this machine: server binaries, user, ports, disk, memory, docker",
		Long:  "Checks what the stack needs and prints the exact command that fixes what is missing. Exit 5 if something is missing.",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			checks := doctorChecks(g.home)
			bad := 0
			for _, ch := range checks {
				if !ch.OK {
					bad++
				}
			}
			if asJSON {
				if err := display.WriteJSON(g.stdout, checks); err != nil {
					return err
				}
			} else {
				for _, ch := range checks {
					mark := "ok  "
					if !ch.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(g.stdout, "%s %-40s %s\n", mark, ch.Name, ch.Info)
					if ch.Fix != "" {
						fmt.Fprintf(g.stdout, "     fix: %s\n", ch.Fix)
					}
				}
			}
			if bad > 0 {
				return &stack.Error{Op: "doctor", Err: stack.ErrBinaryMissing, Detail: fmt.Sprintf("%d checks failed", bad),
					Fix: "run the fixes printed above"}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	return c
}
