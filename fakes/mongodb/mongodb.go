// Package mongodb runs mossdev's stand-in for MongoDB: FerretDB 1.24,
// embedded in the mossdev binary, speaking the MongoDB wire protocol and
// storing documents in PostgreSQL (or SQLite).
//
// In the Mossi platform MongoDB (3.0, WiredTiger) holds log-like data the
// main database should not carry, above all the per-user view log: who
// viewed which card, and when. The unique view count of a card lives in
// PostgreSQL; the log behind it lives here, and the two must agree. The
// 2016 advice was to keep it simple: plain inserts, few indexes, because
// every index slows the insert path that takes the whole view traffic.
//
// No MongoDB server is packaged for Debian, so mossdev embeds FerretDB and
// reports itself as StandIn. Clients see MongoDB 7.0 (wire version 21) and
// any current driver connects unchanged, but FerretDB 1.x lacks parts of
// MongoDB. Aggregation has only the $match, $group, $sort, $project,
// $limit, $skip, $unwind, $count, $addFields/$set, $unset and $collStats
// stages (no $lookup), and $group only the $sum and $count accumulators (no
// $avg, $min, $max, $push); there are no transactions, no change streams,
// and no text, 2dsphere or TTL indexes. Unique indexes work. Anything else
// fails with a command error, which is the signal to keep the view-log code
// as simple as the platform intended.
//
// With User and Password set, clients must authenticate as that user of
// the admin database (SCRAM-SHA-256 or SCRAM-SHA-1), as with the root user
// of MongoDB's official image; the relay in front of FerretDB does it (see
// auth.go for why FerretDB's own authentication is not used).
//
// Backends: PostgreSQL is the one to use (set PostgreSQLURL); updates on
// the SQLite backend scan the whole collection per document and are
// unusably slow beyond a few thousand documents, so SQLiteURL is for tests
// and quick local runs only.
//
// FerretDB connects to PostgreSQL lazily, on the first command that needs
// it, and never exits because PostgreSQL is gone: commands fail with an
// InternalError while it is down and work again once it is back. Run
// therefore pings through FerretDB at start, so an unreachable or
// unsuitable PostgreSQL (FerretDB insists on a UTF8 database whose locale
// is C, POSIX, C.UTF-8 or en_US.UTF-8) fails the start instead of the first
// insert of the seed.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mossdev/mossdev/fakes"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// StandIn names what actually answers on the MongoDB port, for status
// output and the terminal UI.
const StandIn = "FerretDB 1.24 (stand-in for MongoDB)"

// Config describes one MongoDB stand-in. Exactly one of PostgreSQLURL and
// SQLiteURL must be set.
type Config struct {
	// Listen is the TCP address to serve the MongoDB protocol on, e.g.
	// "127.0.0.1:27017".
	Listen string `json:"listen"`
	// PostgreSQLURL is the database FerretDB stores documents in, e.g.
	// "postgres://mossdev:mossdev@127.0.0.1:5432/ferretdb". Each MongoDB
	// database becomes a PostgreSQL schema in it.
	PostgreSQLURL string `json:"postgresqlURL"`
	// SQLiteURL is a file: URL of a directory, e.g. "file:/var/lib/mossdev/mongodb/";
	// each MongoDB database becomes one SQLite file in it. The directory is
	// created if missing.
	SQLiteURL string `json:"sqliteURL"`
	// User and Password, when set, make every client authenticate as that
	// user of the admin database (authSource=admin) with SCRAM-SHA-256 or
	// SCRAM-SHA-1, as MongoDB does for the root user the official image
	// makes from MONGO_INITDB_ROOT_USERNAME/PASSWORD. Without them any
	// client is let in, as with mongod started without --auth.
	User     string `json:"user"`
	Password string `json:"password"`
	// ImageEnv takes User and Password from MONGO_INITDB_ROOT_USERNAME and
	// MONGO_INITDB_ROOT_PASSWORD, as the official image does, for the
	// stand-in image.
	ImageEnv bool `json:"imageEnv"`
}

// login returns the user clients must authenticate as and its password,
// or two empty strings when anyone may connect.
func (cfg Config) login() (user, password string, err error) {
	user, password = cfg.User, cfg.Password
	if cfg.ImageEnv {
		user, password = os.Getenv("MONGO_INITDB_ROOT_USERNAME"), os.Getenv("MONGO_INITDB_ROOT_PASSWORD")
	}
	if (user == "") != (password == "") {
		// The official image refuses to start this way too.
		return "", "", errors.New("check config: set both user and password (MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD in the image), or neither")
	}
	return user, password, nil
}

// Kind names this fake in serve mode.
func (Config) Kind() string { return fakes.MongoDB }

// Server is one FerretDB instance. Its port is bound from New on, and
// connections are accepted once Serve runs.
type Server struct {
	fdb        *ferretdb.FerretDB
	postgreSQL bool
	logLevel   *slog.LevelVar
	// ln is the client port; FerretDB itself listens on a Unix socket in
	// sockDir (mode 0700) and clients reach it through relay.
	ln      net.Listener
	sockDir string
	sock    string
	// creds is the user clients must authenticate as; nil lets anyone in.
	creds *credentials
	// userinfo is creds as URI() puts them in the connection string.
	userinfo *url.Userinfo
}

// quiet is above every level FerretDB logs at.
const quiet = slog.LevelError + 4

// New checks cfg, binds the listen address and prepares FerretDB. Nothing
// is served until Serve.
func New(cfg Config) (*Server, error) {
	var handler string
	switch {
	case cfg.PostgreSQLURL != "" && cfg.SQLiteURL != "":
		return nil, errors.New("check config: both postgresqlURL and sqliteURL are set; set only postgresqlURL (sqliteURL is for tests)")
	case cfg.PostgreSQLURL != "":
		handler = "postgresql"
	case cfg.SQLiteURL != "":
		handler = "sqlite"
		u, err := sqliteURL(cfg.SQLiteURL)
		if err != nil {
			return nil, err
		}
		cfg.SQLiteURL = u
	default:
		return nil, errors.New("check config: no backend; set postgresqlURL (or sqliteURL for tests)")
	}
	user, password, err := cfg.login()
	if err != nil {
		return nil, err
	}
	var creds *credentials
	var userinfo *url.Userinfo
	if user != "" {
		if creds, err = newCredentials(user, password); err != nil {
			return nil, err
		}
		userinfo = url.UserPassword(user, password)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// FerretDB's own listener is a socket only this process's user can
	// reach, so every client goes through the relay (see proxy.go).
	sockDir, err := os.MkdirTemp("", "mossdev-ferretdb-")
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("create ferretdb socket directory: %w", err)
	}
	sock := filepath.Join(sockDir, "ferretdb.sock")

	// FerretDB logs every failed command as a warning, and the seed's
	// duplicate-key probes would flood the terminal: errors only.
	level := new(slog.LevelVar)
	level.Set(slog.LevelError)
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{Unix: sock},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:       handler,
		PostgreSQLURL: cfg.PostgreSQLURL,
		SQLiteURL:     cfg.SQLiteURL,
	})
	if err != nil {
		_ = ln.Close()
		_ = os.RemoveAll(sockDir)
		return nil, fmt.Errorf("start ferretdb on %s: %w", cfg.Listen, withoutStack(err))
	}
	return &Server{fdb: fdb, postgreSQL: handler == "postgresql", logLevel: level, ln: ln, sockDir: sockDir, sock: sock,
		creds: creds, userinfo: userinfo}, nil
}

// sqliteURL turns the configured SQLite location into the form FerretDB
// accepts (a file: URL whose path is an existing directory ending in "/"),
// creating the directory.
func sqliteURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("check sqliteURL %q: want a file: URL of a directory, e.g. file:/tmp/mossdev/mongodb/", raw)
	}
	dir := u.Path
	if dir == "" {
		dir = u.Opaque
	}
	if dir == "" {
		return "", fmt.Errorf("check sqliteURL %q: no directory in it", raw)
	}
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create sqlite directory: %w", err)
	}
	out := "file:" + dir
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out, nil
}

// URI is the connection string clients use, e.g. "mongodb://127.0.0.1:27017/",
// or "mongodb://USER:PASSWORD@127.0.0.1:27017/?authSource=admin" when
// clients must authenticate.
func (s *Server) URI() string {
	u := url.URL{Scheme: "mongodb", Host: s.ln.Addr().String(), Path: "/", User: s.userinfo}
	if s.userinfo != nil {
		u.RawQuery = "authSource=" + AuthDB
	}
	return u.String()
}

// Serve answers MongoDB clients until ctx is done, then closes every client
// connection and the backend. It returns nil. FerretDB gives clients still
// connected when ctx ends up to 3 s to disconnect, so allow a grace period
// longer than that before killing a serving process.
func (s *Server) Serve(ctx context.Context) error {
	defer os.RemoveAll(s.sockDir)
	var conns sync.WaitGroup
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return // closed at shutdown
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				b, err := net.Dial("unix", s.sock)
				if err != nil {
					c.Close()
					return
				}
				relay(c, b, s.creds)
			}()
		}
	}()
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	err := s.fdb.Run(ctx)
	s.ln.Close()
	<-accepted
	conns.Wait() // FerretDB closed its side of every connection
	if err != nil {
		return fmt.Errorf("serve ferretdb: %w", err)
	}
	return nil
}

// backendCheckTimeout bounds the start-up ping. It is short on purpose:
// mossdev starts the stand-in after PostgreSQL reports healthy, so the only
// wait worth absorbing is PostgreSQL finishing its own start.
const backendCheckTimeout = 3 * time.Second

// Run serves the MongoDB protocol on cfg.Listen until ctx is done. With the
// PostgreSQL backend it first pings through FerretDB and returns an error
// if PostgreSQL cannot be used within a few seconds. It returns nil after a
// clean shutdown, which can take up to 3 s (see Server.Serve).
//
// Health probes must send ping, not hello or a bare TCP connect: FerretDB
// accepts connections and answers hello with PostgreSQL down, and only
// commands that touch the backend fail.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return fmt.Errorf("run mongodb: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()

	if s.postgreSQL {
		if err := s.checkBackend(sctx); err != nil {
			stop()
			<-done
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("run mongodb: %w", err)
		}
	}
	if err := <-done; err != nil {
		return fmt.Errorf("run mongodb: %w", err)
	}
	return nil
}

// checkBackend sends ping through FerretDB until it succeeds. FerretDB's
// ping opens the PostgreSQL pool and runs its own encoding and locale
// checks, so a success means real commands will work.
func (s *Server) checkBackend(ctx context.Context) error {
	// pgx logs each refused connection at error level, twice per attempt;
	// while retrying, the returned error is the one report that matters.
	s.logLevel.Set(quiet)
	defer s.logLevel.Set(slog.LevelError)
	ctx, cancel := context.WithTimeout(ctx, backendCheckTimeout)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetServerSelectionTimeout(backendCheckTimeout))
	if err != nil {
		return fmt.Errorf("check postgresql backend: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	var last error
	for {
		err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
		if err == nil {
			return nil
		}
		// Keep the backend's own complaint rather than the deadline that
		// cut the final attempt short.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("check postgresql backend (is it running, and is postgresqlURL right?): %w", withoutStack(last))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// backendError is an error with FerretDB's source-location stack
// ("[msg_ping.go:55 handler.(*Handler).MsgPing] [backend.go:68 ...] ...")
// cut out, so the user reads PostgreSQL's complaint first. It still
// unwraps to the original error.
type backendError struct {
	msg string
	err error
}

func (e *backendError) Error() string { return e.msg }
func (e *backendError) Unwrap() error { return e.err }

func withoutStack(err error) error {
	msg := err.Error()
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	// pgx lists one line per address tried; one line reads better in a
	// status table.
	msg = stripTraces(strings.ReplaceAll(msg, "\n\t", " "))
	return &backendError{msg: msg, err: err}
}
