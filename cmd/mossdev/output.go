package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// display picks how this command shows progress on stderr, once, from its
// --json and --quiet flags and whether stderr is a terminal.
func (g *globals) display(asJSON, quiet bool) *display.Display {
	return display.New(g.stderr, display.ModeFor(g.stderr, asJSON, quiet))
}

// stackDoc is the JSON document up and status print on stdout: one shape,
// so a reader of either parses both.
type stackDoc struct {
	Stack    string         `json:"stack"`
	Backend  string         `json:"backend"`
	Dir      string         `json:"dir,omitempty"`
	Env      string         `json:"envFile,omitempty"`
	Report   *stack.Report  `json:"report,omitempty"`
	Seed     *load.Report   `json:"seed,omitempty"`
	Services []stack.Status `json:"services"`
	// Memory is the stack's total (PSS summed over its processes where
	// the kernel gives it): absent when nothing reports memory.
	Memory *stack.Memory `json:"memory,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// newStackDoc shapes status for JSON with the URLs' passwords masked, as
// the terminal UI shows them: a JSON document ends up in CI logs. `mossdev
// env` is the way to get the secrets.
func newStackDoc(s *stack.Stack, sts []stack.Status) stackDoc {
	masked := make([]stack.Status, len(sts))
	for i, st := range sts {
		st.URL = stack.MaskURL(st.URL)
		masked[i] = st
	}
	doc := stackDoc{Stack: s.Name(), Backend: s.Backend(), Services: masked}
	if m := stack.MemoryOf(sts); m.Services > 0 {
		doc.Memory = &m
	}
	return doc
}

// statusTable prints the summary: service, state, address, stand-in.
func statusTable(w io.Writer, sts []stack.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tADDRESS\tLATENCY\tNOTE")
	for _, s := range sts {
		note := s.StandIn
		if s.Error != "" && s.State != stack.StateHealthy {
			note = strings.TrimSpace(display.FirstLine(s.Error))
		}
		lat := ""
		if s.Latency > 0 {
			lat = fmt.Sprintf("%.1fms", float64(s.Latency.Microseconds())/1000)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, s.Address, lat, note)
	}
	tw.Flush()
}

// timeline prints when each service started and became healthy, as bars on
// a common time axis, and the chain of dependencies that set the wall time.
func timeline(w io.Writer, rep *stack.Report) {
	if len(rep.Timeline) == 0 {
		return
	}
	total := rep.Elapsed
	if total <= 0 {
		return
	}
	const width = 40
	col := func(d time.Duration) int {
		c := int(float64(d) / float64(total) * width)
		return min(max(c, 0), width)
	}
	fmt.Fprintf(w, "\nstartup timeline (%.2fs):\n", total.Seconds())
	for _, t := range rep.Timeline {
		if t.Healthy == 0 {
			continue // failed: the error says why
		}
		a, b := col(t.Queued), col(t.Healthy)
		if b <= a {
			b = a + 1
		}
		bar := strings.Repeat(" ", a) + strings.Repeat("█", min(b, width+1)-a)
		fmt.Fprintf(w, "  %-14s %-5s %-41s %6.2fs\n", t.Service, t.Action, bar, (t.Healthy - t.Queued).Seconds())
	}
	if len(rep.Critical) > 0 {
		fmt.Fprintf(w, "critical chain: %s\n", strings.Join(rep.Critical, " → "))
	}
}
