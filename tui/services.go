package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/mossdev/mossdev/stack"
)

// servicesTable is the services view: one row per service, and below it
// (when the terminal is tall enough) a short detail of the selected one.
type servicesTable struct {
	c      Common
	w      *world
	offset int // first row shown when the table scrolls
}

var _ Component = (*servicesTable)(nil)

func newServicesTable(c Common, w *world) *servicesTable { return &servicesTable{c: c, w: w} }

func (t *servicesTable) Init() tea.Cmd { return nil }

func (t *servicesTable) SetSize(width, height int) {
	t.c.Width, t.c.Height = width, height
	t.scroll()
}

func (t *servicesTable) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(t.w.svcs) == 0 {
		return nil
	}
	i := t.w.index(t.w.selected)
	switch {
	case key.Matches(k, t.c.Keys.Up):
		i--
	case key.Matches(k, t.c.Keys.Down):
		i++
	case key.Matches(k, t.c.Keys.Top):
		i = 0
	case key.Matches(k, t.c.Keys.Bottom):
		i = len(t.w.svcs) - 1
	default:
		return nil
	}
	i = min(max(i, 0), len(t.w.svcs)-1)
	t.w.selected = t.w.svcs[i].svc.Name
	t.scroll()
	return nil
}

// cols are the widths of the table's columns for the current width.
type cols struct{ name, state, lat, spark, addr, up, cpu, mem, note int }

func (t *servicesTable) cols() cols {
	c := cols{name: 7, state: 11, lat: 6, up: 6, cpu: 5, mem: 5}
	for _, s := range t.w.svcs {
		c.name = max(c.name, len(s.svc.Name))
	}
	fixed := 2 + c.name + 1 + c.state + 1 + c.lat + 1 + c.up + 1 + c.cpu + 1 + c.mem
	r := t.c.Width - fixed
	switch {
	case r >= 1+20+1+15+1+30:
		c.spark, c.addr = 20, 15
	case r >= 1+12+1+15+1+16:
		c.spark, c.addr = 12, 15
	case r >= 1+10+1+6+1+8:
		c.spark, c.addr = 10, 6
	default:
		c.spark, c.addr = 6, 6
	}
	c.note = max(0, r-(1+c.spark)-(1+c.addr)-1)
	return c
}

func (t *servicesTable) header(c cols) string {
	h := "  " + fit("SERVICE", c.name) + " " + fit("STATE", c.state) + " " + fitLeft("PROBE", c.lat) + " " +
		fit("LATENCY", c.spark) + " " + fit(map[bool]string{true: "ADDRESS", false: "PORT"}[c.addr >= 15], c.addr) + " " + fitLeft("UPTIME", c.up) + " " +
		fitLeft("CPU", c.cpu) + " " + fitLeft("MEM", c.mem)
	if c.note > 0 {
		h += " " + fit("NOTE", c.note)
	}
	return t.c.Styles.Header.Render(fit(h, t.c.Width))
}

func (t *servicesTable) row(s *svcState, c cols) string {
	st := t.c.Styles
	sel := s.svc.Name == t.w.selected
	cursor, name := "  ", fit(s.svc.Name, c.name)
	if sel {
		cursor, name = st.Cursor.Render("▸ "), st.Selected.Render(name)
	}
	state := s.state()
	word := state
	if word == "" {
		word = "waiting"
	}
	stateCell := st.state(state).Render(fit(glyph(state)+" "+word, c.state))
	lat := ""
	if state == stack.StateHealthy || state == stack.StateStarting || state == stack.StateUnhealthy {
		lat = latency(s.status.Latency)
	}
	addr := s.status.Address
	if c.addr < len(addr) {
		if i := strings.LastIndexByte(addr, ':'); i >= 0 {
			addr = addr[i:]
		}
	}
	up, cpu, mem := "", "", ""
	if s.status.PID != 0 || !s.status.Since.IsZero() {
		if !s.status.Since.IsZero() && !t.w.now.IsZero() {
			up = uptime(t.w.now.Sub(s.status.Since))
		}
		if s.status.CPU > 0 || s.status.Mem > 0 {
			cpu = fmt.Sprintf("%.1f%%", s.status.CPU)
		}
		mem = bytesize(s.status.Mem)
	}
	line := cursor + name + " " + stateCell + " " + fitLeft(lat, c.lat) + " " +
		sparkline(st, s.hist, c.spark) + " " + fit(addr, c.addr) + " " + fitLeft(up, c.up) + " " +
		fitLeft(orDash(cpu, s), c.cpu) + " " + fitLeft(orDash(mem, s), c.mem)
	if c.note > 0 {
		line += " " + t.note(s, c.note)
	}
	return fit(line, t.c.Width)
}

// orDash marks a figure the backend does not know for a running service.
func orDash(v string, s *svcState) string {
	if v == "" && s.status.PID != 0 {
		return "–"
	}
	return v
}

// note is the row's last column: an action under way, why the service is
// not healthy, or that it is a stand-in.
func (t *servicesTable) note(s *svcState, w int) string {
	st := t.c.Styles
	switch {
	case s.busy != "":
		return st.Confirm.Render(fit(s.busy+"…", w))
	case (s.state() == stack.StateUnhealthy || s.state() == stack.StateStarting) && s.status.Error != "":
		return st.Error.Render(fit(shortErr(s.status.Error), w))
	case s.svc.StandIn != "":
		if w < 16 {
			return st.Dim.Render(fit("stand-in", w))
		}
		return st.Dim.Render(fit("stand-in: "+shortStandIn(s.svc.StandIn), w))
	}
	return strings.Repeat(" ", w)
}

// scroll keeps the selection in sight when the table does not fit.
func (t *servicesTable) scroll() {
	rows := len(t.w.svcs)
	visible := max(min(rows+1, t.c.Height)-1, 1)
	i := t.w.index(t.w.selected)
	if i < t.offset {
		t.offset = i
	}
	if i >= t.offset+visible {
		t.offset = i - visible + 1
	}
	t.offset = max(0, min(t.offset, rows-visible))
}

func (t *servicesTable) View() string {
	c := t.cols()
	rows := len(t.w.svcs)
	visible := max(min(rows+1, t.c.Height)-1, 1)
	from := min(t.offset, max(0, rows-visible))
	lines := []string{t.header(c)}
	for _, s := range t.w.svcs[from:min(rows, from+visible)] {
		lines = append(lines, t.row(s, c))
	}
	if rest := t.c.Height - len(lines); rest >= 3 {
		lines = append(lines, t.summary(rest)...)
	}
	return strings.Join(lines, "\n")
}

// summary is the short detail under the table: role, counters, last error.
func (t *servicesTable) summary(h int) []string {
	s := t.w.sel()
	if s == nil {
		return nil
	}
	st := t.c.Styles
	width := t.c.Width
	title := " " + s.svc.Name + " "
	hint := " enter: detail, log and connection "
	fill := max(0, width-len(title)-len(hint)-4)
	lines := []string{st.Rule.Render("──") + st.Bold.Render(title) + st.Rule.Render(strings.Repeat("─", fill)) + st.Dim.Render(hint) + st.Rule.Render("──")}
	for _, l := range wrap(s.svc.Role, width-2) {
		lines = append(lines, " "+l)
	}
	if cs := countersLine(st, s); cs != "" {
		lines = append(lines, " "+cs)
	}
	if s.lastErr != "" {
		lines = append(lines, " "+st.Error.Render("last probe error ("+s.lastErrAt.Format("15:04:05")+"): "+shortErr(s.lastErr)))
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	for i := range lines {
		lines[i] = fit(lines[i], width)
	}
	return lines
}

// countersLine joins a service's counters on one line.
func countersLine(st *Styles, s *svcState) string {
	if s.countErr != "" {
		return st.Label.Render("counters ") + st.Error.Render("unavailable: "+s.countErr)
	}
	if len(s.counters) == 0 {
		return ""
	}
	var parts []string
	for _, c := range s.counters {
		parts = append(parts, c.Label+" "+st.Bold.Render(c.Value))
	}
	return st.Label.Render("counters ") + strings.Join(parts, st.Dim.Render(" · "))
}

// sparkline draws recent probe latencies, newest on the right: a block per
// probe scaled to the slowest in view, × for a failed probe, · when the
// service was not running.
func sparkline(st *Styles, hist []sample, w int) string {
	if w <= 0 {
		return ""
	}
	if len(hist) > w {
		hist = hist[len(hist)-w:]
	}
	var hi float64
	for _, h := range hist {
		if h.ok {
			hi = max(hi, float64(h.lat))
		}
	}
	blocks := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(hist)))
	// Consecutive cells of one kind share one styled run.
	var run []rune
	kind := -1
	flush := func() {
		if len(run) > 0 {
			b.WriteString([]lipgloss.Style{st.Dim, st.SparkFail, st.Spark}[kind].Render(string(run)))
		}
		run = run[:0]
	}
	for _, h := range hist {
		k, r := 2, '·'
		switch {
		case !h.probed:
			k = 0
		case !h.ok:
			k, r = 1, '×'
		default:
			lvl := 0
			if hi > 0 {
				lvl = int(float64(h.lat) / hi * float64(len(blocks)-1))
			}
			r = blocks[min(max(lvl, 0), len(blocks)-1)]
		}
		if k != kind {
			flush()
			kind = k
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}
