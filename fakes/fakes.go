// Package fakes holds mossdev's emulated cloud parts and stand-ins: the S3
// bucket (gofakes3), the CDN in front of it, the MongoDB stand-in (FerretDB
// embedded) and the Elasticsearch API emulator (on bleve).
//
// They run as processes like every other server of a stack: the mossdev
// binary (or a test binary whose TestMain calls stacktest.Main) re-executes
// itself with MOSSDEV_SERVE naming the fake and MOSSDEV_SERVE_CONFIG holding
// its JSON config (a typed Config, see ServeEnv); package fakes/serve does
// the dispatch. So a fake can be stopped, killed and observed exactly like
// PostgreSQL, and the same binary serves as a Docker image's entrypoint.
package fakes

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Environment variables of serve mode.
const (
	EnvKind   = "MOSSDEV_SERVE"
	EnvConfig = "MOSSDEV_SERVE_CONFIG"
)

// Kinds of fakes.
const (
	S3            = "s3"
	CDN           = "cdn"
	MongoDB       = "mongodb"
	Elasticsearch = "elasticsearch"
)

// Config is a fake's typed configuration. Kind names the fake that takes
// it, so a config cannot be sent to the wrong fake, and a mistyped field is
// a compile error rather than an empty value in the served process.
type Config interface {
	Kind() string
}

// ServeEnv returns the environment that makes the binary serve the fake
// cfg configures.
func ServeEnv(cfg Config) ([]string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode %s config: %w", cfg.Kind(), err)
	}
	return []string{EnvKind + "=" + cfg.Kind(), EnvConfig + "=" + string(b)}, nil
}

// ServeHTTP listens on addr and serves h until ctx ends, then shuts down,
// giving requests in flight (image uploads and downloads) grace to finish
// before they are cut off. It returns nil after a shutdown, an error naming
// the address when it cannot listen.
func ServeHTTP(ctx context.Context, addr string, h http.Handler, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	<-done
	return nil
}
