// Package elasticsearch is the Mossi platform's full-text and geo search:
// card texts, hashtags and locations, so "cards near Gangnam" and Korean
// full-text queries work. It replaced AWS CloudSearch, and geo queries moved
// here from MongoDB. No Elasticsearch can be installed from Debian, so the
// native backend runs mossdev's Elasticsearch API emulator on bleve (a
// stand-in, named so in every output); the docker backend runs the real one.
// Korean text is indexed with the `cjk` analyzer, which makes overlapping
// bigrams of Hangul as Elasticsearch does. Both run with Elasticsearch 8's
// security on: requests authenticate as the `elastic` user with the
// stack's generated password, which MOSSDEV_ELASTICSEARCH_URL carries
// (http://elastic:PASSWORD@127.0.0.1:PORT; curl, go-elasticsearch and
// elasticsearch-py take the credentials from the URL).
package elasticsearch

import (
	"net/url"
	"path/filepath"

	"github.com/mossdev/mossdev/fakes"
	fakees "github.com/mossdev/mossdev/fakes/elasticsearch"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Name is the service id.
const Name = "elasticsearch"

// StandIn names the emulation in every output.
const StandIn = "mossdev ES API emulator on bleve (stand-in for Elasticsearch 8)"

// Service describes the search service on a backend. On docker the real
// Elasticsearch runs, so it is no stand-in there (a CI stand-in image says so
// through its label, which status reads from the running container).
func Service(backend string) stack.Service {
	standIn := StandIn
	if backend == "docker" {
		standIn = ""
	}
	return stack.Service{
		Name: Name, Kind: Name, StandIn: standIn,
		Role:  "full-text and geo search over cards (replaced CloudSearch; geo moved here from MongoDB)",
		Ports: []string{"main"},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakees.Config{
				Listen: e.Addr(Name, "main"), Dir: e.DataDir(Name), Password: e.Secrets.ElasticPassword,
				PathRepo: []string{NativePathRepo(e)}})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   withHostJVM(docker),
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.Elasticsearch(URL(e)) },
		URL:      URL,
		Counters: counters,
		Explain: "Full-text and geo search over cards (\"cards near Gangnam\", Korean text with the cjk " +
			"analyzer). It replaced AWS CloudSearch, and geo queries moved here from MongoDB.",
	}
}

// CheckpointLocation is the fs snapshot repository location mossdev's
// checkpoints register. Relative, it resolves against path.repo on both
// backends (the emulator's and the real Elasticsearch's), so one client
// call works on either.
const CheckpointLocation = "mossdev-checkpoints"

// NativePathRepo is the emulator's path.repo: a directory it owns beside
// its indices, on the same file system, so snapshots hard-link segments.
func NativePathRepo(e *stack.Runtime) string {
	return filepath.Join(e.DataDir(Name), "snapshots")
}

// User is the built-in superuser apps authenticate as.
const User = fakees.ElasticUser

// URL is the HTTP endpoint with the elastic user's credentials in it.
func URL(e *stack.Runtime) string {
	u := url.URL{Scheme: "http", User: url.UserPassword(User, e.Secrets.ElasticPassword), Host: e.Addr(Name, "main")}
	return u.String()
}
