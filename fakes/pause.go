package fakes

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	// DefaultPauseExpiry applies when a pause names no expiry.
	DefaultPauseExpiry = time.Minute
	// MaxPauseExpiry bounds a pause, so a killed orchestrator cannot leave
	// a fake unwritable for long.
	MaxPauseExpiry = time.Hour
)

// ParsePauseExpiry reads the expires parameter of a fake's pause request
// (a Go duration such as "30s"); empty means DefaultPauseExpiry.
func ParsePauseExpiry(v string) (time.Duration, error) {
	if v == "" {
		return DefaultPauseExpiry, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > MaxPauseExpiry {
		return 0, fmt.Errorf("expires=%q: give a duration above 0 and at most %s, e.g. expires=30s", v, MaxPauseExpiry)
	}
	return d, nil
}

// Pauser holds a fake's writes back while paused, so a whole-stack
// checkpoint sees every store at the same instant. A pause expires on its
// own, so a killed caller cannot leave writes blocked forever. The zero
// value is not paused.
type Pauser struct {
	mu    sync.Mutex
	ch    chan struct{} // closed on resume; nil when not paused
	timer *time.Timer
	gen   uint64 // tells an old pause's expiry from the current one
}

// Pause blocks writes until resume or d from now (a second pause extends
// or shortens the first) and returns when it expires.
func (p *Pauser) Pause(d time.Duration) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.gen++
	gen := p.gen
	p.timer = time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen == gen {
			p.release()
		}
	})
	return time.Now().Add(d)
}

// Resume lets writes proceed.
func (p *Pauser) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release()
}

func (p *Pauser) release() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
	p.gen++
}

// Wait returns when writes are not paused, or ctx's error.
func (p *Pauser) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		ch := p.ch
		p.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
