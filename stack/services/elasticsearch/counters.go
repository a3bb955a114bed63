package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
)

var client = &http.Client{Timeout: 1500 * time.Millisecond}

// counters reads the document count over all indices (hidden ones aside)
// from _cat/indices, which both the real server and the emulator answer.
func counters(ctx context.Context, e *stack.Env) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, URL(e)+"/_cat/indices?format=json", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("_cat/indices: status %d", resp.StatusCode)
	}
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("read _cat/indices: %w", err)
	}
	var docs int64
	var names []string
	for _, r := range rows {
		name := fmt.Sprint(r["index"])
		if strings.HasPrefix(name, ".") {
			continue
		}
		names = append(names, name)
		n, _ := strconv.ParseInt(fmt.Sprint(r["docs.count"]), 10, 64)
		docs += n
	}
	if len(names) == 0 {
		return []stack.Counter{{Name: "documents", Value: "no index (not seeded)"}}, nil
	}
	return []stack.Counter{
		{Name: "documents", Value: fmt.Sprint(docs)},
		{Name: "indices", Value: strings.Join(names, ", ")},
	}, nil
}
