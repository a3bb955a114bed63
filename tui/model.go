package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/mossdev/mossdev/stack"
)

// settleAfter is how long the selection must rest before its counters and
// log are read at once (instead of at the next tick): holding j through
// the table does not fire a read per row.
const settleAfter = 150 * time.Millisecond

// flashFor is how long a message stays in the status line.
const flashFor = 6 * time.Second

// Model is the root model: it owns the data (a *world), schedules every
// read of the stack, and lays the components out.
type Model struct {
	c   Common
	ctx context.Context
	src Source
	opt Options
	w   *world

	screen Screen
	back   Screen // where esc returns from the detail pane

	services *servicesTable
	detail   *detailPane
	arch     *archView
	help     help.Model
	showHelp bool

	confirm *pending // an action waiting for y/n

	flash    string
	flashErr bool
	flashAt  time.Time

	statusBusy   bool
	countersBusy map[string]bool
	logsBusy     map[string]bool
	settleSeq    int
}

// pending is an action that needs confirming.
type pending struct{ op, name, question string }

var _ tea.Model = (*Model)(nil)

// New builds the UI for a stack. ctx bounds every read and action it runs.
func New(ctx context.Context, src Source, opt Options) *Model {
	opt = opt.withDefaults()
	c := Common{Styles: DefaultStyles(), Keys: DefaultKeyMap()}
	w := newWorld(src)
	m := &Model{c: c, ctx: ctx, src: src, opt: opt, w: w,
		countersBusy: map[string]bool{}, logsBusy: map[string]bool{}}
	m.services = newServicesTable(c, w)
	m.detail = newDetailPane(c, w)
	m.arch = newArchView(c, w)
	m.help = help.New()
	m.help.Styles = c.Styles.Help
	m.help.ShortSeparator = "  " // the whole bar fits in 80 columns
	m.screen, m.back = opt.Start, ScreenServices
	if m.screen == ScreenDetail {
		m.back = ScreenServices
	}
	return m
}

// Init starts the refresh loops: status now and every second, counters and
// the log of what is on screen now and every two seconds.
func (m *Model) Init() tea.Cmd {
	m.statusBusy = true
	return tea.Batch(
		pollStatus(m.ctx, m.src, m.opt.ProbeLimit),
		tickStatus(m.opt.StatusEvery),
		m.readCounters(),
		m.readLogs(),
		tickCounters(m.opt.CountersEvery),
	)
}

// Screen reports the current screen (for tests).
func (m *Model) Screen() Screen { return m.screen }

// Selected reports the selected service (for tests).
func (m *Model) Selected() string { return m.w.selected }

// State reports a service's state as last observed (for tests).
func (m *Model) State(name string) string {
	if s := m.w.by[name]; s != nil {
		return s.state()
	}
	return ""
}

// Size reports the size the model lays out for (for tests).
func (m *Model) Size() (int, int) { return m.c.Width, m.c.Height }

// readCounters reads the counters of what is on screen: every service in
// the architecture view, the selected one elsewhere.
func (m *Model) readCounters() tea.Cmd {
	var names []string
	if m.screen == ScreenArchitecture {
		names = m.w.withCounters()
	} else if s := m.w.sel(); s != nil && s.svc.Counters != nil {
		names = []string{s.svc.Name}
	}
	var todo []string
	for _, n := range names {
		if !m.countersBusy[n] {
			m.countersBusy[n] = true
			todo = append(todo, n)
		}
	}
	switch len(todo) {
	case 0:
		return nil
	case 1:
		return pollCounters(m.ctx, m.src, todo[0])
	}
	return pollCountersAll(m.ctx, m.src, todo)
}

// readLogs reads the selected service's log tail when the detail pane is up.
func (m *Model) readLogs() tea.Cmd {
	s := m.w.sel()
	if m.screen != ScreenDetail || s == nil || m.logsBusy[s.svc.Name] {
		return nil
	}
	m.logsBusy[s.svc.Name] = true
	return pollLogs(m.ctx, m.src, s.svc.Name, m.opt.LogLines)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case statusTickMsg:
		var cmds []tea.Cmd
		if !m.statusBusy {
			m.statusBusy = true
			cmds = append(cmds, pollStatus(m.ctx, m.src, m.opt.ProbeLimit))
		}
		if m.flash != "" && time.Since(m.flashAt) > flashFor {
			m.flash = ""
		}
		cmds = append(cmds, m.readLogs(), pollTraffic(m.src), tickStatus(m.opt.StatusEvery))
		return m, tea.Batch(cmds...)
	case trafficMsg:
		m.w.traffic = msg.snap
		return m, nil
	case trafficToggledMsg:
		if msg.err != nil {
			m.say(true, "traffic: %s", shortErr(msg.err.Error()))
		} else {
			m.say(false, "%s", msg.text)
		}
		return m, nil
	case countersTickMsg:
		return m, tea.Batch(m.readCounters(), tickCounters(m.opt.CountersEvery))
	case settledMsg:
		if msg.seq != m.settleSeq {
			return m, nil
		}
		return m, tea.Batch(m.readCounters(), m.readLogs())
	case statusMsg:
		m.statusBusy = false
		m.w.applyStatus(msg)
		return m, nil
	case countersMsg:
		m.applyCounters(msg)
		return m, nil
	case countersBatchMsg:
		for _, c := range msg {
			m.applyCounters(c)
		}
		return m, nil
	case logsMsg:
		m.logsBusy[msg.name] = false
		if s := m.w.by[msg.name]; s != nil {
			s.logs, s.logErr = msg.lines, ""
			if msg.err != nil {
				s.logErr = shortErr(msg.err.Error())
				if h := stack.Hint(msg.err); h != "" {
					s.logErr += " — " + h
				}
			}
		}
		return m, nil
	case actionMsg:
		if s := m.w.by[msg.name]; s != nil {
			s.busy = ""
		}
		if msg.err != nil {
			m.say(true, "%s %s failed: %s", msg.op, msg.name, shortErr(msg.err.Error()))
		} else {
			m.say(false, "%s %s: done in %.1fs", msg.op, msg.name, msg.took.Seconds())
		}
		// Show the outcome now rather than at the next tick.
		m.statusBusy = true
		return m, pollStatus(m.ctx, m.src, m.opt.ProbeLimit)
	}
	return m, nil
}

func (m *Model) applyCounters(msg countersMsg) {
	m.countersBusy[msg.name] = false
	if s := m.w.by[msg.name]; s != nil {
		s.countersAt = msg.at
		if msg.err != nil {
			s.countErr = shortErr(msg.err.Error())
		} else {
			s.counters, s.countErr = msg.counters, ""
		}
	}
}

func (m *Model) say(isErr bool, format string, args ...any) {
	m.flash, m.flashErr, m.flashAt = fmt.Sprintf(format, args...), isErr, time.Now()
}

func (m *Model) setSize(w, h int) {
	m.c.Width, m.c.Height = w, h
	m.help.SetWidth(w)
	ch := max(h-3, 0) // header, status line, help bar
	m.services.SetSize(w, ch)
	m.detail.SetSize(w, ch)
	m.arch.SetSize(w, ch)
}

func (m *Model) current() Component {
	switch m.screen {
	case ScreenArchitecture:
		return m.arch
	case ScreenDetail:
		return m.detail
	}
	return m.services
}

// show switches screens and reads what the new one shows at once.
func (m *Model) show(s Screen) tea.Cmd {
	if s == m.screen {
		return nil
	}
	if s == ScreenDetail {
		m.back = m.screen
	}
	if s == ScreenArchitecture {
		m.arch.follow()
	}
	if s == ScreenServices {
		m.services.scroll()
	}
	m.screen = s
	return tea.Batch(m.readCounters(), m.readLogs())
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	if k.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.confirm != nil {
		p := m.confirm
		m.confirm = nil
		if key.Matches(k, keys.Yes) {
			return m.act(p.op, p.name)
		}
		m.say(false, "%s %s: cancelled", p.op, p.name)
		return nil
	}
	switch {
	case key.Matches(k, keys.Quit):
		return tea.Quit
	case key.Matches(k, keys.Help):
		m.showHelp = !m.showHelp
		return nil
	case m.showHelp && key.Matches(k, keys.Back):
		m.showHelp = false
		return nil
	case key.Matches(k, keys.NextView), key.Matches(k, keys.PrevView):
		if m.screen == ScreenArchitecture {
			return m.show(ScreenServices)
		}
		return m.show(ScreenArchitecture)
	case key.Matches(k, keys.Services):
		return m.show(ScreenServices)
	case key.Matches(k, keys.Architecture):
		return m.show(ScreenArchitecture)
	case key.Matches(k, keys.Detail) && m.screen != ScreenDetail:
		if m.screen == ScreenArchitecture && m.arch.onApp() {
			m.say(false, "the app is your code: mossdev runs the platform under it")
			return nil
		}
		return m.show(ScreenDetail)
	case key.Matches(k, keys.Back) && m.screen == ScreenDetail:
		return m.show(m.back)
	case key.Matches(k, keys.Reveal):
		m.detail.reveal = !m.detail.reveal
		if m.screen != ScreenDetail {
			m.say(false, "secrets %s in the detail pane (enter)", map[bool]string{true: "shown", false: "masked"}[m.detail.reveal])
		}
		return nil
	case key.Matches(k, keys.Stop), key.Matches(k, keys.Start), key.Matches(k, keys.Restart):
		return m.ask(k)
	case key.Matches(k, keys.Traffic):
		return toggleTraffic(m.src)
	}
	before := m.w.selected
	cmd := m.current().Update(k)
	if m.w.selected != before {
		m.settleSeq++
		seq := m.settleSeq
		cmd = tea.Batch(cmd, tea.Tick(settleAfter, func(time.Time) tea.Msg { return settledMsg{seq} }))
	}
	return cmd
}

// ask checks an action on the selected service and asks to confirm the
// ones that stop something.
func (m *Model) ask(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	if m.screen == ScreenArchitecture && m.arch.onApp() {
		m.say(false, "the app is your code: select a service to stop or start")
		return nil
	}
	s := m.w.sel()
	if s == nil {
		return nil
	}
	name := s.svc.Name
	if s.busy != "" {
		m.say(false, "%s is %s already", name, s.busy)
		return nil
	}
	op := "stop"
	switch {
	case key.Matches(k, keys.Start):
		op = "start"
	case key.Matches(k, keys.Restart):
		op = "restart"
	}
	switch {
	case op == "stop" && s.state() == stack.StateStopped:
		m.say(false, "%s is stopped already (u starts it)", name)
		return nil
	case op == "start" && s.state() == stack.StateHealthy:
		m.say(false, "%s is healthy already", name)
		return nil
	case op == "start":
		return m.act(op, name)
	}
	deps := m.w.dependents[name]
	q := fmt.Sprintf("%s %s? ", strings.ToUpper(op[:1])+op[1:], name)
	switch {
	case len(deps) > 0 && op == "stop":
		q += andList(deps) + " need it and will turn unhealthy. "
	case len(deps) > 0:
		q += andList(deps) + " will fail until it is back. "
	}
	m.confirm = &pending{op: op, name: name, question: q}
	return nil
}

// act runs a confirmed action in the background.
func (m *Model) act(op, name string) tea.Cmd {
	s := m.w.by[name]
	if s == nil {
		return nil
	}
	s.busy = map[string]string{"stop": "stopping", "start": "starting", "restart": "restarting"}[op]
	m.say(false, "%s %s…", s.busy, name)
	return runAction(m.ctx, m.src, op, name)
}

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "mossdev: " + m.w.name
	return v
}

// render lays out header, content, status line and help bar.
func (m *Model) render() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	st := m.c.Styles
	var content string
	if m.showHelp {
		note := "States: ● healthy  ◌ starting  ✗ unhealthy  ○ stopped. q leaves the UI; the stack keeps running."
		content = st.Bold.Render("Keys") + "\n\n" + m.help.FullHelpView(helpKeys{m.c.Keys, m.screen}.FullHelp()) +
			"\n\n" + st.Dim.Render(strings.Join(wrap(note, w), "\n"))
	} else {
		content = m.current().View()
	}
	ch := max(h-3, 0)
	lines := strings.Split(content, "\n")
	if len(lines) > ch {
		lines = lines[:ch]
	}
	for i, l := range lines {
		if lipWidth(l) > w { // a safety net: components fit their lines already
			lines[i] = truncate(l, w)
		}
	}
	for len(lines) < ch {
		lines = append(lines, "")
	}
	out := make([]string, 0, h)
	out = append(out, m.header())
	out = append(out, lines...)
	out = append(out, m.statusLine(), fit(m.help.ShortHelpView(helpKeys{m.c.Keys, m.screen}.ShortHelp()), w))
	if len(out) > h {
		out = out[len(out)-h:]
	}
	return strings.Join(out, "\n")
}

func (m *Model) header() string {
	st := m.c.Styles
	tab := func(s Screen, label string) string {
		if m.screen == s || (s == ScreenServices && m.screen == ScreenDetail && m.back == ScreenServices) ||
			(s == ScreenArchitecture && m.screen == ScreenDetail && m.back == ScreenArchitecture) {
			return st.TabActive.Render(label)
		}
		return st.Tab.Render(label)
	}
	tabs := tab(ScreenServices, "1 Services") + "  " + tab(ScreenArchitecture, "2 Architecture")
	n := m.w.counts()
	var long, short []string
	for _, s := range []string{stack.StateHealthy, stack.StateStarting, stack.StateUnhealthy, stack.StateStopped} {
		if n[s] > 0 {
			long = append(long, st.state(s).Render(fmt.Sprintf("%d %s", n[s], s)))
			short = append(short, st.state(s).Render(fmt.Sprintf("%d%s", n[s], glyph(s))))
		}
	}
	if !m.w.polled {
		long, short = []string{st.Dim.Render("probing…")}, []string{st.Dim.Render("probing…")}
	}
	name := st.Title.Render("mossdev") + " " + m.w.name
	// The longest header that fits: the backend goes first, then the
	// state words give way to glyphs.
	for _, c := range [][2]string{
		{name + st.Dim.Render(" ("+m.w.backend+")") + "  " + tabs, strings.Join(long, st.Dim.Render(" · "))},
		{name + "  " + tabs, strings.Join(long, st.Dim.Render(" · "))},
		{name + "  " + tabs, strings.Join(short, " ")},
	} {
		if gap := m.c.Width - lipWidth(c[0]) - lipWidth(c[1]); gap >= 1 {
			return c[0] + strings.Repeat(" ", gap) + c[1]
		}
	}
	return fit(name+"  "+tabs, m.c.Width)
}

func (m *Model) statusLine() string {
	st := m.c.Styles
	w := m.c.Width
	if m.confirm != nil {
		verb := m.confirm.op
		return fit(st.Confirm.Render(m.confirm.question)+st.Key.Render("y")+" "+verb+"  "+st.Key.Render("n")+" cancel", w)
	}
	right := ""
	if m.w.statErr != "" {
		right = st.Error.Render("status: " + m.w.statErr)
	} else if m.w.polled {
		right = st.Dim.Render(fmt.Sprintf("probed %s in %s", m.w.now.Format("15:04:05"), latency(m.w.took)))
		if m.w.mem.Services > 0 {
			// The stack's total: PSS where the kernel gives it, so the
			// sum counts shared pages once.
			right = st.Dim.Render(fmt.Sprintf("mem %s %s · ", bytesize(m.w.mem.Bytes), strings.ToUpper(m.w.mem.Kind))) + right
		}
	}
	left := ""
	if m.flash != "" {
		left = st.Flash.Render(m.flash)
		if m.flashErr {
			left = st.Error.Render(m.flash)
		}
	}
	gap := w - lipWidth(left) - lipWidth(right)
	if gap < 1 {
		return fit(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}
