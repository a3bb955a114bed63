package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/spf13/cobra"
)

func newExport(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the stack in another tool's format",
		RunE:  group,
	}
	c.AddCommand(newExportCompose(g))
	return c
}

func newExportCompose(g *globals) *cobra.Command {
	var out string
	var only []string
	var force bool
	c := &cobra.Command{
		Use:   "compose",
		Short: "Write a docker compose project of the stack: same images, config, credentials, ports",
		Long: `Writes DIR/docker-compose.yml and the config files it mounts (DIR/files/...) for the stack's
containerised services, as the docker backend runs them: the same images (MOSSDEV_IMAGE_<KIND>
overrides included), environment, commands, credentials and 127.0.0.1 host ports, with healthchecks
every second. So 'mossdev env' stays valid for the compose project; run one or the other, not both.

The stack must exist (its ports and credentials are chosen at the first up); its backend does not
matter. S3 and the CDN are mossdev's own processes and are left out. Compose cannot run mossdev's
setup hooks, so the RabbitMQ nodes cluster by classic_config peer discovery and PostgreSQL's app role
is created by an init script.

DIR holds credentials: it is created mode 0700. An existing DIR must be your own, a real directory
(not a link) and empty; --force overwrites your own earlier export. Files are written without
following links. The compose file (0600) alone holds the credentials: the mounted files (0644, read
by the servers' own users in the containers) hold none, each server reads its own from the compose
file's environment at start.`,
		Example: `  mossdev export compose --out ./compose
  docker compose -p mossi -f ./compose/docker-compose.yml up -d --wait`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.existing()
			if err != nil {
				return err
			}
			if out == "" {
				out = "mossdev-compose-" + s.Name()
			}
			comp, err := exportCompose(c.Context(), s, out, only, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s (%d files)\n", filepath.Join(out, docker.ComposeFile), len(comp.Files))
			if len(comp.Skipped) > 0 {
				fmt.Fprintf(g.stdout, "not in it (mossdev's own processes, run them with `mossdev up --only %s`): %s\n",
					strings.Join(comp.Skipped, ","), strings.Join(comp.Skipped, ", "))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "directory to write (default ./mossdev-compose-NAME)")
	c.Flags().StringSliceVar(&only, "only", nil, "export only these services and what they need")
	c.Flags().BoolVar(&force, "force", false, "write into an existing, non-empty directory of your own (an earlier export)")
	return c
}

// exportCompose writes the stack's compose project (only these services
// and what they need; all when only is empty) into dir.
func exportCompose(ctx context.Context, s *stack.Stack, dir string, only []string, force bool) (*docker.Compose, error) {
	env, err := s.Runtime()
	if err != nil {
		return nil, err
	}
	sel, err := stack.Select(s.Services(), only)
	if err != nil {
		return nil, err
	}
	comp, err := docker.ExportCompose(ctx, s.Name(), sel, env)
	if err != nil {
		return nil, err
	}
	if err := comp.Write(dir, force); err != nil {
		return nil, err
	}
	return comp, nil
}
