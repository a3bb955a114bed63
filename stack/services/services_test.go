package services

import (
	"testing"

	"github.com/mossdev/mossdev/stack"
)

// Every component explains itself to a new hire: the TUI shows nothing of
// its own for a service.
func TestEveryServiceExplainsItself(t *testing.T) {
	for _, s := range Platform(stack.DefaultOptions(), "native") {
		if len(s.Explain) < 40 {
			t.Errorf("%s: Explain is %q, want a few sentences for a new hire", s.Name, s.Explain)
		}
	}
}
