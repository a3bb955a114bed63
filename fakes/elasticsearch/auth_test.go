package elasticsearch

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// runServed starts Run on a free port and returns its address once it
// accepts connections; the emulator stops when the test ends.
func runServed(t *testing.T, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ln.Close()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", cfg.Listen); err == nil {
			c.Close()
			return cfg.Listen
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator on %s did not answer", cfg.Listen)
		}
	}
}

// get sends GET path with optional basic auth and decodes the JSON body.
func getAs(t *testing.T, addr, path, user, pw string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	return resp, v
}

func TestRequestsWithoutCredentialsGet401(t *testing.T) {
	addr := runServed(t, Config{Password: "s3cret-pw"})
	for _, tc := range []struct{ user, pw, reason string }{
		{"", "", "missing authentication credentials for REST request [/_cluster/health?pretty]"},
		{"elastic", "wrong", "unable to authenticate user [elastic] for REST request [/_cluster/health?pretty]"},
		{"admin", "s3cret-pw", "unable to authenticate user [admin] for REST request [/_cluster/health?pretty]"},
	} {
		resp, body := getAs(t, addr, "/_cluster/health?pretty", tc.user, tc.pw)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("user %q: status %d, want 401", tc.user, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="security" charset="UTF-8"` {
			t.Errorf("user %q: WWW-Authenticate %q", tc.user, got)
		}
		if str(at(body, "error.type")) != "security_exception" || str(at(body, "error.reason")) != tc.reason ||
			str(at(body, "error.root_cause.0.type")) != "security_exception" || str(at(body, "status")) != "401" {
			t.Errorf("user %q: body %v", tc.user, body)
		}
	}
}

// go-elasticsearch takes the credentials from the URL, as users get it in
// MOSSDEV_ELASTICSEARCH_URL; without them its calls fail with ES's error.
func TestGoElasticsearchWithURLCredentials(t *testing.T) {
	addr := runServed(t, Config{Password: "s3cret-pw"})
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://elastic:s3cret-pw@" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Index("cards", strings.NewReader(`{"text":"새벽 세시"}`), es.Index.WithRefresh("true"))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("index with credentials: %v %v", res, err)
	}
	res.Body.Close()
	res, err = es.Info()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("info with credentials: %v %v", res, err)
	}
	res.Body.Close()

	anon, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = anon.Search(anon.Search.WithIndex("cards"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.String(), "security_exception") {
		t.Errorf("search without credentials: %s, want 401 security_exception", res)
	}
}

func TestRunRefusesNoPassword(t *testing.T) {
	err := Run(t.Context(), Config{Listen: "127.0.0.1:0", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no password") {
		t.Errorf("Run without a password = %v, want a config error", err)
	}
}

// The stand-in image reads the official image's variables.
func TestImageEnv(t *testing.T) {
	t.Run("ELASTIC_PASSWORD", func(t *testing.T) {
		t.Setenv("ELASTIC_PASSWORD", "from-env")
		addr := runServed(t, Config{ImageEnv: true})
		if resp, _ := getAs(t, addr, "/", "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no credentials: %d, want 401", resp.StatusCode)
		}
		if resp, _ := getAs(t, addr, "/", "elastic", "from-env"); resp.StatusCode != http.StatusOK {
			t.Errorf("ELASTIC_PASSWORD: %d, want 200", resp.StatusCode)
		}
	})
	t.Run("security off", func(t *testing.T) {
		t.Setenv("xpack.security.enabled", "false")
		addr := runServed(t, Config{ImageEnv: true})
		if resp, _ := getAs(t, addr, "/", "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("security off: %d, want 200", resp.StatusCode)
		}
	})
}
