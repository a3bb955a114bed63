package cdn

import (
	"context"
	"fmt"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	HitRatio      = "hit_ratio"
	Hits          = "hits"
	Misses        = "misses"
	CachedObjects = "cached_objects"
)

// counters reads the cache's hit ratio from GET /_cdn/stats: a warm CDN
// answers most image requests itself, and S3 only sees the misses.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	var s struct {
		Hits     int64   `json:"hits"`
		Misses   int64   `json:"misses"`
		HitRatio float64 `json:"hitRatio"`
		Objects  int64   `json:"objects"`
		Bytes    int64   `json:"bytes"`
	}
	if err := probe.GetJSON(ctx, URL(e)+"/_cdn/stats", &s); err != nil {
		return nil, err
	}
	ratio := "no requests yet"
	if s.Hits+s.Misses > 0 {
		ratio = fmt.Sprintf("%.1f%%", 100*s.HitRatio)
	}
	return []stack.Counter{
		{Key: HitRatio, Label: "hit ratio", Value: ratio},
		{Key: Hits, Label: "hits", Value: fmt.Sprint(s.Hits)},
		{Key: Misses, Label: "misses", Value: fmt.Sprint(s.Misses)},
		{Key: CachedObjects, Label: "cached objects", Value: fmt.Sprintf("%d (%d bytes)", s.Objects, s.Bytes)},
	}, nil
}
