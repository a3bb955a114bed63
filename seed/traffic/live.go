package traffic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// LiveFile is where a running `mossdev traffic` publishes its latest
// snapshot, in the stack's directory, for the terminal UI (another
// process) to draw on the architecture view's arrows. A file rather than a
// socket: the UI polls once a second anyway, and a run that died leaves
// only a stale file, which readers ignore by its age.
const LiveFile = "traffic.json"

// live is the file's content.
type live struct {
	At       time.Time `json:"at"`
	Snapshot Snapshot  `json:"snapshot"`
}

// WriteLive replaces dir's live file with s (write, then rename: a reader
// never sees half a file).
func WriteLive(dir string, s Snapshot) error {
	b, err := json.Marshal(live{At: time.Now(), Snapshot: s})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".traffic-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	_ = os.Chmod(tmp.Name(), 0o644)
	return os.Rename(tmp.Name(), filepath.Join(dir, LiveFile))
}

// ReadLive returns the snapshot a run published in dir if it is at most
// maxAge old.
func ReadLive(dir string, maxAge time.Duration) (Snapshot, bool) {
	b, err := os.ReadFile(filepath.Join(dir, LiveFile))
	if err != nil {
		return Snapshot{}, false
	}
	var l live
	if json.Unmarshal(b, &l) != nil || time.Since(l.At) > maxAge {
		return Snapshot{}, false
	}
	return l.Snapshot, true
}

// RemoveLive removes dir's live file: the run ended.
func RemoveLive(dir string) { _ = os.Remove(filepath.Join(dir, LiveFile)) }
