package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
	"golang.org/x/sys/cpu"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/services"
)

// What a full stack on the docker backend takes, measured with the default
// shape (3 RabbitMQ nodes, 3 Redis shards, Elasticsearch's 512 MB heap,
// MongoDB's 0.25 GB cache): about 3 GiB of memory at rest, 1.5 GB of
// images and a few hundred MB of volumes once seeded.
const (
	dockerMemNeed  = 4 << 30
	dockerDiskNeed = 4 << 30
)

// dockerChecks is the preflight of the docker path, run when an engine
// answers: its memory (Docker Desktop's and Colima's VMs have their own,
// often 2 GiB), the disk under its images and volumes, the images (present,
// or known to their registry so the first up can pull them), and CPU
// features the images need. Where the native backend runs too (Linux with
// Debian's servers), a shortfall here is a note, not a failure.
//
// vm.max_map_count is not checked: the stack runs Elasticsearch as a single
// node, which skips the bootstrap checks that need it.
func dockerChecks(ctx context.Context, o osFacts, e docker.Engine) []check {
	fail := func(c check, fix string) check {
		c.OK = !o.dockerOnly
		if o.dockerOnly {
			c.Fix = fix
		} else {
			c.Info += " (only the docker backend needs it; " + fix + ")"
		}
		return c
	}
	var out []check
	mc := check{Name: "docker memory", OK: true, Info: fmt.Sprintf("%.1f GiB for containers (%s)", float64(e.MemTotal)/(1<<30), e.OS)}
	if e.MemTotal > 0 && e.MemTotal < dockerMemNeed {
		mc = fail(mc, "give the engine 4 GiB or more (Docker Desktop: Settings → Resources; `colima start --memory 4`), or a lighter stack: --rabbitmq-nodes 1 --redis-shards 1")
	}
	out = append(out, mc)

	dc := check{Name: "docker disk", OK: true, Info: "images and volumes in " + e.RootDir + " on the engine's machine"}
	if fi, err := os.Stat(e.RootDir); err == nil && fi.IsDir() {
		if u, err := disk.UsageWithContext(ctx, e.RootDir); err == nil {
			dc.Info = fmt.Sprintf("%.1f GiB free in %s", float64(u.Free)/(1<<30), e.RootDir)
			if u.Free < dockerDiskNeed {
				dc = fail(dc, "free 4 GiB there: `docker system prune` removes unused images")
			}
		}
	}
	out = append(out, dc)

	refs := docker.Images(services.Platform(stack.DefaultOptions(), "docker"))
	ic := check{Name: "docker images", OK: true, Info: fmt.Sprintf("all %d present or known to their registry", len(refs))}
	if _, err := docker.Check(ctx, refs, 10*time.Second); err != nil {
		ic.Info = stack.FirstLine(err.Error())
		ic = fail(ic, "`mossdev pull` where a registry is reachable, or point MOSSDEV_IMAGE_<KIND> at a mirror or a local image")
	}
	out = append(out, ic)
	return append(out, cpuCheck(o))
}

// cpuCheck: mongo:7 is built for x86-64-v2 with AVX (it dies with "illegal
// instruction" without it) and for ARMv8.2-A on arm64; Elasticsearch on
// Apple's M4 needs SVE off, which mossdev sets by itself.
func cpuCheck(o osFacts) check {
	c := check{Name: "cpu", OK: true, Info: runtime.GOARCH}
	switch runtime.GOARCH {
	case "amd64":
		if cpu.X86.HasAVX {
			c.Info = "amd64 with AVX (mongo:7 needs it)"
		} else {
			c.Info = "amd64 without AVX: mongo:7 will not start"
			if o.dockerOnly {
				c.OK = false
			}
			c.Fix = "set MOSSDEV_IMAGE_MONGODB=mongo:4.4 (the last without AVX), or use --backend native"
		}
	case "arm64":
		c.Info = "arm64: every default image has a native arm64 variant (mongo:7 needs ARMv8.2-A)"
		if runtime.GOOS == "darwin" {
			c.Info += "; Elasticsearch gets -XX:UseSVE=0 for Apple's M4"
		}
	}
	return c
}
