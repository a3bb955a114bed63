package main

import (
	"github.com/spf13/cobra"

	"github.com/mossdev/mossdev/seed/checkpoint"
)

func newReset(g *globals) *cobra.Command {
	r := &checkpointRun{}
	c := &cobra.Command{
		Use:   "reset",
		Short: "Return every store to the seeded state, fast",
		Long: `Restores checkpoint "seed", which the last complete seed saved: every store back to the seeded
state, whatever apps or tests changed, each by the fastest way it can copy back
('mossdev checkpoint ls' lists how):

  postgres       the app database swapped for a copy of its checkpoint database (a file copy
                 inside the server, then a rename)
  mariadb        tables whose CHECKSUM TABLE changed are copied back and renamed in
  mongodb        FerretDB's storage database swapped like PostgreSQL's (a real MongoDB: its
                 collections copied back and renamed in)
  elasticsearch  indices deleted and the snapshot restored
  s3             the bucket store put back as saved
  redis          every shard emptied and its keys RESTOREd in one transaction
  rabbitmq       the queues purged and their saved messages published again
  cdn            purged

Clients connected to PostgreSQL through PgBouncer wait during the swap (PAUSE/RESUME); direct
sessions on the app database are terminated. Same as 'mossdev checkpoint restore seed'.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return r.run(c, g, "reset", checkpoint.Reset, printRestore)
		},
	}
	r.flags(c, "what was done")
	return c
}
