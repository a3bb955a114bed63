package display

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// events is an `up --backend auto` that waits on RabbitMQ, then the seed
// after it: every kind of line a display must handle.
var events = []stack.Event{
	{Time: at(0), Kind: stack.EventBackend, Message: "backend native (auto): no docker engine answers (dial unix: no such file)"},
	{Time: at(0), Service: "rabbitmq-2", Kind: stack.EventPlanned, Message: "start"},
	{Time: at(0.5), Service: "rabbitmq-2", Kind: stack.EventStarting},
	{Time: at(5.5), Service: "rabbitmq-2", Kind: stack.EventWaiting, Message: "AMQP on 127.0.0.1:5672: dial tcp 127.0.0.1:5672: connect: connection refused"},
	{Time: at(6.5), Service: "rabbitmq-2", Kind: stack.EventWaiting, Message: "AMQP on 127.0.0.1:5672: too soon to repeat"},
	{Time: at(10.6), Service: "rabbitmq-2", Kind: stack.EventWaiting, Message: "AMQP on 127.0.0.1:5672: EOF\nsecond line"},
	{Time: at(12.3), Service: "rabbitmq-2", Kind: stack.EventHealthy, Message: "11.80s"},
	{Time: at(12.4), Service: "redis", Step: stack.StepSeed, Kind: stack.EventKept, Done: 40, Total: 40, Message: "ds-1a2b (40 rows)"},
	{Time: at(12.4), Service: "s3", Step: stack.StepSeed, Kind: stack.EventSkipped, Message: "nothing"},
	{Time: at(12.5), Service: "postgres", Step: stack.StepSeed, Kind: stack.EventLoading, Total: 1000},
	{Time: at(13.0), Service: "postgres", Step: stack.StepSeed, Kind: stack.EventLoading, Done: 250, Total: 1000, Elapsed: 500 * time.Millisecond},
	{Time: at(14.6), Service: "postgres", Step: stack.StepSeed, Kind: stack.EventLoading, Done: 800, Total: 1000, Elapsed: 2100 * time.Millisecond},
	{Time: at(14.7), Service: "postgres", Step: stack.StepSeed, Kind: stack.EventLoaded, Done: 1000, Total: 1000, Elapsed: 2200 * time.Millisecond, Message: "loaded"},
	{Time: at(14.8), Service: "mariadb", Step: stack.StepSeed, Kind: stack.EventFailed, Message: "load hashtags: Error 1366\nat row 12"},
	{Time: at(15.0), Service: "postgres", Step: stack.StepSeed, Kind: stack.EventSnapshot, Message: "mossi_seed"},
}

func show(t *testing.T, mode Mode) string {
	t.Helper()
	return showAll(t, mode, events)
}

// showAll is what a display in mode writes for evs.
func showAll(t *testing.T, mode Mode, evs []stack.Event) string {
	t.Helper()
	var b bytes.Buffer
	d := New(&b, mode)
	d.t0 = t0
	for _, e := range evs {
		d.Event(e)
	}
	d.Close()
	return b.String()
}

func TestPlainShowsEachStepWaitsAndSeedProgressThrottled(t *testing.T) {
	want := `backend native (auto): no docker engine answers (dial unix: no such file)
  0.50s  rabbitmq-2     starting
  5.50s  rabbitmq-2     waiting (AMQP on 127.0.0.1:5672: dial tcp 127.0.0.1:5672: connect: connection refused)
 10.60s  rabbitmq-2     waiting (AMQP on 127.0.0.1:5672: EOF)
 12.30s  rabbitmq-2     healthy (11.80s)
 12.40s  redis          kept: already holds ds-1a2b (40 rows)
 12.40s  s3             skipped (--only): holds nothing
 12.50s  postgres       loading 0/1000 (0%)
 14.60s  postgres       loading 800/1000 (80%)
 14.70s  postgres       loaded: 1000 rows in 2.20s
 14.80s  mariadb        failed: load hashtags: Error 1366
 15.00s  postgres       copying the database to mossi_seed and warming it
`
	if got := show(t, Plain); got != want {
		t.Errorf("plain display:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONShowsEveryEventAsALine(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(show(t, JSON), "\n"), "\n")
	if len(lines) != len(events) {
		t.Fatalf("%d JSON lines for %d events:\n%s", len(lines), len(events), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		var got stack.Event
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if !got.Time.Equal(events[i].Time) {
			t.Errorf("line %d: time %v, want %v", i, got.Time, events[i].Time)
		}
		got.Time = events[i].Time
		if got != events[i] {
			t.Errorf("line %d: %+v, want %+v", i, got, events[i])
		}
	}
	// A reader gets the counts by name, not by position.
	if !strings.Contains(lines[11], `"done":800,"total":1000,"elapsedNs":2100000000`) || !strings.Contains(lines[11], `"step":"seed"`) {
		t.Errorf("seed progress line: %s", lines[11])
	}
}

func TestQuietShowsNothing(t *testing.T) {
	if got := show(t, Quiet); got != "" {
		t.Errorf("quiet display wrote %q", got)
	}
}

// On a terminal, a service's steps are lines and the stores get bars; the
// last frame stays on screen after Close.
func TestTTYDrawsBarsForStores(t *testing.T) {
	got := show(t, TTY)
	for _, want := range []string{
		"rabbitmq-2     healthy (11.80s)", // a line, before the bars
		"postgres", "1000 rows, 2.2s",
		"redis", "kept (already seeded)",
		"mariadb", "failed: load hashtags", // cut at 80 columns
		"copying the database to mossi_seed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("tty display lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "loading 800/1000") {
		t.Errorf("tty display wrote a store's progress as a line:\n%s", got)
	}
}
