package elasticsearch

import (
	"testing"

	"github.com/mossdev/mossdev/stack"
)

func TestSVEOffOnAppleSiliconOnly(t *testing.T) {
	base := func() stack.DockerSpec {
		return stack.DockerSpec{Env: map[string]string{"ES_JAVA_OPTS": "-Xms512m -Xmx512m", "discovery.type": "single-node"}}
	}
	mac := jvmFor(base(), "darwin", "arm64")
	if got := mac.Env["ES_JAVA_OPTS"]; got != "-Xms512m -Xmx512m -XX:+IgnoreUnrecognizedVMOptions -XX:UseSVE=0" {
		t.Errorf("darwin/arm64 ES_JAVA_OPTS = %q", got)
	}
	if got := mac.Env["CLI_JAVA_OPTS"]; got != "-XX:+IgnoreUnrecognizedVMOptions -XX:UseSVE=0" {
		t.Errorf("darwin/arm64 CLI_JAVA_OPTS = %q", got)
	}
	if mac.Env["discovery.type"] != "single-node" {
		t.Error("other settings lost")
	}
	for _, h := range [][2]string{{"darwin", "amd64"}, {"linux", "arm64"}, {"linux", "amd64"}} {
		s := base()
		got := jvmFor(s, h[0], h[1])
		if len(got.Env) != 2 || got.Env["ES_JAVA_OPTS"] != "-Xms512m -Xmx512m" {
			t.Errorf("%s/%s changed the env: %v", h[0], h[1], got.Env)
		}
	}
	// The spec's map is not shared with the result: a caller's map stays as it was.
	s := base()
	jvmFor(s, "darwin", "arm64")
	if _, ok := s.Env["CLI_JAVA_OPTS"]; ok {
		t.Error("jvmFor changed its argument's map")
	}
}
