// Package serve runs one of mossdev's fakes when the process was started in
// serve mode (see package fakes). Binaries that may be asked to serve — the
// mossdev command, and test binaries through stacktest.Main — call IfAsked
// first thing in main or TestMain.
package serve

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mossdev/mossdev/fakes"
)

// IfAsked serves the fake named by MOSSDEV_SERVE until SIGTERM/SIGINT and
// returns true; without the variable it returns false at once. On a serve
// error it prints the error and exits 1 (the backend shows the log tail).
func IfAsked() bool {
	kind := os.Getenv(fakes.EnvKind)
	if kind == "" {
		return false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, kind, []byte(os.Getenv(fakes.EnvConfig))); err != nil {
		fmt.Fprintf(os.Stderr, "mossdev serve %s: %v\n", kind, err)
		os.Exit(1)
	}
	return true
}

// Run serves one fake with its JSON config until ctx ends.
func Run(ctx context.Context, kind string, config []byte) error {
	r, ok := runners[kind]
	if !ok {
		return fmt.Errorf("unknown fake %q", kind)
	}
	return r(ctx, config)
}

var runners = map[string]func(context.Context, []byte) error{}
