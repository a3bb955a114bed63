package mongodb

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is MongoDB's port inside the stack's network.
const ContainerPort = 27017

// docker runs the real MongoDB 7, without authentication, like the native
// stand-in: the port is published on 127.0.0.1 only. Credentials cannot be
// common to both: FerretDB 1.x authenticates with PLAIN only, which
// MongoDB Community does not offer, so a URL with a user would work on one
// and fail on the other, and the same tests must pass on both.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Ports: map[string]int{"main": ContainerPort},
		// mongod's WiredTiger cache takes half of (RAM - 1 GB) unless told:
		// on a laptop that is gigabytes for a view log of a few MB.
		Cmd:      []string{"--wiredTigerCacheSizeGB", "0.25"},
		DataPath: "/data/db",
		Health:   []string{"CMD", "mongosh", "--quiet", "--norc", "--eval", "quit(db.adminCommand('ping').ok ? 0 : 1)"},
	}, nil
}
