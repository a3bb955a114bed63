package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// plainSink prints one line per lifecycle step, for terminals and logs.
type plainSink struct {
	mu sync.Mutex
	w  io.Writer
	t0 time.Time
}

func (p *plainSink) Event(e stack.Event) {
	if e.Kind == stack.EventPlanned || e.Kind == stack.EventWaiting {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := ""
	if e.Message != "" {
		msg = " (" + e.Message + ")"
	}
	fmt.Fprintf(p.w, "%6.2fs  %-14s %s%s\n", e.Time.Sub(p.t0).Seconds(), e.Service, e.Kind, msg)
}

// jsonSink writes events as JSON lines (to stderr, so stdout stays one
// document a machine can parse).
type jsonSink struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (j *jsonSink) Event(e stack.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// statusTable prints the summary: service, state, address, stand-in.
func statusTable(w io.Writer, sts []stack.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tADDRESS\tLATENCY\tNOTE")
	for _, s := range sts {
		note := s.StandIn
		if s.Error != "" && s.State != stack.StateHealthy {
			note = strings.TrimSpace(firstLine(s.Error))
		}
		lat := ""
		if s.Latency > 0 {
			lat = fmt.Sprintf("%.1fms", float64(s.Latency.Microseconds())/1000)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, s.Address, lat, note)
	}
	tw.Flush()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 90 {
		s = s[:87] + "..."
	}
	return s
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
