// Package cdn is the CDN in front of the image bucket (CloudFront's role):
// clients fetch card images from the CDN, which caches them, so S3 sees
// only misses. mossdev's CDN is a caching reverse proxy that answers with
// CloudFront's `X-Cache: Hit/Miss from ...` header, honours ETag and
// If-None-Match, can be purged (POST /_cdn/purge, with the stack's token in
// `Authorization: Bearer $MOSSDEV_CDN_PURGE_TOKEN`) and reports its hit
// ratio (GET /_cdn/stats). It reads the bucket with the stack's S3 keys, as
// CloudFront's origin access control reads a private bucket.
package cdn

import (
	"fmt"

	"github.com/mossdev/mossdev/fakes"
	fakecdn "github.com/mossdev/mossdev/fakes/cdn"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
	"github.com/mossdev/mossdev/stack/services/s3"
)

// Name is the service id.
const Name = "cdn"

// StandIn names the emulation in every output.
const StandIn = "mossdev CDN (caching proxy in CloudFront's role)"

// Service describes the CDN on a backend (its note says where it runs).
func Service(backend string) stack.Service {
	return stack.Service{
		Name: Name, Kind: Name, StandIn: s3.OnHost(StandIn, backend),
		Role:  "CDN in front of the image bucket (CloudFront's role): caches card images",
		Ports: []string{"main"},
		Needs: []string{s3.Name},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakecdn.Config{
				Listen: e.Addr(Name, "main"), Origin: s3.Endpoint(e) + "/" + s3.Bucket,
				PurgeToken:      e.Secrets.CDNPurgeToken,
				OriginAccessKey: e.Secrets.S3AccessKey, OriginSecretKey: e.Secrets.S3SecretKey, OriginRegion: s3.Region})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   docker,
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.HTTP(URL(e) + "/_cdn/stats") },
		URL:      URL,
		Counters: counters,
		Extra: func(e *stack.Runtime) map[string]string {
			return map[string]string{stack.EnvName(Name, "PURGE_TOKEN"): e.Secrets.CDNPurgeToken}
		},
		Explain: "The CDN in front of the image bucket (CloudFront's role): it caches card images so S3 sees only " +
			"misses. A warm cache has a high hit ratio; stop S3 and cached images are still served until they expire.",
	}
}

// URL is the CDN's base; an image key K is at URL/K.
func URL(e *stack.Runtime) string { return fmt.Sprintf("http://%s", e.Addr(Name, "main")) }
