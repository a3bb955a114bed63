package elasticsearch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// PauseWrites asks the emulator behind c (a go-elasticsearch client, whose
// address and credentials it uses) to hold writes back until ResumeWrites
// or until expires has passed (at most fakes.MaxPauseExpiry). Searches and
// the snapshot API go on. The real Elasticsearch has no such endpoint:
// call it only where the emulator runs (the native backend, or a stand-in
// image).
func PauseWrites(ctx context.Context, c esapi.Transport, expires time.Duration) error {
	q := url.Values{"expires": {expires.String()}}
	if err := adminCall(ctx, c, "/_mossdev/pause?"+q.Encode()); err != nil {
		return fmt.Errorf("pause elasticsearch writes: %w", err)
	}
	return nil
}

// ResumeWrites lets writes held by PauseWrites proceed.
func ResumeWrites(ctx context.Context, c esapi.Transport) error {
	if err := adminCall(ctx, c, "/_mossdev/resume"); err != nil {
		return fmt.Errorf("resume elasticsearch writes: %w", err)
	}
	return nil
}

func adminCall(ctx context.Context, c esapi.Transport, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, nil)
	if err != nil {
		return err
	}
	res, err := c.Perform(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("HTTP %d: %s (is this the mossdev emulator? the real Elasticsearch has no /_mossdev API)", res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
