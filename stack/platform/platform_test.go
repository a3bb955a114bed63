package platform

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// Opening an existing docker stack and reading its variables (what
// `mossdev env` does) makes no call to the engine: the service list is
// final when built, nothing is adapted by asking Docker.
func TestOpeningADockerStackContactsNoEngine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var calls atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			calls.Add(1)
			c.Close()
		}
	}()
	t.Setenv("DOCKER_HOST", "unix://"+sock)

	root := t.TempDir()
	dir := filepath.Join(root, "dk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st := map[string]any{
		"name": "dk", "backend": "docker", "created": time.Now().UTC(),
		"options": stack.DefaultOptions(),
		"ports":   map[string]map[string]int{"postgres": {"main": 21001}},
		"secrets": map[string]string{"postgresPassword": "a", "appUser": "mossi", "appPassword": "b",
			"mariadbRootPassword": "c", "redisPassword": "d", "erlangCookie": "E", "s3AccessKey": "F",
			"s3SecretKey": "g", "statsPassword": "h"},
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(stack.Config{Name: "dk", Root: root, Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != "docker" {
		t.Fatalf("backend %s, want the stack's own docker", s.Backend())
	}
	if _, err := s.Vars(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("opening the stack and reading its variables called the engine %d times", n)
	}
}
