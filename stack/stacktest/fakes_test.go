package stacktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
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

// MongoDB has credentials on both backends: without them the app's
// database is refused (Unauthorized), with a wrong password the login is.
func TestMongoRefusesWithoutCredentials(t *testing.T) {
	u, err := url.Parse(stacktest.URL(t, "mongodb"))
	if err != nil {
		t.Fatal(err)
	}
	if u.User == nil || u.Query().Get("authSource") != "admin" {
		t.Fatalf("MongoDB URL %s carries no credentials", u.Redacted())
	}
	connect := func(u url.URL) *mongo.Collection {
		c, err := mongo.Connect(options.Client().ApplyURI(u.String()).SetServerSelectionTimeout(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Disconnect(context.Background()) })
		return c.Database("mossi").Collection("views")
	}

	anonymous := *u
	anonymous.User, anonymous.RawQuery = nil, ""
	_, err = connect(anonymous).Find(t.Context(), bson.D{})
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 13 {
		t.Errorf("find without credentials = %v, want Unauthorized (13)", err)
	}

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "not-the-password")
	_, err = connect(wrong).Find(t.Context(), bson.D{})
	if err == nil || !strings.Contains(err.Error(), "AuthenticationFailed") {
		t.Errorf("find with a wrong password = %v, want AuthenticationFailed", err)
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

// The bucket accepts only the stack's keys, as S3 does: a wrong key, a
// wrong secret and no signature are refused with S3's codes; a presigned
// URL made with the right keys works.
func TestS3RefusesAnyoneButTheStacksKeys(t *testing.T) {
	bucket := stacktest.Var(t, "MOSSDEV_S3_BUCKET")
	key := fmt.Sprintf("cards/it/auth-%d.png", time.Now().UnixNano())
	ctx := t.Context()
	with := func(ak, sk string) *s3.Client {
		return s3.New(s3.Options{BaseEndpoint: aws.String(stacktest.URL(t, "s3")), Region: stacktest.Var(t, "MOSSDEV_S3_REGION"),
			UsePathStyle: true, Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""), RetryMaxAttempts: 1})
	}
	for name, tc := range map[string]struct {
		c    *s3.Client
		code string
	}{
		"wrong access key": {with("AKIAWRONGWRONGWRONG", stacktest.Var(t, "MOSSDEV_S3_SECRET_KEY")), "InvalidAccessKeyId"},
		"wrong secret":     {with(stacktest.Var(t, "MOSSDEV_S3_ACCESS_KEY"), "wrong-secret"), "SignatureDoesNotMatch"},
	} {
		_, err := tc.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte("x"))})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Errorf("%s: put = %v, want %s", name, err, tc.code)
		}
	}
	resp, err := http.Get(stacktest.URL(t, "s3") + "/" + bucket + "?list-type=2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(b, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("unsigned list: %d %s, want 403 AccessDenied", resp.StatusCode, b)
	}

	cl := s3Client(t)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte("signed"))}); err != nil {
		t.Fatalf("put with the stack's keys: %v", err)
	}
	t.Cleanup(func() { cl.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}) })
	pre, err := s3.NewPresignClient(cl).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "signed" {
		t.Errorf("presigned get: %d %q", resp.StatusCode, b)
	}
}

// Purging the CDN needs the stack's token.
func TestCDNPurgeNeedsToken(t *testing.T) {
	purge := func(auth string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, stacktest.URL(t, "cdn")+"/_cdn/purge",
			strings.NewReader(`{"paths":["/cards/it/*"]}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := purge(""); code != http.StatusUnauthorized {
		t.Errorf("purge without a token: %d, want 401", code)
	}
	if code := purge("Bearer wrong"); code != http.StatusUnauthorized {
		t.Errorf("purge with a wrong token: %d, want 401", code)
	}
	if code := purge("Bearer " + stacktest.Var(t, "MOSSDEV_CDN_PURGE_TOKEN")); code != http.StatusOK {
		t.Errorf("purge with MOSSDEV_CDN_PURGE_TOKEN: %d, want 200", code)
	}
}
