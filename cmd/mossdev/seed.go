package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/mattn/go-isatty"
	"github.com/mossdev/mossdev/seed"
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

After loading, PostgreSQL's database is copied to a template for 'mossdev reset'.`,
		Example: `  mossdev seed                      # seed 2016, default scale (30k cards)
  mossdev seed --seed 7 --scale small
  mossdev seed --scale prod         # 1M cards, 6M hashtags: minutes
  mossdev seed --force              # reload even if already seeded`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
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
func (o *upOptions) seedAfterUp(ctx context.Context, g *globals, s *stack.Stack) error {
	if o.noSeed || len(o.only) > 0 {
		return nil
	}
	p, err := o.seed.params()
	if err != nil {
		return err
	}
	so := o.seed
	// up's --json promises one document on stdout: seed quietly then.
	so.quiet = o.quiet || o.json
	return runSeed(ctx, g, s, p, &so)
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
	env, err := s.Runtime()
	if err != nil {
		return err
	}
	defer lazyGC()()
	prog := newSeedProgress(g.stderr, o.json, o.quiet)
	rep, err := load.Seed(ctx, load.TargetsFor(env), p, load.Options{Force: o.force, Only: o.only, Progress: prog.event})
	prog.stop()
	if err != nil && rep == nil {
		return seedError(s, err)
	}
	switch {
	case o.json:
		if werr := writeJSON(g.stdout, rep); werr != nil {
			return werr
		}
	case o.quiet:
	default:
		printSeedReport(g.stdout, s.Name(), rep)
	}
	if err != nil {
		return seedError(s, err)
	}
	return nil
}

func seedError(s *stack.Stack, err error) error {
	return &stack.Error{Op: "seed " + s.Name(), Err: err,
		Fix: fmt.Sprintf("check `mossdev status --name %s`; run `mossdev seed --name %s` again to finish (completed stores are kept)", s.Name(), s.Name())}
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
			action = "failed: " + firstLine(r.Error)
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

// seedProgress shows load progress: bars on a terminal, a line per store
// every few seconds otherwise, JSON lines with --json.
type seedProgress struct {
	mu    sync.Mutex
	w     io.Writer
	mode  string // tty | plain | json | quiet
	last  map[string]time.Time
	bars  *barUI
	start time.Time
}

func newSeedProgress(w io.Writer, asJSON, quiet bool) *seedProgress {
	p := &seedProgress{w: w, mode: "plain", last: map[string]time.Time{}, start: time.Now()}
	switch {
	case quiet:
		p.mode = "quiet"
	case asJSON:
		p.mode = "json"
	case progressTTY(w):
		p.mode = "tty"
		p.bars = startBars(w)
	}
	return p
}

func progressTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb"
}

func (p *seedProgress) event(e load.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "quiet":
	case "json":
		_ = jsonEncoder(p.w).Encode(e)
	case "tty":
		p.bars.send(e)
	default:
		// A line per state change, and per store every 2 s while loading.
		if e.State == load.StateLoading && time.Since(p.last[e.Store]) < 2*time.Second {
			return
		}
		p.last[e.Store] = time.Now()
		fmt.Fprintf(p.w, "%6.1fs  %-14s %s\n", time.Since(p.start).Seconds(), e.Store, describeEvent(e))
	}
}

func describeEvent(e load.Event) string {
	switch e.State {
	case load.StateLoading:
		if e.Total > 0 {
			return fmt.Sprintf("loading %d/%d (%.0f%%)", e.Done, e.Total, 100*float64(e.Done)/float64(e.Total))
		}
		return "loading"
	case load.StateDone:
		return fmt.Sprintf("done: %d rows in %.2fs (%s)", e.Done, e.Elapsed.Seconds(), e.Detail)
	case load.StateKept:
		return "kept: already holds " + e.Detail
	case load.StateSkipped:
		return "skipped (--only): holds " + e.Detail
	case load.StateFailed:
		return "failed: " + firstLine(e.Detail)
	case load.StateSnapshot:
		return "copying the database to " + strings.TrimPrefix(e.Detail, "template ") + " and warming it"
	}
	return e.State
}

func (p *seedProgress) stop() {
	if p.bars != nil {
		p.bars.stop()
	}
}

// barUI draws one progress bar per store (bubbles' progress, rendered
// statically with ViewAs: the figures arrive five times a second, so
// spring animation would only lag behind them).
type barUI struct {
	prog *tea.Program
	done chan struct{}
}

type barModel struct {
	bar    progress.Model
	order  []string
	events map[string]load.Event
	start  time.Time
}

type barQuit struct{}

func startBars(w io.Writer) *barUI {
	m := barModel{bar: progress.New(progress.WithDefaultBlend(), progress.WithWidth(36)),
		order: load.Stores, events: map[string]load.Event{}, start: time.Now()}
	u := &barUI{done: make(chan struct{})}
	u.prog = tea.NewProgram(m, tea.WithOutput(w), tea.WithInput(nil), tea.WithoutSignalHandler())
	go func() {
		defer close(u.done)
		_, _ = u.prog.Run()
	}()
	return u
}

func (u *barUI) send(e load.Event) { u.prog.Send(e) }

func (u *barUI) stop() {
	u.prog.Send(barQuit{})
	<-u.done
}

func (m barModel) Init() tea.Cmd { return nil }

func (m barModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case load.Event:
		if msg.State == load.StateSnapshot {
			m.events["snapshot"] = msg
		} else {
			m.events[msg.Store] = msg
		}
	case barQuit:
		return m, tea.Quit
	}
	return m, nil
}

func (m barModel) View() tea.View {
	var b strings.Builder
	for _, name := range m.order {
		e, ok := m.events[name]
		if !ok {
			fmt.Fprintf(&b, "%-14s waiting\n", name)
			continue
		}
		pct := 0.0
		if e.Total > 0 {
			pct = float64(e.Done) / float64(e.Total)
		}
		switch e.State {
		case load.StateKept:
			fmt.Fprintf(&b, "%-14s %s kept (already seeded)\n", name, m.bar.ViewAs(1))
		case load.StateSkipped:
			fmt.Fprintf(&b, "%-14s %s skipped (--only)\n", name, m.bar.ViewAs(0))
		case load.StateFailed:
			fmt.Fprintf(&b, "%-14s %s failed: %s\n", name, m.bar.ViewAs(pct), firstLine(e.Detail))
		case load.StateDone:
			fmt.Fprintf(&b, "%-14s %s %d rows, %.1fs\n", name, m.bar.ViewAs(1), e.Done, e.Elapsed.Seconds())
		default:
			rate := 0.0
			if e.Elapsed > 0 {
				rate = float64(e.Done) / e.Elapsed.Seconds()
			}
			fmt.Fprintf(&b, "%-14s %s %d/%d  %.0f/s\n", name, m.bar.ViewAs(pct), e.Done, e.Total, rate)
		}
	}
	if e, ok := m.events["snapshot"]; ok {
		fmt.Fprintf(&b, "%-14s %s\n", "", describeEvent(e))
	}
	fmt.Fprintf(&b, "elapsed %.1fs\n", time.Since(m.start).Seconds())
	return tea.NewView(b.String())
}
