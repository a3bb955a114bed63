package display

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The pseudo-terminal is opened with Linux's ioctls; on other systems the
// mode is still picked by the same code, this test just does not run there.

func TestModeIsPickedFromFlagsThenTerminal(t *testing.T) {
	t.Setenv("TERM", "xterm")
	pty := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	for _, c := range []struct {
		name        string
		w           io.Writer
		json, quiet bool
		want        Mode
	}{
		{"terminal", pty, false, false, TTY},
		{"terminal --json", pty, true, false, JSON},
		{"terminal --quiet", pty, false, true, Quiet},
		{"--json --quiet", pty, true, true, Quiet},
		{"pipe", w, false, false, Plain},
		{"buffer", &bytes.Buffer{}, false, false, Plain},
		{"pipe --json", w, true, false, JSON},
	} {
		if got := ModeFor(c.w, c.json, c.quiet); got != c.want {
			t.Errorf("%s: mode %s, want %s", c.name, got, c.want)
		}
	}
	t.Setenv("TERM", "dumb")
	if got := ModeFor(pty, false, false); got != Plain {
		t.Errorf("terminal with TERM=dumb: mode %s, want plain", got)
	}
}

// openPTY opens a pseudo-terminal and returns its terminal side: a real
// terminal for ModeFor, without needing one around the test.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("name pty: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
