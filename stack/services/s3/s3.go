// Package s3 is the card-image bucket (Amazon S3's role): hundreds of
// millions of card images in production, served to clients through the CDN.
// mossdev runs gofakes3 in its own process, persistent under the stack's
// data dir, path-style addressed. Like S3 it accepts only requests signed
// (SigV4, header or presigned URL) with the stack's generated keys
// (MOSSDEV_S3_ACCESS_KEY, MOSSDEV_S3_SECRET_KEY), so apps configure
// credentials exactly as they would for S3.
package s3

import (
	"fmt"

	"github.com/mossdev/mossdev/fakes"
	fakes3 "github.com/mossdev/mossdev/fakes/s3"
	"github.com/mossdev/mossdev/stack"
)

// Name is the service id; Bucket the image bucket; Region the one apps set.
const (
	Name   = "s3"
	Bucket = "mossi-images"
	Region = "ap-northeast-2" // Seoul, where Mossi ran
)

// StandIn names the emulation in every output.
const StandIn = "gofakes3 (S3 emulator)"

// Service describes the bucket on a backend (its note says where it runs).
func Service(backend string) stack.Service {
	return stack.Service{
		Name: Name, Kind: Name, StandIn: OnHost(StandIn, backend),
		Role:  "card images bucket (S3's role), path-style; served to clients through the CDN",
		Ports: []string{"main"},
		Native: func(e *stack.Runtime) (stack.NativeSpec, error) {
			env, err := fakes.ServeEnv(fakes3.Config{
				Listen: e.Addr(Name, "main"), Dir: e.DataDir(Name), Buckets: []string{Bucket},
				AccessKey: e.Secrets.S3AccessKey, SecretKey: e.Secrets.S3SecretKey})
			return stack.NativeSpec{Run: stack.Command{Path: e.Exe, Env: env}}, err
		},
		Docker:   docker,
		Probe:    readiness,
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

// Admin is the client of the fake's admin API (checkpoints, pausing
// writes), signed with the stack's keys.
func Admin(e *stack.Runtime) fakes3.Admin {
	return fakes3.Admin{Endpoint: Endpoint(e), AccessKey: e.Secrets.S3AccessKey, SecretKey: e.Secrets.S3SecretKey}
}

// Endpoint is the S3 endpoint (use path-style addressing).
func Endpoint(e *stack.Runtime) string { return fmt.Sprintf("http://%s", e.Addr(Name, "main")) }
