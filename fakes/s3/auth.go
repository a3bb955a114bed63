package s3

import (
	"crypto/subtle"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signature Version 4 as S3 checks it. gofakes3 checks no signatures, and
// no maintained Go library verifies SigV4 on the server side; what is
// hand-written here is only the parsing of the Authorization header or the
// presigned query and S3's refusals. The signature itself is recomputed by
// aws-sdk-go-v2's v4 signer (the one S3 clients sign with) over a copy of
// the incoming request that holds exactly the headers the client says it
// signed, and compared in constant time.
//
// The payload hash a client declares (x-amz-content-sha256) is signed but
// not compared with the body, nor are the chunk signatures of aws-chunked
// uploads checked: forging a body for a captured signature needs the
// request itself, which only a process that can read loopback traffic
// (root) could see. The region of the credential scope is taken as the
// client gives it (S3 would insist on the bucket's): the stand-in has one
// location, and an app configured for any region should reach it.
//
// Checked with aws-sdk-go-v2 (header, presigned GET and PUT), boto3
// (including multipart and presigned URLs) and curl --aws-sigv4 (which
// must be given x-amz-content-sha256, as S3 requires).

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	// maxSkew is S3's: a request signed more than 15 minutes from the
	// server's clock is refused.
	maxSkew = 15 * time.Minute
	// maxExpires is S3's limit for a presigned URL: 7 days.
	maxExpires = 7 * 24 * 60 * 60
	// unsignedPayload is what presigned URLs sign in place of the body.
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// authError is S3's error document for a refused request.
type authError struct {
	XMLName     xml.Name `xml:"Error"`
	Code        string
	Message     string
	AccessKeyID string `xml:"AWSAccessKeyId,omitempty"`
	status      int
}

func refuse(status int, code, msg string) *authError {
	return &authError{Code: code, Message: msg, status: status}
}

var (
	errUnsigned = refuse(http.StatusForbidden, "AccessDenied", "Access Denied")
	errNoMatch  = refuse(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
)

func (e *authError) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return // S3 answers HEAD errors with the status alone
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(e)
}

// verifier holds the one key pair the stand-in accepts.
type verifier struct {
	creds  aws.Credentials
	signer *v4.Signer
	now    func() time.Time
}

func newVerifier(accessKey, secretKey string) *verifier {
	return &verifier{
		creds: aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		// S3 signs the path as sent, without the second escaping other
		// AWS services apply.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		now:    time.Now,
	}
}

// check returns nil when r is signed with the stand-in's keys, or S3's
// refusal.
func (v *verifier) check(r *http.Request) *authError {
	if r.Method == http.MethodOptions {
		// CORS preflight: browsers send it without credentials, and it
		// reads and changes nothing.
		return nil
	}
	q := r.URL.Query()
	switch {
	case q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential"):
		return v.checkPresigned(r, q)
	case r.Header.Get("Authorization") != "":
		return v.checkHeader(r)
	default:
		return errUnsigned
	}
}

// scope is a parsed credential: AKID/yyyymmdd/region/service/aws4_request.
type scope struct{ key, date, region, service string }

func parseScope(cred string) (scope, bool) {
	p := strings.Split(cred, "/")
	if len(p) != 5 || p[4] != "aws4_request" {
		return scope{}, false
	}
	return scope{key: p[0], date: p[1], region: p[2], service: p[3]}, true
}

func (v *verifier) checkHeader(r *http.Request) *authError {
	alg, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if alg != sigAlgorithm {
		return refuse(http.StatusBadRequest, "InvalidRequest",
			"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = val
	}
	sc, ok := parseScope(fields["Credential"])
	if !ok || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return refuse(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; it must name Credential, SignedHeaders and Signature.")
	}
	if err := v.checkKey(sc.key); err != nil {
		return err
	}
	t, err := time.Parse(amzDateFmt, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return refuse(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := v.now().Sub(t); d > maxSkew || d < -maxSkew {
		return refuse(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time and the current time is too large.")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return refuse(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	c := signedCopy(r, fields["SignedHeaders"], r.URL.Query())
	if err := v.signer.SignHTTP(r.Context(), v.creds, c, payload, sc.service, sc.region, t); err != nil {
		return errNoMatch
	}
	_, want, _ := strings.Cut(c.Header.Get("Authorization"), "Signature=")
	return match(fields["Signature"], want)
}

func (v *verifier) checkPresigned(r *http.Request, q url.Values) *authError {
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return refuse(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	sc, ok := parseScope(q.Get("X-Amz-Credential"))
	signed, sig := q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")
	if !ok || signed == "" || sig == "" {
		return refuse(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	if err := v.checkKey(sc.key); err != nil {
		return err
	}
	t, err := time.Parse(amzDateFmt, q.Get("X-Amz-Date"))
	expires, eerr := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || eerr != nil || expires < 1 || expires > maxExpires {
		return refuse(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"X-Amz-Date must be in ISO 8601 basic format and X-Amz-Expires between 1 and 604800 seconds.")
	}
	if v.now().After(t.Add(time.Duration(expires) * time.Second)) {
		return refuse(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	rest := url.Values{}
	for k, vals := range q {
		if k != "X-Amz-Signature" {
			rest[k] = vals
		}
	}
	c := signedCopy(r, signed, rest)
	u, _, err := v.signer.PresignHTTP(r.Context(), v.creds, c, unsignedPayload, sc.service, sc.region, t)
	if err != nil {
		return errNoMatch
	}
	pu, err := url.Parse(u)
	if err != nil {
		return errNoMatch
	}
	return match(sig, pu.Query().Get("X-Amz-Signature"))
}

func (v *verifier) checkKey(key string) *authError {
	if subtle.ConstantTimeCompare([]byte(key), []byte(v.creds.AccessKeyID)) == 1 {
		return nil
	}
	e := refuse(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	e.AccessKeyID = key
	return e
}

func match(got, want string) *authError {
	if want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
		return nil
	}
	return errNoMatch
}

// signedCopy is the request as the client signed it: its method, host,
// path and query, and only the headers named in signedHeaders. The signer
// signs every header it is given (and Content-Length when positive), so
// giving it exactly these reproduces the client's canonical request.
func signedCopy(r *http.Request, signedHeaders string, query url.Values) *http.Request {
	c := r.Clone(r.Context())
	c.Body, c.GetBody, c.ContentLength = nil, nil, 0
	c.URL.Scheme, c.URL.Host = "http", r.Host
	c.URL.RawQuery = query.Encode()
	c.Header = http.Header{}
	for _, h := range strings.Split(signedHeaders, ";") {
		switch h {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			if vals := r.Header.Values(h); len(vals) > 0 {
				c.Header[http.CanonicalHeaderKey(h)] = vals
			}
		}
	}
	return c
}
