package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/spf13/cobra"
)

func newDown(g *globals) *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "down",
		Short: "Stop every service of the stack and remove its data",
		Long: `Stops every process of the stack — found by the label in its environment, so this also
works after the command that started them was killed — with a grace period, then SIGKILL. Without
--keep-data the stack's directory (data, logs, state, env file) is removed: no process, port or
directory is left. With --keep-data, data, ports and credentials stay for the next up.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			t := time.Now()
			d := g.display(false, false)
			s, err := g.open(stack.Config{Sink: d})
			if errors.Is(err, stack.ErrDamaged) && !keep {
				d.Close()
				fmt.Fprintf(g.stderr, "mossdev: %v\n  removing the stack by its labels instead\n", err)
				if err := platform.Purge(c.Context(), g.name, g.home); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "stack %s removed in %.1fs\n", g.name, time.Since(t).Seconds())
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
		},
	}
	c.Flags().BoolVar(&keep, "keep-data", false, "keep data, ports and credentials for the next up")
	return c
}
