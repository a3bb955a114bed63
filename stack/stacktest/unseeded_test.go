package stacktest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack/stacktest"
)

// fatalTB records a Fatal instead of failing the real test, so a test can
// check that a call fails (not skips) and how.
type fatalTB struct {
	testing.TB
	msg     string
	skipped bool
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatal(args ...any)                { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fatalTB) Skip(args ...any)                 { f.skipped = true; runtime.Goexit() }
func (f *fatalTB) Skipf(format string, args ...any) { f.skipped = true; runtime.Goexit() }
func (f *fatalTB) SkipNow()                         { f.skipped = true; runtime.Goexit() }

// run calls fn with a fatalTB in its own goroutine (Fatal ends it there).
func run(t *testing.T, fn func(testing.TB)) *fatalTB {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// This package's stack is not seeded (no WithSeed): Reset and Isolated
// must fail the test, never skip it, and say how to seed.
func TestResetAndIsolatedFailOnAnUnseededStack(t *testing.T) {
	for name, fn := range map[string]func(testing.TB){
		"Reset":    func(tb testing.TB) { stacktest.Reset(tb) },
		"Isolated": func(tb testing.TB) { stacktest.Isolated(tb) },
	} {
		f := run(t, fn)
		if f.skipped || f.msg == "" {
			t.Errorf("%s on an unseeded stack: skipped=%v, message %q; want a failure", name, f.skipped, f.msg)
			continue
		}
		if !strings.Contains(f.msg, "never seeded") || !strings.Contains(f.msg, "stacktest.WithSeed(") {
			t.Errorf("%s: %q, want it to say the stack was never seeded and to give WithSeed", name, f.msg)
		}
	}
}
