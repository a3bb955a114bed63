package docker

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

func TestLocalEnginesOnly(t *testing.T) {
	for host, ok := range map[string]bool{
		"unix:///var/run/docker.sock":                  true, // Linux, Docker Desktop's default socket
		"unix:///Users/me/.docker/run/docker.sock":     true, // Docker Desktop
		"unix:///Users/me/.colima/default/docker.sock": true, // Colima (a docker context)
		"unix:///Users/me/.orbstack/run/docker.sock":   true, // OrbStack
		"npipe:////./pipe/docker_engine":               true,
		"tcp://127.0.0.1:2375":                         true,
		"tcp://localhost:2376":                         true,
		"tcp://[::1]:2375":                             true,
		"tcp://10.0.0.5:2376":                          false,
		"tcp://build-box.example:2376":                 false,
		"ssh://me@build-box":                           false,
		"%zz":                                          false,
	} {
		err := local(host)
		if (err == nil) != ok {
			t.Errorf("local(%q) = %v, want ok=%v", host, err, ok)
		}
		if err != nil && (!errors.Is(err, stack.ErrBadInput) || stack.Hint(err) == "") {
			t.Errorf("local(%q): %v is not a user-facing bad-input error with a fix", host, err)
		}
	}
}

// The client is for the engine testcontainers resolves, and published ports
// are reached on 127.0.0.1 (on these machines /.dockerenv would otherwise
// send testcontainers to the default gateway).
func TestEndpointIsTheLocalEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	host, version, err := Endpoint(ctx)
	if err != nil {
		// stacktest.Required's rule (this internal test cannot import it).
		if os.Getenv("CI") == "true" || os.Getenv("MOSSDEV_REQUIRE_STACK") == "1" {
			t.Fatalf("no docker engine where a stack is required: %v", err)
		}
		t.Skipf("no docker engine here: %v", err)
	}
	if version == "" || local(host) != nil {
		t.Fatalf("Endpoint = %q, %q", host, version)
	}
	if v := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); v != "127.0.0.1" {
		t.Fatalf("TESTCONTAINERS_HOST_OVERRIDE = %q, want 127.0.0.1", v)
	}
}
