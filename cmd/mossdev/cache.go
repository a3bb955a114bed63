package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/stack"
)

func newCache(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "The machine-wide seed cache: seeded stores put in place instead of loaded",
		Long: `After a seed, the stores that load slowest (the stand-ins: the MongoDB view log on FerretDB, the
Elasticsearch emulator's index, the S3 fake's images) keep their seeded state in a cache beside the
stacks, keyed by the dataset's fingerprint and the servers' versions. Seeding any stack with the same
dataset on the same versions puts those stores in place from there; the other stores load as usual.
An entry made by other server versions is never used (the seed says so in one line).

The cache holds at most 20 GiB (MOSSDEV_CACHE_MAX_BYTES): past that, the entries used longest ago go.`,
		RunE: group,
	}
	c.AddCommand(newCacheLs(g), newCachePrune(g))
	return c
}

func newCacheLs(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the seed cache's entries",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			home := g.root()
			list, err := checkpoint.CacheList(home)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []*checkpoint.CacheEntry{}
				}
				return display.WriteJSON(g.stdout, struct {
					Dir     string                   `json:"dir"`
					Entries []*checkpoint.CacheEntry `json:"entries"`
				}{checkpoint.CacheDir(home), list})
			}
			if len(list) == 0 {
				fmt.Fprintf(g.stdout, "the seed cache (%s) is empty: a complete seed fills it\n", checkpoint.CacheDir(home))
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DATASET\tCARDS\tSIZE\tSTORES\tUSED\tVERSIONS\t")
			var total int64
			for _, e := range list {
				total += e.Bytes()
				stores := ""
				for s := range e.Stores {
					if stores != "" {
						stores += ","
					}
					stores += s
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", e.Fingerprint, e.Dataset.Cards, humanBytes(e.Bytes()), stores,
					e.Used.Local().Format(time.DateTime), e.Key[len(e.Fingerprint)+1:])
			}
			tw.Flush()
			fmt.Fprintf(g.stdout, "%d entries, %s in %s\n", len(list), humanBytes(total), checkpoint.CacheDir(home))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the entries as JSON")
	return c
}

func newCachePrune(g *globals) *cobra.Command {
	var asJSON bool
	var maxSize string
	c := &cobra.Command{
		Use:     "prune",
		Short:   "Remove entries, used longest ago first, until the cache fits --max-size (0: all)",
		Example: "  mossdev cache prune              # down to the cap (20 GiB or MOSSDEV_CACHE_MAX_BYTES)\n  mossdev cache prune --max-size 0 # empty it",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			capBytes := checkpoint.DefaultCacheCap
			if maxSize != "" {
				n, err := parseBytes(maxSize)
				if err != nil {
					return &stack.Error{Op: "cache prune", Err: stack.ErrBadInput, Detail: fmt.Sprintf("--max-size %q: %v", maxSize, err),
						Fix: "give a size such as 0, 500M or 10G"}
				}
				capBytes = n
			}
			home := g.root()
			gone, err := checkpoint.CachePrune(home, capBytes)
			if err != nil {
				return err
			}
			if asJSON {
				if gone == nil {
					gone = []*checkpoint.CacheEntry{}
				}
				return display.WriteJSON(g.stdout, map[string]any{"removed": gone})
			}
			var n int64
			for _, e := range gone {
				n += e.Bytes()
			}
			fmt.Fprintf(g.stdout, "removed %d entries (%s)\n", len(gone), humanBytes(n))
			return nil
		},
	}
	c.Flags().StringVar(&maxSize, "max-size", "", "keep at most this much (e.g. 10G, 500M, 0)")
	c.Flags().BoolVar(&asJSON, "json", false, "print what was removed as JSON")
	return c
}

// parseBytes reads a size: a number of bytes with an optional K, M, G or
// T suffix (powers of 1024).
func parseBytes(s string) (int64, error) {
	var n float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g%s", &n, &unit); err != nil {
		if _, err := fmt.Sscanf(s, "%g", &n); err != nil {
			return 0, fmt.Errorf("not a size")
		}
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MiB": 1 << 20,
		"G": 1 << 30, "GB": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TB": 1 << 40, "TiB": 1 << 40}[unit]
	if mult == 0 || n < 0 {
		return 0, fmt.Errorf("not a size")
	}
	return int64(n * mult), nil
}
