// Package elasticsearch is the Mossi platform's full-text and geo search:
// card texts, hashtags and locations, so "cards near Gangnam" and Korean
// full-text queries work. It replaced AWS CloudSearch, and geo queries moved
// here from MongoDB. No Elasticsearch can be installed from Debian, so the
// native backend runs mossdev's Elasticsearch API emulator on bleve (a
// stand-in, named so in every output); the docker backend runs the real one.
// Korean text is indexed with the `cjk` analyzer, which makes overlapping
// bigrams of Hangul as Elasticsearch does.
package elasticsearch

import (
	"fmt"

	"github.com/mossdev/mossdev/fakes"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Name is the service id.
const Name = "elasticsearch"

// StandIn names the emulation in every output.
const StandIn = "mossdev ES API emulator on bleve (stand-in for Elasticsearch 8)"

// Service describes the search service.
func Service() stack.Service {
	return stack.Service{
		Name: Name, Kind: Name, StandIn: StandIn,
		Role:  "full-text and geo search over cards (replaced CloudSearch; geo moved here from MongoDB)",
		Ports: []string{"main"},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakes.Elasticsearch, map[string]any{
				"listen": e.Addr(Name, "main"), "dir": e.DataDir(Name)})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   withHostJVM(docker),
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.Elasticsearch(URL(e)) },
		URL:      URL,
		Counters: counters,
	}
}

// URL is the HTTP endpoint.
func URL(e *stack.Runtime) string { return fmt.Sprintf("http://%s", e.Addr(Name, "main")) }
