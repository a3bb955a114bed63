package serve

import (
	"bytes"
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
	register(s3.Run)
	register(cdn.Run)
	register(mongodb.Run)
	register(elasticsearch.Run)
}

// register adds a fake under the kind its config type names. Unknown keys
// are refused, so a config written by hand (an image's environment) with a
// typo fails the start instead of leaving a field empty.
func register[C fakes.Config](run func(context.Context, C) error) {
	var zero C
	kind := zero.Kind()
	runners[kind] = func(ctx context.Context, raw []byte) error {
		var c C
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return fmt.Errorf("decode %s config: %w", kind, err)
		}
		return run(ctx, c)
	}
}
