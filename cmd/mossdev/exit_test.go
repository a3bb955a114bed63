package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
)

// A seed or reset that finds another one running exits with its own code
// and says, once, what to do.
func TestBusySeedExitsSevenWithItsFix(t *testing.T) {
	for _, verb := range []string{"seed", "reset"} {
		err := loadError(verb, "ci", fmt.Errorf("%s: %w", verb, load.ErrBusy), "the generic fix")
		if got := exitCode(err); got != exitBusy {
			t.Errorf("%s: exit %d, want %d", verb, got, exitBusy)
		}
		var out bytes.Buffer
		printError(&out, err)
		want := "mossdev: " + verb + " ci: " + verb + ": another seed or reset is running on this stack\n" +
			"  fix: wait for the other `mossdev seed` or `mossdev reset` on stack ci to finish, then run this again\n"
		if out.String() != want {
			t.Errorf("%s printed:\n%s\nwant:\n%s", verb, out.String(), want)
		}
	}
	if !strings.Contains(exitHelp, "7    another seed or reset") {
		t.Errorf("exit 7 is not documented in --help:\n%s", exitHelp)
	}
}

// A failed pull and an image that drifted from mossdev.lock are missing
// images (exit 5); Ctrl-C during a pull is an interrupt (exit 130).
func TestPullFailuresExitFive(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"failed pull", &stack.Error{Op: "pull image x:1", Err: stack.ErrImageMissing}, exitMissing},
		{"drifted tag", &stack.Error{Op: "check images against mossdev.lock", Err: stack.ErrDrift}, exitMissing},
		{"interrupted pull", &stack.Error{Op: "pull image x:1", Err: fmt.Errorf("%w, %w", stack.ErrImageMissing, context.Canceled)}, exitInterrupted},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}
