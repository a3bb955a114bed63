// Package s3 is the card-image bucket (Amazon S3's role): hundreds of
// millions of card images in production, served to clients through the CDN.
// mossdev runs gofakes3 in its own process, persistent under the stack's
// data dir, path-style addressed. It checks no signatures: the generated
// keys are there so apps configure real credentials the same way.
package s3

import (
	"fmt"

	"github.com/mossdev/mossdev/fakes"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Name is the service id; Bucket the image bucket; Region the one apps set.
const (
	Name   = "s3"
	Bucket = "mossi-images"
	Region = "ap-northeast-2" // Seoul, where Mossi ran
)

// StandIn names the emulation in every output.
const StandIn = "gofakes3 (S3 emulator)"

// Service describes the bucket.
func Service() stack.Service {
	return stack.Service{
		Name: Name, Kind: Name, StandIn: StandIn,
		Role:  "card images bucket (S3's role), path-style; served to clients through the CDN",
		Ports: []string{"main"},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakes.S3, map[string]any{
				"listen": e.Addr(Name, "main"), "dir": e.DataDir(Name), "buckets": []string{Bucket}})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   docker,
		Probe:    func(e *stack.Runtime) probe.Probe { return probe.S3(Endpoint(e), Bucket) },
		URL:      Endpoint,
		Counters: counters,
		Explain: "The card-image bucket: hundreds of millions of images in production. Clients never fetch from it " +
			"directly; the CDN does, on a miss.",
		Extra: func(e *stack.Runtime) map[string]string {
			return map[string]string{
				stack.EnvName(Name, "BUCKET"):     Bucket,
				stack.EnvName(Name, "REGION"):     Region,
				stack.EnvName(Name, "ACCESS_KEY"): e.Secrets.S3AccessKey,
				stack.EnvName(Name, "SECRET_KEY"): e.Secrets.S3SecretKey,
			}
		},
	}
}

// Endpoint is the S3 endpoint (use path-style addressing).
func Endpoint(e *stack.Runtime) string { return fmt.Sprintf("http://%s", e.Addr(Name, "main")) }
