package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"text/tabwriter"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

// DefaultSeed is the --seed used when none is given: every stack seeded
// without one holds the same data.
const DefaultSeed = 2016

type seedOptions struct {
	seed  uint64
	scale string
	cards int64
	force bool
	only  []string
	json  bool
	quiet bool
}

// addSeedFlags adds the dataset flags (shared with up), checked before
// the command runs so a bad --scale fails before anything starts.
func addSeedFlags(c *cobra.Command, o *seedOptions) {
	prev := c.PreRunE
	c.PreRunE = func(c *cobra.Command, args []string) error {
		if _, err := o.params(); err != nil {
			return err
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
	f := c.Flags()
	f.Uint64Var(&o.seed, "seed", DefaultSeed, "dataset seed: the same seed gives byte-identical data on every run and backend")
	f.StringVar(&o.scale, "scale", string(seed.Default), "dataset size: small (2k cards), default (30k), large (200k), prod (1M cards, 6M hashtags)")
	f.Int64Var(&o.cards, "cards", 0, "explicit number of cards (overrides --scale)")
}

func (o *seedOptions) params() (seed.Params, error) {
	p := seed.Params{Seed: o.seed, Scale: seed.Scale(o.scale), Cards: o.cards}
	if err := p.Validate(); err != nil {
		return p, usageError{err}
	}
	return p, nil
}

func newSeed(g *globals) *cobra.Command {
	o := &seedOptions{}
	c := &cobra.Command{
		Use:   "seed",
		Short: "Seed (or re-seed) a running stack with the Mossi dataset",
		Long: `Loads a generated, mutually consistent Mossi dataset into every store of a running stack:
users, cards and hashtag links in PostgreSQL (through PgBouncer), the hashtag search table in
MariaDB, view logs in MongoDB, card documents in Elasticsearch, card images in S3 (served by the
CDN), hot-card cache entries on the Redis shards, and pending write-behind jobs in RabbitMQ.

Each store keeps a marker of the dataset it holds. Seeding again with the same parameters changes
nothing and says so; other parameters replace the data; a seed that was interrupted is finished by
the next one (stores it completed are kept). 'mossdev up' seeds by default.

After loading, the seeded state is kept as checkpoint "seed" ('mossdev reset' restores it), and the
slowest stores' data goes to the machine-wide seed cache, from which a later seed of the same dataset on
any stack takes it instead of loading ('mossdev cache ls').`,
		Example: `  mossdev seed                      # seed 2016, default scale (30k cards)
  mossdev seed --seed 7 --scale small
  mossdev seed --scale prod         # 1M cards, 6M hashtags: minutes
  mossdev seed --force              # reload even if already seeded`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := g.applySettings(c, "seed.number", "seed.scale"); err != nil {
				return err
			}
			p, err := o.params()
			if err != nil {
				return err
			}
			s, err := g.existing()
			if err != nil {
				return err
			}
			return runSeed(c.Context(), g, s, p, o)
		},
	}
	addSeedFlags(c, o)
	f := c.Flags()
	f.BoolVar(&o.force, "force", false, "reload every store even if it already holds this dataset")
	f.StringSliceVar(&o.only, "only", nil, "seed only these stores (postgres, mariadb, mongodb, elasticsearch, s3, redis, rabbitmq)")
	f.BoolVar(&o.json, "json", false, "print the report as JSON on stdout, progress as JSON lines on stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	return c
}

// seedAfterUp is up's last step: seed the stack (a no-op when it already
// holds the dataset) unless --no-seed, or --only started part of it.
// Progress goes to up's display; the report is up's to print.
func (o *upOptions) seedAfterUp(ctx context.Context, s *stack.Stack, d *display.Display) (*load.Report, error) {
	if o.noSeed || len(o.only) > 0 {
		return nil, nil
	}
	p, err := o.seed.params()
	if err != nil {
		return nil, err
	}
	return seedStack(ctx, s, p, load.Options{Sink: d})
}

// lazyGC makes the collector run less often during a seed, which
// allocates short-lived rows by the million: the CPU goes to the stores
// instead (the loaders' live heap is ~60 MB at any scale). A soft memory
// limit keeps the process near 256 MB regardless. It returns the undo.
func lazyGC() func() {
	gc := debug.SetGCPercent(400)
	limit := debug.SetMemoryLimit(256 << 20)
	return func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	}
}

// runSeed seeds stack s and prints the report.
func runSeed(ctx context.Context, g *globals, s *stack.Stack, p seed.Params, o *seedOptions) error {
	d := g.display(o.json, o.quiet)
	rep, err := seedStack(ctx, s, p, load.Options{Force: o.force, Only: o.only, Sink: d})
	d.Close()
	if rep == nil {
		return err
	}
	switch {
	case o.json:
		if werr := display.WriteJSON(g.stdout, rep); werr != nil {
			return werr
		}
	case o.quiet:
	default:
		printSeedReport(g.stdout, s.Name(), rep)
	}
	return err
}

// seedStack seeds s with p; its error says what to do. The report may
// come with an error: some stores finished, others did not.
func seedStack(ctx context.Context, s *stack.Stack, p seed.Params, o load.Options) (*load.Report, error) {
	env, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	defer lazyGC()()
	co := checkpointOptions(s)
	co.Sink = o.Sink
	rep, _, err := checkpoint.Seed(ctx, checkpoint.For(env), p, o, co)
	if err != nil {
		fix := fmt.Sprintf("check `mossdev status --name %s`; run `mossdev seed --name %s` again to finish (completed stores are kept)", s.Name(), s.Name())
		return rep, loadError("seed", s.Name(), err, fix)
	}
	return rep, nil
}

// loadError is a failed seed or reset of a stack as the user sees it: another
// one running on the stack has a fix of its own.
func loadError(verb, stackName string, err error, fix string) error {
	if errors.Is(err, stack.ErrBadInput) {
		return err // it carries its own fix
	}
	if errors.Is(err, load.ErrBusy) {
		fix = fmt.Sprintf("wait for the other `mossdev seed` or `mossdev reset` on stack %s to finish, then run this again", stackName)
	}
	return &stack.Error{Op: verb + " " + stackName, Err: err, Fix: fix}
}

func printSeedReport(w io.Writer, name string, rep *load.Report) {
	p := rep.Params
	if rep.NoOp {
		fmt.Fprintf(w, "stack %s already holds dataset %s (seed %d, %d cards): nothing to do\n", name, rep.Fingerprint, p.Seed, p.Cards)
		return
	}
	fmt.Fprintf(w, "\nstack %s: dataset %s (seed %d, scale %s, %d cards, %d users, %d hashtags)\n",
		name, rep.Fingerprint, p.Seed, p.Scale, rep.Counts.Cards, rep.Counts.Users, rep.Counts.Tags)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE\tACTION\tROWS\tSECONDS\tROWS/S\t")
	for _, r := range rep.Stores {
		action := r.Action
		if r.Error != "" {
			action = "failed: " + display.FirstLine(r.Error)
		}
		secs, rate := "", ""
		if r.Action != load.StateKept && r.Action != load.StateSkipped {
			secs = fmt.Sprintf("%.2f", r.Elapsed.Seconds())
			rate = fmt.Sprintf("%.0f", r.RowsPerSec())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", r.Store, action, r.Rows, secs, rate)
	}
	tw.Flush()
	if rep.Snapshot > 0 {
		fmt.Fprintf(w, "template %s and pg_prewarm: %.2fs\n", load.TemplateDB, rep.Snapshot.Seconds())
	}
	fmt.Fprintf(w, "seeded in %.1fs (%.0f cards/s end to end)\n", rep.Elapsed.Seconds(), rep.CardsPerSec())
}
