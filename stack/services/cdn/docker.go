package cdn

import "github.com/mossdev/mossdev/stack"

// docker: the CDN is mossdev's own caching proxy, run on the host on both
// backends (see package s3's docker form for why), in front of the bucket's
// host address.
func docker(*stack.Runtime) (stack.DockerSpec, error) { return stack.DockerSpec{Host: true}, nil }
