package s3

import "github.com/mossdev/mossdev/stack"

// OnHost completes the stand-in note of a fake that the docker backend runs
// on the host (this one and the CDN), so nobody looks for its container.
func OnHost(note, backend string) string {
	if backend == "docker" {
		return note + "; on the host, not in a container"
	}
	return note
}

// docker: the bucket is mossdev's own process (gofakes3 in serve mode) on
// both backends. On docker it still runs on the host, under the docker
// backend's labels and lifecycle: laptop users need no mossdev image and
// nothing to pull for it, and apps reach it at the same 127.0.0.1 address.
func docker(*stack.Runtime) (stack.DockerSpec, error) { return stack.DockerSpec{Host: true}, nil }
