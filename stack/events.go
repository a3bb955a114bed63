package stack

import "time"

// EventKind is a step in a service's lifecycle.
type EventKind string

const (
	EventPlanned  EventKind = "planned"  // Up decided what to do
	EventStarting EventKind = "starting" // launched, waiting for the probe
	EventSetup    EventKind = "setup"    // probe passed, running one-time setup
	EventHealthy  EventKind = "healthy"
	EventKept     EventKind = "kept" // already healthy, left alone
	EventFailed   EventKind = "failed"
	EventStopped  EventKind = "stopped"
	EventWaiting  EventKind = "waiting" // probe not passing yet (Message says why)
)

// Event is progress reported to a Sink.
type Event struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Kind    EventKind `json:"event"`
	Message string    `json:"message,omitempty"`
}

// Sink receives progress. Implementations must be safe for concurrent use:
// services start concurrently.
type Sink interface{ Event(Event) }

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

func (f SinkFunc) Event(e Event) { f(e) }

// Discard is a Sink that drops everything.
var Discard Sink = SinkFunc(func(Event) {})
