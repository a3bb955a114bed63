// Package mongodb is the Mossi platform's log store: log-like data such as
// who viewed which card. The unique view count stays in PostgreSQL; the
// per-user view log went to MongoDB (3.0, WiredTiger) to take insert load
// off the main database. Keep it simple: every index slows inserts.
//
// MongoDB has no Debian package and no image can be pulled here, so the
// native backend runs FerretDB v1 (embedded in mossdev) as a stand-in: it
// speaks the MongoDB wire protocol and keeps collections in PostgreSQL (its
// own "ferretdb" database of the stack's cluster, reached directly, not
// through PgBouncer). Not implemented by FerretDB v1: $lookup, $avg/$max,
// transactions, change streams, text/2dsphere/TTL indexes.
//
// On both backends clients authenticate as the app user (Secrets.AppUser,
// password Secrets.MongoPassword) of the admin database, with SCRAM: the
// root user the official image makes from MONGO_INITDB_ROOT_USERNAME/
// PASSWORD, which the stand-ins (native and the CI image) accept the same
// way. URL carries the credentials and authSource=admin.
package mongodb

import (
	"net/url"

	"github.com/mossdev/mossdev/fakes"
	fakemongo "github.com/mossdev/mossdev/fakes/mongodb"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
	"github.com/mossdev/mossdev/stack/services/postgres"
)

// Name is the service id; DB the database apps use.
const (
	Name = "mongodb"
	DB   = "mossi"
)

// StandIn names the emulation in every output.
const StandIn = fakemongo.StandIn

// Service describes the view-log store on a backend. The docker backend runs
// the real MongoDB, which keeps its own data: it needs nothing and is no
// stand-in (a CI stand-in image says so through its label, which status
// reads from the running container). The native stand-in stores its
// collections in PostgreSQL.
func Service(backend string) stack.Service {
	standIn, needs := StandIn, []string{postgres.Name}
	if backend == "docker" {
		standIn, needs = "", nil
	}
	return stack.Service{
		Name: Name, Kind: Name, StandIn: standIn,
		Role:  "per-user card view logs (who viewed which card), kept off the main database",
		Ports: []string{"main"},
		Needs: needs,
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakemongo.Config{
				Listen:        e.Addr(Name, "main"),
				PostgreSQLURL: postgres.FerretDBURL(e),
				User:          e.Secrets.AppUser,
				Password:      e.Secrets.MongoPassword,
			})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   docker,
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.Mongo(URL(e)) },
		URL:      URL,
		Counters: counters,
		Explain: "The view log: who viewed which card. The unique count stays in PostgreSQL; the per-user log " +
			"went here to take insert load off the main database. Keep indexes few, they slow inserts.",
	}
}

// URL is the MongoDB connection string, with the app user's credentials:
// mongodb://mossi:PASSWORD@127.0.0.1:PORT/mossi?authSource=admin.
func URL(e *stack.Runtime) string {
	u := url.URL{
		Scheme:   "mongodb",
		User:     url.UserPassword(e.Secrets.AppUser, e.Secrets.MongoPassword),
		Host:     e.Addr(Name, "main"),
		Path:     "/" + DB,
		RawQuery: "authSource=" + fakemongo.AuthDB,
	}
	return u.String()
}
