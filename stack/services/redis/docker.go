package redis

import (
	"fmt"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is every shard's port inside the stack's network (each
// shard is its own container).
const ContainerPort = 6379

func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Kind),
		// Arguments only: the image's entrypoint runs redis-server with them.
		Cmd: append([]string{"--port", fmt.Sprint(ContainerPort), "--dir", "/data"},
			ServerArgs(e.Secrets.RedisPassword)...),
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/data",
		Health: []string{"CMD-SHELL", fmt.Sprintf("redis-cli -a '%s' --no-auth-warning ping | grep -q PONG",
			e.Secrets.RedisPassword)},
	}, nil
}
