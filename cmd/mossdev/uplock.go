package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mossdev/mossdev/stack"
)

// lockName is up's lock file in the stack directory.
const lockName = "up.lock"

// lockUp makes ups of one stack take turns: a second up would otherwise
// read the state before the first wrote it and create the stack again
// (new secrets, new ports) under the first one's running servers. It is
// taken before the stack is opened, so the holder's state is what the
// next one reads. The lock is flock(2) on a file: the kernel drops it when
// the holder dies, so a killed up never leaves the stack locked. A second
// up waits, naming the holder's pid, until ctx ends.
func lockUp(ctx context.Context, dir string, w io.Writer) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock stack: %w", err)
	}
	p := filepath.Join(dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock stack: %w", err)
	}
	said := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock stack: %w", err)
		}
		holder := lockHolder(p)
		if !said {
			fmt.Fprintf(w, "stack %s: another `mossdev up` (pid %s) is bringing it up; waiting for it (Ctrl-C to stop waiting)\n", filepath.Base(dir), holder)
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, &stack.Error{Op: "lock stack " + filepath.Base(dir), Err: ctx.Err(),
				Detail: fmt.Sprintf("another `mossdev up` (pid %s) still holds %s", holder, p),
				Fix:    "wait for it to finish (or stop it), then run up again"}
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		// Up may not have created the stack (bad input, Ctrl-C before
		// anything started): then leave no directory behind for it.
		if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
			_ = os.Remove(p)
			_ = os.Remove(dir)
		}
		f.Close()
	}, nil
}

func lockHolder(p string) string {
	b, _ := os.ReadFile(p)
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "unknown"
}
