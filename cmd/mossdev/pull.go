package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/spf13/cobra"
)

func newPull(g *globals) *cobra.Command {
	var asJSON, quiet bool
	c := &cobra.Command{
		Use:   "pull",
		Short: "Fetch the docker images ahead of time and pin them in mossdev.lock",
		Long: `Makes every image the stack's services run from present on the docker engine (the default
platform's when no stack exists yet), so a later 'mossdev up --backend docker' starts without a
download: before a flight, or in a CI cache step. Images already present are left alone; the
others are pulled side by side, with progress.

Then writes mossdev.lock in the current directory: each image pinned by its registry digest,
or, for an image built or imported here (no registry digest), by its image ID, marked local.
Commit it, and every 'up' on docker in this directory pulls a missing image by its pinned digest,
and refuses an image whose tag now names other bytes (exit 5), naming it, until you run
'mossdev pull' again (which pulls by tag and pins what it gets) or delete the lock.`,
		Example: `  mossdev pull
  mossdev pull --json > pulled.json
  MOSSDEV_IMAGE_REDIS=registry.example.com/redis:7 mossdev pull   # from a mirror`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			lock, err := g.lockPath()
			if err != nil {
				return err
			}
			switch b := platform.Existing(g.name, g.home); b {
			case "", "docker":
			default:
				return &stack.Error{Op: "pull images of " + g.name, Err: stack.ErrBadInput,
					Detail: fmt.Sprintf("the stack runs on the %s backend, which runs no images", b),
					Fix:    "pull for a docker stack with --name (e.g. `mossdev pull --name laptop`), or `mossdev down` this one first"}
			}
			d := g.display(asJSON, quiet)
			s, err := g.open(stack.Config{Backend: "docker", Sink: d})
			if err != nil {
				d.Close()
				return err
			}
			imgs, _, err := s.Pull(c.Context(), nil)
			d.Close()
			if err != nil {
				return err
			}
			if err := stack.NewLock(imgs).Write(lock); err != nil {
				return err
			}
			if asJSON {
				return display.WriteJSON(g.stdout, pullDoc{Lock: lock, Images: imgs})
			}
			if !quiet {
				pullTable(g.stdout, imgs)
				fmt.Fprintf(g.stdout, "\npinned %d images in %s\n", len(imgs), lock)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, `print {"lock","images":[{"ref","digest","id","local","services"}]} on stdout, progress as JSON lines on stderr`)
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	return c
}

// lockPath is the image lock of the directory mossdev runs in.
func (g *globals) lockPath() (string, error) {
	dir := g.workdir
	if g.proj.file != nil {
		dir = g.proj.dir // a team commits it beside its mossdev.toml
	}
	p, err := filepath.Abs(filepath.Join(dir, stack.LockFile))
	if err != nil {
		return "", fmt.Errorf("find %s: %w", stack.LockFile, err)
	}
	return p, nil
}

// pullDoc is what `mossdev pull --json` prints.
type pullDoc struct {
	Lock   string        `json:"lock"`
	Images []stack.Image `json:"images"`
}

// pullTable prints each image and what pins it.
func pullTable(w io.Writer, imgs []stack.Image) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tPINNED BY\tSERVICES")
	for _, img := range imgs {
		// Cut to what a person compares; the lock and --json have it whole.
		pin := img.Digest
		if img.Local {
			pin = img.ID + " (local)"
			if len(img.ID) > 19 {
				pin = img.ID[:19] + " (local)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", img.Ref, pin, strings.Join(img.Services, ","))
	}
	tw.Flush()
}
