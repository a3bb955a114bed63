package pgbouncer

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
	"github.com/mossdev/mossdev/stack/services/postgres"
)

// ContainerPort is PgBouncer's port inside the stack's network.
const ContainerPort = 6432

// docker gives the image its pgbouncer.ini and userlist.txt, pointing at
// PostgreSQL by its network alias. While PostgreSQL's container is stopped
// its name does not resolve, and it comes back at another address, where a
// connection to the old one hangs instead of being refused as on loopback:
// hence short DNS caches (the NXDOMAIN one is 15 s by default) and a short
// connect timeout, so the pool recovers within seconds of a restart.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	const dir = "/etc/pgbouncer"
	ini := Config(e, "0.0.0.0", ContainerPort, postgres.Name, postgres.ContainerPort, dir+"/userlist.txt", "") +
		"dns_max_ttl = 1\ndns_nxdomain_ttl = 1\nserver_connect_timeout = 2\n"
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Files: map[string]string{
			dir + "/pgbouncer.ini": ini,
			dir + "/userlist.txt":  Userlist(e),
		},
		Ports:  map[string]int{"main": ContainerPort},
		Health: []string{"CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "6432"},
	}, nil
}
