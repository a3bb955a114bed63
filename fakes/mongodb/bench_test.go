package mongodb

import (
	"context"
	"net/url"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// BenchmarkRelay measures the relay's cost on the platform's most common
// read, and on a command that touches no storage: FerretDB straight on
// its socket, and through the relay after authenticating (where requests
// are copied as bytes, as they were before the relay authenticated).
func BenchmarkRelay(b *testing.B) {
	s, ctx := serveBench(b)
	open := func(uri string) *mongo.Collection {
		c, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Disconnect(context.Background()) })
		return c.Database("mossi").Collection("views")
	}
	views := open(s.URI())
	var docs []any
	for i := range 1000 {
		docs = append(docs, bson.D{{Key: "_id", Value: int64(i)}, {Key: "card_id", Value: int64(i % 50)}, {Key: "user_id", Value: int64(i)}})
	}
	if _, err := views.InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		coll *mongo.Collection
	}{
		{"direct", open("mongodb://" + url.PathEscape(s.sock))},
		{"relay", views},
	} {
		b.Run("findOne/"+bc.name, func(b *testing.B) {
			var doc bson.Raw
			i := 0
			for b.Loop() {
				if err := bc.coll.FindOne(ctx, bson.D{{Key: "_id", Value: int64(i % 1000)}}).Decode(&doc); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		// buildInfo touches no storage: the relay's share of a round trip.
		b.Run("buildInfo/"+bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.coll.Database().RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConnect measures a new client's first command, handshake and
// SCRAM-SHA-256 included (the client's PBKDF2 dominates).
func BenchmarkConnect(b *testing.B) {
	s, ctx := serveBench(b)
	for b.Loop() {
		c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Database("mossi").RunCommand(ctx, bson.D{{Key: "listCollections", Value: 1}}).Err(); err != nil {
			b.Fatal(err)
		}
		c.Disconnect(ctx)
	}
}

// serveBench serves a stand-in that requires testUser for the benchmark's
// lifetime.
func serveBench(b *testing.B) (*Server, context.Context) {
	s, err := New(Config{Listen: "127.0.0.1:0", SQLiteURL: "file:" + b.TempDir() + "/", User: testUser, Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return s, ctx
}
