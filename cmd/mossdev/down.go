package main

import (
	"fmt"
	"time"

	"github.com/mossdev/mossdev/stack"
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
			d := g.display(false, false)
			s, err := g.open(stack.Config{Sink: d})
			if err != nil {
				return err
			}
			t := time.Now()
			err = s.Down(c.Context(), keep)
			d.Close()
			if err != nil {
				return err
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
