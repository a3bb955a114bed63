package load

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/mossdev/mossdev/seed"
	"golang.org/x/sync/errgroup"
)

// Objects mossdev keeps in the image bucket beside the card images: the
// marker, and the MD5 of every seeded image in blocks of etagBlock ids (a
// record of what was seeded, independent of the bucket's ETags).
const (
	s3MarkerKey = "_mossdev/seed.json"
	s3EtagsDir  = "_mossdev/etags/"
	etagBlock   = 1000
)

// NewS3 returns an S3 client for t: path-style, static credentials, and
// checksums only where the API requires them (the emulator, like older S3
// clones, gains nothing from per-request CRCs; the seed sends Content-MD5).
func NewS3(t S3Target) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(t.Endpoint), Region: t.Region, UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(t.AccessKey, t.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
}

type s3Store struct {
	c       *s3.Client
	bucket  string
	cdn     string
	purge   string // the CDN's purge token
	workers int
}

func newS3(ctx context.Context, t Targets) (*s3Store, error) {
	c := NewS3(t.S3)
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(t.S3.Bucket)}); err != nil {
		return nil, fmt.Errorf("connect: bucket %s: %w", t.S3.Bucket, err)
	}
	return &s3Store{c: c, bucket: t.S3.Bucket, cdn: t.CDN, purge: t.CDNPurgeToken, workers: 16}, nil
}

func (s *s3Store) name() string { return S3 }
func (s *s3Store) close()       {}

func (s *s3Store) marker(ctx context.Context) (Marker, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s3MarkerKey)})
	var nf *types.NoSuchKey
	if errors.As(err, &nf) || isS3NotFound(err) {
		return Marker{}, nil
	}
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	return parseMarker(b)
}

func isS3NotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

func (s *s3Store) put(ctx context.Context, key string, body []byte, contentType string) (string, error) {
	sum := md5.Sum(body)
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	return hex.EncodeToString(sum[:]), nil
}

func (s *s3Store) setMarker(ctx context.Context, m Marker) error {
	_, err := s.put(ctx, s3MarkerKey, m.json(), "application/json")
	return err
}

func (s *s3Store) total(ds *seed.Dataset) int64 { return ds.Counts().Cards }

func etagKey(block int64) string { return fmt.Sprintf("%s%06d", s3EtagsDir, block) }

// load puts every card's image (generated in the workers: PNG encoding is
// the CPU-heavy part) from parallel workers, each taking blocks of ids and
// recording the block's MD5s, then deletes the images of cards an earlier,
// larger seed left behind, and purges the CDN.
func (s *s3Store) load(ctx context.Context, ds *seed.Dataset, prev Marker, m *meter) error {
	cards := ds.Counts().Cards
	extent := max(prev.Extent, prev.Cards, cards)
	mk := newMarker(ds, false, 0)
	mk.Extent = extent
	if err := s.setMarker(ctx, mk); err != nil {
		return err
	}
	if err := s.putImages(ctx, ds, blocksOf(cards), m); err != nil {
		return err
	}
	if err := s.deleteSurplus(ctx, cards, extent); err != nil {
		return err
	}
	if err := s.purgeCDN(ctx); err != nil {
		return err
	}
	mk = newMarker(ds, true, cards)
	mk.Extent = cards
	return s.setMarker(ctx, mk)
}

func blocksOf(cards int64) []int64 {
	out := make([]int64, 0, cards/etagBlock+1)
	for b := int64(0); b*etagBlock < cards; b++ {
		out = append(out, b)
	}
	return out
}

// putImages writes the images of the given blocks and their MD5 records.
func (s *s3Store) putImages(ctx context.Context, ds *seed.Dataset, blocks []int64, m *meter) error {
	return s.putBlocks(ctx, blocks, ds.Counts().Cards, func(id int64) (string, []byte, error) {
		img, err := ds.Image(id)
		return seed.ImageKey(id), img, err
	}, true, m)
}

// putBlocks is the seed's bulk path into S3 (raw.go measures it under a
// scratch prefix): workers take blocks of etagBlock object numbers (1..n)
// and put object(i) for each, so generating an object (PNG encoding, the
// CPU-heavy part for images) happens in the workers too. With record, each
// block's MD5s are stored as well.
func (s *s3Store) putBlocks(ctx context.Context, blocks []int64, n int64, object func(i int64) (key string, body []byte, err error), record bool, m *meter) error {
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan int64)
	g.Go(func() error {
		defer close(work)
		for _, b := range blocks {
			select {
			case work <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range s.workers {
		g.Go(func() error {
			for b := range work {
				first, last := b*etagBlock+1, min((b+1)*etagBlock, n)
				sums := make([]byte, 0, 16*etagBlock)
				for i := first; i <= last; i++ {
					key, body, err := object(i)
					if err != nil {
						return err
					}
					sum, err := s.put(ctx, key, body, "image/png")
					if err != nil {
						return err
					}
					if record {
						b, _ := hex.DecodeString(sum)
						sums = append(sums, b...)
					}
					m.add(1)
				}
				if !record {
					continue
				}
				if _, err := s.put(ctx, etagKey(b), sums, "application/octet-stream"); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// deleteSurplus removes the images (and MD5 blocks) of ids cards+1..extent.
func (s *s3Store) deleteSurplus(ctx context.Context, cards, extent int64) error {
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		err := s.deleteKeys(ctx, keys)
		keys = keys[:0]
		return err
	}
	for id := cards + 1; id <= extent; id++ {
		keys = append(keys, seed.ImageKey(id))
		if len(keys) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for b := (cards + etagBlock - 1) / etagBlock; b*etagBlock < extent; b++ {
		keys = append(keys, etagKey(b))
		if len(keys) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (s *s3Store) deleteKeys(ctx context.Context, keys []string) error {
	objs := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := s.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &s.bucket,
		Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
	if err != nil {
		return fmt.Errorf("delete %d objects: %w", len(keys), err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return fmt.Errorf("delete %s: %s", aws.ToString(e.Key), aws.ToString(e.Message))
	}
	return nil
}

// purgeCDN invalidates every cached object: images just changed under it.
func (s *s3Store) purgeCDN(ctx context.Context) error {
	return PurgeCDN(ctx, Targets{CDN: s.cdn, CDNPurgeToken: s.purge})
}

// PurgeCDN empties the CDN's cache (a no-op for a stack without one).
func PurgeCDN(ctx context.Context, t Targets) error {
	if t.CDN == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.CDN+"/_cdn/purge", strings.NewReader(`{"paths":["/*"]}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.CDNPurgeToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("purge cdn: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("purge cdn: %s", res.Status)
	}
	return nil
}

// Object is one listed object.
type Object struct {
	Key, ETag string // ETag without quotes
	Size      int64
}

// ListBucket lists every object of bucket with ten listings in parallel,
// each over one slice of the key space (cards/0.., cards/1.., ...: the
// image keys' id%1000 folders spread them evenly). The emulator answers a
// 1,000-key page in 60-80 ms, so listing 30 k keys one page after the
// other took 2 s; fn is called from several goroutines.
func ListBucket(ctx context.Context, c *s3.Client, bucket string, fn func(Object)) error {
	bounds := []string{""}
	for d := '1'; d <= '9'; d++ {
		bounds = append(bounds, "cards/"+string(d))
	}
	g, ctx := errgroup.WithContext(ctx)
	for i, from := range bounds {
		to := ""
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		g.Go(func() error {
			in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
			if from != "" {
				in.StartAfter = aws.String(from)
			}
			p := s3.NewListObjectsV2Paginator(c, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("list bucket: %w", err)
				}
				for _, o := range page.Contents {
					key := aws.ToString(o.Key)
					if to != "" && key >= to {
						return nil
					}
					fn(Object{Key: key, ETag: strings.Trim(aws.ToString(o.ETag), `"`), Size: aws.ToInt64(o.Size)})
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// CardIDOfKey parses an image key back to its card id.
func CardIDOfKey(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, "cards/")
	if !ok {
		return 0, false
	}
	_, file, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(file, ".png"), 10, 64)
	if err != nil || seed.ImageKey(id) != key {
		return 0, false
	}
	return id, true
}
