package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/verify"
	"github.com/mossdev/mossdev/stack"
	"github.com/spf13/cobra"
)

func newVerify(g *globals) *cobra.Command {
	var asJSON bool
	var only []string
	var examples int
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check that every store agrees with every other about the seeded cards (exit 1 on any mismatch)",
		Long: `Reads every store back through the path apps use and checks the seed's cross-store invariants,
with PostgreSQL's rows as the reference:

` + checkList() + `
Each mismatch is named (card, tag, shard, message); the exit code is 1 when any check fails or
cannot run, 0 when all pass.`,
		Example: `  mossdev verify
  mossdev verify --json | jq '.checks[] | select(.mismatches > 0)'
  mossdev verify --only redis,rabbitmq`,
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
			rep, err := verify.Run(c.Context(), load.TargetsFor(env), verify.Options{Only: only, Examples: examples})
			if rep == nil {
				if errors.Is(err, load.ErrNotSeeded) {
					return &stack.Error{Op: "verify " + s.Name(), Err: err, Fix: fmt.Sprintf("seed it first: `mossdev seed --name %s`", s.Name())}
				}
				return err
			}
			if asJSON {
				if werr := display.WriteJSON(g.stdout, struct {
					*verify.Report
					OK bool `json:"ok"`
				}{rep, rep.OK()}); werr != nil {
					return werr
				}
			} else {
				printVerify(g.stdout, s.Name(), rep)
			}
			if err != nil {
				return verifyFailed{err}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON: {fingerprint, params, checks:[{name, invariant, checked, mismatches, examples, error}], ok}")
	c.Flags().StringSliceVar(&only, "only", nil, "run only these checks, by name or store (e.g. redis, mongodb.views)")
	c.Flags().IntVar(&examples, "examples", 20, "mismatches named per check")
	return c
}

func checkList() string {
	s := ""
	for _, n := range verify.Names() {
		s += "  " + n + "\n"
	}
	return s
}

// verifyFailed is reported by the table already: exit 1 without repeating it.
type verifyFailed struct{ error }

func (verifyFailed) Is(target error) bool { return target == errSilent }

func printVerify(w io.Writer, name string, rep *verify.Report) {
	p := rep.Params
	fmt.Fprintf(w, "stack %s: dataset %s (seed %d, %d cards)\n", name, rep.Fingerprint, p.Seed, p.Cards)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tCHECKED\tMISMATCHES\tSECONDS\t")
	for _, c := range rep.Checks {
		res := "ok"
		switch {
		case c.Error != "":
			res = "ERROR"
		case c.Mismatches > 0:
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t\n", c.Name, res, c.Checked, c.Mismatches, c.Elapsed.Seconds())
	}
	tw.Flush()
	for _, c := range rep.Checks {
		if c.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", c.Name, c.Note)
		}
	}
	if fs := rep.Failures(); len(fs) > 0 {
		fmt.Fprintln(w, "\nmismatches:")
		for _, f := range fs {
			fmt.Fprintln(w, "  "+f)
		}
		fmt.Fprintf(w, "\nverify FAILED in %.1fs\n", rep.Elapsed.Seconds())
		return
	}
	fmt.Fprintf(w, "\nall %d checks passed in %.1fs\n", len(rep.Checks), rep.Elapsed.Seconds())
}
