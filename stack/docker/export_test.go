package docker

import (
	"context"

	"github.com/moby/moby/client"
)

// SetFetch stands in for a registry, which this machine lacks: f replaces
// the download of an image, and everything around it still talks to the
// engine. restore puts the real download back.
func SetFetch(f func(ctx context.Context, ref string, progress func(done, total int64)) error) (restore func()) {
	old := fetch
	fetch = func(ctx context.Context, _ *client.Client, ref string, progress func(done, total int64)) error {
		return f(ctx, ref, progress)
	}
	return func() { fetch = old }
}
