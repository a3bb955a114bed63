package pgbouncer

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
	"github.com/mossdev/mossdev/stack/services/postgres"
)

// ContainerPort is PgBouncer's port inside the stack's network.
const ContainerPort = 6432

// UserlistEnv carries userlist.txt to an exported compose project's
// PgBouncer.
const UserlistEnv = "MOSSDEV_PGBOUNCER_USERLIST"

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
	users := dir + "/userlist.txt"
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Files: map[string]string{
			dir + "/pgbouncer.ini": ini,
			users:                  Userlist(e),
		},
		// An exported compose project's files lie on the host, readable by
		// the container's user, and PgBouncer's auth file cannot refer to
		// the environment: the export leaves it out and a wrapper writes it
		// inside the container, from the compose file's environment, 0600
		// (umask) as PgBouncer's own user, then execs the image's
		// entrypoint with its usual command. /entrypoint.sh, the command
		// and a writable /etc/pgbouncer owned by that user are the same in
		// edoburu/pgbouncer and the CI stand-in. printf is a shell builtin
		// (dash, busybox ash), so the userlist is in no process's argv.
		ComposeFiles: map[string]string{users: ""},
		ComposeEnv:   map[string]string{UserlistEnv: Userlist(e)},
		ComposeEntrypoint: []string{"/bin/sh", "-c", `set -e
if [ -z "${` + UserlistEnv + `:-}" ]; then
  echo "pgbouncer: ` + UserlistEnv + ` is not set: it carries ` + users + ` (the compose file sets it)" >&2
  exit 1
fi
umask 077
rm -f ` + users + `
printf '%s' "$` + UserlistEnv + `" >` + users + `
unset ` + UserlistEnv + `
exec /entrypoint.sh "$@"`, "pgbouncer-userlist", "/usr/bin/pgbouncer", dir + "/pgbouncer.ini"},
		Ports:  map[string]int{"main": ContainerPort},
		Health: []string{"CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "6432"},
	}, nil
}
