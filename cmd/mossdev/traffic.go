package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

type trafficOptions struct {
	rate        float64
	duration    time.Duration
	count       int64
	mix         string
	seed        uint64
	concurrency int
	noWorker    bool
	check       bool
	json        bool
}

func newTraffic(g *globals) *cobra.Command {
	o := &trafficOptions{}
	c := &cobra.Command{
		Use:   "traffic",
		Short: "Run app-shaped traffic through every data path of a seeded stack",
		Long: `Runs a workload in the shape of the Mossi app over the seeded users and cards, through the paths
apps use (PgBouncer, HAProxy, each Redis shard by the sharding function):

  read    a card, cache-aside: card:<id> on its shard; a miss reads PostgreSQL and SETs it with a TTL
  view    appended to the MongoDB view log; a new viewer is counted in Redis first and a Celery
          flush job carries the count to PostgreSQL later (write-behind)
  post    a card: PostgreSQL row and hashtag links, hashtags counted in MariaDB (emoji, case-
          sensitive), indexed in Elasticsearch, its image PUT to S3
  search  hashtag prefix in MariaDB, full-text (Korean) or geo around a city in Elasticsearch
  image   a card image through the CDN

Cards and tags are drawn with Zipf popularity; the same --seed and --count make the same
operations. The write-behind worker runs in this process unless --no-worker (then run
'mossdev worker', or a Celery worker: the jobs are Celery protocol-v2 messages).

A Redis shard that is down is a mode, not a failure: reads of its cards fall back to PostgreSQL
(counted as fallbacks) and new viewers of its cards are counted in PostgreSQL directly.

Figures per flow: ops/s, p50/p99 latency, errors; cache hit ratio per shard, CDN hit ratio,
write-behind queue depth and lag. A live table on a terminal, JSON lines with --json, a summary at
the end (also after Ctrl-C, which stops cleanly: operations in flight finish).

--check waits for the queue to drain, then checks that the stores agree about everything the run
wrote (exit 1 naming each mismatch). The run changes the seeded data: 'mossdev reset' undoes it.

Exit codes: 0 after a run (errors are figures of it), 1 when --check finds a mismatch, 2 for bad
input (flags, a stack not seeded or missing a service), 130 after Ctrl-C.`,
		Example: `  mossdev traffic --duration 30s
  mossdev traffic --rate 500 --duration 1m --mix read=70,view=20,post=5,search=5
  mossdev traffic --count 2000 --seed 7 --check --json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTraffic(c.Context(), g, o) },
	}
	f := c.Flags()
	f.Float64Var(&o.rate, "rate", 200, "target operations per second")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "stop after this long (0: only --count bounds the run)")
	f.Int64Var(&o.count, "count", 0, "stop after this many operations (0: only --duration bounds the run)")
	f.StringVar(&o.mix, "mix", traffic.DefaultMix, "each flow's share: read, view, post, search, image")
	f.Uint64Var(&o.seed, "seed", 1, "workload seed: the same seed and --count make the same operations")
	f.IntVar(&o.concurrency, "concurrency", 32, "operations in flight at most")
	f.BoolVar(&o.noWorker, "no-worker", false, "do not consume the flush jobs here (run 'mossdev worker' or a Celery worker)")
	f.BoolVar(&o.check, "check", false, "after the run, wait for the queue to drain and check the stores agree (exit 1 if not)")
	f.BoolVar(&o.json, "json", false, "JSON lines on stdout: a snapshot a second, then the summary (and the check)")
	return c
}

// trafficServices are what the workload needs running. Redis shards are
// checked apart: a stopped one is the degraded mode, not an error.
var trafficServices = []string{"postgres", "pgbouncer", "mariadb", "mongodb", "haproxy", "elasticsearch", "s3", "cdn"}

func runTraffic(ctx context.Context, g *globals, o *trafficOptions) error {
	mix, err := traffic.ParseMix(o.mix)
	if err != nil {
		return err
	}
	opts := traffic.Options{Rate: o.rate, Duration: o.duration, Count: o.count, Mix: mix, Seed: o.seed,
		Concurrency: o.concurrency, Worker: !o.noWorker}
	if o.concurrency <= 0 {
		return &stack.Error{Op: "check --concurrency", Err: stack.ErrBadInput, Detail: fmt.Sprintf("%d", o.concurrency), Fix: "give at least 1"}
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	s, err := g.existing()
	if err != nil {
		return err
	}
	env, err := s.Runtime()
	if err != nil {
		return err
	}
	warnings, err := checkTrafficServices(ctx, s, env)
	if err != nil {
		return err
	}
	out := newTrafficOut(g.stdout, g.stderr, o.json)
	out.head = fmt.Sprintf("traffic on %s: target %g ops/s, mix %s", s.Name(), o.rate, mix)
	if o.duration > 0 {
		out.head += fmt.Sprintf(", for %s", o.duration)
	}
	if o.count > 0 {
		out.head += fmt.Sprintf(", %d ops at most", o.count)
	}
	for _, w := range warnings {
		out.event(w)
	}
	// The terminal UI (another process) draws the rates on its arrows
	// from the figures published in the stack's directory.
	opts.OnSnapshot = func(snap traffic.Snapshot) {
		out.snapshot(snap)
		_ = traffic.WriteLive(s.Dir(), snap)
	}
	defer traffic.RemoveLive(s.Dir())
	opts.OnError = func(err error) { out.event(err.Error()) }
	t := load.TargetsFor(env)
	res, err := traffic.Run(ctx, t, opts)
	if errors.Is(err, traffic.ErrNotSeeded) {
		return &stack.Error{Op: "traffic " + s.Name(), Err: stack.ErrBadInput, Detail: "the stack holds no seeded dataset to run over",
			Fix: fmt.Sprintf("seed it first: `mossdev seed --name %s`", s.Name())}
	}
	if err != nil {
		return err
	}
	out.summary(res)
	if res.Stopped == "interrupted" {
		return &stack.Error{Op: "traffic " + s.Name(), Err: context.Canceled, Detail: "interrupted (the summary above covers what ran)"}
	}
	if !o.check {
		return nil
	}
	rep, err := traffic.Check(ctx, t, res.Ledger, traffic.CheckOptions{})
	if rep == nil {
		return err
	}
	out.check(rep)
	if err != nil {
		return verifyFailed{err}
	}
	return nil
}

// checkTrafficServices refuses a stack without a service the workload
// needs; a stopped Redis shard is only a warning.
func checkTrafficServices(ctx context.Context, s *stack.Stack, env *stack.Runtime) ([]string, error) {
	var warnings []string
	need := append([]string{}, trafficServices...)
	for i := range env.Options.RedisShards {
		need = append(need, fmt.Sprintf("redis-%d", i))
	}
	for _, name := range need {
		up, err := s.Running(ctx, name)
		if err != nil {
			return nil, err
		}
		if up {
			continue
		}
		if strings.HasPrefix(name, "redis-") {
			warnings = append(warnings, fmt.Sprintf("%s is not running: reads of its cards fall back to postgres, new viewers are counted there directly", name))
			continue
		}
		return nil, &stack.Error{Op: "traffic " + s.Name(), Service: name, Err: stack.ErrBadInput,
			Detail: name + " is not running (stopped, or left out with --only)",
			Fix:    fmt.Sprintf("`mossdev start %s --name %s` (traffic uses every store)", name, s.Name())}
	}
	return warnings, nil
}

// trafficOut shows a run: a table redrawn in place on a terminal, a line
// every few seconds in a log, JSON lines with --json. The table is drawn
// with two ANSI sequences rather than a bubbletea program: a TUI would
// take the terminal's input, and Ctrl-C must stay the signal that stops
// the run and prints the summary.
type trafficOut struct {
	mu     sync.Mutex
	w, ew  io.Writer
	json   bool
	tty    bool
	lines  int // lines of the table drawn last
	last   time.Time
	events []string // recent notes for the table
	head   string   // the table's first line
	seen   map[string]time.Time
}

func newTrafficOut(w, ew io.Writer, asJSON bool) *trafficOut {
	mode := display.ModeFor(w, asJSON, false) // the table goes to stdout: it is the command's output
	return &trafficOut{w: w, ew: ew, json: mode == display.JSON, tty: mode == display.TTY, seen: map[string]time.Time{}}
}

// event notes an error or warning, each distinct message at most every 5 s.
func (o *trafficOut) event(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := msg
	if len(key) > 60 {
		key = key[:60]
	}
	if t, ok := o.seen[key]; ok && time.Since(t) < 5*time.Second {
		return
	}
	o.seen[key] = time.Now()
	if o.tty {
		o.events = append(o.events, time.Now().Format("15:04:05")+" "+msg)
		if len(o.events) > 3 {
			o.events = o.events[len(o.events)-3:]
		}
		return
	}
	fmt.Fprintf(o.ew, "traffic: %s\n", msg)
}

func (o *trafficOut) snapshot(s traffic.Snapshot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.json:
		writeJSONLine(o.w, struct {
			Type string `json:"type"`
			traffic.Snapshot
		}{"snapshot", s})
	case o.tty:
		var b strings.Builder
		fmt.Fprintf(&b, "%s · %s (Ctrl-C stops)\n", o.head, s.Elapsed.Round(time.Second))
		trafficTable(&b, s, false)
		for _, e := range o.events {
			fmt.Fprintln(&b, e)
		}
		if o.lines > 0 {
			fmt.Fprintf(o.w, "\x1b[%dA\x1b[J", o.lines) // up to the table's top, clear below
		}
		fmt.Fprint(o.w, b.String())
		o.lines = strings.Count(b.String(), "\n")
	default:
		if time.Since(o.last) < 5*time.Second {
			return
		}
		o.last = time.Now()
		fmt.Fprintf(o.w, "%5.0fs  %6.0f ops/s  %d ops  %d errors  queue %s  lag %s\n", s.Elapsed.Seconds(), s.Rate, s.Ops, s.Errors,
			depth(s.QueueDepth), s.Lag.Round(time.Millisecond))
	}
}

func (o *trafficOut) summary(r *traffic.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		writeJSONLine(o.w, struct {
			Type string `json:"type"`
			*traffic.Result
		}{"summary", r})
		return
	}
	if o.tty && o.lines > 0 {
		fmt.Fprintf(o.w, "\x1b[%dA\x1b[J", o.lines)
		o.lines = 0
	}
	p := r.Params
	why := map[string]string{"duration": "--duration reached", "count": "--count reached", "interrupted": "interrupted"}[r.Stopped]
	fmt.Fprintf(o.w, "traffic over dataset seed %d (%d cards), workload seed %d, mix %s: ended, %s\n", p.Seed, p.Cards, r.Seed, r.Mix, why)
	trafficTable(o.w, r.Summary, true)
	if r.Drained {
		fmt.Fprintln(o.w, "the in-process worker flushed every job the run published; the queue is empty")
	} else {
		fmt.Fprintln(o.w, "the queue was not drained here (--no-worker, or the worker did not finish): run `mossdev worker --until-empty`")
	}
	if r.Summary.Ops > 0 {
		fmt.Fprintln(o.w, "the run changed the seeded data (`mossdev verify` reports it as such): `mossdev reset` returns to the seed")
	}
}

func (o *trafficOut) check(rep *traffic.CheckReport) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		writeJSONLine(o.w, struct {
			Type string `json:"type"`
			*traffic.CheckReport
			OK bool `json:"ok"`
		}{"check", rep, rep.OK()})
		return
	}
	fmt.Fprintln(o.w, "\nconsistency check:")
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tCHECKED\tMISMATCHES\t")
	for _, c := range rep.Checks {
		res := "ok"
		switch {
		case c.Error != "":
			res = "ERROR"
		case c.Mismatches > 0:
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", c.Name, res, c.Checked, c.Mismatches)
	}
	tw.Flush()
	for _, c := range rep.Checks {
		if c.Note != "" {
			fmt.Fprintf(o.w, "%s: %s\n", c.Name, c.Note)
		}
	}
	if len(rep.Degraded) > 0 {
		fmt.Fprintf(o.w, "%d cards had views counted in postgres directly (a shard was down): left out of the count checks\n", len(rep.Degraded))
	}
	if fs := rep.Failures(); len(fs) > 0 {
		fmt.Fprintln(o.w, "\nmismatches:")
		for _, f := range fs {
			fmt.Fprintln(o.w, "  "+f)
		}
		fmt.Fprintln(o.w, "\ncheck FAILED")
		return
	}
	fmt.Fprintf(o.w, "all %d checks passed\n", len(rep.Checks))
}

// trafficTable prints per-flow figures, then the cache, CDN and queue.
func trafficTable(w io.Writer, s traffic.Snapshot, summary bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW\tOPS/S\tOPS\tERRORS\tP50 MS\tP99 MS\t")
	for _, f := range s.Flows {
		if f.Ops == 0 && f.Errors == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%.1f\t%.1f\t\n", f.Flow, f.Rate, f.Ops, f.Errors, f.P50, f.P99)
	}
	fmt.Fprintf(tw, "all\t%.0f\t%d\t%d\t\t\t\n", s.Rate, s.Ops, s.Errors)
	tw.Flush()
	var shards []string
	for _, sh := range s.Shards {
		v := fmt.Sprintf("redis-%d %.0f%%", sh.Shard, 100*sh.HitRatio)
		if sh.Fallbacks > 0 {
			v += fmt.Sprintf(" (%d fallbacks)", sh.Fallbacks)
		}
		shards = append(shards, v)
	}
	fmt.Fprintf(w, "cache hits: %s   cdn hits: %.0f%% of %d\n", strings.Join(shards, ", "), 100*s.CDNHitRatio, s.CDNFetches)
	fmt.Fprintf(w, "write-behind: queue %s, lag %s, %d jobs published, %d flushed", depth(s.QueueDepth), s.Lag.Round(time.Millisecond), s.Jobs, s.Flushed)
	if s.Degraded > 0 {
		fmt.Fprintf(w, ", %d views counted in postgres directly", s.Degraded)
	}
	fmt.Fprintln(w)
	if summary {
		for _, f := range s.Flows {
			if f.LastError != "" {
				fmt.Fprintf(w, "last %s error: %s\n", f.Flow, f.LastError)
			}
		}
	}
}

func depth(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// writeJSONLine writes v as one compact JSON line.
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	fmt.Fprintf(w, "%s\n", b)
}
