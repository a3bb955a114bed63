package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every binding; the help bar and `?` are generated from it.
// Vim keys and arrows both work.
type KeyMap struct {
	Up, Down, Left, Right, Top, Bottom key.Binding
	Detail, Back, NextView, PrevView   key.Binding
	Services, Architecture             key.Binding
	Stop, Start, Restart, Reveal       key.Binding
	Traffic                            key.Binding
	Yes, No                            key.Binding
	Help, Quit                         key.Binding
}

// DefaultKeyMap is the keymap shown by `?`.
func DefaultKeyMap() *KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return &KeyMap{
		Up:           b([]string{"up", "k"}, "↑/k", "up"),
		Down:         b([]string{"down", "j"}, "↓/j", "down"),
		Left:         b([]string{"left", "h"}, "←/h", "left"),
		Right:        b([]string{"right", "l"}, "→/l", "right"),
		Top:          b([]string{"home", "g"}, "g/home", "first"),
		Bottom:       b([]string{"end", "G"}, "G/end", "last"),
		Detail:       b([]string{"enter"}, "enter", "detail"),
		Back:         b([]string{"esc", "backspace"}, "esc", "back"),
		NextView:     b([]string{"tab"}, "tab", "switch view"),
		PrevView:     b([]string{"shift+tab"}, "shift+tab", "switch view"),
		Services:     b([]string{"1"}, "1", "services"),
		Architecture: b([]string{"2"}, "2", "architecture"),
		Stop:         b([]string{"s"}, "s", "stop"),
		Start:        b([]string{"u"}, "u", "start"),
		Restart:      b([]string{"r"}, "r", "restart"),
		Reveal:       b([]string{"v"}, "v", "show/hide secrets"),
		Traffic:      b([]string{"t"}, "t", "start/stop traffic"),
		Yes:          b([]string{"y", "Y"}, "y", "confirm"),
		No:           b([]string{"n", "N", "esc"}, "n/esc", "cancel"),
		Help:         b([]string{"?"}, "?", "all keys"),
		Quit:         b([]string{"q", "ctrl+c"}, "q", "quit (stack keeps running)"),
	}
}

// helpKeys adapts the keymap to bubbles/help for one screen: the short bar
// shows what matters there, `?` shows everything.
type helpKeys struct {
	k      *KeyMap
	screen Screen
}

func (h helpKeys) ShortHelp() []key.Binding {
	k := h.k
	quit := key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit"))
	more := key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys"))
	views := key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "view"))
	switch h.screen {
	case ScreenDetail:
		reveal := key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "secrets"))
		return []key.Binding{k.Back, reveal, k.Stop, k.Start, k.Restart, more, quit}
	case ScreenArchitecture:
		move := key.NewBinding(key.WithKeys("left"), key.WithHelp("←↑↓→", "select"))
		traffic := key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "traffic"))
		return []key.Binding{move, k.Detail, views, k.Stop, k.Start, k.Restart, traffic, more, quit}
	}
	move := key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓", "select"))
	return []key.Binding{move, k.Detail, views, k.Stop, k.Start, k.Restart, more, quit}
}

func (h helpKeys) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		{k.Up, k.Down, k.Left, k.Right, k.Top, k.Bottom},
		{k.Detail, k.Back, k.NextView, k.Services, k.Architecture, k.Reveal},
		{k.Stop, k.Start, k.Restart, k.Traffic, k.Yes, k.No},
		{k.Help, k.Quit},
	}
}
