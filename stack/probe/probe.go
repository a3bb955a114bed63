// Package probe holds one readiness check per protocol. A Probe is a single
// attempt that speaks the service's own protocol over a fresh connection;
// polling (interval, deadline) is the caller's, so the TUI can reuse the same
// check once a second and Up can poll it until ready.
//
// Checks speak the protocol because a TCP connect proves nothing: Docker's
// proxy accepts connections before the server inside is up, and a wedged
// server still accepts on its socket.
package probe

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

// Probe is one readiness check. String says what it checks, in words a
// user can act on ("SELECT 1 through 127.0.0.1:6432 as mossi"), never with
// a secret: waits and timeouts name it.
type Probe interface {
	Check(ctx context.Context) error
	fmt.Stringer
}

// New makes a Probe from what it checks and the check itself.
func New(what string, check func(ctx context.Context) error) Probe { return &fn{what, check} }

type fn struct {
	what  string
	check func(ctx context.Context) error
}

var _ Probe = (*fn)(nil)

func (f *fn) Check(ctx context.Context) error { return f.check(ctx) }
func (f *fn) String() string                  { return f.what }

// redact drops a URL's password (and its query, which may carry keys), for
// descriptions.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// Postgres connects with pgx and runs SELECT 1. The simple protocol keeps
// the check valid through PgBouncer's transaction pooling, which (1.18)
// does not carry prepared statements across server connections.
func Postgres(dsn string) Probe {
	what := "SELECT 1 (unparsable postgres URL)"
	if cfg, err := pgx.ParseConfig(dsn); err == nil {
		what = fmt.Sprintf("SELECT 1 through %s as %s on database %s",
			net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.User, cfg.Database)
	}
	return New(what, func(ctx context.Context) error {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return fmt.Errorf("parse postgres url: %w", err)
		}
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var one int
		return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
}

// MySQL connects with go-sql-driver/mysql and pings.
func MySQL(dsn string) Probe {
	what := "ping (unparsable MySQL DSN)"
	if cfg, err := mysql.ParseDSN(dsn); err == nil {
		what = fmt.Sprintf("MySQL ping at %s as %s", cfg.Addr, cfg.User)
	}
	return New(what, func(ctx context.Context) error {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return fmt.Errorf("parse mysql dsn: %w", err)
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		return db.PingContext(ctx)
	})
}

// Redis sends PING.
func Redis(addr, password string) Probe {
	return New("Redis PING at "+addr+" with the stack's password", func(ctx context.Context) error {
		// One dial per attempt: the prober polls, so go-redis's own dial
		// retries would only make an attempt overrun its limit.
		c := redis.NewClient(&redis.Options{Addr: addr, Password: password, MaxRetries: -1,
			DialTimeout: time.Second, DialerRetries: 1, PoolSize: 1})
		defer c.Close()
		return c.Ping(ctx).Err()
	})
}

// AMQP opens a connection and a channel: the handshake proves the broker
// (through HAProxy, when the URL is HAProxy's) accepts the stack's user.
func AMQP(url string) Probe {
	return New("AMQP handshake and a channel at "+redact(url), func(ctx context.Context) error {
		cfg := amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)}
		done := make(chan error, 1)
		go func() {
			conn, err := amqp.DialConfig(url, cfg)
			if err != nil {
				done <- err
				return
			}
			defer conn.Close()
			ch, err := conn.Channel()
			if err == nil {
				ch.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// Mongo pings, then lists the collections of the URI's database: FerretDB
// answers ping from its own state even when its PostgreSQL backend is gone,
// while listCollections reaches storage on FerretDB and real MongoDB alike.
func Mongo(uri string) Probe {
	return New("Mongo ping and listCollections at "+redact(uri), func(ctx context.Context) error {
		c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(2 * time.Second).
			SetConnectTimeout(2 * time.Second))
		if err != nil {
			return err
		}
		defer c.Disconnect(context.Background())
		if err := c.Ping(ctx, readpref.Primary()); err != nil {
			return err
		}
		db := "admin"
		if cs, err := connstring.ParseAndValidate(uri); err == nil && cs.Database != "" {
			db = cs.Database
		}
		return c.Database(db).RunCommand(ctx, bson.D{{Key: "listCollections", Value: 1}, {Key: "nameOnly", Value: true}}).Err()
	})
}

var client = &http.Client{Transport: &http.Transport{
	TLSClientConfig:   &tls.Config{},
	DisableKeepAlives: true, // each check proves a fresh connection works
}}

// HTTP expects a 2xx or 3xx answer (or the listed statuses) from url.
func HTTP(url string, ok ...int) Probe {
	return New("GET "+redact(url), func(ctx context.Context) error {
		_, err := get(ctx, url, ok...)
		return err
	})
}

// Get fetches url (at most 4 MiB) and fails on a status other than 2xx/3xx.
// Basic auth comes from the URL's user info. Counters read live figures
// with it, so a reading and a probe see a service the same way.
func Get(ctx context.Context, url string) ([]byte, error) { return get(ctx, url) }

// GetJSON fetches url with Accept: application/json and decodes it into v.
func GetJSON(ctx context.Context, url string, v any) error {
	body, err := get(ctx, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("read %s: %w", redact(url), err)
	}
	return nil
}

func get(ctx context.Context, url string, ok ...int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	good := resp.StatusCode < 400
	if len(ok) > 0 {
		good = false
		for _, c := range ok {
			good = good || resp.StatusCode == c
		}
	}
	if !good {
		return body, fmt.Errorf("GET %s: status %d", redact(url), resp.StatusCode)
	}
	return body, nil
}

// Elasticsearch asks GET /_cluster/health and wants green or yellow.
func Elasticsearch(base string) Probe {
	return New("GET "+redact(base)+"/_cluster/health is green or yellow", func(ctx context.Context) error {
		body, err := get(ctx, base+"/_cluster/health")
		if err != nil {
			return err
		}
		var h struct{ Status string }
		if err := json.Unmarshal(body, &h); err != nil {
			return fmt.Errorf("read cluster health: %w", err)
		}
		if h.Status != "green" && h.Status != "yellow" {
			return fmt.Errorf("cluster health is %q", h.Status)
		}
		return nil
	})
}

// S3 lists a bucket (path style): the bucket exists and the server speaks S3.
func S3(endpoint, bucket string) Probe {
	p := HTTP(endpoint + "/" + bucket + "?list-type=2&max-keys=1")
	return New("S3 list of bucket "+bucket+" at "+redact(endpoint), p.Check)
}

// All passes when every probe passes, checked in order.
func All(ps ...Probe) Probe {
	what := make([]string, len(ps))
	for i, p := range ps {
		what[i] = p.String()
	}
	return New(strings.Join(what, ", then "), func(ctx context.Context) error {
		for _, p := range ps {
			if err := p.Check(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// Policy says how to poll a probe until it passes. A service whose server
// is slow to answer (a cluster node) can set its own in Service.Readiness.
type Policy struct {
	Interval time.Duration // between attempts (grows to 4x while failing)
	Attempt  time.Duration // limit of one attempt
}

// DefaultPolicy suits local servers: they start in well under a second to a
// few seconds, so poll fast and cap each attempt at 2 s.
var DefaultPolicy = Policy{Interval: 50 * time.Millisecond, Attempt: 2 * time.Second}

// OrDefault fills a zero policy's fields from DefaultPolicy.
func (p Policy) OrDefault() Policy {
	if p.Interval <= 0 {
		p.Interval = DefaultPolicy.Interval
	}
	if p.Attempt <= 0 {
		p.Attempt = DefaultPolicy.Attempt
	}
	return p
}

// Once runs one attempt bounded by limit and reports its latency.
func Once(ctx context.Context, p Probe, limit time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.Now()
	err := p.Check(ctx)
	return time.Since(t), err
}

// NotReadyError is Until's failure when ctx ends before the probe passes:
// which probe, how often it was tried, and the last thing it observed.
type NotReadyError struct {
	Probe    Probe
	Attempts int
	Last     error
	Err      error // ctx's error: context.DeadlineExceeded or Canceled
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("%s not answering after %d attempts: %v; last error: %v", e.Probe, e.Attempts, e.Err, e.Last)
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// Until polls p until it passes, ctx ends (a *NotReadyError), or stop
// reports an error (the process exited: no point waiting). onFail, when
// not nil, hears every failed attempt (the n-th, and its error), so a
// caller can report progress while it waits.
func Until(ctx context.Context, p Probe, pol Policy, stop func() error, onFail func(n int, err error)) error {
	pol = pol.OrDefault()
	iv := pol.Interval
	n := 0
	var last error
	for {
		_, err := Once(ctx, p, pol.Attempt)
		if err == nil {
			return nil
		}
		n++
		last = err
		if onFail != nil {
			onFail(n, err)
		}
		if stop != nil {
			if serr := stop(); serr != nil {
				return serr
			}
		}
		select {
		case <-ctx.Done():
			return &NotReadyError{Probe: p, Attempts: n, Last: last, Err: ctx.Err()}
		case <-time.After(iv):
		}
		if iv < 4*pol.Interval {
			iv += pol.Interval / 2
		}
	}
}
