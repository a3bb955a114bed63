package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

type benchResetOptions struct {
	seed        seedOptions
	stack       string
	keep        bool
	runs        int
	json        bool
	redisShards int
	rabbitNodes int
}

func newBenchReset(g *globals) *cobra.Command {
	o := &benchResetOptions{}
	c := &cobra.Command{
		Use:   "reset",
		Short: "Checkpoint save, restore and reset times, against a plain copy of the same bytes",
		Long: `In one run, on a throwaway seeded stack (or --stack NAME, seeded if it is not):
  save      mossdev checkpoint save (every store held, each copied)
  restore   mossdev checkpoint restore with nothing prepared: the databases copied while it waits
  reset     mossdev reset as a user gets it: 1,000 card rows changed, the background copy of the
            previous restore finished, then the seed's checkpoint restored
  floor     a plain copy of as many bytes as the checkpoint holds (write, fsync) on the stack's disk
  seed      on a throwaway stack: the stores emptied, then seeded with the seed cache (the slow stores
            put in place, the rest loaded) and without it (every store loaded)
--runs times each; medians, the spread (min-max) and each figure's ratio to the floor.`,
		Example: `  mossdev bench reset
  mossdev bench reset --scale prod --runs 3   # 1M cards: the seed takes many minutes first`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchReset(c.Context(), g, o) },
	}
	addSeedFlags(c, &o.seed)
	f := c.Flags()
	f.StringVar(&o.stack, "stack", "", "measure on this existing stack instead of a throwaway one")
	f.BoolVar(&o.keep, "keep", false, "leave the throwaway stack up afterwards")
	f.IntVar(&o.runs, "runs", 3, "measurements of each kind")
	f.BoolVar(&o.json, "json", false, "print the results as JSON")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards of the throwaway stack")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 1, "RabbitMQ nodes of the throwaway stack")
	return c
}

// benchFigure is one measured operation over the runs.
type benchFigure struct {
	Name    string          `json:"name"`
	Runs    []time.Duration `json:"runsNs"`
	Median  time.Duration   `json:"medianNs"`
	Min     time.Duration   `json:"minNs"`
	Max     time.Duration   `json:"maxNs"`
	ToFloor float64         `json:"ratioToFloor"`
}

type benchResetResult struct {
	Stack     string               `json:"stack"`
	Backend   string               `json:"backend"`
	Options   stack.Options        `json:"options"`
	Scale     string               `json:"scale"`
	Cards     int64                `json:"cards"`
	Bytes     int64                `json:"checkpointBytes"`
	Figures   []benchFigure        `json:"figures"`
	Saves     map[string][]float64 `json:"saveSecondsPerStore"`
	LastSave  *checkpoint.Manifest `json:"lastSave"`
	LastReset map[string]string    `json:"lastReset"`
	FromCache []string             `json:"fromCache,omitempty"`
}

func runBenchReset(ctx context.Context, g *globals, o *benchResetOptions) error {
	p, err := o.seed.params()
	if err != nil {
		return err
	}
	if o.runs < 1 {
		return usageError{fmt.Errorf("--runs %d: give at least 1", o.runs)}
	}
	s, done, err := benchStack(ctx, g, o.stack, "bench-reset", stack.Options{RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}, o.keep)
	if err != nil {
		return err
	}
	defer done()
	env, err := s.Runtime()
	if err != nil {
		return err
	}
	t := checkpoint.For(env)
	co := checkpointOptions(s)
	co.Background = nil // the bench prepares in the foreground, timed apart
	// A throwaway stack starts empty: a checkpoint of that lets every run
	// seed from nothing and from the cache.
	const empty = "bench-empty"
	if o.stack == "" {
		if _, err := checkpoint.Save(ctx, t, empty, co); err != nil {
			return err
		}
		defer func() { _ = checkpoint.Remove(context.WithoutCancel(ctx), t, empty) }()
	}
	fmt.Fprintf(g.stderr, "seeding (scale %s, seed %d) unless it holds the dataset...\n", p.Scale, p.Seed)
	defer lazyGC()()
	rep, _, err := checkpoint.Seed(ctx, t, p, load.Options{}, co)
	if err != nil {
		return err
	}
	res := &benchResetResult{Scale: string(p.Scale), Cards: rep.Counts.Cards, Stack: s.Name(), Backend: s.Backend(),
		Options: env.Options, Saves: map[string][]float64{}}
	const name = "bench"
	defer func() { _ = checkpoint.Remove(context.WithoutCancel(ctx), t, name) }()
	var save, restore, reset, floor, fromCache, fromNothing []time.Duration
	for i := range o.runs {
		if o.stack == "" {
			fmt.Fprintf(g.stderr, "run %d/%d: seed from the cache, seed from nothing...\n", i+1, o.runs)
			for _, force := range []bool{false, true} {
				if _, err := checkpoint.Restore(ctx, t, empty, co); err != nil {
					return err
				}
				t0 := time.Now()
				_, sr, err := checkpoint.Seed(ctx, t, p, load.Options{Force: force}, co)
				if err != nil {
					return err
				}
				if force {
					fromNothing = append(fromNothing, time.Since(t0))
				} else {
					fromCache = append(fromCache, time.Since(t0))
					if sr != nil && sr.Cache != nil {
						res.FromCache = sr.Cache.Stores
					}
				}
			}
		}
		fmt.Fprintf(g.stderr, "run %d/%d: save, restore, reset, floor...\n", i+1, o.runs)
		sr, err := checkpoint.Save(ctx, t, name, co)
		if err != nil {
			return err
		}
		save = append(save, time.Duration(sr.Elapsed*float64(time.Second)))
		res.LastSave = sr.Manifest
		for _, pt := range sr.Manifest.Stores {
			res.Saves[pt.Store] = append(res.Saves[pt.Store], pt.Seconds)
		}
		rr, err := checkpoint.Restore(ctx, t, name, co)
		if err != nil {
			return err
		}
		restore = append(restore, time.Duration(rr.Elapsed*float64(time.Second)))
		if err := touchCards(ctx, t.Targets); err != nil {
			return err
		}
		// What the background does between a user's resets.
		if err := checkpoint.Prepare(ctx, t, checkpoint.SeedName); err != nil {
			return err
		}
		xr, err := checkpoint.Reset(ctx, t, co)
		if err != nil {
			return err
		}
		reset = append(reset, time.Duration(xr.Elapsed*float64(time.Second)))
		res.LastReset = xr.Actions
		res.Bytes = totalBytes(sr.Manifest)
		d, err := fileCopy(filepath.Join(s.Dir(), "checkpoints"), res.Bytes)
		if err != nil {
			return err
		}
		floor = append(floor, d)
	}
	fl := median(floor)
	for _, f := range []struct {
		name string
		runs []time.Duration
	}{{"checkpoint save", save}, {"checkpoint restore (nothing prepared)", restore}, {"reset (prepared, 1,000 rows changed)", reset}, {"floor: plain copy of the bytes", floor},
		{"seed from the cache (the rest loaded)", fromCache}, {"seed from nothing (every store loaded)", fromNothing}} {
		if len(f.runs) == 0 {
			continue
		}
		sorted := append([]time.Duration(nil), f.runs...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		res.Figures = append(res.Figures, benchFigure{Name: f.name, Runs: f.runs, Median: median(f.runs),
			Min: sorted[0], Max: sorted[len(sorted)-1], ToFloor: ratio(median(f.runs), fl)})
	}
	if o.json {
		return display.WriteJSON(g.stdout, res)
	}
	printBenchReset(g.stdout, res)
	return nil
}

// fileCopy times writing n bytes to a file under dir and copying it to
// another with fsync: the physical floor of any copy of that much data.
func fileCopy(dir string, n int64) (time.Duration, error) {
	src, err := os.CreateTemp(dir, "bench-src-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(src.Name())
	defer src.Close()
	if _, err := io.CopyN(src, rand.Reader, n); err != nil {
		return 0, err
	}
	if err := src.Sync(); err != nil {
		return 0, err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	dst, err := os.CreateTemp(dir, "bench-dst-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(dst.Name())
	defer dst.Close()
	t0 := time.Now()
	if _, err := io.Copy(dst, src); err != nil {
		return 0, err
	}
	if err := dst.Sync(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func printBenchReset(w io.Writer, r *benchResetResult) {
	fmt.Fprintf(w, "bench reset: stack %s (%s backend), scale %s (%d cards), checkpoint %s\n\n",
		r.Stack, r.Backend, r.Scale, r.Cards, humanBytes(r.Bytes))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tMEDIAN\tMIN-MAX\tTO FLOOR\t")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%.3fs\t%.3f-%.3fs\t%.2fx\t\n", f.Name, f.Median.Seconds(), f.Min.Seconds(), f.Max.Seconds(), f.ToFloor)
	}
	tw.Flush()
	if len(r.FromCache) > 0 {
		fmt.Fprintf(w, "\nthe seed cache put in place: %v; seed from the cache / from nothing: %.2fx\n", r.FromCache, ratio(r.Figures[4].Median, r.Figures[5].Median))
	}
	fmt.Fprintln(w, "\nper store, seconds (save runs; restore in the last reset):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, pt := range r.LastSave.Stores {
		fmt.Fprintf(tw, "  %s\t%v\t%s\t\n", pt.Store, r.Saves[pt.Store], r.LastReset[pt.Store])
	}
	tw.Flush()
}
