package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// s3Code returns the S3 error code an SDK call failed with.
func s3Code(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an S3 API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestWrongAccessKeyIsRefused(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	_, err := clientWith(ts.URL, "AKIAWRONG", secretKey).ListObjectsV2(t.Context(),
		&awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if code := s3Code(t, err); code != "InvalidAccessKeyId" {
		t.Errorf("wrong access key: code %s, want InvalidAccessKeyId", code)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := clientWith(ts.URL, accessKey, "not-the-secret")
	_, err := c.PutObject(t.Context(), &awss3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("cards/evil.png"), Body: bytes.NewReader([]byte("x"))})
	if code := s3Code(t, err); code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: code %s, want SignatureDoesNotMatch", code)
	}
	if _, err := c.DeleteBucket(t.Context(), &awss3.DeleteBucketInput{Bucket: aws.String(bucket)}); err == nil {
		t.Error("a wrong secret deleted the bucket")
	}
	// Nothing was written.
	if _, err := client(ts.URL).HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("cards/evil.png")}); err == nil {
		t.Error("the object put with a wrong secret exists")
	}
}

// Unsigned requests (curl, a browser) are refused with S3's XML error and
// change nothing.
func TestUnsignedIsRefused(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/" + bucket + "?list-type=2"},
		{http.MethodPut, "/" + bucket + "/cards/1.png"},
		{http.MethodPut, "/mossi-other"},
		{http.MethodDelete, "/" + bucket},
		{http.MethodGet, "/"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, ts.URL+tc.path, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Code string }
		_ = xml.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusForbidden || e.Code != "AccessDenied" {
			t.Errorf("unsigned %s %s: %d %s, want 403 AccessDenied", tc.method, tc.path, resp.StatusCode, body)
		}
	}
	out, err := client(ts.URL).ListBuckets(t.Context(), &awss3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 {
		t.Errorf("after unsigned requests: buckets %v, %v; want only %s", out, err, bucket)
	}
}

func TestPresignedPutThenGet(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	pc := awss3.NewPresignClient(client(ts.URL))
	key := aws.String("cards/카드 1.png") // a key that needs escaping
	put, err := pc.PresignPutObject(t.Context(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), put.Method, put.URL, strings.NewReader("png bytes"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned put: %d %s", resp.StatusCode, b)
	}
	if got := get(t, client(ts.URL), *key); string(got) != "png bytes" {
		t.Errorf("after presigned put got %q", got)
	}
}

func TestTamperedOrExpiredPresignedURLIsRefused(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c := client(ts.URL)
	put(t, c, "cards/1.png", []byte("one"))
	put(t, c, "cards/2.png", []byte("two"))
	pc := awss3.NewPresignClient(c)
	req, err := pc.PresignGetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("cards/1.png")})
	if err != nil {
		t.Fatal(err)
	}
	status := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Code string }
		b, _ := io.ReadAll(resp.Body)
		_ = xml.Unmarshal(b, &e)
		return resp.StatusCode, e.Code
	}
	if code, _ := status(req.URL); code != http.StatusOK {
		t.Fatalf("untouched presigned url: %d", code)
	}
	if code, s3code := status(strings.Replace(req.URL, "cards/1.png", "cards/2.png", 1)); code != http.StatusForbidden || s3code != "SignatureDoesNotMatch" {
		t.Errorf("presigned url for another key: %d %s, want 403 SignatureDoesNotMatch", code, s3code)
	}

	// Signed an hour ago, valid for a minute.
	old, _ := http.NewRequest(http.MethodGet, ts.URL+"/"+bucket+"/cards/1.png?X-Amz-Expires=60", nil)
	oldURL, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(t.Context(),
		aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, old, unsignedPayload, "s3", "us-east-1", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if code, s3code := status(oldURL); code != http.StatusForbidden || s3code != "AccessDenied" {
		t.Errorf("expired presigned url: %d %s, want 403 AccessDenied", code, s3code)
	}
}
