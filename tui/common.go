package tui

import tea "charm.land/bubbletea/v2"

// Common is what every component shares: styles, keys and the size of the
// area it draws in (soft-serve's common.Common).
type Common struct {
	Styles        *Styles
	Keys          *KeyMap
	Width, Height int
}

// Component is one part of the screen. Components read the root model's
// data (a *world) and draw it; Update handles the keys that belong to them.
type Component interface {
	Init() tea.Cmd
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
}
