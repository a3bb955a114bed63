package display

import (
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// pullEvents is `up`'s pull phase: one image present, one downloading
// (throttled on a line), one that fails.
var pullEvents = []stack.Event{
	{Time: at(0), Service: "mossdev-ci/redis:7", Step: stack.StepPull, Kind: stack.EventPulled, Message: "already present"},
	{Time: at(0), Service: "postgres:16", Step: stack.StepPull, Kind: stack.EventPulling},
	{Time: at(0.3), Service: "postgres:16", Step: stack.StepPull, Kind: stack.EventPulling, Done: 1e6, Total: 4e6},
	{Time: at(0.6), Service: "postgres:16", Step: stack.StepPull, Kind: stack.EventPulling, Done: 2e6, Total: 8e6},
	{Time: at(2.1), Service: "postgres:16", Step: stack.StepPull, Kind: stack.EventPulling, Done: 6e6, Total: 8e6},
	{Time: at(2.5), Service: "postgres:16", Step: stack.StepPull, Kind: stack.EventPulled, Done: 8e6, Total: 8e6, Elapsed: 2500 * time.Millisecond, Message: "pulled"},
	{Time: at(2.6), Service: "mongo:7", Step: stack.StepPull, Kind: stack.EventFailed, Message: "the engine could not pull it: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"},
}

func TestPlainShowsPullsThrottled(t *testing.T) {
	want := `  0.00s  mossdev-ci/redis:7 already present
  0.00s  postgres:16    pulling
  2.10s  postgres:16    pulling 6.0/8.0 MB (75%)
  2.50s  postgres:16    pulled: 8.0 MB in 2.5s
  2.60s  mongo:7        failed: the engine could not pull it: Get "https://registry-1.docker.io/v2/": dial tcp: lookup ...
`
	if got := showAll(t, Plain, pullEvents); got != want {
		t.Errorf("plain display:\n%s\nwant:\n%s", got, want)
	}
}

func TestTTYDrawsBarsForPulls(t *testing.T) {
	got := showAll(t, TTY, pullEvents)
	for _, want := range []string{"mossdev-ci/redis:7", "already present", "postgres:16", "pulled: 8.0 MB", "mongo:7", "failed: the engine could"} {
		if !strings.Contains(got, want) {
			t.Errorf("tty display lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pulling 6.0/8.0 MB (75%)") {
		t.Errorf("tty display wrote a pull's progress as a line:\n%s", got)
	}
}
