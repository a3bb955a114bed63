package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mossdev/mossdev/project"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

func newInit(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Write a commented mossdev.toml in this directory",
		Long: `Writes mossdev.toml, the project file, in the working directory (--workdir): every setting
with its default, commented out. Commit it; every mossdev command run in this directory or below
reads it. Refuses to overwrite an existing file unless --force.`,
		Args: noArgs,
		// A broken mossdev.toml here must not stop init --force from
		// replacing it.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(c *cobra.Command, _ []string) error {
			dir := g.workdir
			if dir == "" {
				dir = "."
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			p := filepath.Join(dir, project.FileName)
			if _, err := os.Lstat(p); err == nil && !force {
				return &stack.Error{Op: "init", Err: stack.ErrBadInput, Detail: p + " already exists",
					Fix: "edit it, or run `mossdev init --force` to replace it with a fresh commented one"}
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("init: %w", err)
			}
			// The file's directory names the stack from now on.
			name := project.StackName(dir)
			if err := os.WriteFile(p, []byte(project.Template(name)), 0o644); err != nil {
				return fmt.Errorf("init: %w", err)
			}
			fmt.Fprintf(g.stdout, "wrote %s (stack %s); commit it, then `mossdev up`\n", p, name)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace an existing mossdev.toml")
	return c
}
