package seedtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/seed/verify"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// The whole platform (every store is seeded), kept light: one RabbitMQ node.
func TestMain(m *testing.M) {
	stacktest.Main(m, stacktest.WithOptions(stack.Options{RedisShards: 3, RabbitNodes: 1}),
		stacktest.WithTimeout(4*time.Minute))
}

// params is the dataset every test starts from: small scale, a seed of
// its own.
var params = seed.Params{Seed: 7, Scale: seed.Small}

func targets(t *testing.T) load.Targets {
	t.Helper()
	return load.TargetsFor(stacktest.Runtime(t))
}

var seedOnce sync.Once
var seedErr error

// seeded seeds the stack once per test binary, and returns the dataset.
func seeded(t *testing.T) *seed.Dataset {
	t.Helper()
	seedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, _, seedErr = checkpoint.Seed(ctx, checkpoint.For(stacktest.Runtime(t)), params, load.Options{}, checkpoint.Options{})
	})
	if seedErr != nil {
		t.Fatalf("seed: %v", seedErr)
	}
	ds, err := seed.New(params)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// mustVerify fails the test unless every check passes.
func mustVerify(t *testing.T) *verify.Report {
	t.Helper()
	rep, err := verify.Run(t.Context(), targets(t), verify.Options{})
	if err != nil {
		if rep != nil {
			for _, f := range rep.Failures() {
				t.Log(f)
			}
		}
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// mustReset returns the stack to the seeded state (the seed's checkpoint)
// or fails the test.
func mustReset(t *testing.T) *checkpoint.Result {
	t.Helper()
	res, err := checkpoint.Reset(context.WithoutCancel(t.Context()), checkpoint.For(stacktest.Runtime(t)), ckOptions(t))
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	return res
}
