package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"golang.org/x/sys/unix"
)

// Run shows the UI on the terminal until the user quits (q or Ctrl-C) or
// ctx ends. Quitting leaves the stack running.
//
// While the UI owns the screen, the process's stderr goes to stderrLog
// (when not empty): client libraries log to stderr on their own (go-redis
// when a shard refuses a connection, the MySQL driver on a broken packet),
// and a line written there would scroll the screen under the renderer,
// which only redraws what it believes changed.
func Run(ctx context.Context, src Source, opt Options, stderrLog string) error {
	if stderrLog != "" {
		restore, err := redirectStderr(stderrLog)
		if err != nil {
			return err
		}
		defer restore()
	}
	p := tea.NewProgram(New(ctx, src, opt), ProgramOptions(ctx, os.Environ())...)
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted from outside: leave as quietly as q
	}
	return err
}

// redirectStderr points file descriptor 2 at path (appending) and returns
// the function that puts it back.
func redirectStderr(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	saved, err := unix.Dup(2)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		f.Close()
		unix.Close(saved)
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	return func() {
		_ = unix.Dup2(saved, 2)
		unix.Close(saved)
		f.Close()
	}, nil
}

// ProgramOptions are the program settings Run uses. NO_COLOR is honoured
// whatever its value (https://no-color.org: "present and not empty"); the
// library alone only honours values that parse as true.
func ProgramOptions(ctx context.Context, environ []string) []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithEnvironment(environ),
		// Frames are redrawn only when something changed; 30 fps is plenty
		// for a view that changes about once a second.
		tea.WithFPS(30)}
	if noColor(environ) {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	return opts
}

func noColor(environ []string) bool {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return true
		}
	}
	return false
}
