package haproxy

import (
	"fmt"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
)

// Container ports of the AMQP frontend and the stats page.
const (
	ContainerPort      = 5672
	StatsContainerPort = 8404
)

// DockerConfigPath is where the official image reads its configuration.
const DockerConfigPath = "/usr/local/etc/haproxy/haproxy.cfg"

// docker balances over the nodes by their network aliases. A node that is
// stopped and started again comes back in a new container at a new
// address, so servers are re-resolved through Docker's DNS (the resolvers
// section) instead of once at start.
func docker(e *stack.Runtime, nodes int) (stack.DockerSpec, error) {
	var bs []Backend
	for i := 1; i <= nodes; i++ {
		n := rabbitmq.NodeName(i)
		// Server options may follow the address on a server line.
		bs = append(bs, Backend{n, fmt.Sprintf("%s:%d resolvers docker init-addr libc,none", n, rabbitmq.ContainerPort)})
	}
	cfg := Config(e, fmt.Sprintf(":%d", ContainerPort), fmt.Sprintf(":%d", StatsContainerPort), bs) + `
resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s
`
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Files: map[string]string{DockerConfigPath: cfg},
		Ports: map[string]int{"main": ContainerPort, "stats": StatsContainerPort},
		// The image has bash but neither curl nor nc.
		Health: []string{"CMD-SHELL", fmt.Sprintf("bash -c '</dev/tcp/127.0.0.1/%d'", ContainerPort)},
	}, nil
}
