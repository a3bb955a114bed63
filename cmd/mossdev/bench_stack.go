package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mossdev/mossdev/stack"
)

// benchStack is the stack a bench measures: the existing one named, or a
// throwaway one (prefix-PID) brought up now. done takes the throwaway one
// down unless keep; it does nothing for an existing one.
func benchStack(ctx context.Context, g *globals, existing, prefix string, opts stack.Options, keep bool) (s *stack.Stack, done func(), err error) {
	if existing != "" {
		s, err = (&globals{name: existing, home: g.home}).existing()
		return s, func() {}, err
	}
	name := fmt.Sprintf("%s-%d", prefix, os.Getpid())
	if s, err = (&globals{name: name, home: g.home}).open(stack.Config{Options: opts}); err != nil {
		return nil, nil, err
	}
	done = func() {
		if keep {
			return
		}
		if err := s.Down(context.WithoutCancel(ctx), false); err != nil {
			fmt.Fprintf(g.stderr, "bench: down %s: %v\n", name, err)
		}
	}
	fmt.Fprintf(g.stderr, "bringing up stack %s...\n", name)
	rep, err := s.Up(ctx, nil)
	if err != nil {
		done()
		return nil, nil, err
	}
	fmt.Fprintf(g.stderr, "up in %.1fs\n", rep.Elapsed.Seconds())
	return s, done, nil
}
