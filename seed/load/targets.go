package load

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/cdn"
	"github.com/mossdev/mossdev/stack/services/elasticsearch"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/mongodb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/redis"
	"github.com/mossdev/mossdev/stack/services/s3"
)

// Targets are the addresses of one stack's stores. The writers take only
// these, never a stack or a backend, so they load any copy of the platform
// whose URLs are known (both backends, or a stack started elsewhere).
type Targets struct {
	// Postgres is the app database through PgBouncer (transaction pooling),
	// the path apps write on.
	Postgres string
	// PostgresDirect is the app database without the pooler, for migrations
	// (they hold a session-level advisory lock, which transaction pooling
	// would not keep).
	PostgresDirect string
	// PostgresSuper is the superuser on the maintenance database "postgres":
	// template databases and terminating sessions for reset.
	PostgresSuper string
	// PgBouncerAdmin is PgBouncer's console as an admin user (PAUSE, RESUME).
	PgBouncerAdmin string
	// MariaDB and MariaDBRoot are go-sql-driver DSNs; root may raise the
	// InnoDB buffer pool for the 6 M-row load.
	MariaDB, MariaDBRoot string
	Mongo                string
	// MongoStorage is the PostgreSQL database (superuser) in which the
	// FerretDB stand-in keeps its collections; see FerretTable.
	MongoStorage  string
	Elasticsearch string
	S3            S3Target
	CDN           string
	// CDNPurgeToken authorizes purges (reset empties the cache).
	CDNPurgeToken string
	// Redis are the cache shards' URLs, in shard order: the order the
	// sharding function's index refers to.
	Redis []string
	AMQP  string
}

// S3Target is the image bucket.
type S3Target struct {
	Endpoint, Bucket, Region, AccessKey, SecretKey string
}

// TargetsFor reads a stack's addresses and credentials.
func TargetsFor(e *stack.Runtime) Targets {
	t := Targets{
		Postgres:       pgbouncer.AppURL(e),
		PostgresDirect: postgres.DirectURL(e),
		PostgresSuper:  postgres.SuperuserURL(e, "postgres"),
		PgBouncerAdmin: pgbouncer.ConsoleURL(e, true),
		MariaDB:        mariadb.DSN(e),
		MariaDBRoot:    mariadb.RootDSN(e),
		Mongo:          mongodb.URL(e),
		MongoStorage:   postgres.SuperuserURL(e, postgres.FerretDBDB),
		Elasticsearch:  elasticsearch.URL(e),
		S3: S3Target{Endpoint: s3.Endpoint(e), Bucket: s3.Bucket, Region: s3.Region,
			AccessKey: e.Secrets.S3AccessKey, SecretKey: e.Secrets.S3SecretKey},
		CDN:           cdn.URL(e),
		CDNPurgeToken: e.Secrets.CDNPurgeToken,
		AMQP:          haproxy.AMQPURL(e),
	}
	for i := range e.Options.RedisShards {
		t.Redis = append(t.Redis, redis.ShardURL(e, i))
	}
	return t
}
