package cdn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mossdev/mossdev/stack"
)

var client = &http.Client{Timeout: 1500 * time.Millisecond}

// counters reads the cache's hit ratio from GET /_cdn/stats: a warm CDN
// answers most image requests itself, and S3 only sees the misses.
func counters(ctx context.Context, e *stack.Env) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, URL(e)+"/_cdn/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/_cdn/stats: status %d", resp.StatusCode)
	}
	var s struct {
		Hits     int64   `json:"hits"`
		Misses   int64   `json:"misses"`
		HitRatio float64 `json:"hitRatio"`
		Objects  int64   `json:"objects"`
		Bytes    int64   `json:"bytes"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("read /_cdn/stats: %w", err)
	}
	ratio := "no requests yet"
	if s.Hits+s.Misses > 0 {
		ratio = fmt.Sprintf("%.1f%%", 100*s.HitRatio)
	}
	return []stack.Counter{
		{Name: "hit ratio", Value: ratio},
		{Name: "hits", Value: fmt.Sprint(s.Hits)},
		{Name: "misses", Value: fmt.Sprint(s.Misses)},
		{Name: "cached objects", Value: fmt.Sprintf("%d (%d bytes)", s.Objects, s.Bytes)},
	}, nil
}
