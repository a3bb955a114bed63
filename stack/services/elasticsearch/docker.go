package elasticsearch

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is Elasticsearch's HTTP port inside the stack's network.
const ContainerPort = 9200

// DockerPathRepo is path.repo in the container: inside the data volume.
const DockerPathRepo = "/usr/share/elasticsearch/data/snapshots"

// docker runs the real Elasticsearch 8 as a single node with a small heap:
// a development copy on loopback. Security is on with the stack's elastic
// password (ELASTIC_PASSWORD), as the native emulator does, but without
// TLS on HTTP: the port is published on 127.0.0.1 only, and every client
// then uses the same http:// URL on both backends. Single-node discovery
// also skips the production bootstrap checks (vm.max_map_count), so it
// starts on a laptop without sysctl changes.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Env: map[string]string{
			"discovery.type":                       "single-node",
			"xpack.security.enabled":               "true",
			"xpack.security.http.ssl.enabled":      "false",
			"xpack.security.transport.ssl.enabled": "false",
			"ELASTIC_PASSWORD":                     e.Secrets.ElasticPassword,
			"xpack.ml.enabled":                     "false",
			"ES_JAVA_OPTS":                         "-Xms512m -Xmx512m",
			// Offline machines: no GeoIP database downloads.
			"ingest.geoip.downloader.enabled": "false",
			// A laptop disk over 90% full must not turn indices read-only.
			"cluster.routing.allocation.disk.threshold_enabled": "false",
			// Snapshot repositories (mossdev's checkpoints) may live here.
			// The image turns dotted variables into settings, as it does
			// for discovery.type; ES 8 creates a path.repo directory that
			// is missing at start (bootstrap Security.ensureDirectoryExists),
			// and only requires an fs location to be under one (docs:
			// "Shared file system repository"). Under the data volume it
			// persists with the indices and is writable by the ES user; the
			// stand-in image reads the same variable.
			"path.repo": DockerPathRepo,
		},
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/usr/share/elasticsearch/data",
		Health: []string{"CMD-SHELL",
			`curl -fs -u "elastic:$ELASTIC_PASSWORD" 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=1s' >/dev/null`},
	}, nil
}
