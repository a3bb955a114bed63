package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/spf13/cobra"
)

func newDown(g *globals) *cobra.Command {
	var keep, all, yes bool
	c := &cobra.Command{
		Use:   "down",
		Short: "Stop every service of the stack and remove its data",
		Long: `Stops every process of the stack — found by the label in its environment, so this also
works after the command that started them was killed — with a grace period, then SIGKILL. Without
--keep-data the stack's directory (data, logs, state, env file) is removed: no process, port or
directory is left. With --keep-data, data, ports and credentials stay for the next up.

With --all, every stack under the stack root goes (see mossdev ls): asked first on a terminal,
refused elsewhere unless --yes.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !all {
				return downOne(c, g, g.name, keep)
			}
			names := stack.ListStacks(g.root())
			if len(names) == 0 {
				fmt.Fprintf(g.stdout, "no stacks in %s: found nothing to remove\n", g.root())
				return nil
			}
			if !yes {
				if !isTerminal(g.stdout) {
					return &stack.Error{Op: "down --all", Err: stack.ErrBadInput,
						Detail: fmt.Sprintf("would remove %d stacks (%s) with no terminal to ask on", len(names), strings.Join(names, ", ")),
						Fix:    "add --yes to remove them all, or name one with `mossdev down --name NAME`"}
				}
				fmt.Fprintf(g.stderr, "remove %d stacks (%s) and their data? [y/N] ", len(names), strings.Join(names, ", "))
				ans, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
					fmt.Fprintln(g.stdout, "nothing removed")
					return nil
				}
			}
			var errs []error
			for _, name := range names {
				if err := downOne(c, g, name, keep); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVar(&keep, "keep-data", false, "keep data, ports and credentials for the next up")
	c.Flags().BoolVar(&all, "all", false, "every stack under the stack root (mossdev ls)")
	c.Flags().BoolVar(&yes, "yes", false, "with --all: do not ask")
	return c
}

func downOne(c *cobra.Command, g *globals, name string, keep bool) error {
	t := time.Now()
	d := g.display(false, false)
	s, err := platform.Open(stack.Config{Name: name, Root: g.home, Sink: d})
	if errors.Is(err, stack.ErrDamaged) && !keep {
		d.Close()
		fmt.Fprintf(g.stderr, "mossdev: %v\n  removing the stack by its labels instead\n", err)
		if err := platform.Purge(c.Context(), name, g.home); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "stack %s removed in %.1fs\n", name, time.Since(t).Seconds())
		return nil
	}
	if err != nil {
		d.Close()
		return err
	}
	existed := s.Exists()
	err = s.Down(c.Context(), keep)
	d.Close()
	if err != nil {
		return err
	}
	if !existed {
		fmt.Fprintf(g.stdout, "no stack %s in %s: found nothing to remove\n", s.Name(), filepath.Dir(s.Dir()))
		return nil
	}
	what := "removed"
	if keep {
		what = "stopped (data kept)"
	}
	fmt.Fprintf(g.stdout, "stack %s %s in %.1fs\n", s.Name(), what, time.Since(t).Seconds())
	return nil
}
