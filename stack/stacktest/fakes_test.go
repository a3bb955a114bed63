package stacktest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mossdev/mossdev/stack/stacktest"
)

func TestMongoViewLogInsertFindGroup(t *testing.T) {
	c, err := mongo.Connect(options.Client().ApplyURI(stacktest.URL(t, "mongodb")).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	coll := c.Database("mossi").Collection(fmt.Sprintf("it_views_%d", time.Now().UnixNano()))
	t.Cleanup(func() { coll.Drop(context.Background()) })
	ctx := t.Context()
	var docs []any
	for i := range 30 {
		docs = append(docs, bson.D{{Key: "card", Value: int64(i%3 + 1)}, {Key: "viewer", Value: int64(i)}, {Key: "at", Value: time.Now()}})
	}
	if _, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
		t.Fatal(err)
	}
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "card", Value: int64(2)}})
	if err != nil || n != 10 {
		t.Fatalf("find card 2: %d docs, %v; want 10", n, err)
	}
	cur, err := coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$card"}, {Key: "views", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID    int64 `bson:"_id"`
		Views int32 `bson:"views"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Views != 10 || rows[2].ID != 3 {
		t.Fatalf("$group: %+v", rows)
	}
}

func s3Client(t *testing.T) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(stacktest.URL(t, "s3")),
		Region:       stacktest.Var(t, "MOSSDEV_S3_REGION"),
		UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(stacktest.Var(t, "MOSSDEV_S3_ACCESS_KEY"),
			stacktest.Var(t, "MOSSDEV_S3_SECRET_KEY"), ""),
	})
}

func TestS3PutGetThenCDNMissThenHit(t *testing.T) {
	cl := s3Client(t)
	bucket := stacktest.Var(t, "MOSSDEV_S3_BUCKET")
	key := fmt.Sprintf("cards/it/%d.png", time.Now().UnixNano())
	body := bytes.Repeat([]byte("\x89PNG card "), 100)
	ctx := t.Context()
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String("image/png")}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("S3 get returned %d bytes, want %d", len(got), len(body))
	}

	cdn := stacktest.URL(t, "cdn") + "/" + key
	for i, want := range []string{"Miss from mossdev-cdn", "Hit from mossdev-cdn"} {
		resp, err := http.Get(cdn)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(b, body) {
			t.Fatalf("CDN GET %d: status %d, %d bytes", i, resp.StatusCode, len(b))
		}
		if xc := resp.Header.Get("X-Cache"); xc != want {
			t.Fatalf("CDN GET %d: X-Cache %q, want %q", i, xc, want)
		}
	}
}
