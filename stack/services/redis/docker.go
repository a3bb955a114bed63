package redis

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is every shard's port inside the stack's network (each
// shard is its own container).
const ContainerPort = 6379

// containerConfig is where the shard's redis.conf is copied; a first
// argument ending in .conf makes the image's entrypoint run
// `redis-server <file>` (official image and CI stand-in alike).
const containerConfig = "/usr/local/etc/mossdev-redis.conf"

func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Kind),
		// Every interface inside the container: the port is published on
		// the host's 127.0.0.1 only.
		Files:    map[string]string{containerConfig: Config(e.Secrets.RedisPassword, "", ContainerPort, "/data")},
		Cmd:      []string{containerConfig},
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/data",
		// An exported compose project's redis.conf lies on the host,
		// readable by the container's redis user: it goes without the
		// password, which the compose file (0600) puts in REDISCLI_AUTH,
		// redis-cli's own variable (so the healthcheck needs nothing more).
		// Redis has no variables in its config, but it reads more of it from
		// stdin when its last argument is "-": the wrapper feeds it the
		// requirepass line from the environment through a here-document
		// (argv never carries it) and execs the image's entrypoint, which
		// treats a first argument ending in .conf the same in redis:7 and
		// the CI stand-in, and keeps the "-" last.
		ComposeFiles: map[string]string{containerConfig: Config("", "", ContainerPort, "/data")},
		ComposeEnv:   map[string]string{"REDISCLI_AUTH": e.Secrets.RedisPassword},
		ComposeEntrypoint: []string{"/bin/sh", "-c", `set -e
if [ -z "${REDISCLI_AUTH:-}" ]; then
  echo "redis: REDISCLI_AUTH is not set: it carries the password (the compose file sets it)" >&2
  exit 1
fi
exec docker-entrypoint.sh "$@" - <<EOF
requirepass $REDISCLI_AUTH
EOF`, "redis-requirepass"},
		// Run by an exported compose project only, where REDISCLI_AUTH is
		// in the container's environment.
		Health: []string{"CMD-SHELL", "redis-cli ping | grep -q PONG"},
	}, nil
}
