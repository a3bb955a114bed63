package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/services"
	"github.com/spf13/cobra"
)

type benchDockerOptions struct {
	runs        int
	only        []string
	json        bool
	native      bool
	redisShards int
	rabbitNodes int
	timeout     time.Duration
}

// dockerRun is one measured round: the same services three ways.
type dockerRun struct {
	Docker  time.Duration `json:"dockerNs"`
	Compose time.Duration `json:"composeNs"`
	Native  time.Duration `json:"nativeNs,omitempty"`
}

func newBenchDocker(g *globals) *cobra.Command {
	o := &benchDockerOptions{}
	c := &cobra.Command{
		Use:   "docker",
		Short: "Warm-image up on docker against docker compose of the same stack, and against native",
		Long: `Measures, --runs times each and in the same run, the wall time until the platform's
containerised services answer (images present, data volumes fresh):
  docker   mossdev up --backend docker
  compose  the project 'mossdev export compose' writes for that stack (same images, config and
           ports, healthchecks every 1 s), brought up with 'docker compose up -d --wait'; with
           docker-compose v1, which has no --wait, 'up -d' and then polling until every container
           is running and healthy where it has a healthcheck (what --wait waits for)
  native   mossdev up --backend native, when the native servers are installed
and prints the medians and the ratios compose/docker and docker/native. S3 and the CDN are left
out: they are host processes on both backends, and compose has no equivalent.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchDocker(c.Context(), g, o) },
	}
	f := c.Flags()
	f.IntVar(&o.runs, "runs", 1, "measurements of each kind (medians are printed)")
	f.StringSliceVar(&o.only, "only", nil, "measure only these services and what they need (default: every containerised service)")
	f.BoolVar(&o.json, "json", false, "print every run as JSON")
	f.BoolVar(&o.native, "native", true, "also measure the native backend")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 3, "RabbitMQ nodes")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on one measurement after this long")
	return c
}

// composeTool is the compose CLI found on this machine.
type composeTool struct {
	argv    []string // "docker compose" or "docker-compose"
	version string
	wait    bool // supports up --wait (v2)
}

func findCompose() (composeTool, error) {
	if out, err := exec.Command("docker", "compose", "version", "--short").Output(); err == nil {
		v := strings.TrimSpace(string(out))
		// --wait arrived in compose v2.1.1; every v2 worth having has it.
		return composeTool{argv: []string{"docker", "compose"}, version: "v" + strings.TrimPrefix(v, "v"), wait: true}, nil
	}
	if out, err := exec.Command("docker-compose", "version", "--short").Output(); err == nil {
		v := strings.TrimSpace(string(out))
		return composeTool{argv: []string{"docker-compose"}, version: v, wait: strings.HasPrefix(v, "2")}, nil
	}
	return composeTool{}, &stack.Error{Op: "find docker compose", Err: stack.ErrBinaryMissing,
		Detail: "neither `docker compose` nor `docker-compose` runs", Fix: "install docker compose (apt-get install docker-compose)"}
}

func (t composeTool) run(ctx context.Context, dir, project string, args ...string) error {
	argv := append(append([]string{}, t.argv...), append([]string{"-p", project, "-f", filepath.Join(dir, docker.ComposeFile)}, args...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		lines, _ := stack.LastLines(&out, 15)
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, strings.Join(lines, "\n"))
	}
	return nil
}

// up starts the project and returns when it is up as --wait means it.
func (t composeTool) up(ctx context.Context, dir, project string, want int) error {
	if t.wait {
		return t.run(ctx, dir, project, "up", "-d", "--wait")
	}
	if err := t.run(ctx, dir, project, "up", "-d"); err != nil {
		return err
	}
	for {
		total, ready, err := docker.ComposeReady(ctx, project)
		if err != nil {
			return err
		}
		if total >= want && ready == total {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("compose project %s: %d of %d containers ready: %w", project, ready, total, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func runBenchDocker(ctx context.Context, g *globals, o *benchDockerOptions) error {
	if o.runs < 1 {
		return usageError{fmt.Errorf("--runs must be at least 1")}
	}
	opts := stack.Options{RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}
	if err := opts.Validate(); err != nil {
		return err
	}
	all := services.Platform(opts, "docker")
	only := o.only
	if len(only) == 0 {
		for _, s := range all {
			if len(docker.Images([]stack.Service{s})) > 0 {
				only = append(only, s.Name)
			}
		}
	}
	sel, err := stack.Select(all, only)
	if err != nil {
		return err
	}
	refs := docker.Images(sel)
	if _, err := docker.Check(ctx, refs, 10*time.Second); err != nil {
		return err
	}
	tool, err := findCompose()
	if err != nil {
		return err
	}
	var containers []string
	for _, s := range sel {
		if len(docker.Images([]stack.Service{s})) > 0 {
			containers = append(containers, s.Name)
		}
	}
	waitHow := "up -d --wait"
	if !tool.wait {
		waitHow = "up -d, then polling until running and healthy (v1 has no --wait)"
	}
	fmt.Fprintf(g.stderr, "bench docker: %d services (%s), %d run(s); compose %s: %s\n",
		len(sel), strings.Join(containers, " "), o.runs, tool.version, waitHow)

	tmp, err := os.MkdirTemp("", "mossdev-bench-docker-")
	if err != nil {
		return err
	}
	_ = os.Chmod(tmp, 0o711) // the native servers' user must reach its stack
	defer os.RemoveAll(tmp)
	pid := os.Getpid()
	open := func(backend, name string) (*stack.Stack, error) {
		return (&globals{name: name, home: tmp}).open(stack.Config{Backend: backend, Options: opts, Timeout: o.timeout})
	}
	project := fmt.Sprintf("mossdev-bench-%d", pid)
	composeDir := filepath.Join(tmp, "compose")
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	down := func(name, backend string) func() {
		return func() {
			if s, err := open(backend, name); err == nil && s.Exists() {
				_ = s.Down(context.Background(), false)
			}
		}
	}
	measureUp := func(backend, name string) (time.Duration, error) {
		cleanups = append(cleanups, down(name, backend))
		s, err := open(backend, name)
		if err != nil {
			return 0, err
		}
		t := time.Now()
		if _, err := s.Up(ctx, only); err != nil {
			return 0, fmt.Errorf("%s up: %w", backend, err)
		}
		return time.Since(t), nil
	}

	var runs []dockerRun
	nativeSkipped := ""
	for i := range o.runs {
		var r dockerRun
		dname := fmt.Sprintf("bench-docker-%d-%d", pid, i)
		if r.Docker, err = measureUp("docker", dname); err != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "run %d: mossdev up --backend docker %.2fs\n", i+1, r.Docker.Seconds())
		s, err := open("docker", dname)
		if err != nil {
			return err
		}
		_ = os.RemoveAll(composeDir)
		if _, err := exportCompose(ctx, s, composeDir, only, false); err != nil {
			return err
		}
		if err := s.Down(ctx, false); err != nil {
			return err
		}

		cleanups = append(cleanups, func() { _ = tool.run(context.Background(), composeDir, project, "down", "-v", "-t", "5") })
		cctx, cancel := context.WithTimeout(ctx, o.timeout)
		t := time.Now()
		err = tool.up(cctx, composeDir, project, len(containers))
		r.Compose = time.Since(t)
		cancel()
		if err != nil {
			return fmt.Errorf("compose up: %w", err)
		}
		fmt.Fprintf(g.stderr, "run %d: %s %s %.2fs\n", i+1, strings.Join(tool.argv, " "), waitHow, r.Compose.Seconds())
		if err := tool.run(ctx, composeDir, project, "down", "-v", "-t", "5"); err != nil {
			return err
		}

		if o.native && nativeSkipped == "" {
			nname := fmt.Sprintf("bench-native-%d-%d", pid, i)
			r.Native, err = measureUp("native", nname)
			switch {
			case errors.Is(err, stack.ErrBinaryMissing):
				nativeSkipped = stack.Hint(err)
				r.Native = 0
				fmt.Fprintf(g.stderr, "native skipped: %v\n", err)
			case err != nil:
				return err
			default:
				fmt.Fprintf(g.stderr, "run %d: mossdev up --backend native %.2fs\n", i+1, r.Native.Seconds())
			}
			down(nname, "native")()
		}
		runs = append(runs, r)
	}
	if o.json {
		return display.WriteJSON(g.stdout, struct {
			Services []string    `json:"services"`
			Compose  string      `json:"compose"`
			Wait     string      `json:"wait"`
			Runs     []dockerRun `json:"runs"`
		}{containers, tool.version, waitHow, runs})
	}
	printBenchDocker(g.stdout, runs, tool, waitHow)
	return nil
}

func printBenchDocker(w io.Writer, runs []dockerRun, tool composeTool, waitHow string) {
	var d, c, n []time.Duration
	for _, r := range runs {
		d, c = append(d, r.Docker), append(c, r.Compose)
		if r.Native > 0 {
			n = append(n, r.Native)
		}
	}
	md, mc, mn := median(d), median(c), median(n)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "warm-image up, fresh data (median of %d)\tseconds\n", len(runs))
	fmt.Fprintf(tw, "mossdev up --backend docker\t%.2f\n", md.Seconds())
	fmt.Fprintf(tw, "%s %s (healthchecks every %s)\t%.2f\n", strings.Join(tool.argv, " "), waitHow, docker.HealthInterval, mc.Seconds())
	if mn > 0 {
		fmt.Fprintf(tw, "mossdev up --backend native\t%.2f\n", mn.Seconds())
	}
	tw.Flush()
	fmt.Fprintf(w, "ratios: compose/docker %.2f", ratio(mc, md))
	if mn > 0 {
		fmt.Fprintf(w, ", docker/native %.2f", ratio(md, mn))
	}
	fmt.Fprintln(w)
}
