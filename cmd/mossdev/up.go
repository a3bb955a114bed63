package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/spf13/cobra"
)

type upOptions struct {
	backend     string
	only        []string
	json        bool
	quiet       bool
	timeout     time.Duration
	redisShards int
	rabbitNodes int
	ports       []string
	noTUI       bool
	seed        seedOptions // mossdev seed's dataset flags (seed.go)
	noSeed      bool
}

func newUp(g *globals) *cobra.Command {
	o := &upOptions{}
	c := &cobra.Command{
		Use:   "up",
		Short: "Bring the platform up and wait until every service answers",
		Long: `Starts every service that is not running (a second up changes nothing and says so),
independent services concurrently and dependents as soon as what they need answers, then waits on
protocol-level probes through the path apps use: SQL through PgBouncer, AMQP through HAProxy, Mongo
ping, Redis PING on each shard, Elasticsearch _cluster/health, an S3 list, a CDN GET.

Ports are chosen free on 127.0.0.1 at the first up and kept for the stack's life; ask for a fixed one
with --port. Credentials are generated per stack; see them with 'mossdev env'.

On docker, the images come first, in their own phase: those not present are pulled side by
side with progress, bounded by Ctrl-C but not by --timeout, which starts after them. A pull that
fails names the image, the engine's reason and the fix (exit 5), and leaves no stack behind. With a
mossdev.lock beside mossdev.toml, or in the current directory without one (see 'mossdev pull'), a missing image is pulled by the digest
the lock pins, and an image whose tag now names other bytes than the lock pins is refused (exit 5).

Ctrl-C stops what this run had started, so nothing is left half-up.`,
		Example: `  mossdev up
  mossdev up --only pgbouncer,redis-0     # and what they need (postgres)
  mossdev up --name ci --json --timeout 5m
  mossdev up --rabbitmq-nodes 1 --redis-shards 2   # a lighter stack
  mossdev up --port postgres=15432`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if _, err := g.resolve(c, o); err != nil {
				return err
			}
			if err := o.check(c); err != nil {
				return err
			}
			return runUp(c.Context(), g, o)
		},
	}
	o.addFlags(c)
	return c
}

// addFlags defines up's flags (mossdev config takes the same ones).
func (o *upOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.backend, "backend", "auto", "where services run: docker (official images in containers), native (Debian server binaries as supervised processes), or auto: docker when an engine answers and every image is present or pullable, else native (says why); an existing stack keeps its own")
	f.StringSliceVar(&o.only, "only", nil, "start only these services (comma-separated) and what they need")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout, progress as JSON lines on stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	f.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up if the stack is not healthy by then (counted after the docker images are present)")
	f.IntVar(&o.redisShards, "redis-shards", 3, "number of Redis cache shards (fixed when the stack is created)")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 3, "RabbitMQ cluster nodes; 1 for a light stack (fixed when the stack is created)")
	f.StringArrayVar(&o.ports, "port", nil, "fixed host port: SERVICE=PORT or SERVICE:PORTNAME=PORT (repeatable)")
	f.BoolVar(&o.noTUI, "no-tui", false, "on a terminal, print the summary and return instead of ending in the UI")
	addSeedFlags(c, &o.seed)
	f.BoolVar(&o.noSeed, "no-seed", false, "do not seed after the stack is up (see mossdev seed)")
}

// check refuses bad flags before anything is written. Shape options count
// only when given: an existing stack keeps its own.
func (o *upOptions) check(c *cobra.Command) error {
	if o.timeout <= 0 {
		return &stack.Error{Op: "check --timeout", Err: stack.ErrBadInput, Detail: fmt.Sprintf("--timeout %s is not positive", o.timeout),
			Fix: "give a positive duration, e.g. --timeout 5m (the default is 3m)"}
	}
	if !slices.Contains(platform.Backends, o.backend) {
		return &stack.Error{Op: "check --backend", Err: stack.ErrBadInput, Detail: fmt.Sprintf("%q", o.backend),
			Fix: "use --backend " + strings.Join(platform.Backends, ", ")}
	}
	if c.Flags().Changed("only") && len(strings.Join(o.only, "")) == 0 {
		return &stack.Error{Op: "check --only", Err: stack.ErrBadInput, Detail: "--only names no service",
			Fix: "name services (e.g. --only pgbouncer,redis-0), or leave --only out for all"}
	}
	if err := (stack.Options{RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}).Validate(); err != nil {
		return err
	}
	// Again: MOSSDEV_SCALE may have changed --scale after PreRunE.
	if _, err := o.seed.params(); err != nil {
		return err
	}
	if !c.Flags().Changed("redis-shards") {
		o.redisShards = 0
	}
	if !c.Flags().Changed("rabbitmq-nodes") {
		o.rabbitNodes = 0
	}
	return nil
}

func runUp(ctx context.Context, g *globals, o *upOptions) error {
	ports, err := stack.ParsePorts(o.ports)
	if err != nil {
		return err
	}
	lock, err := g.lockPath()
	if err != nil {
		return err
	}
	var said io.Writer = g.stderr
	if o.quiet {
		said = io.Discard
	}
	unlock, err := lockUp(ctx, filepath.Join(g.root(), g.name), said)
	if err != nil {
		return err
	}
	defer unlock()
	g.applyImages()
	d := g.display(o.json, o.quiet)
	defer d.Close()
	cfg := stack.Config{Name: g.name, Root: g.home, Backend: o.backend, Sink: d, Timeout: o.timeout, Ports: ports,
		Options: stack.Options{RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}, Lock: lock}
	var why string
	if cfg.Backend, why = platform.Pick(ctx, cfg); why != "" {
		d.Event(stack.Event{Kind: stack.EventBackend, Message: why})
	}
	s, err := g.open(cfg)
	if err != nil {
		return err
	}
	rep, upErr := s.Up(ctx, o.only)
	g.recordProject(s)
	if upErr != nil && rep == nil {
		return upErr
	}
	var seeded *load.Report
	if upErr == nil {
		seeded, upErr = o.seedAfterUp(ctx, s, d)
	}
	d.Close()
	sts, _ := s.Status(context.Background(), 2*time.Second)
	if o.json {
		doc := newStackDoc(s, sts)
		doc.Dir, doc.Env, doc.Report, doc.Seed, doc.Error = s.Dir(), s.DotenvPath(), rep, seeded, errString(upErr)
		if err := display.WriteJSON(g.stdout, doc); err != nil {
			return err
		}
		return upErr
	}
	if o.quiet || errors.Is(upErr, context.Canceled) {
		return upErr
	}
	if seeded != nil {
		printSeedReport(g.stdout, s.Name(), seeded)
	}
	if upErr == nil && rep.Started == 0 {
		fmt.Fprintf(g.stdout, "stack %s: nothing to do, all %d services already healthy\n", s.Name(), rep.Kept)
		return o.thenUI(ctx, g, s)
	}
	printUp(g.stdout, s, rep, sts, upErr)
	if upErr != nil {
		return upErr
	}
	return o.thenUI(ctx, g, s)
}

// printUp prints up's summary: the services, the startup timeline, and
// what to do next.
func printUp(w io.Writer, s *stack.Stack, rep *stack.Report, sts []stack.Status, upErr error) {
	fmt.Fprintf(w, "\nstack %s (%s backend, %s)\n", s.Name(), s.Backend(), s.Dir())
	statusTable(w, filterStatus(sts, rep))
	timeline(w, rep)
	if upErr != nil {
		fmt.Fprintf(w, "\nservices already up stay up for inspection: `mossdev status`, `mossdev logs SERVICE`; `mossdev down` removes all\n")
		return
	}
	fmt.Fprintf(w, "\nready in %.1fs. eval \"$(mossdev env --name %s)\" exports the URLs; env file: %s\n",
		rep.Elapsed.Seconds(), s.Name(), s.DotenvPath())
}

// thenUI ends a successful up in the terminal UI on a terminal, unless
// --no-tui; elsewhere the summary above is all.
func (o *upOptions) thenUI(ctx context.Context, g *globals, s *stack.Stack) error {
	if o.noTUI || !isTerminal(g.stdout) {
		return nil
	}
	return runUI(ctx, g, s)
}

// filterStatus keeps the services the report is about (--only).
func filterStatus(sts []stack.Status, rep *stack.Report) []stack.Status {
	in := map[string]bool{}
	for _, st := range rep.Plan {
		in[st.Service] = true
	}
	var out []stack.Status
	for _, s := range sts {
		if in[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
