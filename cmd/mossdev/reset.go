package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/spf13/cobra"
)

func newReset(g *globals) *cobra.Command {
	var asJSON, quiet bool
	c := &cobra.Command{
		Use:   "reset",
		Short: "Return every store to the seeded state, fast",
		Long: `Undoes whatever apps or tests changed since the last complete seed, store by store, without
regenerating what did not change:

  postgres       the app database is dropped and copied back from the template database taken
                 after seeding (mossi_seed): a file copy, whatever changed
  mariadb        CHECKSUM TABLE against the seeded checksum; reloaded only if it differs
  mongodb        storage digest (FerretDB stand-in) or exact count; views added since the seed
                 are deleted, anything else reloads the log
  elasticsearch  document count; reindexed if it differs (documents changed in place are not
                 detected: use 'mossdev seed --force')
  s3             one bucket listing compared with the seeded MD5s; changed or missing images
                 are put again, extra objects deleted, the CDN purged
  redis          shards flushed and hot-card entries put again
  rabbitmq       write-behind queue purged and the jobs published again

Clients connected to PostgreSQL through PgBouncer wait during the swap (PAUSE/RESUME); direct
sessions on the app database are terminated.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			env, err := s.Runtime()
			if err != nil {
				return err
			}
			d := g.display(asJSON, quiet)
			rep, err := load.Reset(c.Context(), load.TargetsFor(env), load.Options{Sink: d})
			d.Close()
			switch {
			case errors.Is(err, load.ErrNotSeeded):
				err = loadError("reset", s.Name(), err, fmt.Sprintf("seed it first: `mossdev seed --name %s`", s.Name()))
			case errors.Is(err, load.ErrBusy):
				err = loadError("reset", s.Name(), err, "")
			}
			if rep == nil {
				return err
			}
			switch {
			case asJSON:
				if werr := display.WriteJSON(g.stdout, rep); werr != nil {
					return werr
				}
			case quiet:
			default:
				printReset(g.stdout, s.Name(), rep)
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON on stdout, progress as JSON lines on stderr")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	return c
}

func printReset(w io.Writer, name string, rep *load.Report) {
	fmt.Fprintf(w, "stack %s: back to dataset %s (seed %d, %d cards)\n", name, rep.Fingerprint, rep.Params.Seed, rep.Params.Cards)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE\tSECONDS\tWHAT\t")
	for _, r := range rep.Stores {
		what := r.Action
		if r.Error != "" {
			what = "failed: " + display.FirstLine(r.Error)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t\n", r.Store, r.Elapsed.Seconds(), what)
	}
	tw.Flush()
	fmt.Fprintf(w, "reset in %.2fs\n", rep.Elapsed.Seconds())
}
