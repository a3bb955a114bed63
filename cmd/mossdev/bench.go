package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/tui"
	"github.com/spf13/cobra"
)

func newBench(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure mossdev itself (figures and ratios against a baseline in the same run)",
		RunE:  group,
	}
	c.AddCommand(newBenchUp(g), newBenchDocker(g), newBenchSeed(g), newBenchReset(g), newBenchMem(g), newBenchUI(g))
	return c
}

type benchUpOptions struct {
	runs        int
	only        []string
	json        bool
	baseline    bool
	redisShards int
	rabbitNodes int
}

// upRun is one measured boot.
type upRun struct {
	Kind     string         `json:"kind"` // baseline | cold | warm | noop
	Elapsed  time.Duration  `json:"elapsedNs"`
	Timeline []stack.Timing `json:"timeline,omitempty"`
}

func newBenchUp(g *globals) *cobra.Command {
	o := &benchUpOptions{}
	c := &cobra.Command{
		Use:   "up",
		Short: "Cold and warm up against a hand-run boot of the same servers, measured in the same run",
		Long: `Brings throwaway stacks up four ways, --runs times each, and prints wall times (median, min, max)
and per-service times:
  baseline  the same servers booted the straightforward way: all launched at once (a server that
            cannot run without another, FerretDB without PostgreSQL, once that one answers), the
            RabbitMQ nodes with the stock server script, 2..N joined with stop_app/join_cluster/
            start_app once node 1 answers
  cold      mossdev up of a new stack (data directories initialised, no seed)
  warm      the same stack after 'down --keep-data': servers started on existing data
  noop      up on a running, healthy stack (the idempotence check)
and the ratios cold/baseline, warm/cold and noop/cold. Every stack is removed at the end. The
machine's other load is not controlled: run it on a quiet machine, or read the spread.`,
		Example: `  mossdev bench up --runs 3
  mossdev bench up --only rabbitmq-3 --runs 5 --json   # the RabbitMQ cluster alone`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchUp(c.Context(), g, o) },
	}
	f := c.Flags()
	f.IntVar(&o.runs, "runs", 3, "measurements of each kind (medians and spread are printed)")
	f.StringSliceVar(&o.only, "only", nil, "measure only these services and what they need (RabbitMQ nodes bring the whole cluster)")
	f.BoolVar(&o.json, "json", false, "print every run and the summary as JSON")
	f.BoolVar(&o.baseline, "baseline", true, "also measure the hand-run baseline")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 3, "RabbitMQ nodes")
	return c
}

// benchUpResult is what --json prints.
type benchUpResult struct {
	Runs    []upRun            `json:"runs"`
	Summary map[string]spread  `json:"summary"`
	Ratios  map[string]float64 `json:"ratios"`
}

// spread summarises one kind's runs.
type spread struct {
	N      int           `json:"n"`
	Median time.Duration `json:"medianNs"`
	Min    time.Duration `json:"minNs"`
	Max    time.Duration `json:"maxNs"`
}

func spreadOf(ds []time.Duration) spread {
	if len(ds) == 0 {
		return spread{}
	}
	return spread{N: len(ds), Median: median(ds), Min: slices.Min(ds), Max: slices.Max(ds)}
}

func runBenchUp(ctx context.Context, g *globals, o *benchUpOptions) error {
	if o.runs < 1 {
		return usageError{fmt.Errorf("--runs must be at least 1")}
	}
	name := fmt.Sprintf("bench-%d", os.Getpid())
	open := func() (*stack.Stack, error) {
		return (&globals{name: name, home: g.home}).open(stack.Config{Options: stack.Options{
			RedisShards: o.redisShards, RabbitNodes: o.rabbitNodes}})
	}
	only := o.only
	if len(only) > 0 {
		// A RabbitMQ node stands for the whole cluster: nodes join node 1,
		// which is not among their needs.
		for _, n := range only {
			if strings.HasPrefix(n, rabbitmq.Kind+"-") {
				only = append(only, rabbitmq.NodeName(o.rabbitNodes))
				for i := 1; i < o.rabbitNodes; i++ {
					only = append(only, rabbitmq.NodeName(i))
				}
				break
			}
		}
		only = slices.Compact(slices.Sorted(slices.Values(only)))
	}
	var runs []upRun
	add := func(kind string, d time.Duration, tl []stack.Timing) {
		runs = append(runs, upRun{kind, d, tl})
		fmt.Fprintf(g.stderr, "%s up: %.2fs\n", kind, d.Seconds())
	}
	measure := func(kind string) error {
		s, err := open()
		if err != nil {
			return err
		}
		rep, err := s.Up(ctx, only)
		if err != nil {
			return err
		}
		add(kind, rep.Elapsed, rep.Timeline)
		return nil
	}
	cleanup := func() {
		if s, err := open(); err == nil {
			_ = s.Down(context.WithoutCancel(ctx), false)
		}
	}
	defer cleanup()
	for range o.runs {
		if o.baseline {
			s, err := open()
			if err != nil {
				return err
			}
			d, err := s.Baseline(ctx, only, rabbitmq.HandJoined(o.rabbitNodes))
			if err != nil {
				return err
			}
			add("baseline", d, nil)
			cleanup()
		}
		if err := measure("cold"); err != nil {
			return err
		}
		if err := measure("noop"); err != nil {
			return err
		}
		s, err := open()
		if err != nil {
			return err
		}
		if err := s.Down(ctx, true); err != nil {
			return err
		}
		if err := measure("warm"); err != nil {
			return err
		}
		cleanup()
	}
	res := summarise(runs)
	if o.json {
		return display.WriteJSON(g.stdout, res)
	}
	printBenchUp(g.stdout, runs, res)
	return nil
}

func summarise(runs []upRun) benchUpResult {
	by := map[string][]time.Duration{}
	for _, r := range runs {
		by[r.Kind] = append(by[r.Kind], r.Elapsed)
	}
	res := benchUpResult{Runs: runs, Summary: map[string]spread{}, Ratios: map[string]float64{}}
	for k, ds := range by {
		res.Summary[k] = spreadOf(ds)
	}
	m := func(k string) time.Duration { return res.Summary[k].Median }
	if m("baseline") > 0 {
		res.Ratios["cold/baseline"] = ratio(m("cold"), m("baseline"))
	}
	res.Ratios["warm/cold"] = ratio(m("warm"), m("cold"))
	res.Ratios["noop/cold"] = ratio(m("noop"), m("cold"))
	return res
}

func newBenchUI(g *globals) *cobra.Command {
	var d time.Duration
	var asJSON bool
	c := &cobra.Command{
		Use:   "ui",
		Short: "The terminal UI's own CPU at 1 Hz refresh against a running stack",
		Long: `Runs the UI's real program (real model, real refresh: status once a second, counters every
2 s, the log tail) against a running stack, headless at 80×24 in true colour, for --duration per phase:
the process idle, then for each screen (services, detail, architecture) the poller alone (View draws
nothing) and the full UI (View rendered). It prints CPU time as a share of one core for each phase and
what rendering adds to the poller.`,
		Example: "  mossdev bench ui --name tui --duration 20s",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			phases, err := tui.Bench(c.Context(), s, d, g.stderr)
			if err != nil {
				return err
			}
			if asJSON {
				return display.WriteJSON(g.stdout, phases)
			}
			tui.PrintBench(g.stdout, phases)
			return nil
		},
	}
	c.Flags().DurationVar(&d, "duration", 15*time.Second, "length of each phase")
	c.Flags().BoolVar(&asJSON, "json", false, "print the phases as JSON")
	return c
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func printBenchUp(w io.Writer, runs []upRun, res benchUpResult) {
	per := map[string]map[string][]time.Duration{}
	var order []string
	for _, r := range runs {
		if per[r.Kind] == nil {
			per[r.Kind] = map[string][]time.Duration{}
		}
		for _, t := range r.Timeline {
			if r.Kind == "cold" && len(per["cold"][t.Service]) == 0 {
				order = append(order, t.Service)
			}
			per[r.Kind][t.Service] = append(per[r.Kind][t.Service], t.Healthy-t.Queued)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "service\tcold s\twarm s\twarm/cold\t")
	for _, svc := range order {
		c, wm := median(per["cold"][svc]), median(per["warm"][svc])
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t\n", svc, c.Seconds(), wm.Seconds(), ratio(wm, c))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "wall time\truns\tmedian s\tmin s\tmax s\t")
	for _, k := range []string{"baseline", "cold", "warm", "noop"} {
		if sp, ok := res.Summary[k]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t\n", k, sp.N, sp.Median.Seconds(), sp.Min.Seconds(), sp.Max.Seconds())
		}
	}
	tw.Flush()
	fmt.Fprint(w, "\nratios (medians):")
	for _, k := range []string{"cold/baseline", "warm/cold", "noop/cold"} {
		if v, ok := res.Ratios[k]; ok {
			fmt.Fprintf(w, " %s %.3f", k, v)
		}
	}
	fmt.Fprintln(w)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
