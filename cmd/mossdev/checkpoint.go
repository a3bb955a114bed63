package main

import (
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

	"github.com/spf13/cobra"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/stack"
)

func newCheckpoint(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "checkpoint",
		Short: "Save and restore every store of the stack as one consistent state",
		Long: `A checkpoint is every store of the stack at one cut: PostgreSQL, MariaDB, MongoDB, every Redis
shard, the RabbitMQ queues and their messages, Elasticsearch and the S3 bucket (the CDN is emptied on
restore). Saving holds writes for the cut: PgBouncer pauses the app database's pool (clients wait),
MariaDB's tables are locked for writes, Redis shards are paused for writes (CLIENT PAUSE WRITE), and
the stores' copies are taken while all are held. Each store keeps its share the fastest way it can
be copied back ('checkpoint ls' says how). The seed saves checkpoint "seed"; 'mossdev reset' restores it.

A restore is recorded before it starts: if it is killed, the next checkpoint command (or reset)
finishes it, and until then 'mossdev status' says the stores may hold a mix.`,
		RunE: group,
	}
	c.AddCommand(newCheckpointSave(g), newCheckpointRestore(g), newCheckpointLs(g), newCheckpointRm(g), newCheckpointPrepare(g), newCheckpointGuard(g))
	return c
}

// newCheckpointPrepare is what a save or restore starts in the
// background: the copies the next restore renames in.
func newCheckpointPrepare(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "prepare NAME",
		Short:  "Make the copies the next restore of NAME renames in (run in the background by save and restore)",
		Hidden: true,
		Args:   oneCheckpoint,
		RunE: func(c *cobra.Command, args []string) error {
			_, t, _, err := checkpointTarget(g)
			if err != nil {
				return err
			}
			return checkpoint.Prepare(c.Context(), t, args[0])
		},
	}
}

// newCheckpointGuard is the watchdog a save or restore starts while it
// holds writes: it reads its standard input until the holder writes
// "done"; an end of input without it means the holder died, and the guard
// lifts its holds (PgBouncer would keep its pool paused for good).
func newCheckpointGuard(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "guard",
		Short:  "Resume PgBouncer's pool if the checkpoint operation feeding standard input dies",
		Hidden: true,
		Args:   noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			b, _ := io.ReadAll(os.Stdin)
			if strings.TrimSpace(string(b)) == "done" {
				return nil
			}
			_, t, _, err := checkpointTarget(g)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context()), 30*time.Second)
			defer cancel()
			return checkpoint.Release(ctx, t)
		},
	}
}

// guard starts `mossdev checkpoint guard` for stack s (see
// newCheckpointGuard) and returns what stops it.
func guard(s *stack.Stack) func() func() {
	return func() func() {
		cmd := background(s, "checkpoint", "guard")
		w, err := cmd.StdinPipe()
		if err != nil || cmd.Start() != nil {
			return func() {}
		}
		go func() { _ = cmd.Wait() }() // reaped when it exits
		return func() {
			_, _ = io.WriteString(w, "done\n")
			_ = w.Close()
		}
	}
}

// background is a mossdev command on stack s that outlives this one: in
// its own session, its output appended to the stack's log directory.
func background(s *stack.Stack, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	// Args[0] "mossdev": a test binary standing in for mossdev dispatches
	// on it.
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"mossdev"}, args...),
		Env: append(os.Environ(), "MOSSDEV_HOME="+filepath.Dir(s.Dir()), "MOSSDEV_STACK="+s.Name()), SysProcAttr: detached()}
	logDir := filepath.Join(s.Dir(), "logs")
	_ = os.MkdirAll(logDir, 0o700)
	if log, err := os.OpenFile(filepath.Join(logDir, "checkpoint-"+args[1]+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		cmd.Stdout, cmd.Stderr = log, log // the child has its own copy once started
	}
	return cmd
}

// prepareInBackground starts `mossdev checkpoint prepare NAME` for stack s
// in its own session, so it outlives this command; its output goes to the
// stack's log directory.
func prepareInBackground(s *stack.Stack) func(name string) {
	return func(name string) {
		cmd := background(s, "checkpoint", "prepare", name)
		if cmd.Start() == nil {
			_ = cmd.Process.Release()
		}
	}
}

func oneCheckpoint(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one checkpoint name (e.g. before-migration), got %d arguments", c.CommandPath(), len(args))}
	}
	if err := checkpoint.CheckName(args[0]); err != nil {
		return &stack.Error{Op: c.CommandPath(), Err: fmt.Errorf("%w: %w", stack.ErrBadInput, err),
			Fix: fmt.Sprintf("a name of at most %d lowercase letters, digits and hyphens", checkpoint.MaxName)}
	}
	return nil
}

// checkpointTarget opens the stack a checkpoint command works on, with
// what a restore needs to restart a service.
func checkpointTarget(g *globals) (*stack.Stack, checkpoint.Target, checkpoint.Options, error) {
	s, err := g.existing()
	if err != nil {
		return nil, checkpoint.Target{}, checkpoint.Options{}, err
	}
	env, err := s.Runtime()
	if err != nil {
		return nil, checkpoint.Target{}, checkpoint.Options{}, err
	}
	return s, checkpoint.For(env), checkpointOptions(s), nil
}

// checkpointOptions lets a restore restart a service of s and prepare the
// next restore in the background.
func checkpointOptions(s *stack.Stack) checkpoint.Options {
	return checkpoint.Options{Restart: func(ctx context.Context, svc string) error {
		if err := s.Stop(ctx, svc); err != nil {
			return err
		}
		_, err := s.Start(ctx, svc)
		return err
	}, Background: prepareInBackground(s), Guard: guard(s)}
}

// checkpointError gives a failed checkpoint command its fix and exit code.
func checkpointError(op, stackName string, err error) error {
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		return &stack.Error{Op: op, Err: fmt.Errorf("%w: %w", stack.ErrBadInput, err),
			Fix: fmt.Sprintf("`mossdev checkpoint ls --name %s` lists the checkpoints", stackName)}
	case errors.Is(err, checkpoint.ErrMismatch), errors.Is(err, checkpoint.ErrName):
		return &stack.Error{Op: op, Err: fmt.Errorf("%w: %w", stack.ErrBadInput, err)}
	case errors.Is(err, checkpoint.ErrNotSeeded):
		return &stack.Error{Op: op, Err: err, Fix: fmt.Sprintf("seed it: `mossdev seed --name %s` (a stack already seeded is not loaded again)", stackName)}
	}
	return &stack.Error{Op: op, Err: err, Fix: fmt.Sprintf("check `mossdev status --name %s`", stackName)}
}

// checkpointRun is the body shared by save, restore and reset: progress
// on the display, the operation, its error with a fix, then the result as
// JSON or text.
type checkpointRun struct {
	asJSON, quiet bool
}

func (r *checkpointRun) flags(c *cobra.Command, what string) {
	c.Flags().BoolVar(&r.asJSON, "json", false, "print "+what+" as JSON on stdout, progress as JSON lines on stderr")
	c.Flags().BoolVarP(&r.quiet, "quiet", "q", false, "print nothing but errors")
}

func (r *checkpointRun) run(c *cobra.Command, g *globals, op string,
	do func(context.Context, checkpoint.Target, checkpoint.Options) (*checkpoint.Result, error),
	text func(io.Writer, *stack.Stack, *checkpoint.Result)) error {
	s, t, o, err := checkpointTarget(g)
	if err != nil {
		return err
	}
	d := g.display(r.asJSON, r.quiet)
	o.Sink = d
	res, err := do(c.Context(), t, o)
	d.Close()
	if err != nil {
		return checkpointError(op, s.Name(), err)
	}
	switch {
	case r.asJSON:
		return display.WriteJSON(g.stdout, res)
	case r.quiet:
		return nil
	}
	text(g.stdout, s, res)
	return nil
}

func newCheckpointSave(g *globals) *cobra.Command {
	r := &checkpointRun{}
	c := &cobra.Command{
		Use:     "save NAME",
		Short:   "Save every store of the stack as checkpoint NAME (replacing an older one of that name)",
		Example: "  mossdev checkpoint save before-migration\n  mossdev checkpoint save ci-baseline --json",
		Args:    oneCheckpoint,
		RunE: func(c *cobra.Command, args []string) error {
			return r.run(c, g, "checkpoint save "+args[0],
				func(ctx context.Context, t checkpoint.Target, o checkpoint.Options) (*checkpoint.Result, error) {
					return checkpoint.Save(ctx, t, args[0], o)
				},
				func(w io.Writer, s *stack.Stack, res *checkpoint.Result) {
					m := res.Manifest
					fmt.Fprintf(w, "saved checkpoint %s of stack %s in %.2fs (%s)\n", m.Name, s.Name(), res.Elapsed, humanBytes(totalBytes(m)))
					printParts(w, m, nil)
				})
		},
	}
	r.flags(c, "the checkpoint")
	return c
}

func newCheckpointRestore(g *globals) *cobra.Command {
	r := &checkpointRun{}
	c := &cobra.Command{
		Use:     "restore NAME",
		Short:   "Put every store of the stack back to checkpoint NAME",
		Example: "  mossdev checkpoint restore before-migration",
		Args:    oneCheckpoint,
		RunE: func(c *cobra.Command, args []string) error {
			return r.run(c, g, "checkpoint restore "+args[0],
				func(ctx context.Context, t checkpoint.Target, o checkpoint.Options) (*checkpoint.Result, error) {
					return checkpoint.Restore(ctx, t, args[0], o)
				}, printRestore)
		},
	}
	r.flags(c, "what was done")
	return c
}

func printRestore(w io.Writer, s *stack.Stack, res *checkpoint.Result) {
	stackName := s.Name()
	if res.Finished != "" {
		fmt.Fprintf(w, "finished the interrupted restore of %s first\n", res.Finished)
	}
	m := res.Manifest
	fmt.Fprintf(w, "stack %s: back to checkpoint %s (saved %s) in %.2fs\n", stackName, m.Name, m.Created.Local().Format(time.DateTime), res.Elapsed)
	printParts(w, m, res.Actions)
}

func newCheckpointLs(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the stack's checkpoints, their size and how each store keeps them",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			ms, err := checkpoint.List(s.Dir())
			if err != nil {
				return err
			}
			if asJSON {
				if ms == nil {
					ms = []*checkpoint.Manifest{}
				}
				return display.WriteJSON(g.stdout, struct {
					Checkpoints []*checkpoint.Manifest `json:"checkpoints"`
					Interrupted string                 `json:"interruptedRestore,omitempty"`
				}{ms, checkpoint.Interrupted(s.Dir())})
			}
			if n := checkpoint.Interrupted(s.Dir()); n != "" {
				fmt.Fprintf(g.stdout, "a restore of %s was interrupted: the stores may hold a mix until `mossdev checkpoint restore %s` finishes it\n", n, n)
			}
			if len(ms) == 0 {
				fmt.Fprintf(g.stdout, "stack %s has no checkpoints (`mossdev checkpoint save NAME` takes one; the seed takes %q)\n", s.Name(), checkpoint.SeedName)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSAVED\tSIZE\tSECONDS\tDATASET\t")
			for _, m := range ms {
				ds := "-"
				if m.Dataset != nil {
					ds = m.Dataset.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t\n", m.Name, m.Created.Local().Format(time.DateTime), humanBytes(totalBytes(m)), m.Elapsed, ds)
			}
			tw.Flush()
			fmt.Fprintln(g.stdout, "\nhow each store keeps them:")
			tw = tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			for _, p := range ms[0].Stores {
				fmt.Fprintf(tw, "  %s\t%s\t\n", p.Store, p.Method)
			}
			tw.Flush()
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the checkpoints as JSON")
	return c
}

func newCheckpointRm(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "rm NAME",
		Short:   "Delete checkpoint NAME from every store",
		Example: "  mossdev checkpoint rm before-migration",
		Args:    oneCheckpoint,
		RunE: func(c *cobra.Command, args []string) error {
			s, t, _, err := checkpointTarget(g)
			if err != nil {
				return err
			}
			if err := checkpoint.Remove(c.Context(), t, args[0]); err != nil {
				return checkpointError("checkpoint rm "+args[0], s.Name(), err)
			}
			if asJSON {
				return display.WriteJSON(g.stdout, map[string]string{"removed": args[0]})
			}
			fmt.Fprintf(g.stdout, "removed checkpoint %s of stack %s\n", args[0], s.Name())
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

// printParts prints a checkpoint's stores: their size and time, and what a
// restore did when actions is given.
func printParts(w io.Writer, m *checkpoint.Manifest, actions map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if actions == nil {
		fmt.Fprintln(tw, "STORE\tSIZE\tSECONDS\tMETHOD\t")
		for _, p := range m.Stores {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t\n", p.Store, humanBytes(p.Bytes), p.Seconds, p.Method)
		}
	} else {
		fmt.Fprintln(tw, "STORE\tWHAT\t")
		for _, p := range m.Stores {
			fmt.Fprintf(tw, "%s\t%s\t\n", p.Store, actions[p.Store])
		}
		if a, ok := actions["cdn"]; ok {
			fmt.Fprintf(tw, "cdn\t%s\t\n", a)
		}
	}
	tw.Flush()
}

func totalBytes(m *checkpoint.Manifest) int64 {
	var n int64
	for _, p := range m.Stores {
		n += p.Bytes
	}
	return n
}
