package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

type benchSeedOptions struct {
	seed        seedOptions
	stack       string
	keep        bool
	rawLimit    int64
	alone       bool
	json        bool
	redisShards int
	rabbitNodes int
}

func newBenchSeed(g *globals) *cobra.Command {
	o := &benchSeedOptions{}
	c := &cobra.Command{
		Use:   "seed",
		Short: "Seed rates per store against each store's raw bulk rate, and end-to-end cards/s",
		Long: `In one run, on a throwaway stack (or --stack NAME):
  1. seeds it (all stores concurrently, as 'mossdev seed --force' does) and records rows/s per store
     and end-to-end cards/s;
  2. measures each store's raw bulk rate: the same driver and bulk path loading rows shaped like the
     seed's, prepared in memory first, one store at a time with nothing else running;
  3. prints seed rate, raw rate and their ratio per store.
('mossdev bench reset' measures reset and checkpoints.) The ratio says what generation and sharing the machine with the other stores cost each store.`,
		Example: `  mossdev bench seed                 # default scale (30k cards)
  mossdev bench seed --scale prod    # 1M cards, 6M hashtags: many minutes on 2 cores
  mossdev bench seed --stack dev --keep`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchSeed(c.Context(), g, o) },
	}
	addSeedFlags(c, &o.seed)
	f := c.Flags()
	f.StringVar(&o.stack, "stack", "", "measure on this existing stack instead of a throwaway one (its data is replaced)")
	f.BoolVar(&o.keep, "keep", false, "leave the throwaway stack up afterwards")
	f.Int64Var(&o.rawLimit, "raw-limit", 500_000, "rows per store for the raw rate (0: as many as the seed loads)")
	f.BoolVar(&o.alone, "alone", true, "also seed each store alone (mossdev seed --force --only STORE) to separate generation cost from sharing the machine")
	f.BoolVar(&o.json, "json", false, "print the results as JSON")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards of the throwaway stack")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 1, "RabbitMQ nodes of the throwaway stack")
	return c
}

type benchSeedResult struct {
	Params  seed.Params         `json:"params"`
	Counts  seed.Counts         `json:"counts"`
	CPUs    int                 `json:"cpus"`
	Seed    *load.Report        `json:"seed"`
	Raw     []load.RawResult    `json:"raw"`
	Alone   []load.StoreReport  `json:"alone,omitempty"`
	PeakRSS int64               `json:"peakRssBytes,omitempty"`
	Stores  []benchSeedStoreRow `json:"stores"`
}

type benchSeedStoreRow struct {
	Store   string  `json:"store"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rowsPerSec"`
	Alone   float64 `json:"aloneRowsPerSec,omitempty"`
	RawRate float64 `json:"rawRowsPerSec"`
	Ratio   float64 `json:"ratio"`
}

func runBenchSeed(ctx context.Context, g *globals, o *benchSeedOptions) error {
	p, err := o.seed.params()
	if err != nil {
		return err
	}
	s, done, err := benchStack(ctx, g, o.stack, "bench-seed", stack.Options{RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}, o.keep)
	if err != nil {
		return err
	}
	defer done()
	env, err := s.Runtime()
	if err != nil {
		return err
	}
	t := load.TargetsFor(env)
	res := &benchSeedResult{CPUs: runtime.NumCPU()}
	defer lazyGC()() // as mossdev seed does

	fmt.Fprintf(g.stderr, "seeding (scale %s, seed %d)...\n", p.Scale, p.Seed)
	d := g.display(false, o.json) // --json: results only
	rep, err := load.Seed(ctx, t, p, load.Options{Force: true, Sink: d})
	d.Close()
	if err != nil {
		return err
	}
	res.Seed, res.Params, res.Counts = rep, rep.Params, rep.Counts

	ds, err := seed.New(p)
	if err != nil {
		return err
	}
	if o.alone {
		for _, st := range load.Stores {
			fmt.Fprintf(g.stderr, "seed alone: %s...\n", st)
			ar, err := load.Seed(ctx, t, p, load.Options{Force: true, Only: []string{st}})
			if err != nil {
				return err
			}
			for _, sr := range ar.Stores {
				if sr.Store == st {
					res.Alone = append(res.Alone, sr)
				}
			}
		}
	}
	for _, st := range load.Stores {
		fmt.Fprintf(g.stderr, "raw bulk rate: %s...\n", st)
		r, err := load.Raw(ctx, t, st, ds, o.rawLimit)
		if err != nil {
			return err
		}
		res.Raw = append(res.Raw, r)
	}
	raw := map[string]load.RawResult{}
	for _, r := range res.Raw {
		raw[r.Store] = r
	}
	alone := map[string]float64{}
	for _, a := range res.Alone {
		alone[a.Store] = a.RowsPerSec()
	}
	for _, sr := range rep.Stores {
		row := benchSeedStoreRow{Store: sr.Store, Rows: sr.Rows, Seconds: sr.Elapsed.Seconds(), Rate: sr.RowsPerSec(),
			Alone: alone[sr.Store], RawRate: raw[sr.Store].RowsPerSec()}
		if row.RawRate > 0 {
			row.Ratio = row.Rate / row.RawRate
		}
		res.Stores = append(res.Stores, row)
	}
	res.PeakRSS = peakRSS()
	if o.json {
		return display.WriteJSON(g.stdout, res)
	}
	printBenchSeed(g.stdout, res)
	return nil
}

// touchCards changes 1,000 card rows the way a test run would.
func touchCards(ctx context.Context, t load.Targets) error {
	cfg, err := pgx.ParseConfig(t.Postgres)
	if err != nil {
		return err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "UPDATE cards SET like_count = like_count + 1 WHERE id <= 1000")
	return err
}

func printBenchSeed(w io.Writer, r *benchSeedResult) {
	p := r.Params
	var views int64
	for _, s := range r.Stores {
		if s.Store == load.Mongo {
			views = s.Rows
		}
	}
	fmt.Fprintf(w, "bench seed: scale %s (%d cards, %d users, %d hashtags, %d views), seed %d, %d CPUs\n\n",
		p.Scale, r.Counts.Cards, r.Counts.Users, r.Counts.Tags, views, p.Seed, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\trows\tseed s\tseed rows/s\talone rows/s\traw rows/s\tseed/raw\talone/raw\t")
	for _, s := range r.Stores {
		alone, aloneRatio := "-", "-"
		if s.Alone > 0 {
			alone = fmt.Sprintf("%.0f", s.Alone)
			if s.RawRate > 0 {
				aloneRatio = fmt.Sprintf("%.2f", s.Alone/s.RawRate)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%s\t%.0f\t%.2f\t%s\t\n", s.Store, s.Rows, s.Seconds, s.Rate, alone, s.RawRate, s.Ratio, aloneRatio)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nend to end: %d cards into every store in %.1fs = %.0f cards/s (template copy and warm-up %.2fs included)\n",
		r.Counts.Cards, r.Seed.Elapsed.Seconds(), r.Seed.CardsPerSec(), r.Seed.Snapshot.Seconds())
	fmt.Fprintf(w, "seed: all stores concurrently; alone: one store at a time (--only); raw: the bulk path alone on prepared rows, at most %d rows each\n", maxRawRows(r.Raw))
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "peak memory of this process (generator and loaders, not the servers): %d MB\n", r.PeakRSS>>20)
	}
}

func maxRawRows(rs []load.RawResult) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.Rows)
	}
	return m
}

// peakRSS is this process's peak resident memory (Linux VmHWM), 0 elsewhere.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
