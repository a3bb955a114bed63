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
		// The init script reads the roles' passwords from here (the 0600
		// compose file), not from its own text: it lies on the host
		// readable by the container's postgres user.
		ComposeEnv: map[string]string{
			AppPasswordEnv:      e.Secrets.AppPassword,
			FerretDBPasswordEnv: e.Secrets.FerretDBPassword,
		},
	}, nil
}

// Environment variables of an exported compose project's PostgreSQL that
// carry the roles' passwords to its init script.
const (
	AppPasswordEnv      = "MOSSDEV_APP_PASSWORD"
	FerretDBPasswordEnv = "MOSSDEV_FERRETDB_PASSWORD"
)

// initSQL is setup's work as an init script, for an exported compose
// project (which cannot run setup): the image runs it with psql on an empty
// volume. The passwords come from the container's environment through
// psql's \getenv (psql 15 and up; postgres:16 and the CI stand-in's 15
// have it) and :'var', which quotes them as literals, so the file holds
// none. A variable missing from the environment stops the init with an
// error that names it (the image runs psql with ON_ERROR_STOP).
func initSQL(e *stack.Runtime) string {
	role := pgx.Identifier{e.Secrets.AppUser}.Sanitize()
	var b strings.Builder
	for _, v := range []struct{ psql, env string }{{"app_password", AppPasswordEnv}, {"ferretdb_password", FerretDBPasswordEnv}} {
		fmt.Fprintf(&b, "\\getenv %s %s\n\\if :{?%s}\n\\else\n", v.psql, v.env, v.psql)
		fmt.Fprintf(&b, "DO $$BEGIN RAISE EXCEPTION '%s is not set in the container''s environment (the compose file sets it)'; END$$;\n\\endif\n", v.env)
	}
	fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD :'app_password';\n", role)
	fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD :'ferretdb_password';\n", FerretDBRole)
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s;\n", pgx.Identifier{AppDB}.Sanitize(), role)
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s;\n", pgx.Identifier{FerretDBDB}.Sanitize(), FerretDBRole)
	fmt.Fprintf(&b, "\\connect %s\nCREATE EXTENSION IF NOT EXISTS pg_prewarm;\n", pgx.Identifier{AppDB}.Sanitize())
	return b.String()
}
