package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second up of one stack waits for the first, naming its pid, and gets
// the lock once the first lets go; up that created nothing leaves no dir.
func TestSecondUpWaitsForTheFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s1")
	unlock, err := lockUp(t.Context(), dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = lockUp(ctx, dir, &msg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v, want it to wait until the deadline", err)
	}
	pid := fmt.Sprint(os.Getpid())
	if want := "another `mossdev up` (pid " + pid + ") is bringing it up; waiting"; !strings.Contains(msg.String(), want) {
		t.Errorf("said %q, want %q", msg.String(), want)
	}
	if !strings.Contains(err.Error(), "(pid "+pid+") still holds") {
		t.Errorf("error %q does not name the holder", err)
	}

	got := make(chan error, 1)
	go func() {
		u, err := lockUp(t.Context(), dir, &bytes.Buffer{})
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("took the lock while it was held: %v", err)
	default:
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting 5s after the holder let go")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stack that was never created left %s behind: %v", dir, err)
	}
}
