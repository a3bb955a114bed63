// Command mossdev runs a faithful copy of the Mossi data platform on one
// machine. Each command file is thin: it turns flags into a call on package
// stack (or seed/load) and picks, once, how progress is shown (package
// display).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/mossdev/mossdev/fakes/serve"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

// Exit codes, documented in `mossdev --help` and the README.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitUnhealthy   = 3
	exitPortInUse   = 4
	exitMissing     = 5
	exitNoStack     = 6
	exitBusy        = 7
	exitTimeout     = 124
	exitInterrupted = 130
)

const exitHelp = `Exit codes:
  0    success
  1    any other error
  2    bad input (flags, names, config)
  3    a service is unhealthy (status, up)
  4    a port is in use
  5    a binary or image is missing (run mossdev doctor), or an image could not be pulled
       or is not the one mossdev.lock pins
  6    no such stack (run mossdev up)
  7    another seed or reset is running on the stack (wait, then run again)
  124  timed out waiting for a service
  130  interrupted (Ctrl-C); what the run started was stopped again`

func main() {
	if serve.IfAsked() {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// quietRedis drops go-redis's log lines: its pool logs every failed dial to
// stderr, which a probe polling a shard that is still starting turns into
// noise; the probe's own error is what mossdev reports.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func run(args []string, stdout, stderr io.Writer) int {
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if strings.HasPrefix(err.Error(), "unknown command") { // cobra's, for the root
		var subs []string
		for _, s := range root.Commands() {
			if s.IsAvailableCommand() {
				subs = append(subs, s.Name())
			}
		}
		err = usageError{fmt.Errorf("%s; commands: %s", strings.TrimSpace(err.Error()), strings.Join(subs, ", "))}
	}
	code := exitCode(err)
	if !errors.Is(err, errSilent) {
		printError(stderr, err)
	}
	return code
}

// errSilent marks a failure already reported on stdout (status's exit 3).
var errSilent = errors.New("reported")

type usageError struct{ error }

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue), errors.Is(err, stack.ErrBadInput), errors.Is(err, stack.ErrUnknown):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, stack.ErrTimeout):
		return exitTimeout
	case errors.Is(err, stack.ErrPortInUse):
		return exitPortInUse
	case errors.Is(err, stack.ErrBinaryMissing), errors.Is(err, stack.ErrImageMissing):
		return exitMissing
	case errors.Is(err, stack.ErrNoStack):
		return exitNoStack
	case errors.Is(err, load.ErrBusy):
		return exitBusy
	case errors.Is(err, stack.ErrUnhealthy), errors.Is(err, stack.ErrExited):
		return exitUnhealthy
	}
	return exitError
}

func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "mossdev: %v\n", err)
	if tail := stack.Tail(err); tail != "" {
		fmt.Fprintln(w, "  last log lines:")
		for _, l := range strings.Split(tail, "\n") {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
	if hint := stack.Hint(err); hint != "" {
		fmt.Fprintf(w, "  fix: %s\n", hint)
	}
}

// globals are the flags every command shares, and the project file every
// command finds (project.go).
type globals struct {
	name    string
	home    string
	workdir string
	stdout  io.Writer
	stderr  io.Writer
	proj    projectContext
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "mossdev",
		Short: "A faithful, running copy of the Mossi data platform on one machine",
		Long: `mossdev runs the Mossi data platform on this machine: PostgreSQL behind PgBouncer,
MariaDB (hashtag search), MongoDB (view logs), app-sharded Redis, a RabbitMQ cluster behind
HAProxy, Elasticsearch (search and geo), and an S3 bucket with a CDN in front.

Everything listens on 127.0.0.1 with credentials generated per stack. Where no real server can
be had, a compatible stand-in runs and every output says so.

Typical use:
  mossdev up                 bring the whole platform up (returns when all answer)
  eval "$(mossdev env)"      export MOSSDEV_POSTGRES_URL and friends
  mossdev status             live health
  mossdev stop redis-1       fault injection: see what the platform does without a shard
  mossdev down               stop everything, remove data
  mossdev pull               fetch the docker images ahead of time, pin them in mossdev.lock

` + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return g.check(c) }
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&g.name, "name", "", "stack name, so several stacks run side by side (env MOSSDEV_STACK; default: name in mossdev.toml, else the project directory's, else \"default\")")
	root.PersistentFlags().StringVar(&g.home, "home", "", "directory holding the stacks (env MOSSDEV_HOME; default "+stack.DefaultRoot()+")")
	root.PersistentFlags().StringVar(&g.workdir, "workdir", "", "find mossdev.toml from this directory up (default: the working directory)")
	root.AddCommand(newUp(g), newStatus(g), newEnv(g), newLogs(g), newStop(g), newStart(g), newDown(g), newDoctor(g), newBench(g), newSeed(g), newUI(g), newExport(g))
	root.AddCommand(newVerify(g), newReset(g), newPull(g), newInit(g), newConfig(g), newLs(g), newCheckpoint(g), newCache(g))
	root.AddCommand(newTraffic(g), newWorker(g))
	return root
}

// check refuses bad global flags before any command runs: an empty or
// malformed --name (MOSSDEV_STACK), a --home (MOSSDEV_HOME) that is not a
// directory, a bad project file. It settles the stack name: --name, else
// MOSSDEV_STACK, else the project's (projectName).
func (g *globals) check(c *cobra.Command) error {
	if err := g.findProject(); err != nil {
		return err
	}
	g.proj.nameFrom = "flag --name"
	if !c.Flags().Changed("name") {
		g.name, g.proj.nameFrom = g.projectName()
	}
	if g.name == "" {
		return &stack.Error{Op: "check stack name", Err: stack.ErrBadInput, Detail: "--name (or MOSSDEV_STACK) is empty",
			Fix: "give a name (e.g. --name ci-1), or leave --name out for the stack \"default\""}
	}
	if err := stack.CheckName(g.name); err != nil {
		return err
	}
	home, from := g.home, "--home"
	if env := os.Getenv("MOSSDEV_HOME"); home == "" || home == env {
		home, from = env, "MOSSDEV_HOME"
	}
	if home == "" {
		return nil
	}
	if fi, err := os.Stat(home); err == nil && !fi.IsDir() {
		return &stack.Error{Op: "check " + from, Err: stack.ErrBadInput, Detail: fmt.Sprintf("%s=%s is a file, not a directory", from, home),
			Fix: "point " + from + " at a directory (created if missing) where stacks may live"}
	}
	return nil
}

// group is the RunE of a command that only holds subcommands: called
// alone or with an unknown subcommand, it is bad input listing them.
func group(c *cobra.Command, args []string) error {
	var subs []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			subs = append(subs, s.Name())
		}
	}
	what := "needs a subcommand"
	if len(args) > 0 {
		what = fmt.Sprintf("has no subcommand %q", args[0])
	}
	return usageError{fmt.Errorf("%s %s: one of %s (see `%s --help`)", c.CommandPath(), what, strings.Join(subs, ", "), c.CommandPath())}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", c.CommandPath(), args)}
	}
	return nil
}

func oneService(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one service name (e.g. redis-0), got %d arguments", c.CommandPath(), len(args))}
	}
	return nil
}
