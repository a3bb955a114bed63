package elasticsearch

import (
	"maps"
	"runtime"
	"strings"

	"github.com/mossdev/mossdev/stack"
)

// withHostJVM adds to the docker spec the JVM options that depend on the
// machine Docker runs on (see jvmFor).
func withHostJVM(docker func(*stack.Runtime) (stack.DockerSpec, error)) func(*stack.Runtime) (stack.DockerSpec, error) {
	return func(e *stack.Runtime) (stack.DockerSpec, error) {
		s, err := docker(e)
		return jvmFor(s, runtime.GOOS, runtime.GOARCH), err
	}
}

// jvmFor adds -XX:UseSVE=0 on an Apple Silicon host: the JVM in the arm64
// image sees SVE in the Linux VM of an M4 and dies with SIGILL at start
// (elastic/elasticsearch#118583). The server JVM reads ES_JAVA_OPTS and the
// launcher JVM CLI_JAVA_OPTS, so both get it. The flag exists only in an
// arm64 JVM: IgnoreUnrecognizedVMOptions keeps an amd64 image run under
// emulation starting. Other hosts get nothing.
func jvmFor(s stack.DockerSpec, goos, goarch string) stack.DockerSpec {
	if goos != "darwin" || goarch != "arm64" {
		return s
	}
	const opts = "-XX:+IgnoreUnrecognizedVMOptions -XX:UseSVE=0"
	env := maps.Clone(s.Env) // the caller's map stays as it was
	if env == nil {
		env = map[string]string{}
	}
	env["ES_JAVA_OPTS"] = strings.TrimSpace(env["ES_JAVA_OPTS"] + " " + opts)
	env["CLI_JAVA_OPTS"] = strings.TrimSpace(env["CLI_JAVA_OPTS"] + " " + opts)
	s.Env = env
	return s
}
