package elasticsearch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Documents = "documents"
	Indices   = "indices"
)

// counters reads the document count over all indices (hidden ones aside)
// from _cat/indices, which both the real server and the emulator answer.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	var rows []map[string]any
	if err := probe.GetJSON(ctx, URL(e)+"/_cat/indices?format=json", &rows); err != nil {
		return nil, err
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
		return []stack.Counter{{Key: Documents, Label: "documents", Value: "no index (not seeded)"}}, nil
	}
	return []stack.Counter{
		{Key: Documents, Label: "documents", Value: fmt.Sprint(docs)},
		{Key: Indices, Label: "indices", Value: strings.Join(names, ", ")},
	}, nil
}
