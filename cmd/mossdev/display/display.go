// Package display shows progress (stack.Event, from `up`, `start`, `seed`,
// `reset` and `down` alike) the way its reader wants it: bars on a
// terminal, plain lines in a log, JSON lines for a machine, nothing when
// quiet. The CLI picks the mode once per command (ModeFor), as docker
// compose does, so packages stack and seed/load never know who listens.
package display

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/mossdev/mossdev/stack"
)

// Mode is how progress is shown.
type Mode string

const (
	TTY   Mode = "tty"   // a bar per store while seeding, lines for the rest
	Plain Mode = "plain" // one line per step, throttled while loading or waiting
	JSON  Mode = "json"  // every event as a JSON line
	Quiet Mode = "quiet" // nothing
)

// Throttles of the line modes: a line per store every loadEvery while it
// loads, per service every waitEvery while its probe fails.
const (
	loadEvery = 2 * time.Second
	waitEvery = 5 * time.Second
)

// ModeFor picks the mode for writing progress to w from the --json and
// --quiet flags: quiet wins, then JSON; bars only on a terminal that can
// draw them.
func ModeFor(w io.Writer, asJSON, quiet bool) Mode {
	switch {
	case quiet:
		return Quiet
	case asJSON:
		return JSON
	case isTerminal(w):
		return TTY
	}
	return Plain
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb"
}

// Display is a stack.Sink that shows events in one mode. It is safe for
// concurrent use.
type Display struct {
	mu   sync.Mutex
	w    io.Writer
	mode Mode
	t0   time.Time
	last map[string]time.Time // the last line per throttled service or store
	enc  *json.Encoder
	bars *bars // TTY, while stores are being seeded or reset
}

var _ stack.Sink = (*Display)(nil)

// New shows progress on w in mode (see ModeFor). Times in lines count
// from now.
func New(w io.Writer, mode Mode) *Display {
	return &Display{w: w, mode: mode, t0: time.Now(), last: map[string]time.Time{}, enc: json.NewEncoder(w)}
}

// Mode says how d shows progress.
func (d *Display) Mode() Mode { return d.mode }

// Event shows one event.
func (d *Display) Event(e stack.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.mode {
	case Quiet:
	case JSON:
		_ = d.enc.Encode(e)
	case TTY:
		if e.Step != "" { // a store: its bar
			if d.bars == nil {
				d.bars = startBars(d.w)
			}
			d.bars.send(e)
			return
		}
		if line, ok := d.line(e); ok {
			if d.bars != nil { // above the bars, which keep their place
				d.bars.println(line)
				return
			}
			fmt.Fprintln(d.w, line)
		}
	default:
		if line, ok := d.line(e); ok {
			fmt.Fprintln(d.w, line)
		}
	}
}

// Close ends the bars, if any, leaving their last frame on screen; call it
// before writing what follows the progress. Events after Close start new
// bars.
func (d *Display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bars != nil {
		d.bars.stop()
		d.bars = nil
	}
}

// line is e as a plain line, or false when it is noise (the plan, which the
// next events show) or comes too soon after the last line of its kind.
func (d *Display) line(e stack.Event) (string, bool) {
	switch e.Kind {
	case stack.EventPlanned:
		return "", false
	case stack.EventBackend:
		return e.Message, true
	case stack.EventLoading, stack.EventWaiting, stack.EventPulling:
		every, key := loadEvery, e.Step+"/"+e.Service
		if e.Kind == stack.EventWaiting {
			every = waitEvery
		}
		if t, ok := d.last[key]; ok && e.Time.Sub(t) < every {
			return "", false
		}
		d.last[key] = e.Time
	}
	return fmt.Sprintf("%6.2fs  %-14s %s", e.Time.Sub(d.t0).Seconds(), e.Service, Describe(e)), true
}

// Describe says what e reports, in a few words.
func Describe(e stack.Event) string {
	store := e.Step != ""
	switch {
	case e.Kind == stack.EventLoading && e.Total > 0:
		return fmt.Sprintf("loading %d/%d (%.0f%%)", e.Done, e.Total, 100*float64(e.Done)/float64(e.Total))
	case e.Kind == stack.EventPulling:
		if e.Total > 0 {
			return fmt.Sprintf("pulling %s (%.0f%%)", megabytes(e.Done, e.Total), 100*float64(e.Done)/float64(e.Total))
		}
		return "pulling"
	case e.Kind == stack.EventPulled:
		if e.Total > 0 {
			return fmt.Sprintf("%s: %.1f MB in %.1fs", e.Message, float64(e.Total)/1e6, e.Elapsed.Seconds())
		}
		return e.Message
	case e.Kind == stack.EventLoaded && (e.Step == stack.StepSave || e.Step == stack.StepRestore):
		return fmt.Sprintf("%s in %.2fs", e.Message, e.Elapsed.Seconds())
	case e.Kind == stack.EventLoaded:
		return fmt.Sprintf("%s: %d rows in %.2fs", e.Message, e.Done, e.Elapsed.Seconds())
	case e.Kind == stack.EventKept && store:
		return "kept: already holds " + e.Message
	case e.Kind == stack.EventSkipped:
		return "skipped (--only): holds " + e.Message
	case e.Kind == stack.EventCached && e.Elapsed > 0:
		return fmt.Sprintf("%s in %.2fs", e.Message, e.Elapsed.Seconds())
	case e.Kind == stack.EventSnapshot:
		return "copying the database to " + e.Message + " and warming it"
	case e.Kind == stack.EventFailed && store:
		return "failed: " + FirstLine(e.Message)
	case e.Message != "":
		// The whole first line: a waiting service's last error is the
		// point of the line, however long.
		msg, _, _ := strings.Cut(e.Message, "\n")
		return fmt.Sprintf("%s (%s)", e.Kind, msg)
	}
	return string(e.Kind)
}

// megabytes is "done/total MB" of a pull.
func megabytes(done, total int64) string {
	return fmt.Sprintf("%.1f/%.1f MB", float64(done)/1e6, float64(total)/1e6)
}

// FirstLine shortens s to its first line, at most 90 characters: what fits
// beside a name in a table or a progress line.
func FirstLine(s string) string {
	s = stack.FirstLine(s)
	if len(s) > 90 {
		s = s[:87] + "..."
	}
	return s
}

// WriteJSON writes v as one indented JSON document: a command's result on
// stdout, while its progress goes to stderr.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
