package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Admin is a client of the S3 fake's admin API (see admin.go), signing its
// requests with SigV4 as an S3 client would.
type Admin struct {
	// Endpoint is the fake's base URL, e.g. "http://127.0.0.1:9000".
	Endpoint  string
	AccessKey string
	SecretKey string
	// HTTPClient is used when set; http.DefaultClient otherwise. Restores
	// and saves of a large store take seconds: give it no short timeout,
	// bound calls with their context instead.
	HTTPClient *http.Client
}

// AdminError is a refusal of the admin API. errors.Is matches it with
// ErrBadCheckpointName and ErrNoCheckpoint by its code.
type AdminError struct {
	Status  int
	Code    string
	Message string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

func (e *AdminError) Is(target error) bool {
	switch target {
	case ErrBadCheckpointName:
		return e.Code == codeBadName
	case ErrNoCheckpoint:
		return e.Code == codeNoCheckpoint
	}
	return false
}

// Save saves checkpoint name of every bucket, replacing one of that name.
func (a Admin) Save(ctx context.Context, name string) (Checkpoint, error) {
	var ck Checkpoint
	if err := CheckName(name); err != nil {
		return ck, fmt.Errorf("save s3 checkpoint: %w", err)
	}
	err := a.do(ctx, http.MethodPut, "checkpoints/"+name, nil, &ck)
	if err != nil {
		return ck, fmt.Errorf("save s3 checkpoint %q: %w", name, err)
	}
	return ck, nil
}

// Restore puts every bucket back as checkpoint name saved it.
func (a Admin) Restore(ctx context.Context, name string) (Restored, error) {
	var res Restored
	if err := CheckName(name); err != nil {
		return res, fmt.Errorf("restore s3 checkpoint: %w", err)
	}
	err := a.do(ctx, http.MethodPost, "checkpoints/"+name+"/_restore", nil, &res)
	if err != nil {
		return res, fmt.Errorf("restore s3 checkpoint %q: %w", name, err)
	}
	return res, nil
}

// List returns the saved checkpoints by name.
func (a Admin) List(ctx context.Context) ([]Checkpoint, error) {
	var out struct {
		Checkpoints []Checkpoint `json:"checkpoints"`
	}
	if err := a.do(ctx, http.MethodGet, "checkpoints", nil, &out); err != nil {
		return nil, fmt.Errorf("list s3 checkpoints: %w", err)
	}
	return out.Checkpoints, nil
}

// Delete deletes checkpoint name.
func (a Admin) Delete(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("delete s3 checkpoint: %w", err)
	}
	if err := a.do(ctx, http.MethodDelete, "checkpoints/"+name, nil, nil); err != nil {
		return fmt.Errorf("delete s3 checkpoint %q: %w", name, err)
	}
	return nil
}

// Pause holds S3 writes (PUT, POST, DELETE) until Resume or until expires
// has passed (at most fakes.MaxPauseExpiry), and returns when it expires. Reads
// go on.
func (a Admin) Pause(ctx context.Context, expires time.Duration) (time.Time, error) {
	var out struct {
		Until time.Time `json:"until"`
	}
	q := url.Values{"expires": {expires.String()}}
	if err := a.do(ctx, http.MethodPost, "pause", q, &out); err != nil {
		return time.Time{}, fmt.Errorf("pause s3 writes: %w", err)
	}
	return out.Until, nil
}

// Resume lets paused writes proceed.
func (a Admin) Resume(ctx context.Context) error {
	if err := a.do(ctx, http.MethodPost, "resume", nil, nil); err != nil {
		return fmt.Errorf("resume s3 writes: %w", err)
	}
	return nil
}

// emptySHA256 is the payload hash of the admin API's bodiless requests.
var emptySHA256 = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

func (a Admin) do(ctx context.Context, method, path string, q url.Values, out any) error {
	u := strings.TrimSuffix(a.Endpoint, "/") + AdminPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: a.AccessKey, SecretAccessKey: a.SecretKey}
	if err := signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", "us-east-1", time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	hc := a.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var doc adminErrorDoc
		if xml.Unmarshal(body, &doc) != nil || doc.Code == "" {
			return &AdminError{Status: resp.StatusCode, Code: "Unknown", Message: strings.TrimSpace(string(body))}
		}
		return &AdminError{Status: resp.StatusCode, Code: doc.Code, Message: doc.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return errors.Join(errors.New("decode answer (is the endpoint a mossdev s3 fake?)"), err)
	}
	return nil
}
