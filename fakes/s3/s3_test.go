package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	bucket    = "mossi-images"
	accessKey = "MOSSDEVTESTKEY"
	secretKey = "mossdev-secret"
)

// client builds the SDK client the way mossdev's users are told to: path
// style, the stack's static credentials, any region.
func client(endpoint string) *awss3.Client {
	return clientWith(endpoint, accessKey, secretKey)
}

func clientWith(endpoint, key, secret string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func newTestServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	srv, err := New(Config{Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return ts
}

func put(t *testing.T, c *awss3.Client, key string, body []byte) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &awss3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("image/png"),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(t *testing.T, c *awss3.Client, key string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func TestPutGetHead(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	body := bytes.Repeat([]byte("카드"), 1000)
	put(t, c, "cards/1.png", body)

	if got := get(t, c, "cards/1.png"); !bytes.Equal(got, body) {
		t.Fatalf("get returned %d bytes, want the %d put", len(got), len(body))
	}
	head, err := c.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cards/1.png")})
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ContentType) != "image/png" || aws.ToString(head.ETag) == "" {
		t.Errorf("head = length %d, type %q, etag %q", aws.ToInt64(head.ContentLength), aws.ToString(head.ContentType), aws.ToString(head.ETag))
	}
	_, err = c.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cards/missing.png")})
	if err == nil {
		t.Error("head of a missing key succeeded")
	}
}

func TestCreateBucketThroughAPI(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	if _, err := c.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: aws.String("mossi-thumbs")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	out, err := c.ListBuckets(t.Context(), &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if strings.Join(names, ",") != "mossi-images,mossi-thumbs" {
		t.Errorf("buckets = %v, want mossi-images and mossi-thumbs", names)
	}
}

// Real S3 caps a page at MaxKeys; code written against the stand-in must
// see the same truncation, which is why the store is bbolt.
func TestListPagesHonourMaxKeys(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	for i := range 25 {
		put(t, c, fmt.Sprintf("cards/%03d.png", i), []byte{byte(i)})
	}
	put(t, c, "avatars/1.png", []byte("a"))

	var pages, keys int
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{
		Bucket:  aws.String(bucket),
		Prefix:  aws.String("cards/"),
		MaxKeys: aws.Int32(10),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list page %d: %v", pages+1, err)
		}
		pages++
		if len(page.Contents) > 10 {
			t.Fatalf("page %d has %d keys, more than MaxKeys 10", pages, len(page.Contents))
		}
		keys += len(page.Contents)
	}
	if pages != 3 || keys != 25 {
		t.Errorf("listed %d keys in %d pages, want 25 in 3", keys, pages)
	}
}

func TestPresignedGet(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	put(t, c, "cards/shared.png", []byte("png bytes"))

	req, err := awss3.NewPresignClient(c).PresignGetObject(t.Context(),
		&awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("cards/shared.png")},
		awss3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatalf("get presigned url: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "png bytes" {
		t.Errorf("presigned get = %d %q", resp.StatusCode, b)
	}
}

func TestRunPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := Config{Listen: addr, Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey}
	c := client("http://" + addr)

	stop := startRun(t, cfg)
	put(t, c, "cards/persist.png", []byte("still here"))
	stop()

	// Same config again: creating the existing bucket must be a no-op and
	// must not lose its contents.
	stop = startRun(t, cfg)
	defer stop()
	if got := get(t, c, "cards/persist.png"); string(got) != "still here" {
		t.Errorf("after restart got %q", got)
	}
}

func TestRunNamesAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(t.Context(), Config{Listen: ln.Addr().String(), Dir: t.TempDir(), AccessKey: accessKey, SecretKey: secretKey})
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("Run on a taken port = %v, want an error naming %s", err, ln.Addr())
	}
}

func TestNewRejectsBadBucketName(t *testing.T) {
	_, err := New(Config{Dir: t.TempDir(), Buckets: []string{"Mossi_Images"}, AccessKey: accessKey, SecretKey: secretKey})
	if err == nil || !strings.Contains(err.Error(), `"Mossi_Images"`) {
		t.Errorf("New with an invalid bucket name = %v", err)
	}
}

func TestNewRefusesStoreInUse(t *testing.T) {
	dir := t.TempDir()
	first, err := New(Config{Dir: dir, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := New(Config{Dir: dir, AccessKey: accessKey, SecretKey: secretKey}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second New on the same dir = %v, want a locked-store error", err)
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

// startRun runs Run in the background, waits until it answers, and returns
// a function that stops it and checks that it returned nil.
func startRun(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + cfg.Listen + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("s3 on %s did not answer: %v", cfg.Listen, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	}
}

func BenchmarkPut100KiB(b *testing.B) {
	srv, err := New(Config{Dir: b.TempDir(), Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() { ts.Close(); srv.Close() }()
	c := client(ts.URL)
	body := bytes.Repeat([]byte{0x89}, 100<<10)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := range b.N {
		_, err := c.PutObject(context.Background(), &awss3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("cards/%d.png", i)), Body: bytes.NewReader(body),
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
	}
}

// Reads of object bodies while writes grow the store: every body read is
// the one written (s3bolt's bodies alias bbolt's memory map, which a
// growing write remaps; see tracked.mu). Before the fix this faulted
// within a second or two.
func TestReadsDuringWritesThatGrowTheStore(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	body := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 64<<10+i) }
	for i := range 8 {
		put(t, c, fmt.Sprintf("seed/%d", i), body(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket),
					Key: aws.String(fmt.Sprintf("grow/%d/%d", w, n)), Body: bytes.NewReader(bytes.Repeat([]byte{7}, 256<<10))})
				if err != nil && ctx.Err() == nil {
					t.Errorf("put: %v", err)
					return
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				i := (r + n) % 8
				out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("seed/%d", i))})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("get: %v", err)
					}
					return
				}
				b, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err == nil && !bytes.Equal(b, body(i)) {
					t.Errorf("seed/%d: %d bytes read, not the %d written", i, len(b), len(body(i)))
					return
				}
			}
		})
	}
	wg.Wait()
}
