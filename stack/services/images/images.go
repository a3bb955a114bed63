// Package images pins every image the docker backend runs, in one table, and
// lets each be replaced from the environment: MOSSDEV_IMAGE_<KIND> (a
// registry mirror, a locally built tag, CI's offline stand-ins). Services
// ask for their image here by kind; the compose export and the `auto`
// backend check read the same table.
package images

import (
	"os"
	"sort"
	"strings"
)

// Pinned maps a service kind to the image it runs by default: official
// images at a fixed major (minor for Elasticsearch and PgBouncer, which
// have no moving major tag worth trusting).
//
// Every one is a multi-platform image with a native linux/arm64 variant
// beside linux/amd64 (the Docker official images list arm64v8; edoburu's
// PgBouncer has published arm64 since 1.19.1-p1; Elastic publishes both),
// so on Apple Silicon and Linux arm64 nothing runs emulated. Two hardware
// notes: mongo:7 needs AVX on amd64 and ARMv8.2-A on arm64 (Apple Silicon
// and Graviton 2 have it, a Raspberry Pi 4 does not), and Elasticsearch on
// an Apple M4 needs SVE turned off in its JVM (package elasticsearch does
// it on darwin/arm64 hosts).
var Pinned = map[string]string{
	"postgres": "postgres:16",
	// PgBouncer has no official image. edoburu/pgbouncer is the maintained,
	// widely used one: a small Alpine image of upstream PgBouncer, tagged by
	// PgBouncer version, that runs as a non-root user and uses a mounted
	// pgbouncer.ini and userlist.txt as they are. (Bitnami's stopped being
	// published freely in 2025.)
	"pgbouncer": "edoburu/pgbouncer:v1.25.2-p0",
	"mariadb":   "mariadb:11",
	"mongodb":   "mongo:7",
	"redis":     "redis:7",
	// rabbitmq:3.13 and haproxy:2.9 left docker-library (2025-12, 2025-03):
	// their tags pull but get no fixes. RabbitMQ at its moving major;
	// HAProxy at its long-term-support branch (its "3" tag follows the
	// short-lived stable releases).
	"rabbitmq":      "rabbitmq:4-management",
	"haproxy":       "haproxy:3.2",
	"elasticsearch": "docker.elastic.co/elasticsearch/elasticsearch:8.19.14",
}

// Ref is the image to run for a kind: $MOSSDEV_IMAGE_<KIND> when set, else
// the pinned default. Unknown kinds return "".
func Ref(kind string) string {
	if v := strings.TrimSpace(os.Getenv(EnvVar(kind))); v != "" {
		return v
	}
	return Pinned[kind]
}

// EnvVar names the override variable of a kind (MOSSDEV_IMAGE_POSTGRES).
func EnvVar(kind string) string {
	return "MOSSDEV_IMAGE_" + strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))
}

// Overridden reports whether a kind's image comes from the environment.
func Overridden(kind string) bool { return strings.TrimSpace(os.Getenv(EnvVar(kind))) != "" }

// Kinds lists the kinds with an image, sorted.
func Kinds() []string {
	out := make([]string, 0, len(Pinned))
	for k := range Pinned {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
