package mongodb

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is MongoDB's port inside the stack's network.
const ContainerPort = 27017

// docker runs the real MongoDB 7 with authentication on: the image makes
// the app user its root user in admin from MONGO_INITDB_ROOT_USERNAME/
// PASSWORD when its data directory is first made, and then starts mongod
// with --auth. The native stand-in's relay accepts the same user the same
// way (SCRAM-SHA-256, authSource=admin), so URL works on both backends.
// The image makes the user only in an empty data directory: a docker stack
// whose data predates credentials has no user to log in as (`mossdev down`
// and `up` again).
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Env: map[string]string{
			"MONGO_INITDB_ROOT_USERNAME": e.Secrets.AppUser,
			"MONGO_INITDB_ROOT_PASSWORD": e.Secrets.MongoPassword,
		},
		Ports: map[string]int{"main": ContainerPort},
		// mongod's WiredTiger cache takes half of (RAM - 1 GB) unless told:
		// on a laptop that is gigabytes for a view log of a few MB.
		Cmd:      []string{"--wiredTigerCacheSizeGB", "0.25"},
		DataPath: "/data/db",
		// ping alone needs no login; listCollections on the app's database
		// shows the credentials work too. The shell takes the password from
		// the container's environment, so the check's definition (in an
		// exported compose file) does not carry it.
		Health: []string{"CMD-SHELL", `mongosh --quiet --norc --authenticationDatabase admin ` +
			`-u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" ` +
			`--eval "quit(db.getSiblingDB('` + DB + `').runCommand({listCollections: 1, nameOnly: true}).ok ? 0 : 1)"`},
	}, nil
}
