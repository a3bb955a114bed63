package mongodb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// start serves a SQLite-backed stand-in on a free port for the test's
// lifetime and returns a connected client.
func start(t *testing.T) *mongo.Client {
	t.Helper()
	return startWith(t, Config{Listen: "127.0.0.1:0", SQLiteURL: "file:" + t.TempDir() + "/"})
}

// startWith serves cfg (without Run's backend check) for the test's
// lifetime and returns a connected client.
func startWith(t *testing.T, cfg Config) *mongo.Client {
	t.Helper()
	_, c := serveWith(t, cfg)
	return c
}

// serveWith is startWith that also returns the server.
func serveWith(t *testing.T, cfg Config) (*Server, *mongo.Client) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return s, c
}

func TestConfigNeedsExactlyOneBackend(t *testing.T) {
	_, err := New(Config{Listen: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "set postgresqlURL") {
		t.Errorf("New without a backend = %v, want it to say to set postgresqlURL", err)
	}
	_, err = New(Config{Listen: "127.0.0.1:0", PostgreSQLURL: "postgres://x/y", SQLiteURL: "file:/tmp/x/"})
	if err == nil || !strings.Contains(err.Error(), "set only postgresqlURL") {
		t.Errorf("New with both backends = %v", err)
	}
	_, err = New(Config{Listen: "127.0.0.1:0", SQLiteURL: "/tmp/not-a-url"})
	if err == nil || !strings.Contains(err.Error(), "file: URL") {
		t.Errorf("New with a bare path as sqliteURL = %v", err)
	}
}

func TestPing(t *testing.T) {
	c := start(t)
	if err := c.Ping(t.Context(), nil); err != nil {
		t.Fatalf("ping: %v", err)
	}
	var hello bson.M
	if err := c.Database("admin").RunCommand(t.Context(), bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		t.Fatalf("hello: %v", err)
	}
	if hello["maxWireVersion"] != int32(21) {
		t.Errorf("maxWireVersion = %v, want 21 (MongoDB 7.0)", hello["maxWireVersion"])
	}
}

func TestViewLog(t *testing.T) {
	exerciseViewLog(t, start(t))
}

func exerciseViewLog(t *testing.T, c *mongo.Client) {
	exerciseViewLogIn(t, c.Database("mossi"))
}

// exerciseViewLogIn keeps the view log as the platform does: one document
// per (card, viewer).
func exerciseViewLogIn(t *testing.T, db *mongo.Database) {
	t.Helper()
	views := db.Collection("card_views")

	// A unique (card, viewer) index makes the log's distinct viewers equal
	// the unique view count kept in PostgreSQL.
	_, err := views.Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys:    bson.D{{Key: "card_id", Value: 1}, {Key: "user_id", Value: 1}},
		Options: options.Index().SetUnique(true),
	})
	if err != nil {
		t.Fatalf("create unique index: %v", err)
	}

	var docs []any
	at := time.Date(2016, 3, 1, 2, 0, 0, 0, time.UTC)
	for card := 1; card <= 3; card++ {
		for user := 1; user <= card*10; user++ {
			docs = append(docs, bson.D{
				{Key: "card_id", Value: int64(card)},
				{Key: "user_id", Value: int64(user)},
				{Key: "viewed_at", Value: at.Add(time.Duration(user) * time.Minute)},
			})
		}
	}
	res, err := views.InsertMany(t.Context(), docs)
	if err != nil {
		t.Fatalf("insert many: %v", err)
	}
	if len(res.InsertedIDs) != 60 {
		t.Fatalf("inserted %d, want 60", len(res.InsertedIDs))
	}

	_, err = views.InsertOne(t.Context(), bson.D{{Key: "card_id", Value: int64(1)}, {Key: "user_id", Value: int64(1)}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second view of card 1 by user 1 = %v, want a duplicate key error", err)
	}

	n, err := views.CountDocuments(t.Context(), bson.D{
		{Key: "card_id", Value: int64(2)},
		{Key: "user_id", Value: bson.D{{Key: "$lte", Value: int64(5)}}},
	})
	if err != nil || n != 5 {
		t.Errorf("count card 2, users <= 5 = %d, %v; want 5", n, err)
	}
	cur, err := views.Find(t.Context(), bson.D{{Key: "card_id", Value: int64(3)}},
		options.Find().SetSort(bson.D{{Key: "viewed_at", Value: -1}}).SetLimit(2))
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	var latest []struct {
		UserID int64 `bson:"user_id"`
	}
	if err := cur.All(t.Context(), &latest); err != nil {
		t.Fatalf("decode find: %v", err)
	}
	if len(latest) != 2 || latest[0].UserID != 30 || latest[1].UserID != 29 {
		t.Errorf("latest viewers of card 3 = %+v, want users 30 and 29", latest)
	}

	cur, err = views.Aggregate(t.Context(), mongo.Pipeline{
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$card_id"},
			{Key: "viewers", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		t.Fatalf("aggregate: %v", err)
	}
	var groups []struct {
		Card    int64 `bson:"_id"`
		Viewers int32 `bson:"viewers"`
	}
	if err := cur.All(t.Context(), &groups); err != nil {
		t.Fatalf("decode aggregate: %v", err)
	}
	got := fmt.Sprint(groups)
	if got != "[{1 10} {2 20} {3 30}]" {
		t.Errorf("viewers per card = %s, want [{1 10} {2 20} {3 30}]", got)
	}
}

func TestRunSQLite(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Listen: addr, SQLiteURL: "file:" + t.TempDir() + "/mongo"}) }()

	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/").SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(t.Context(), nil); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// FerretDB gives connected clients 3 s to leave; leaving first keeps
	// the test fast.
	c.Disconnect(context.Background())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunNamesAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(t.Context(), Config{Listen: ln.Addr().String(), SQLiteURL: "file:" + t.TempDir() + "/"})
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("Run on a taken port = %v, want an error naming %s", err, ln.Addr())
	}
}

// FerretDB itself starts happily without PostgreSQL; Run must not.
func TestRunFailsWhenPostgreSQLIsDown(t *testing.T) {
	dead := freeAddr(t) // nothing listens here
	began := time.Now()
	err := Run(t.Context(), Config{Listen: freeAddr(t), PostgreSQLURL: "postgres://mossdev@" + dead + "/ferretdb"})
	if err == nil || !strings.Contains(err.Error(), "check postgresql backend") {
		t.Fatalf("Run with PostgreSQL down = %v, want a backend check error", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say what happened", err)
	}
	if d := time.Since(began); d > backendCheckTimeout+2*time.Second {
		t.Errorf("Run took %v to give up", d)
	}
	t.Logf("gave up after %v: %v", time.Since(began).Round(time.Millisecond), err)
}

func TestRunReturnsNilWhenCanceledDuringCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := Run(ctx, Config{Listen: freeAddr(t), PostgreSQLURL: "postgres://mossdev@" + freeAddr(t) + "/ferretdb"})
	if err != nil {
		t.Errorf("Run canceled during its check = %v, want nil", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// FerretDB stamps internal errors with its call stack ("[msg_ping.go:55
// handler.(*Handler).MsgPing] ..."); clients must get the message without
// it. PostgreSQL being unreachable is the common internal error.
func TestErrorsCarryNoSourceTrace(t *testing.T) {
	c := startWith(t, Config{Listen: "127.0.0.1:0", PostgreSQLURL: "postgres://mossdev@" + freeAddr(t) + "/ferretdb"})
	db := c.Database("mossi")
	errs := map[string]error{
		"ping": db.RunCommand(t.Context(), bson.D{{Key: "ping", Value: 1}}).Err(),
	}
	_, errs["insert"] = db.Collection("views").InsertOne(t.Context(), bson.D{{Key: "card_id", Value: 1}})
	_, errs["find"] = db.Collection("views").Find(t.Context(), bson.D{})
	for name, err := range errs {
		var ce mongo.CommandError
		if !errors.As(err, &ce) || ce.Name != "InternalError" {
			t.Errorf("%s with PostgreSQL down = %v, want an InternalError", name, err)
			continue
		}
		if strings.Contains(ce.Message, ".go:") || strings.HasPrefix(ce.Message, "[") {
			t.Errorf("%s: error message carries a source trace: %q", name, ce.Message)
		}
		if !strings.Contains(ce.Message, "failed to connect") {
			t.Errorf("%s: error message %q lost PostgreSQL's complaint", name, ce.Message)
		}
	}
}

func TestStripTraces(t *testing.T) {
	for in, want := range map[string]string{
		"[msg_ping.go:55 handler.(*Handler).MsgPing] [backend.go:68 postgresql.(*backend).Status] failed to connect": "failed to connect",
		"[unknown] boom": "boom",
		"insert: [pool.go:129 pool.(*Pool).Get] down": "insert: down",
		"index [card_id_1] is [not] here":             "index [card_id_1] is [not] here",
		"see [main.go] and [x.go:12]: fine":           "see [main.go] and [x.go:12]: fine",
	} {
		if got := stripTraces(in); got != want {
			t.Errorf("stripTraces(%q) = %q, want %q", in, got, want)
		}
	}
}
