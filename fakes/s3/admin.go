package s3

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mossdev/mossdev/fakes"
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
		d, err := fakes.ParsePauseExpiry(r.URL.Query().Get("expires"))
		if err != nil {
			refuse(http.StatusBadRequest, "InvalidArgument", err.Error()).write(w, r)
			return
		}
		writeJSON(w, map[string]time.Time{"until": s.pause.Pause(d)})
	case p == "resume":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r)
			return
		}
		s.pause.Resume()
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

// adminErrorDoc is an S3 error document as the Admin client reads it.
type adminErrorDoc struct {
	XMLName xml.Name `xml:"Error"`
	Code    string
	Message string
}
