package stack

import "time"

// EventKind is a step in the life of a service, or of a store while it is
// seeded or reset.
type EventKind string

// Lifecycle of a service (Up, Start, Stop, Down).
const (
	EventPlanned  EventKind = "planned"  // Up decided what to do
	EventStarting EventKind = "starting" // launched, waiting for the probe
	EventSetup    EventKind = "setup"    // probe passed, running one-time setup
	EventHealthy  EventKind = "healthy"
	EventKept     EventKind = "kept" // left alone: already healthy, or a store already holds the dataset
	EventFailed   EventKind = "failed"
	EventStopped  EventKind = "stopped"
	EventWaiting  EventKind = "waiting" // probe not passing yet (Message: the last error)
	EventBackend  EventKind = "backend" // the backend chosen for a new stack (Message says why)
)

// Pull phase of a backend that runs images (see Puller): Service is the
// image reference, Step is StepPull.
const (
	EventPulling EventKind = "pulling" // downloading (Done of Total bytes, as far as the engine knows them)
	EventPulled  EventKind = "pulled"  // present (Message: "already present" or "pulled")
	EventDrifted EventKind = "drifted" // not the bytes mossdev.lock pins (Message: which)
)

// Life of a store while it is seeded or reset (package seed/load).
const (
	EventLoading  EventKind = "loading"  // rows being written (Done of Total)
	EventLoaded   EventKind = "loaded"   // finished (Message: what was done)
	EventSkipped  EventKind = "skipped"  // left out by --only: neither checked nor touched
	EventSnapshot EventKind = "snapshot" // PostgreSQL copied to the reset template and warmed
	EventCached   EventKind = "cached"   // put in place from the seed cache (Message: what), or why the cache was not used
)

// Steps of a store's events. A store and the service holding it share a
// name (postgres), so the step tells the seed's postgres from `up`'s.
const (
	StepSeed  = "seed"
	StepReset = "reset"
	// StepSave and StepRestore mark a store's events while a checkpoint
	// is saved or restored.
	StepSave    = "save"
	StepRestore = "restore"
	// StepPull marks an image's events in the pull phase, so a display
	// draws them as bars like a store's.
	StepPull = "pull"
)

// Event is progress reported to a Sink: one type for every command, so one
// display shows `up` and the seed after it alike (as compose's single
// progress resource does).
type Event struct {
	Time time.Time `json:"time"`
	// Service is the service, or the store while seeding or resetting.
	Service string    `json:"service"`
	Kind    EventKind `json:"event"`
	// Step is StepSeed or StepReset for a store's events, StepPull for an
	// image's, empty for a service's lifecycle.
	Step string `json:"step,omitempty"`
	// Done of Total units (rows while loading, bytes while pulling); zero
	// when not counted.
	Done  int64 `json:"done,omitempty"`
	Total int64 `json:"total,omitempty"`
	// Elapsed is how long this service or store has been at it.
	Elapsed time.Duration `json:"elapsedNs,omitempty"`
	Message string        `json:"message,omitempty"`
}

// Sink receives progress. Implementations must be safe for concurrent use:
// services start concurrently.
type Sink interface{ Event(Event) }

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

func (f SinkFunc) Event(e Event) { f(e) }

// Discard is a Sink that drops everything.
var Discard Sink = SinkFunc(func(Event) {})
