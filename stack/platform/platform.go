// Package platform is the composition root: it opens a stack of the Mossi
// platform (package services) on a backend by name. The CLI and the Go API
// (stacktest) both open stacks through it, so they cannot drift apart.
package platform

import (
	"fmt"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/native"
	"github.com/mossdev/mossdev/stack/services"
)

// Backends lists the backend names Open accepts.
var Backends = []string{"native"}

// Open opens (without starting) the named stack of the Mossi platform.
func Open(cfg stack.Config) (*stack.Stack, error) {
	cfg.Services = services.Platform
	cfg.NewBackend = newBackend
	return stack.Open(cfg)
}

func newBackend(name, stackName, dir string) (stack.Backend, error) {
	switch name {
	case "native", "":
		return native.New(stackName, dir), nil
	default:
		return nil, &stack.Error{Op: "choose backend", Err: stack.ErrBadInput, Detail: fmt.Sprintf("%q", name),
			Fix: "use --backend native"}
	}
}
