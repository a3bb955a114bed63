package main

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
)

// open opens the stack named by the global flags.
func (g *globals) open(cfg stack.Config) (*stack.Stack, error) {
	cfg.Name = g.name
	cfg.Root = g.home
	return platform.Open(cfg)
}

// existing opens a stack that must already exist.
func (g *globals) existing() (*stack.Stack, error) {
	s, err := g.open(stack.Config{})
	if err != nil {
		return nil, err
	}
	if !s.Exists() {
		if _, err := s.Runtime(); err != nil {
			return nil, err
		}
	}
	return s, nil
}
