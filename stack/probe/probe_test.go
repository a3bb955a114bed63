package probe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Each probe says what it checks, with where and as whom, and never the
// password: waits and timeouts print it.
func TestProbesDescribeThemselvesWithoutSecrets(t *testing.T) {
	for _, c := range []struct {
		p    Probe
		want string
	}{
		{Postgres("postgres://mossi:s3cret@127.0.0.1:16432/mossi?sslmode=disable"),
			"SELECT 1 through 127.0.0.1:16432 as mossi on database mossi"},
		{MySQL("mossi:s3cret@tcp(127.0.0.1:13306)/mossi?charset=utf8mb4"), "MySQL ping at 127.0.0.1:13306 as mossi"},
		{Redis("127.0.0.1:16379", "s3cret"), "Redis PING at 127.0.0.1:16379 with the stack's password"},
		{AMQP("amqp://mossi:s3cret@127.0.0.1:15672/"), "AMQP handshake and a channel at amqp://mossi@127.0.0.1:15672/"},
		{Mongo("mongodb://127.0.0.1:17017/mossi"), "Mongo ping and listCollections at mongodb://127.0.0.1:17017/mossi"},
		{HTTP("http://127.0.0.1:19000/_cdn/stats"), "GET http://127.0.0.1:19000/_cdn/stats"},
		{Elasticsearch("http://elastic:s3cret@127.0.0.1:19200"), "GET http://elastic@127.0.0.1:19200/_cluster/health is green or yellow"},
		{S3("http://127.0.0.1:19001", "mossi-images"), "S3 list of bucket mossi-images at http://127.0.0.1:19001"},
		{All(Redis("127.0.0.1:1", ""), HTTP("http://127.0.0.1:2/")), "Redis PING at 127.0.0.1:1 with the stack's password, then GET http://127.0.0.1:2/"},
	} {
		got := c.p.String()
		if got != c.want {
			t.Errorf("description %q, want %q", got, c.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("description %q shows the password", got)
		}
	}
}

func TestUntilReportsEveryFailureAndTheLastError(t *testing.T) {
	n := 0
	p := New("a check that fails three times", func(context.Context) error {
		if n++; n <= 3 {
			return errors.New("refused")
		}
		return nil
	})
	var heard []int
	if err := Until(t.Context(), p, Policy{Interval: time.Millisecond}, nil, func(n int, err error) { heard = append(heard, n) }); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 3 || heard[2] != 3 {
		t.Fatalf("failures heard %v, want [1 2 3]", heard)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	never := New("a check that never passes", func(context.Context) error { return errors.New("connection refused") })
	err := Until(ctx, never, Policy{}, nil, nil)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a NotReadyError wrapping the deadline", err)
	}
	if nr.Probe != never || nr.Last.Error() != "connection refused" || nr.Attempts < 1 {
		t.Fatalf("NotReadyError %+v lacks the probe or its last error", nr)
	}
}

// A failing probe's error never carries the URL's password (status, the
// TUI and timeouts print it).
func TestHTTPErrorsHideThePassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://elastic:s3cret@", 1)
	err := Elasticsearch(u).Check(t.Context())
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("err = %v, want a status 401 without the password", err)
	}
	if err := GetJSON(t.Context(), u, new(any)); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("GetJSON err = %v, want an error without the password", err)
	}
}
