package main

import (
	"fmt"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

func newStatus(g *globals) *cobra.Command {
	var asJSON bool
	var limit time.Duration
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the live state of every service (exit 3 if any is unhealthy)",
		Long: `Probes every running service once, concurrently, through its own protocol.
States: starting (never answered yet), healthy, unhealthy (was healthy, now does not answer or its
process died), stopped (stopped on purpose with 'mossdev stop', or not started).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if limit <= 0 {
				return &stack.Error{Op: "check --probe-timeout", Err: stack.ErrBadInput, Detail: fmt.Sprintf("--probe-timeout %s is not positive", limit),
					Fix: "give a positive duration, e.g. --probe-timeout 2s (the default is 1s)"}
			}
			s, err := g.existing()
			if err != nil {
				return err
			}
			sts, err := s.Status(c.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				err = display.WriteJSON(g.stdout, newStackDoc(s, sts))
			} else {
				statusTable(g.stdout, sts)
				if m := stack.MemoryOf(sts); m.Services > 0 {
					fmt.Fprintf(g.stdout, "\nmemory: %s\n", m)
				}
				if n := checkpoint.Interrupted(s.Dir()); n != "" {
					fmt.Fprintf(g.stdout, "\na restore of checkpoint %s was interrupted: the stores may hold a mix until `mossdev checkpoint restore %s` finishes it\n", n, n)
				}
			}
			if err != nil {
				return err
			}
			for _, st := range sts {
				if st.State == stack.StateUnhealthy {
					return errUnhealthy
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, `print {"stack","backend","services":[{"name","state","address","standIn",...}]}`)
	c.Flags().DurationVar(&limit, "probe-timeout", time.Second, "limit of each probe")
	return c
}

var errUnhealthy = &silentUnhealthy{}

type silentUnhealthy struct{}

func (*silentUnhealthy) Error() string { return "unhealthy services" }
func (*silentUnhealthy) Is(target error) bool {
	return target == errSilent || target == stack.ErrUnhealthy
}
