package serve

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mossdev/mossdev/fakes"
	"github.com/mossdev/mossdev/fakes/cdn"
	"github.com/mossdev/mossdev/fakes/elasticsearch"
	"github.com/mossdev/mossdev/fakes/mongodb"
	"github.com/mossdev/mossdev/fakes/s3"
)

func init() {
	register(fakes.S3, s3.Run)
	register(fakes.CDN, cdn.Run)
	register(fakes.MongoDB, mongodb.Run)
	register(fakes.Elasticsearch, elasticsearch.Run)
}

// register adds a fake whose config decodes from JSON into C.
func register[C any](kind string, run func(context.Context, C) error) {
	runners[kind] = func(ctx context.Context, raw []byte) error {
		var c C
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("decode %s config: %w", kind, err)
		}
		return run(ctx, c)
	}
}
