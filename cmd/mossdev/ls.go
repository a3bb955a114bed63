package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/spf13/cobra"
)

// projectFile, beside a stack's state, records the project directory the
// stack was made from, for `mossdev ls`. A file of its own rather than a
// state field: states written before it existed stay valid as they are.
const projectFile = "project"

// recordProject notes the project directory of a stack that exists.
func (g *globals) recordProject(s *stack.Stack) {
	if g.proj.dir == "" || !s.Exists() {
		return
	}
	_ = os.WriteFile(filepath.Join(s.Dir(), projectFile), []byte(g.proj.dir+"\n"), 0o644)
}

// lsRow is one stack in `mossdev ls`.
type lsRow struct {
	Name       string    `json:"name"`
	Backend    string    `json:"backend"`
	ProjectDir string    `json:"projectDir,omitempty"`
	State      string    `json:"state"` // healthy | N unhealthy | stopped | damaged
	Running    int       `json:"running"`
	Services   int       `json:"services"`
	Created    time.Time `json:"created,omitzero"`
	DiskBytes  int64     `json:"diskBytes"`
	Error      string    `json:"error,omitempty"`
}

func newLs(g *globals) *cobra.Command {
	var asJSON bool
	var limit time.Duration
	c := &cobra.Command{
		Use:   "ls",
		Short: "List every stack on this machine",
		Long: `Lists the stacks under the stack root (--home, MOSSDEV_HOME): name, backend, the project
directory it was brought up from, state (healthy, N unhealthy, stopped), running services, age and
disk used. Each stack's services are probed once, concurrently, with --probe-timeout.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rows := listStacks(c.Context(), g.root(), limit)
			if asJSON {
				if rows == nil {
					rows = []lsRow{}
				}
				return display.WriteJSON(g.stdout, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(g.stdout, "no stacks in %s (mossdev up makes one)\n", g.root())
				return nil
			}
			w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tBACKEND\tSTATE\tSERVICES\tAGE\tDISK\tPROJECT")
			for _, r := range rows {
				age := "-"
				if !r.Created.IsZero() {
					age = time.Since(r.Created).Round(time.Second).String()
				}
				proj := r.ProjectDir
				if proj == "" {
					proj = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.Name, r.Backend, r.State, r.Running, r.Services, age, humanBytes(r.DiskBytes), proj)
			}
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, `print [{"name","backend","projectDir","state","running","services","created","diskBytes"}]`)
	c.Flags().DurationVar(&limit, "probe-timeout", time.Second, "limit of each probe")
	return c
}

// listStacks reads every stack under root, probing them concurrently.
func listStacks(ctx context.Context, root string, limit time.Duration) []lsRow {
	names := stack.ListStacks(root)
	rows := make([]lsRow, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i] = lsStack(ctx, root, name, limit)
		}()
	}
	wg.Wait()
	return rows
}

func lsStack(ctx context.Context, root, name string, limit time.Duration) lsRow {
	dir := filepath.Join(root, name)
	r := lsRow{Name: name, DiskBytes: diskUsed(dir)}
	if b, err := os.ReadFile(filepath.Join(dir, projectFile)); err == nil {
		r.ProjectDir = strings.TrimSpace(string(b))
	}
	st, err := stack.LoadState(dir)
	if err != nil {
		r.State, r.Error = "damaged", err.Error()
		return r
	}
	r.Backend, r.Created = st.Backend, st.Created
	s, err := platform.Open(stack.Config{Name: name, Root: root})
	if err != nil {
		r.State, r.Error = "damaged", err.Error()
		return r
	}
	sts, err := s.Status(ctx, limit)
	if err != nil {
		r.State, r.Error = "unknown", err.Error()
		return r
	}
	r.Services = len(sts)
	bad := 0
	for _, x := range sts {
		if x.State != stack.StateStopped {
			r.Running++
		}
		if x.State == stack.StateUnhealthy || x.State == stack.StateStarting {
			bad++
		}
	}
	switch {
	case r.Running == 0:
		r.State = "stopped"
	case bad > 0:
		r.State = fmt.Sprintf("%d unhealthy", bad)
	default:
		r.State = "healthy"
	}
	return r
}

// diskUsed sums the sizes of the files under dir (what `du` would count,
// give or take block rounding). Data of docker volumes is not counted.
func diskUsed(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
