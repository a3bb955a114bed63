package main

import (
	"fmt"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

func newStop(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stop SERVICE",
		Short: "Stop one service (fault injection: see what the platform does without it)",
		Long: `Stops one service on purpose: it shows as "stopped", and whatever depends on it turns
unhealthy (stop postgres and PgBouncer's probe fails; stop a RabbitMQ node and HAProxy routes around
it). Bring it back with 'mossdev start SERVICE'.`,
		Example: "  mossdev stop redis-1\n  mossdev stop rabbitmq-2",
		Args:    oneService,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			running, err := s.Running(c.Context(), args[0])
			if err != nil {
				return err
			}
			if err := s.Stop(c.Context(), args[0]); err != nil {
				return err
			}
			if !running {
				fmt.Fprintf(g.stdout, "%s was not running; it stays stopped (`mossdev start %s` starts it)\n", args[0], args[0])
				return nil
			}
			fmt.Fprintf(g.stdout, "stopped %s\n", args[0])
			return nil
		},
	}
}

func newStart(g *globals) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:     "start SERVICE",
		Short:   "Start one service again (and anything it needs) and wait until it answers",
		Example: "  mossdev start redis-1",
		Args:    oneService,
		RunE: func(c *cobra.Command, args []string) error {
			d := g.display(false, false)
			s, err := g.open(stack.Config{Timeout: timeout, Sink: d})
			if err != nil {
				return err
			}
			rep, err := s.Start(c.Context(), args[0])
			d.Close()
			if err != nil {
				return err
			}
			if rep.Started == 0 {
				fmt.Fprintf(g.stdout, "%s is already healthy\n", args[0])
				return nil
			}
			fmt.Fprintf(g.stdout, "started %s in %.2fs\n", args[0], rep.Elapsed.Seconds())
			return nil
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up if the service is not healthy by then")
	return c
}
