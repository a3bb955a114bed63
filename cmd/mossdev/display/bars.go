package display

import (
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/mossdev/mossdev/stack"
)

// bars draws one progress bar per store or image (bubbles' progress, rendered
// statically with ViewAs: the figures arrive five times a second, so
// spring animation would only lag behind them).
type bars struct {
	prog *tea.Program
	done chan struct{}
}

type barModel struct {
	bar      progress.Model
	order    []string // stores in the order they were first heard of
	events   map[string]stack.Event
	snapshot *stack.Event
	start    time.Time
}

type barQuit struct{}

func startBars(w io.Writer) *bars {
	m := barModel{bar: progress.New(progress.WithDefaultBlend(), progress.WithWidth(36)),
		events: map[string]stack.Event{}, start: time.Now()}
	b := &bars{done: make(chan struct{})}
	// The size is for an output that is no terminal (a test's buffer): a
	// terminal reports its own.
	b.prog = tea.NewProgram(m, tea.WithOutput(w), tea.WithInput(nil), tea.WithoutSignalHandler(), tea.WithWindowSize(80, 24))
	go func() {
		defer close(b.done)
		_, _ = b.prog.Run()
	}()
	return b
}

func (b *bars) send(e stack.Event) { b.prog.Send(e) }

func (b *bars) println(line string) { b.prog.Println(line) }

func (b *bars) stop() {
	b.prog.Send(barQuit{})
	<-b.done
}

func (m barModel) Init() tea.Cmd { return nil }

func (m barModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case stack.Event:
		if msg.Kind == stack.EventSnapshot {
			m.snapshot = &msg
			break
		}
		if _, ok := m.events[msg.Service]; !ok {
			m.order = append(m.order, msg.Service)
		}
		m.events[msg.Service] = msg
	case barQuit:
		return m, tea.Quit
	}
	return m, nil
}

func (m barModel) View() tea.View {
	var b strings.Builder
	// Image references run longer than store names: one column fits all.
	width := 14
	for _, name := range m.order {
		width = max(width, len(name))
	}
	for _, name := range m.order {
		e := m.events[name]
		name := fmt.Sprintf("%-*s", width, name)
		pct := 0.0
		if e.Total > 0 {
			pct = float64(e.Done) / float64(e.Total)
		}
		switch e.Kind {
		case stack.EventKept:
			fmt.Fprintf(&b, "%s %s kept (already seeded)\n", name, m.bar.ViewAs(1))
		case stack.EventSkipped:
			fmt.Fprintf(&b, "%s %s skipped (--only)\n", name, m.bar.ViewAs(0))
		case stack.EventFailed:
			fmt.Fprintf(&b, "%s %s failed: %s\n", name, m.bar.ViewAs(pct), FirstLine(e.Message))
		case stack.EventPulled, stack.EventCached:
			fmt.Fprintf(&b, "%s %s %s\n", name, m.bar.ViewAs(1), Describe(e))
		case stack.EventPulling:
			fmt.Fprintf(&b, "%s %s %s\n", name, m.bar.ViewAs(pct), megabytes(e.Done, e.Total))
		case stack.EventDrifted:
			fmt.Fprintf(&b, "%s %s drifted: %s\n", name, m.bar.ViewAs(1), FirstLine(e.Message))
		case stack.EventLoaded:
			if e.Step == stack.StepSave || e.Step == stack.StepRestore {
				fmt.Fprintf(&b, "%s %s %s\n", name, m.bar.ViewAs(1), Describe(e))
				break
			}
			fmt.Fprintf(&b, "%s %s %d rows, %.1fs\n", name, m.bar.ViewAs(1), e.Done, e.Elapsed.Seconds())
		case stack.EventLoading:
			if e.Total == 0 { // a checkpoint's store: not counted
				fmt.Fprintf(&b, "%s %s %s\n", name, m.bar.ViewAs(0), e.Step+"…")
				break
			}
			fallthrough
		default:
			rate := 0.0
			if e.Elapsed > 0 {
				rate = float64(e.Done) / e.Elapsed.Seconds()
			}
			fmt.Fprintf(&b, "%s %s %d/%d  %.0f/s\n", name, m.bar.ViewAs(pct), e.Done, e.Total, rate)
		}
	}
	if m.snapshot != nil {
		fmt.Fprintf(&b, "%-*s %s\n", width, "", Describe(*m.snapshot))
	}
	fmt.Fprintf(&b, "elapsed %.1fs\n", time.Since(m.start).Seconds())
	return tea.NewView(b.String())
}
