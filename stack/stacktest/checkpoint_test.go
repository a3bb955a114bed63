package stacktest_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	essvc "github.com/mossdev/mossdev/stack/services/elasticsearch"
	s3svc "github.com/mossdev/mossdev/stack/services/s3"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// The stores' halves of whole-stack checkpoints, through the stack's own
// endpoints and wiring (path.repo, the S3 fake's keys). Not parallel: a
// restore of the bucket undoes every write since the save.

func TestS3CheckpointOnStack(t *testing.T) {
	ctx := t.Context()
	admin := s3svc.Admin(stacktest.Runtime(t))
	c := s3Client(t)
	bucket := stacktest.Var(t, "MOSSDEV_S3_BUCKET")
	key := fmt.Sprintf("it/checkpoint-%d", time.Now().UnixNano())
	name := fmt.Sprintf("it-%d", time.Now().UnixNano())
	putBody := func(body string) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	putBody("saved")
	t.Cleanup(func() {
		_ = admin.Delete(t.Context(), name)
		_, _ = c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	})
	if _, err := admin.Save(ctx, name); err != nil {
		t.Fatal(err)
	}
	putBody("changed")
	res, err := admin.Restore(ctx, name)
	if err != nil || res.Full || res.Changes != 1 {
		t.Fatalf("restore = %+v, %v; want one change rewritten", res, err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "saved" {
		t.Errorf("after restore the object holds %q, want the saved body", body)
	}
}

func TestSearchSnapshotOnStack(t *testing.T) {
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{stacktest.URL(t, "elasticsearch")}})
	if err != nil {
		t.Fatal(err)
	}
	ok := func(res *esapi.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.IsError() {
			t.Fatalf("%s: %s", res.Status(), raw)
		}
		return string(raw)
	}
	suffix := time.Now().UnixNano()
	repo, index, snap := fmt.Sprintf("it-%d", suffix), fmt.Sprintf("it-snap-%d", suffix), "one"
	ok(es.Snapshot.CreateRepository(repo, strings.NewReader(fmt.Sprintf(`{"type":"fs","settings":{"location":%q}}`, essvc.CheckpointLocation))))
	t.Cleanup(func() {
		_, _ = es.Snapshot.Delete(repo, []string{snap})
		_, _ = es.Indices.Delete([]string{index})
		_, _ = es.Snapshot.DeleteRepository([]string{repo})
	})
	ok(es.Index(index, strings.NewReader(`{"text":"새벽 카드"}`), es.Index.WithDocumentID("1"), es.Index.WithRefresh("true")))
	ok(es.Snapshot.Create(repo, snap, es.Snapshot.Create.WithBody(strings.NewReader(fmt.Sprintf(`{"indices":%q,"include_global_state":false}`, index))),
		es.Snapshot.Create.WithWaitForCompletion(true)))
	ok(es.Index(index, strings.NewReader(`{"text":"later"}`), es.Index.WithDocumentID("2"), es.Index.WithRefresh("true")))
	ok(es.Indices.Delete([]string{index}))
	ok(es.Snapshot.Restore(repo, snap, es.Snapshot.Restore.WithBody(strings.NewReader(fmt.Sprintf(`{"indices":%q}`, index))),
		es.Snapshot.Restore.WithWaitForCompletion(true)))
	ok(es.Indices.Refresh(es.Indices.Refresh.WithIndex(index)))
	if got := ok(es.Count(es.Count.WithIndex(index))); !strings.Contains(got, `"count":1`) {
		t.Errorf("count after restore: %s, want 1", got)
	}
}
