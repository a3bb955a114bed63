package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	Objects = "objects"
	Bytes   = "bytes"
)

// countCap stops the listing: production held hundreds of millions of
// images, and the TUI asks every 2 s; past the cap it says "≥".
const countCap = 100_000

// counters lists the image bucket (ListObjectsV2, 1,000 keys a page) and
// reports how many images and bytes it holds.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	p := awss3.NewListObjectsV2Paginator(client(e), &awss3.ListObjectsV2Input{Bucket: aws.String(Bucket)})
	var n, size int64
	for p.HasMorePages() && n < countCap {
		page, err := p.NextPage(ctx)
		if err != nil {
			if n == 0 {
				return nil, err
			}
			break // a partial count is still a lower bound
		}
		n += int64(len(page.Contents))
		for _, o := range page.Contents {
			size += aws.ToInt64(o.Size)
		}
	}
	objects := fmt.Sprint(n)
	if p.HasMorePages() {
		objects = "≥" + objects
	}
	return []stack.Counter{
		{Key: Objects, Label: "objects", Value: objects},
		{Key: Bytes, Label: "bytes", Value: fmt.Sprintf("%d (%.1f MiB)", size, float64(size)/(1<<20))},
	}, nil
}

// client is an S3 client with the stack's keys, for one-shot readings: a
// failure is reported, not retried.
func client(e *stack.Runtime) *awss3.Client {
	return awss3.New(awss3.Options{
		BaseEndpoint:     aws.String(Endpoint(e)),
		Region:           Region,
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(e.Secrets.S3AccessKey, e.Secrets.S3SecretKey, ""),
		RetryMaxAttempts: 1,
	})
}

// readiness lists one key of the image bucket with a signed request: the
// bucket exists, the server speaks S3 and accepts the stack's keys. (An
// unsigned probe would only see the refusal every anonymous caller gets.)
func readiness(e *stack.Runtime) probe.Probe {
	c := client(e)
	return probe.New("signed S3 list of bucket "+Bucket+" at "+Endpoint(e), func(ctx context.Context) error {
		_, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(Bucket), MaxKeys: aws.Int32(1)})
		return err
	})
}
