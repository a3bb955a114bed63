package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newLogs(g *globals) *cobra.Command {
	var follow bool
	c := &cobra.Command{
		Use:     "logs SERVICE",
		Short:   "Print a service's log (-f to follow)",
		Example: "  mossdev logs postgres\n  mossdev logs rabbitmq-2 -f",
		Args:    oneService,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			r, err := s.Logs(c.Context(), args[0], follow)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(g.stdout, r)
			return err
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until Ctrl-C")
	return c
}
