// Package services lists the components of the Mossi data platform, one
// package per service (its role, how it runs, how it is probed, how apps
// reach it), and Platform assembles them into a stack's service list.
package services

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/cdn"
	"github.com/mossdev/mossdev/stack/services/elasticsearch"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/mongodb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/services/redis"
	"github.com/mossdev/mossdev/stack/services/s3"
)

// Platform is the whole platform for the given options as it runs on the
// named backend, in display order. The list is final: backends read it and
// never rewrite it (a service whose needs or stand-in note differ by backend
// says so in its own package).
func Platform(o stack.Options, backend string) []stack.Service {
	out := []stack.Service{postgres.Service(), pgbouncer.Service(), mariadb.Service(), mongodb.Service(backend)}
	out = append(out, redis.Shards(o.RedisShards)...)
	out = append(out, rabbitmq.Nodes(o.RabbitNodes)...)
	out = append(out, haproxy.Service(o.RabbitNodes), elasticsearch.Service(backend), s3.Service(backend), cdn.Service(backend))
	return out
}
