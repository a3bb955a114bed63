package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/mossdev/mossdev/stack"
)

// labelW is the width of the detail pane's labels.
const labelW = 11

// detailPane shows one service in full: its role for a new hire, how to
// connect (secrets masked until asked), the last probe error, live counters
// and the end of its log.
type detailPane struct {
	c      Common
	w      *world
	reveal bool // show secrets in connection strings
}

var _ Component = (*detailPane)(nil)

func newDetailPane(c Common, w *world) *detailPane { return &detailPane{c: c, w: w} }

func (d *detailPane) Init() tea.Cmd { return nil }

func (d *detailPane) SetSize(width, height int) { d.c.Width, d.c.Height = width, height }

func (d *detailPane) Update(tea.Msg) tea.Cmd { return nil }

func (d *detailPane) View() string {
	s := d.w.sel()
	if s == nil {
		return ""
	}
	st := d.c.Styles
	width := d.c.Width
	label := func(l string) string { return st.Label.Render(fit(l, labelW)) }
	var top []string

	state := s.state()
	word := state
	if word == "" {
		word = "waiting for the first probe"
	}
	head := st.Bold.Render(s.svc.Name) + "  " + st.state(state).Render(glyph(state)+" "+word)
	if s.busy != "" {
		head += "  " + st.Confirm.Render(s.busy+"…")
	}
	if lat := latency(s.status.Latency); lat != "" && state != stack.StateStopped {
		head += "  probe " + lat + " " + sparkline(st, s.hist, 16)
	}
	if !s.status.Since.IsZero() && !d.w.now.IsZero() && s.status.PID != 0 {
		head += "  up " + uptime(d.w.now.Sub(s.status.Since))
	}
	if s.status.PID != 0 {
		head += fmt.Sprintf("  pid %d", s.status.PID)
		if s.status.Mem > 0 {
			head += fmt.Sprintf("  cpu %.1f%%  mem %s", s.status.CPU, bytesize(s.status.Mem))
		}
	}
	top = append(top, head)

	// Role: the one-liner from the service, then the longer story.
	for i, l := range wrap(s.svc.Role, width-labelW) {
		if i == 0 {
			top = append(top, label("role")+l)
		} else {
			top = append(top, fit("", labelW)+l)
		}
	}
	if ex := s.svc.Explain; ex != "" {
		for _, l := range wrap(ex, width-labelW) {
			top = append(top, fit("", labelW)+st.Dim.Render(l))
		}
	}
	if s.svc.StandIn != "" {
		top = append(top, label("stand-in")+s.svc.StandIn)
	}
	vars := s.vars
	if len(vars) == 0 && s.status.URL != "" {
		vars = []stack.Var{{Name: s.svc.EnvVar(), Value: s.status.URL}}
	}
	secret := false
	for i, v := range vars {
		shown := maskVar(v.Name, v.Value)
		secret = secret || shown != v.Value
		if d.reveal {
			shown = v.Value
		}
		l := fit("", labelW)
		if i == 0 {
			l = label("connect")
		}
		top = append(top, l+st.Dim.Render(v.Name+"=")+shown)
	}
	if secret {
		hint := "v shows the secrets"
		if d.reveal {
			hint = "v hides the secrets"
		}
		top = append(top, fit("", labelW)+st.Dim.Render("("+hint+")"))
	}
	if s.status.Address != "" {
		top = append(top, label("address")+s.status.Address)
	}
	switch {
	case s.status.Error != "" && state != stack.StateHealthy:
		top = append(top, label("error")+st.Error.Render(stack.FirstLine(s.status.Error)))
	case s.lastErr != "":
		top = append(top, label("last error")+st.Dim.Render(s.lastErrAt.Format("15:04:05")+" ")+st.Error.Render(stack.FirstLine(s.lastErr)))
	default:
		top = append(top, label("last error")+st.Dim.Render("none since the UI started"))
	}
	switch {
	case s.countErr != "":
		top = append(top, label("counters")+st.Error.Render("unavailable: "+s.countErr))
	case len(s.counters) > 0:
		for i, c := range s.counters {
			l := fit("", labelW)
			if i == 0 {
				l = label("counters")
			}
			top = append(top, l+c.Label+": "+st.Bold.Render(c.Value))
		}
		if !s.countersAt.IsZero() {
			top[len(top)-1] += st.Dim.Render("  (read " + s.countersAt.Format("15:04:05") + ")")
		}
	case s.svc.Counters != nil:
		top = append(top, label("counters")+st.Dim.Render("reading…"))
	}

	// The log tail takes the rest, newest at the bottom; on a short
	// terminal the text above gives way to it down to 3 lines.
	minLog := min(4, d.c.Height)
	if len(top) > d.c.Height-minLog {
		top = top[:max(0, d.c.Height-minLog)]
	}
	logH := d.c.Height - len(top) - 1
	lines := top
	lines = append(lines, st.Rule.Render("── log ")+st.Dim.Render("(`mossdev logs "+s.svc.Name+"`) ")+st.Rule.Render(strings.Repeat("─", max(0, width-30-len(s.svc.Name)))))
	logs := s.logs
	if s.logErr != "" {
		logs = []string{st.Error.Render(s.logErr)}
	} else if len(logs) == 0 {
		logs = []string{st.Dim.Render("(empty)")}
	}
	if len(logs) > logH {
		logs = logs[len(logs)-max(logH, 0):]
	}
	for _, l := range logs {
		lines = append(lines, " "+l)
	}
	for i := range lines {
		lines[i] = fit(lines[i], width)
	}
	if len(lines) > d.c.Height {
		lines = lines[:d.c.Height]
	}
	return strings.Join(lines, "\n")
}
