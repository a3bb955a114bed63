package main

import (
	"fmt"
	"strings"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

func newEnv(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "env",
		Short: "Print the URLs and credentials apps use, as shell exports, dotenv or JSON",
		Long: `Prints one URL per service — the URL an app uses: PgBouncer's for PostgreSQL
(MOSSDEV_POSTGRES_URL), HAProxy's for AMQP (MOSSDEV_RABBITMQ_URL) — plus credentials and extras.
The same variables are in the stack's env file (mode 0600), written at up.`,
		Example: `  eval "$(mossdev env)"
  mossdev env --format dotenv > .env
  mossdev env --format json | jq -r .MOSSDEV_POSTGRES_URL`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			vars, err := s.Vars()
			if err != nil {
				return err
			}
			notes := standInNotes(s.Services())
			switch format {
			case "shell":
				fmt.Fprint(g.stdout, notes)
				for _, v := range vars {
					fmt.Fprintf(g.stdout, "export %s=%s\n", v.Name, shellQuote(v.Value))
				}
			case "dotenv":
				fmt.Fprint(g.stdout, notes)
				for _, v := range vars {
					fmt.Fprintf(g.stdout, "%s=%s\n", v.Name, stack.DotenvQuote(v.Value))
				}
			case "json":
				m := map[string]string{}
				for _, v := range vars {
					m[v.Name] = v.Value
				}
				return display.WriteJSON(g.stdout, m)
			default:
				return &stack.Error{Op: "print env", Err: stack.ErrBadInput, Detail: fmt.Sprintf("unknown --format %q", format),
					Fix: "use --format shell, dotenv or json"}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "shell", "shell (export lines for eval), dotenv, or json")
	return c
}

// standInNotes are comment lines naming the stand-ins, so whoever reads the
// variables knows which services are not the real server.
func standInNotes(svcs []stack.Service) string {
	var b strings.Builder
	for _, sv := range svcs {
		if sv.StandIn != "" {
			fmt.Fprintf(&b, "# %s: %s\n", sv.Name, sv.StandIn)
		}
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
