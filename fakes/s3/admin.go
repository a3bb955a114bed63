package s3

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The admin API, under AdminPrefix (a path no S3 bucket can have: bucket
// names never start with '_'), signed with SigV4 like every S3 request:
//
//	GET    /_mossdev/checkpoints                 list         → {"checkpoints":[Checkpoint...]}
//	PUT    /_mossdev/checkpoints/NAME            save         → Checkpoint
//	POST   /_mossdev/checkpoints/NAME/_restore   restore      → Restored
//	DELETE /_mossdev/checkpoints/NAME            delete       → {}
//	POST   /_mossdev/pause?expires=30s           pause writes → {"until": time}
//	POST   /_mossdev/resume                      resume       → {}
//
// Errors are S3 error documents (XML, Code and Message).

// AdminPrefix is the path under which the admin API is served.
const AdminPrefix = "/_mossdev/"

const (
	// DefaultPauseExpiry applies when a pause names no expiry.
	DefaultPauseExpiry = time.Minute
	// MaxPauseExpiry bounds a pause, so a killed orchestrator cannot leave
	// the fake unwritable for long.
	MaxPauseExpiry = time.Hour
)

// Admin error codes (S3 error documents).
const (
	codeBadName      = "InvalidCheckpointName"
	codeNoCheckpoint = "NoSuchCheckpoint"
)

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, AdminPrefix)
	switch {
	case p == "checkpoints" || p == "checkpoints/":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r)
			return
		}
		list, err := s.List()
		if err != nil {
			adminError(w, r, err)
			return
		}
		writeJSON(w, map[string]any{"checkpoints": list})
	case strings.HasPrefix(p, "checkpoints/"):
		rest := strings.TrimPrefix(p, "checkpoints/")
		name, action, _ := strings.Cut(rest, "/")
		if err := CheckName(name); err != nil {
			adminError(w, r, err)
			return
		}
		switch {
		case action == "" && r.Method == http.MethodPut:
			ck, err := s.Save(name)
			if err != nil {
				adminError(w, r, err)
				return
			}
			writeJSON(w, ck)
		case action == "" && r.Method == http.MethodDelete:
			if err := s.Delete(name); err != nil {
				adminError(w, r, err)
				return
			}
			writeJSON(w, struct{}{})
		case action == "_restore" && r.Method == http.MethodPost:
			res, err := s.Restore(name)
			if err != nil {
				adminError(w, r, err)
				return
			}
			writeJSON(w, res)
		default:
			methodNotAllowed(w, r)
		}
	case p == "pause":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r)
			return
		}
		d := DefaultPauseExpiry
		if v := r.URL.Query().Get("expires"); v != "" {
			var err error
			d, err = time.ParseDuration(v)
			if err != nil || d <= 0 || d > MaxPauseExpiry {
				refuse(http.StatusBadRequest, "InvalidArgument",
					"expires must be a duration between 1ns and 1h, e.g. expires=30s").write(w, r)
				return
			}
		}
		writeJSON(w, map[string]time.Time{"until": s.pause.pause(d)})
	case p == "resume":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r)
			return
		}
		s.pause.resume()
		writeJSON(w, struct{}{})
	default:
		refuse(http.StatusNotFound, "NoSuchAdminResource",
			"mossdev's admin API has checkpoints, pause and resume under "+AdminPrefix).write(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	refuse(http.StatusMethodNotAllowed, "MethodNotAllowed",
		"The specified method is not allowed against this resource.").write(w, r)
}

func adminError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBadCheckpointName):
		refuse(http.StatusBadRequest, codeBadName, err.Error()).write(w, r)
	case errors.Is(err, ErrNoCheckpoint):
		refuse(http.StatusNotFound, codeNoCheckpoint, err.Error()).write(w, r)
	default:
		refuse(http.StatusInternalServerError, "InternalError", err.Error()).write(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// pauser holds writes back while paused. A pause expires on its own, so a
// killed caller cannot leave writes blocked forever.
type pauser struct {
	mu    sync.Mutex
	ch    chan struct{} // closed on resume; nil when not paused
	timer *time.Timer
	gen   uint64 // tells an old pause's expiry from the current one
}

// pause blocks writes until resume or d from now (a second pause extends
// or shortens the first) and returns when it expires.
func (p *pauser) pause(d time.Duration) time.Time {
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

func (p *pauser) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release()
}

func (p *pauser) release() {
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

// wait returns when writes are not paused, or ctx's error.
func (p *pauser) wait(ctx context.Context) error {
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

// adminErrorDoc is an S3 error document as the Admin client reads it.
type adminErrorDoc struct {
	XMLName xml.Name `xml:"Error"`
	Code    string
	Message string
}
