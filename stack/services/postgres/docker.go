package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is PostgreSQL's port inside the stack's network.
const ContainerPort = 5432

// docker runs the official image: its entrypoint runs initdb on an empty
// volume with the superuser password, and the settings go on the command
// line as on native. The role and databases come from setup (through the
// host port), as on native, so both backends share one code path.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Env: map[string]string{
			"POSTGRES_USER":     "postgres",
			"POSTGRES_PASSWORD": e.Secrets.PostgresPassword,
			// As native's initdb: UTF8 in the C.UTF-8 locale.
			"POSTGRES_INITDB_ARGS": "-E UTF8 --locale=C.UTF-8",
			"PGDATA":               "/var/lib/postgresql/data",
		},
		Cmd:      Settings(), // "-c k=v" arguments go to postgres
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/var/lib/postgresql/data",
		Health:   []string{"CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"},
		ComposeFiles: map[string]string{
			"/docker-entrypoint-initdb.d/10-mossdev.sql": initSQL(e),
		},
	}, nil
}

// initSQL is setup's work as an init script, for an exported compose
// project (which cannot run setup): the image runs it on an empty volume.
func initSQL(e *stack.Runtime) string {
	role := pgx.Identifier{e.Secrets.AppUser}.Sanitize()
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD '%s';\n", role, strings.ReplaceAll(e.Secrets.AppPassword, "'", "''"))
	fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD '%s';\n", FerretDBRole, strings.ReplaceAll(e.Secrets.FerretDBPassword, "'", "''"))
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s;\n", pgx.Identifier{AppDB}.Sanitize(), role)
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s;\n", pgx.Identifier{FerretDBDB}.Sanitize(), FerretDBRole)
	fmt.Fprintf(&b, "\\connect %s\nCREATE EXTENSION IF NOT EXISTS pg_prewarm;\n", pgx.Identifier{AppDB}.Sanitize())
	return b.String()
}
