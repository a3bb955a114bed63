package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
	"github.com/mossdev/mossdev/stack"
)

// Styles are every style the UI draws with. Colours are the terminal's 16
// ANSI colours, so they follow its theme; every state is also written in
// words and marked with its own glyph, so nothing depends on colour
// (NO_COLOR turns colour off in the renderer, see Run).
type Styles struct {
	Title, Tab, TabActive, Dim, Bold, Header, Selected, Cursor lipgloss.Style
	Key, Label, Error, Flash, Confirm, Rule                    lipgloss.Style
	State                                                      map[string]lipgloss.Style
	Spark, SparkFail                                           lipgloss.Style
	App                                                        lipgloss.Style
	Help                                                       help.Styles
}

// DefaultStyles builds the palette.
func DefaultStyles() *Styles {
	c := func(s string) lipgloss.Style { return lipgloss.NewStyle().Foreground(lipgloss.Color(s)) }
	s := &Styles{
		Title:     lipgloss.NewStyle().Bold(true),
		Tab:       lipgloss.NewStyle().Faint(true),
		TabActive: lipgloss.NewStyle().Bold(true).Underline(true),
		Dim:       lipgloss.NewStyle().Faint(true),
		Bold:      lipgloss.NewStyle().Bold(true),
		Header:    lipgloss.NewStyle().Bold(true),
		Selected:  lipgloss.NewStyle().Bold(true),
		Cursor:    c("6").Bold(true),
		Key:       c("6").Bold(true),
		Label:     c("4").Bold(true),
		Error:     c("1"),
		Flash:     c("6"),
		Confirm:   c("3").Bold(true),
		Rule:      lipgloss.NewStyle().Faint(true),
		Spark:     c("6"),
		SparkFail: c("1").Bold(true),
		App:       lipgloss.NewStyle(),
		State: map[string]lipgloss.Style{
			stack.StateHealthy:   c("2"),
			stack.StateStarting:  c("3"),
			stack.StateUnhealthy: c("1").Bold(true),
			stack.StateStopped:   c("8"),
			"":                   lipgloss.NewStyle().Faint(true),
		},
	}
	s.Help = help.Styles{
		ShortKey:       s.Key,
		ShortDesc:      lipgloss.NewStyle(),
		ShortSeparator: s.Dim,
		Ellipsis:       s.Dim,
		FullKey:        s.Key,
		FullDesc:       lipgloss.NewStyle(),
		FullSeparator:  s.Dim,
	}
	return s
}

// state returns the style of a service state.
func (s *Styles) state(st string) lipgloss.Style {
	if x, ok := s.State[st]; ok {
		return x
	}
	return s.State[""]
}

// glyph marks a state without colour: ● healthy, ◌ starting, ✗ unhealthy,
// ○ stopped, · unknown (no status yet).
func glyph(state string) string {
	switch state {
	case stack.StateHealthy:
		return "●"
	case stack.StateStarting:
		return "◌"
	case stack.StateUnhealthy:
		return "✗"
	case stack.StateStopped:
		return "○"
	}
	return "·"
}

// worst orders states by how much attention they need.
func worst(states ...string) string {
	rank := map[string]int{stack.StateHealthy: 1, stack.StateStopped: 2, stack.StateStarting: 3, stack.StateUnhealthy: 4}
	w := ""
	for _, s := range states {
		if rank[s] > rank[w] {
			w = s
		}
	}
	return w
}
