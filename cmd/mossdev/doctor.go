package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/spf13/cobra"
)

// check is one doctor finding.
type check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

// osFacts is what doctor checks differently per OS (doctor_linux.go,
// doctor_darwin.go, doctor_other.go); tests pass their own.
type osFacts struct {
	name string // for people: "Linux", "macOS"
	// native checks the native backend's needs here. Where it does not run,
	// it returns one passing check saying so: nothing is missing then.
	native func() []check
	// dockerOnly: the docker backend is the only one that runs here, so an
	// engine that does not answer is a failure, not a note.
	dockerOnly bool
}

// notNative is the native check of an OS where that backend does not run:
// a note, not a failure, since `mossdev up` picks docker there.
func notNative(osName string) func() []check {
	return func() []check {
		return []check{{Name: "native backend", OK: true,
			Info: "not supported on " + osName + " (it runs Debian's server packages): mossdev up uses the docker backend"}}
	}
}

// engineFix is what to do when no docker engine answers.
const engineFix = "start Docker: Docker Desktop, `colima start` or OrbStack on a Mac, the docker service on Linux (or set DOCKER_HOST)"

func doctorChecks(ctx context.Context, home string, o osFacts) []check {
	out := append([]check{{Name: "platform", OK: true, Info: o.name + " " + runtime.GOARCH}}, o.native()...)
	if home == "" {
		home = stack.DefaultRoot()
	}
	dc := check{Name: "stack dir", OK: true, Info: home}
	if err := os.MkdirAll(home, 0o755); err != nil {
		dc.OK, dc.Info, dc.Fix = false, err.Error(), "set MOSSDEV_HOME to a writable directory"
	} else if u, err := disk.UsageWithContext(ctx, home); err == nil {
		dc.Info = fmt.Sprintf("%s (%.1f GiB free)", home, float64(u.Free)/(1<<30))
		if u.Free < 2<<30 {
			dc.OK, dc.Fix = false, "free disk space: a seeded stack needs about 2 GiB"
		}
	}
	out = append(out, dc)
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		c := check{Name: "memory", OK: vm.Total >= 4<<30, Info: fmt.Sprintf("%.1f GiB", float64(vm.Total)/(1<<30))}
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
	ec := engineCheck(ctx, o)
	out = append(out, ec)
	if ec.OK && !strings.HasPrefix(ec.Info, "none answers") {
		ectx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if e, err := docker.EngineInfo(ectx); err == nil {
			out = append(out, dockerChecks(ectx, o, e)...)
		}
	}
	return out
}

// engineCheck says which docker engine mossdev would use (the one
// testcontainers resolves: DOCKER_HOST, the docker context, the default
// socket).
func engineCheck(ctx context.Context, o osFacts) check {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	host, version, err := docker.Endpoint(ctx)
	if err == nil {
		return check{Name: "docker engine", OK: true, Info: fmt.Sprintf("version %s answers at %s", version, host)}
	}
	why := err.Error()
	var se *stack.Error
	if errors.As(err, &se) {
		why = se.Detail
	}
	c := check{Name: "docker engine", OK: !o.dockerOnly, Info: "none answers: " + why}
	if o.dockerOnly {
		c.Fix = engineFix
	} else {
		c.Info += " (only the docker backend needs one)"
	}
	return c
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
			checks := doctorChecks(c.Context(), g.home, thisOS)
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
