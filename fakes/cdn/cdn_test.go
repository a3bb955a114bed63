package cdn

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mossdev/mossdev/fakes/s3"
)

// origin is a minimal bucket: objects by path, S3-style quoted MD5 ETags,
// If-None-Match, and a count of the requests it served.
type origin struct {
	mu       sync.Mutex
	objects  map[string][]byte
	requests map[string]int
	lastINM  string
	delay    time.Duration
	block    chan struct{} // when set, GETs wait for it to close
}

func newOrigin(t *testing.T) (*origin, *httptest.Server) {
	o := &origin{objects: map[string][]byte{}, requests: map[string]int{}}
	ts := httptest.NewServer(o)
	t.Cleanup(ts.Close)
	return o, ts
}

func (o *origin) put(path string, body []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objects[path] = body
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[path]
}

func etagOf(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests[r.URL.Path]++
	o.lastINM = r.Header.Get("If-None-Match")
	body, ok := o.objects[r.URL.Path]
	delay, block := o.delay, o.block
	o.mu.Unlock()
	time.Sleep(delay)
	if block != nil {
		<-block
	}
	if !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<Error><Code>NoSuchKey</Code></Error>")
		return
	}
	etag := etagOf(body)
	w.Header().Set("ETag", etag)
	w.Header().Set("x-amz-request-id", "1")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(body)
}

// clock is a settable time source for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Credentials of the bucket stand-in in tests, and the purge token.
const (
	testKey    = "MOSSDEVTESTKEY"
	testSecret = "test-secret"
	testToken  = "test-purge-token"
)

func newCDN(t *testing.T, cfg Config) (*CDN, *httptest.Server, *clock) {
	t.Helper()
	if cfg.PurgeToken == "" {
		cfg.PurgeToken = testToken
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	clk := &clock{t: time.Date(2016, 3, 1, 2, 0, 0, 0, time.UTC)}
	c.now = clk.now
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return c, ts, clk
}

func do(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, string(b)
}

func TestMissThenHit(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/1.png", []byte("first card"))
	c, ts, clk := newCDN(t, Config{Origin: ots.URL})

	resp, body := do(t, "GET", ts.URL+"/cards/1.png")
	if resp.StatusCode != 200 || body != "first card" || resp.Header.Get("X-Cache") != xCacheMiss {
		t.Fatalf("first GET = %d %q X-Cache %q", resp.StatusCode, body, resp.Header.Get("X-Cache"))
	}
	clk.advance(7 * time.Second)
	resp, body = do(t, "GET", ts.URL+"/cards/1.png")
	want := map[string]string{
		"X-Cache":       "Hit from mossdev-cdn",
		"Cache-Control": "public, max-age=86400",
		"ETag":          etagOf([]byte("first card")),
		"Age":           "7",
		"Content-Type":  "image/png",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("second GET %s = %q, want %q", k, got, v)
		}
	}
	if body != "first card" {
		t.Errorf("second GET body = %q", body)
	}
	if resp.Header.Get("x-amz-request-id") != "" {
		t.Error("origin-only header x-amz-request-id leaked to the client")
	}
	if n := o.count("/cards/1.png"); n != 1 {
		t.Errorf("origin saw %d requests, want 1", n)
	}
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 1 || s.HitRatio != 0.5 || s.Objects != 1 || s.Bytes != int64(len("first card")) {
		t.Errorf("stats = %+v", s)
	}
}

func TestConditionalGetAndHead(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/2.png", []byte("second card"))
	_, ts, _ := newCDN(t, Config{Origin: ots.URL})
	etag := etagOf([]byte("second card"))

	resp, body := do(t, "HEAD", ts.URL+"/cards/2.png")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "11" || resp.Header.Get("ETag") != etag {
		t.Errorf("HEAD = %d body %q length %q etag %q", resp.StatusCode, body, resp.Header.Get("Content-Length"), resp.Header.Get("ETag"))
	}
	resp, body = do(t, "GET", ts.URL+"/cards/2.png", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("X-Cache") != xCacheHit {
		t.Errorf("GET If-None-Match = %d %q X-Cache %q, want 304 from cache", resp.StatusCode, body, resp.Header.Get("X-Cache"))
	}
	resp, _ = do(t, "GET", ts.URL+"/cards/2.png", "If-None-Match", `"stale"`)
	if resp.StatusCode != 200 {
		t.Errorf("GET with a non-matching ETag = %d, want 200", resp.StatusCode)
	}
	resp, body = do(t, "GET", ts.URL+"/cards/2.png", "Range", "bytes=0-5")
	if resp.StatusCode != http.StatusPartialContent || body != "second" {
		t.Errorf("GET Range = %d %q", resp.StatusCode, body)
	}
	if n := o.count("/cards/2.png"); n != 1 {
		t.Errorf("origin saw %d requests, want 1", n)
	}
}

func TestNotFoundIsCachedBriefly(t *testing.T) {
	o, ots := newOrigin(t)
	_, ts, clk := newCDN(t, Config{Origin: ots.URL})

	for range 2 {
		resp, body := do(t, "GET", ts.URL+"/cards/late.png")
		if resp.StatusCode != 404 || !strings.Contains(body, "NoSuchKey") || resp.Header.Get("X-Cache") != xCacheError {
			t.Fatalf("GET missing = %d %q X-Cache %q", resp.StatusCode, body, resp.Header.Get("X-Cache"))
		}
	}
	if n := o.count("/cards/late.png"); n != 1 {
		t.Errorf("origin saw %d requests for a missing key within ErrorTTL, want 1", n)
	}

	o.put("/cards/late.png", []byte("uploaded"))
	clk.advance(ErrorTTL)
	resp, body := do(t, "GET", ts.URL+"/cards/late.png")
	if resp.StatusCode != 200 || body != "uploaded" {
		t.Errorf("GET after ErrorTTL = %d %q, want the uploaded object", resp.StatusCode, body)
	}
}

func TestExpiredObjectIsRevalidated(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/3.png", []byte("v1"))
	_, ts, clk := newCDN(t, Config{Origin: ots.URL, TTL: 60})

	do(t, "GET", ts.URL+"/cards/3.png")
	clk.advance(61 * time.Second)
	resp, body := do(t, "GET", ts.URL+"/cards/3.png")
	if resp.Header.Get("X-Cache") != xCacheRefreshHit || body != "v1" || resp.Header.Get("Age") != "0" {
		t.Errorf("GET after TTL = %q X-Cache %q Age %q, want a RefreshHit of v1", body, resp.Header.Get("X-Cache"), resp.Header.Get("Age"))
	}
	if o.lastINM != etagOf([]byte("v1")) {
		t.Errorf("revalidation sent If-None-Match %q", o.lastINM)
	}

	o.put("/cards/3.png", []byte("v2"))
	clk.advance(61 * time.Second)
	resp, body = do(t, "GET", ts.URL+"/cards/3.png")
	if resp.Header.Get("X-Cache") != xCacheMiss || body != "v2" {
		t.Errorf("GET after a change = %q X-Cache %q, want a Miss with v2", body, resp.Header.Get("X-Cache"))
	}
}

func TestPurge(t *testing.T) {
	o, ots := newOrigin(t)
	for _, p := range []string{"/cards/a.png", "/cards/b.png", "/avatars/a.png"} {
		o.put(p, []byte(p))
	}
	c, ts, _ := newCDN(t, Config{Origin: ots.URL})
	for _, p := range []string{"/cards/a.png", "/cards/b.png", "/avatars/a.png"} {
		do(t, "GET", ts.URL+p)
	}

	resp, body := do(t, "PURGE", ts.URL+"/avatars/a.png", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"purged":1}` {
		t.Errorf("PURGE = %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/_cdn/purge", strings.NewReader(`{"paths":["/cards/*"]}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pbody, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	if presp.StatusCode != 200 || strings.TrimSpace(string(pbody)) != `{"purged":2}` {
		t.Errorf("POST /_cdn/purge = %d %s", presp.StatusCode, pbody)
	}
	if s := c.Stats(); s.Objects != 0 || s.Bytes != 0 {
		t.Errorf("after purging everything stats = %+v", s)
	}
	resp, _ = do(t, "GET", ts.URL+"/cards/a.png")
	if resp.Header.Get("X-Cache") != xCacheMiss {
		t.Errorf("GET after purge X-Cache = %q, want a miss", resp.Header.Get("X-Cache"))
	}

	resp, _ = do(t, "POST", ts.URL+"/_cdn/purge", "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("purge without a body = %d, want 400", resp.StatusCode)
	}
}

// Without the token nobody can empty the cache: every purge form answers
// 401 with a challenge, and the cache keeps its objects.
func TestPurgeNeedsToken(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/a.png", []byte("a"))
	c, ts, _ := newCDN(t, Config{Origin: ots.URL})
	do(t, "GET", ts.URL+"/cards/a.png")
	for _, auth := range []string{"", "Bearer ", "Bearer wrong-token", "Basic " + testToken, testToken} {
		for _, tc := range []struct{ method, path string }{{"PURGE", "/cards/a.png"}, {"POST", "/_cdn/purge"}} {
			resp, _ := do(t, tc.method, ts.URL+tc.path, "Authorization", auth)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with Authorization %q: %d (WWW-Authenticate %q), want 401 with a Bearer challenge",
					tc.method, tc.path, auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if s := c.Stats(); s.Objects != 1 {
		t.Errorf("after refused purges the cache holds %d objects, want 1", s.Objects)
	}
	if _, err := New(Config{Origin: ots.URL}); err == nil {
		t.Error("New without a purge token succeeded")
	}
}

// A purge issued while the origin is still answering must win: the answer
// was fetched before the purge and may be the very content being purged.
func TestPurgeDuringFetchIsNotUndone(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/race.png", []byte("old"))
	o.block = make(chan struct{})
	c, ts, _ := newCDN(t, Config{Origin: ots.URL})

	done := make(chan struct{})
	go func() {
		defer close(done)
		http.Get(ts.URL + "/cards/race.png")
	}()
	for o.count("/cards/race.png") == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Purge("/cards/race.png")
	close(o.block)
	<-done
	if s := c.Stats(); s.Objects != 0 {
		t.Errorf("a fetch that began before the purge was cached: %+v", s)
	}
}

func TestLRUBound(t *testing.T) {
	o, ots := newOrigin(t)
	for i := range 5 {
		o.put(fmt.Sprintf("/%d.png", i), bytes.Repeat([]byte{byte(i)}, 100))
	}
	o.put("/huge.png", bytes.Repeat([]byte{1}, 1000))
	c, ts, _ := newCDN(t, Config{Origin: ots.URL, MaxBytes: 300})

	do(t, "GET", ts.URL+"/0.png")
	do(t, "GET", ts.URL+"/1.png")
	do(t, "GET", ts.URL+"/2.png")
	do(t, "GET", ts.URL+"/0.png") // 0 is now the most recently used
	do(t, "GET", ts.URL+"/3.png") // evicts 1, the least recently used
	resp, _ := do(t, "GET", ts.URL+"/0.png")
	if resp.Header.Get("X-Cache") != xCacheHit {
		t.Error("recently used object was evicted")
	}
	resp, _ = do(t, "GET", ts.URL+"/1.png")
	if resp.Header.Get("X-Cache") != xCacheMiss {
		t.Error("least recently used object was kept")
	}
	resp, body := do(t, "GET", ts.URL+"/huge.png")
	if resp.StatusCode != 200 || len(body) != 1000 {
		t.Errorf("object larger than the cache = %d, %d bytes; want it served anyway", resp.StatusCode, len(body))
	}
	s := c.Stats()
	if s.Bytes > 300 || s.Objects != 3 || s.Evictions != 2 {
		t.Errorf("stats = %+v, want 3 objects within 300 bytes after 2 evictions", s)
	}
}

func TestConcurrentMissesReachOriginOnce(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/cards/viral.png", bytes.Repeat([]byte("v"), 10<<10))
	o.delay = 100 * time.Millisecond
	c, ts, _ := newCDN(t, Config{Origin: ots.URL})

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			resp, err := http.Get(ts.URL + "/cards/viral.png")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || len(b) != 10<<10 {
				errs <- fmt.Errorf("got %d with %d bytes", resp.StatusCode, len(b))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := o.count("/cards/viral.png"); n != 1 {
		t.Errorf("origin saw %d requests for 20 concurrent misses, want 1", n)
	}
	if s := c.Stats(); s.Hits+s.Misses != 20 {
		t.Errorf("stats count %d requests, want 20", s.Hits+s.Misses)
	}
}

func TestOriginDown(t *testing.T) {
	ots := httptest.NewServer(http.NotFoundHandler())
	url := ots.URL
	ots.Close()
	_, ts, _ := newCDN(t, Config{Origin: url})
	resp, _ := do(t, "GET", ts.URL+"/cards/1.png")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Cache") != xCacheError {
		t.Errorf("GET with the origin down = %d X-Cache %q, want 502", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
}

func TestStatsEndpoint(t *testing.T) {
	o, ots := newOrigin(t)
	o.put("/a.png", []byte("abc"))
	_, ts, _ := newCDN(t, Config{Origin: ots.URL})
	do(t, "GET", ts.URL+"/a.png")
	do(t, "GET", ts.URL+"/a.png")
	do(t, "GET", ts.URL+"/a.png")
	do(t, "GET", ts.URL+"/a.png")
	_, body := do(t, "GET", ts.URL+"/_cdn/stats")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode stats %q: %v", body, err)
	}
	want := map[string]float64{"hits": 3, "misses": 1, "hitRatio": 0.75, "objects": 1, "bytes": 3}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stats %s = %v, want %v (body %s)", k, got[k], v, body)
		}
	}
}

func TestNewRejectsBadOrigin(t *testing.T) {
	for _, origin := range []string{"", "127.0.0.1:9000/mossi-images", "ftp://x/y"} {
		if _, err := New(Config{Origin: origin}); err == nil {
			t.Errorf("New with origin %q succeeded", origin)
		}
	}
}

// The CDN in front of the real bucket stand-in, as mossdev runs them.
func TestWithS3Origin(t *testing.T) {
	bucket, err := s3.New(s3.Config{Dir: t.TempDir(), Buckets: []string{"mossi-images"}, AccessKey: testKey, SecretKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	bts := httptest.NewServer(bucket)
	t.Cleanup(func() { bts.Close(); bucket.Close() })
	sc := awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(bts.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
	})
	put, err := sc.PutObject(t.Context(), &awss3.PutObjectInput{
		Bucket:      aws.String("mossi-images"),
		Key:         aws.String("cards/새벽.png"),
		Body:        strings.NewReader("새벽 세시"),
		ContentType: aws.String("image/png"),
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}

	// The bucket refuses anonymous reads, so a CDN without its keys
	// serves nothing from it.
	_, anon, _ := newCDN(t, Config{Origin: bts.URL + "/mossi-images"})
	key := "/cards/%EC%83%88%EB%B2%BD.png"
	if resp, body := do(t, "GET", anon.URL+key); resp.StatusCode == http.StatusOK {
		t.Fatalf("a CDN without the bucket's keys served %q", body)
	}

	_, ts, _ := newCDN(t, Config{Origin: bts.URL + "/mossi-images", OriginAccessKey: testKey, OriginSecretKey: testSecret})
	resp, body := do(t, "GET", ts.URL+key)
	if resp.StatusCode != 200 || body != "새벽 세시" || resp.Header.Get("X-Cache") != xCacheMiss {
		t.Fatalf("first GET = %d %q X-Cache %q", resp.StatusCode, body, resp.Header.Get("X-Cache"))
	}
	if resp.Header.Get("ETag") != aws.ToString(put.ETag) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("ETag %q Content-Type %q, want the bucket's %q image/png", resp.Header.Get("ETag"), resp.Header.Get("Content-Type"), aws.ToString(put.ETag))
	}
	resp, _ = do(t, "GET", ts.URL+key, "If-None-Match", aws.ToString(put.ETag))
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("X-Cache") != xCacheHit {
		t.Errorf("conditional GET = %d X-Cache %q", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	resp, _ = do(t, "GET", ts.URL+"/cards/none.png")
	if resp.StatusCode != 404 {
		t.Errorf("GET of a missing key = %d, want 404", resp.StatusCode)
	}
}

func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := Run(t.Context(), Config{Listen: addr, Origin: "http://127.0.0.1:1/b", PurgeToken: testToken}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Run on a taken port = %v, want an error naming %s", err, addr)
	}
	ln.Close()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Listen: addr, Origin: "http://127.0.0.1:1/b", PurgeToken: testToken}) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/_cdn/stats")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cdn did not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// BenchmarkHit measures a cache hit over loopback HTTP for a card-sized
// (100 KiB) image, against reading the same object from the bucket stand-in
// directly in the same run.
func BenchmarkHit(b *testing.B) {
	bucket, err := s3.New(s3.Config{Dir: b.TempDir(), Buckets: []string{"mossi-images"}, AccessKey: testKey, SecretKey: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	bts := httptest.NewServer(bucket)
	defer func() { bts.Close(); bucket.Close() }()
	// Direct reads are signed like the CDN's, so the baseline pays the
	// same signature check.
	signed := &http.Client{Transport: newSigningTransport(http.DefaultTransport, testKey, testSecret, "")}
	req, _ := http.NewRequest("PUT", bts.URL+"/mossi-images/c.png", bytes.NewReader(bytes.Repeat([]byte{7}, 100<<10)))
	if err := signPut(req, bytes.Repeat([]byte{7}, 100<<10)); err != nil {
		b.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("put: %v %v", resp, err)
	}
	c, err := New(Config{Origin: bts.URL + "/mossi-images", PurgeToken: testToken, OriginAccessKey: testKey, OriginSecretKey: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(c)
	defer ts.Close()
	get := func(url string) {
		resp, err := signed.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Run("bucket", func(b *testing.B) {
		for b.Loop() {
			get(bts.URL + "/mossi-images/c.png")
		}
	})
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			c.Purge("/*")
			get(ts.URL + "/c.png")
		}
	})
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			get(ts.URL + "/c.png")
		}
	})
}

// signPut signs an upload of body for the benchmark's bucket.
func signPut(req *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", h)
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(req.Context(),
		aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, req, h, "s3", "us-east-1", time.Now())
}
