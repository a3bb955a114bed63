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

// StatsPasswordEnv carries the stats password to an exported compose
// project's HAProxy.
const StatsPasswordEnv = "MOSSDEV_STATS_PASSWORD"

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
	const resolvers = `
resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s
`
	bind, stats := fmt.Sprintf(":%d", ContainerPort), fmt.Sprintf(":%d", StatsContainerPort)
	cfg := Config(e, bind, stats, bs) + resolvers
	// An exported compose project's file lies on the host, readable by the
	// container's haproxy user: it names the stats password by the
	// environment variable that carries it (HAProxy expands "${VAR}" in
	// its configuration), and the compose file (0600) sets that.
	exported := config(e, bind, stats, bs, `"`+e.Secrets.AppUser+`:${`+StatsPasswordEnv+`}"`) + resolvers
	return stack.DockerSpec{
		Image:        images.Ref(Name),
		Files:        map[string]string{DockerConfigPath: cfg},
		ComposeFiles: map[string]string{DockerConfigPath: exported},
		ComposeEnv:   map[string]string{StatsPasswordEnv: e.Secrets.StatsPassword},
		Ports:        map[string]int{"main": ContainerPort, "stats": StatsContainerPort},
		// The image has bash but neither curl nor nc.
		Health: []string{"CMD-SHELL", fmt.Sprintf("bash -c '</dev/tcp/127.0.0.1/%d'", ContainerPort)},
	}, nil
}
