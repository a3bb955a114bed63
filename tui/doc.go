// Package tui is mossdev's terminal UI: the live health of a running stack,
// what each component is for, how data flows between them, and what happens
// when one of them dies.
//
// It follows the soft-serve model: a root Model owns the screen and the
// data; components (the services table, the detail pane, the architecture
// diagram) implement Component and share one Common of styles, keys and
// size. Everything that touches the stack runs as a tea.Cmd that returns a
// typed message (statusMsg, countersMsg, logsMsg, actionMsg), driven by
// tea.Tick: Status once a second, counters and logs for what is on screen.
// View only renders what those messages brought; it never polls.
//
// The stack is reached through Source, which *stack.Stack satisfies, so the
// model tests run against an in-memory source.
package tui
