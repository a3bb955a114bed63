package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/tui"
	"github.com/spf13/cobra"
)

func newBench(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure mossdev itself (figures and ratios against a baseline in the same run)",
		RunE:  group,
	}
	c.AddCommand(newBenchUp(g), newBenchDocker(g), newBenchSeed(g), newBenchReset(g), newBenchUI(g))
	return c
}

type benchUpOptions struct {
	runs        int
	only        []string
	json        bool
	redisShards int
	rabbitNodes int
}

// upRun is one measured up.
type upRun struct {
	Kind     string         `json:"kind"` // cold | warm | noop
	Elapsed  time.Duration  `json:"elapsedNs"`
	Timeline []stack.Timing `json:"timeline"`
}

func newBenchUp(g *globals) *cobra.Command {
	o := &benchUpOptions{}
	c := &cobra.Command{
		Use:   "up",
		Short: "Cold, warm and no-op up wall time per service",
		Long: `Brings a throwaway stack up three ways, --runs times each, and prints per-service times:
  cold  a new stack: data directories initialised (initdb, install-db), servers started
  warm  the same stack after 'down --keep-data': servers started on existing data
  noop  up on a running, healthy stack (the idempotence check)
and the ratios warm/cold and noop/cold. The stack is removed at the end.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBenchUp(c.Context(), g, o) },
	}
	f := c.Flags()
	f.IntVar(&o.runs, "runs", 1, "measurements of each kind (medians are printed)")
	f.StringSliceVar(&o.only, "only", nil, "measure only these services and what they need")
	f.BoolVar(&o.json, "json", false, "print every run as JSON")
	f.IntVar(&o.redisShards, "redis-shards", 3, "Redis shards")
	f.IntVar(&o.rabbitNodes, "rabbitmq-nodes", 3, "RabbitMQ nodes")
	return c
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
	var runs []upRun
	measure := func(kind string) error {
		s, err := open()
		if err != nil {
			return err
		}
		rep, err := s.Up(ctx, o.only)
		if err != nil {
			return err
		}
		runs = append(runs, upRun{kind, rep.Elapsed, rep.Timeline})
		fmt.Fprintf(g.stderr, "%s up: %.2fs\n", kind, rep.Elapsed.Seconds())
		return nil
	}
	cleanup := func() {
		if s, err := open(); err == nil {
			_ = s.Down(context.Background(), false)
		}
	}
	defer cleanup()
	for range o.runs {
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
	if o.json {
		return display.WriteJSON(g.stdout, runs)
	}
	printBenchUp(g.stdout, runs)
	return nil
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

func printBenchUp(w io.Writer, runs []upRun) {
	total := map[string][]time.Duration{}
	per := map[string]map[string][]time.Duration{}
	var order []string
	for _, r := range runs {
		total[r.Kind] = append(total[r.Kind], r.Elapsed)
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
	c, wm, n := median(total["cold"]), median(total["warm"]), median(total["noop"])
	fmt.Fprintf(w, "\nwall time (median of %d): cold %.2fs, warm %.2fs, noop %.3fs\n", len(total["cold"]), c.Seconds(), wm.Seconds(), n.Seconds())
	fmt.Fprintf(w, "ratios: warm/cold %.2f, noop/cold %.3f\n", ratio(wm, c), ratio(n, c))
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
