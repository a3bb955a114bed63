package elasticsearch

import (
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
)

// ContainerPort is Elasticsearch's HTTP port inside the stack's network.
const ContainerPort = 9200

// docker runs the real Elasticsearch 8 as a single node with security off
// and a small heap: a development copy on loopback. Single-node discovery
// also skips the production bootstrap checks (vm.max_map_count), so it
// starts on a laptop without sysctl changes.
func docker(e *stack.Runtime) (stack.DockerSpec, error) {
	return stack.DockerSpec{
		Image: images.Ref(Name),
		Env: map[string]string{
			"discovery.type":         "single-node",
			"xpack.security.enabled": "false",
			"xpack.ml.enabled":       "false",
			"ES_JAVA_OPTS":           "-Xms512m -Xmx512m",
			// Offline machines: no GeoIP database downloads.
			"ingest.geoip.downloader.enabled": "false",
			// A laptop disk over 90% full must not turn indices read-only.
			"cluster.routing.allocation.disk.threshold_enabled": "false",
		},
		Ports:    map[string]int{"main": ContainerPort},
		DataPath: "/usr/share/elasticsearch/data",
		Health: []string{"CMD-SHELL",
			"curl -fs 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=1s' >/dev/null"},
	}, nil
}
