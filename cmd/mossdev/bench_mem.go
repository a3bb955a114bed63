package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

type benchMemOptions struct {
	seed        seedOptions
	stack       string
	noSeed      bool
	settle      time.Duration
	samples     int
	json        bool
	redisShards int
	rabbitNodes int
}

// memGoal is issue 17's budget for the default stack, seeded and idle.
const memGoal = 800 << 20

func newBenchMem(g *globals) *cobra.Command {
	o := &benchMemOptions{}
	c := &cobra.Command{
		Use:   "mem",
		Short: "Memory of an idle seeded stack, per service and in total (PSS where the kernel gives it)",
		Long: `Brings up a throwaway stack (or reads --stack NAME as it is), seeds it, lets it settle, then reads
every service's memory --samples times, --settle apart, and prints the median per service and in total.
On native, a service's figure is the PSS (proportional set size: shared pages divided among their
sharers, so the sum counts each page once) summed over every process of it: the server, the workers it
forks and daemons it spawned (RabbitMQ node 1's epmd); RSS stands in where the kernel gives no PSS, and
the output says which. On docker it is each container's cgroup usage.`,
		Example: `  mossdev bench mem
  mossdev bench mem --stack dev --samples 5`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchMem(c.Context(), g, o) },
	}
	addSeedFlags(c, &o.seed)
	f := c.Flags()
	f.StringVar(&o.stack, "stack", "", "measure this existing stack as it is (no up, no seed)")
	f.BoolVar(&o.noSeed, "no-seed", false, "measure the throwaway stack unseeded")
	f.DurationVar(&o.settle, "settle", 10*time.Second, "wait before the first sample and between samples")
	f.IntVar(&o.samples, "samples", 3, "readings (the median is printed)")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards of the throwaway stack")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 3, "RabbitMQ nodes of the throwaway stack")
	return c
}

// benchMemResult is what --json prints.
type benchMemResult struct {
	Stack    string         `json:"stack"`
	Backend  string         `json:"backend"`
	Seeded   bool           `json:"seeded"`
	Samples  int            `json:"samples"`
	Services []memRow       `json:"services"`
	Total    stack.Memory   `json:"total"`
	Spread   [2]uint64      `json:"totalMinMaxBytes"`
	Raw      []stack.Memory `json:"totalPerSample"`
}

type memRow struct {
	Service string `json:"service"`
	Bytes   uint64 `json:"bytes"`
	Kind    string `json:"kind"`
	Procs   int    `json:"procs,omitempty"`
}

func runBenchMem(ctx context.Context, g *globals, o *benchMemOptions) error {
	if o.samples < 1 {
		return usageError{fmt.Errorf("--samples must be at least 1")}
	}
	var s *stack.Stack
	var err error
	seeded := false
	if o.stack != "" {
		if s, err = (&globals{name: o.stack, home: g.home}).existing(); err != nil {
			return err
		}
	} else {
		p, err := o.seed.params()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("bench-mem-%d", os.Getpid())
		s, err = (&globals{name: name, home: g.home}).open(stack.Config{Options: stack.Options{
			RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}})
		if err != nil {
			return err
		}
		defer func() {
			if err := s.Down(context.WithoutCancel(ctx), false); err != nil {
				fmt.Fprintf(g.stderr, "bench: down %s: %v\n", name, err)
			}
		}()
		fmt.Fprintf(g.stderr, "bringing up stack %s...\n", name)
		if _, err := s.Up(ctx, nil); err != nil {
			return err
		}
		if !o.noSeed {
			env, err := s.Runtime()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "seeding (scale %s)...\n", p.Scale)
			if _, err := load.Seed(ctx, load.TargetsFor(env), p, load.Options{Force: true}); err != nil {
				return err
			}
			seeded = true
		}
	}
	per := map[string][]memRow{}
	res := benchMemResult{Stack: s.Name(), Backend: s.Backend(), Seeded: seeded, Samples: o.samples}
	for i := range o.samples {
		fmt.Fprintf(g.stderr, "settling %s, then sample %d/%d...\n", o.settle, i+1, o.samples)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.settle):
		}
		sts, err := s.Status(ctx, 2*time.Second)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.Mem > 0 {
				per[st.Name] = append(per[st.Name], memRow{st.Name, st.Mem, st.MemKind, st.Procs})
			}
		}
		res.Raw = append(res.Raw, stack.MemoryOf(sts))
	}
	for _, rows := range per {
		slices.SortFunc(rows, func(a, b memRow) int { return compareU(a.Bytes, b.Bytes) })
		res.Services = append(res.Services, rows[len(rows)/2])
	}
	slices.SortFunc(res.Services, func(a, b memRow) int { return compareU(b.Bytes, a.Bytes) })
	totals := slices.Clone(res.Raw)
	slices.SortFunc(totals, func(a, b stack.Memory) int { return compareU(a.Bytes, b.Bytes) })
	res.Total = totals[len(totals)/2]
	res.Spread = [2]uint64{totals[0].Bytes, totals[len(totals)-1].Bytes}
	if o.json {
		return display.WriteJSON(g.stdout, res)
	}
	printBenchMem(g.stdout, res)
	return nil
}

func compareU(a, b uint64) int { return cmp.Compare(a, b) }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func printBenchMem(w io.Writer, r benchMemResult) {
	state := "idle, seeded"
	if !r.Seeded {
		state = "idle, not seeded by this run"
	}
	fmt.Fprintf(w, "bench mem: stack %s (%s, %s), median of %d samples\n\n", r.Stack, r.Backend, state, r.Samples)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "service\tMiB\tkind\tprocs\tshare\t")
	for _, s := range r.Services {
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%d\t%.0f%%\t\n", s.Service, mib(s.Bytes), s.Kind, s.Procs, 100*float64(s.Bytes)/float64(max(r.Total.Bytes, 1)))
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotal: %.0f MiB %s over %d processes of %d services (samples %.0f–%.0f MiB)\n",
		mib(r.Total.Bytes), strings.ToUpper(r.Total.Kind), r.Total.Procs, r.Total.Services, mib(r.Spread[0]), mib(r.Spread[1]))
	fmt.Fprintf(w, "goal for the default stack: ≤ %d MiB PSS; ratio total/goal %.2f\n", memGoal>>20, float64(r.Total.Bytes)/memGoal)
}
