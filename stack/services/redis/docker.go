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
		// The password reaches redis-cli through its environment, read from
		// the config file, so no process's argv carries it.
		Health: []string{"CMD-SHELL", "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' " + containerConfig +
			")\" redis-cli ping | grep -q PONG"},
	}, nil
}
