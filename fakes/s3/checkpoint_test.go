package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// object is what a checkpoint must bring back of one key.
type object struct {
	Body, ETag, ContentType string
	Meta                    string
}

// state reads every bucket and key through the SDK, as a client sees them.
func state(t *testing.T, c *awss3.Client) map[string]map[string]object {
	t.Helper()
	ctx := t.Context()
	out := map[string]map[string]object{}
	lb, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	for _, b := range lb.Buckets {
		name := aws.ToString(b.Name)
		objs := map[string]object{}
		p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: b.Name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("list %s: %v", name, err)
			}
			for _, o := range page.Contents {
				g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b.Name, Key: o.Key})
				if err != nil {
					t.Fatalf("get %s/%s: %v", name, aws.ToString(o.Key), err)
				}
				body, _ := io.ReadAll(g.Body)
				_ = g.Body.Close()
				var meta []string
				for k, v := range g.Metadata {
					meta = append(meta, k+"="+v)
				}
				sort.Strings(meta)
				objs[aws.ToString(o.Key)] = object{
					Body: string(body), ETag: aws.ToString(g.ETag),
					ContentType: aws.ToString(g.ContentType), Meta: strings.Join(meta, ","),
				}
			}
		}
		out[name] = objs
	}
	return out
}

func sameState(t *testing.T, got, want map[string]map[string]object) {
	t.Helper()
	g, w := fmt.Sprint(got), fmt.Sprint(want)
	if g != w {
		t.Fatalf("state after restore:\n got %s\nwant %s", g, w)
	}
}

func putIn(t *testing.T, c *awss3.Client, bkt, key, body string, meta map[string]string) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &awss3.PutObjectInput{
		Bucket: aws.String(bkt), Key: aws.String(key), Body: strings.NewReader(body),
		ContentType: aws.String("image/webp"), Metadata: meta,
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bkt, key, err)
	}
}

func del(t *testing.T, c *awss3.Client, bkt, key string) {
	t.Helper()
	if _, err := c.DeleteObject(t.Context(), &awss3.DeleteObjectInput{Bucket: aws.String(bkt), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete %s/%s: %v", bkt, key, err)
	}
}

func mkBucket(t *testing.T, c *awss3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

func rmBucket(t *testing.T, c *awss3.Client, name string) {
	t.Helper()
	if _, err := c.DeleteBucket(t.Context(), &awss3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("delete bucket %s: %v", name, err)
	}
}

// scribble changes the store every way a client can: overwrite, delete,
// add, batch delete, copy, new bucket, deleted bucket.
func scribble(t *testing.T, c *awss3.Client) {
	t.Helper()
	putIn(t, c, bucket, "cards/1.webp", "overwritten", map[string]string{"card": "1-new"})
	del(t, c, bucket, "cards/2.webp")
	putIn(t, c, bucket, "cards/9.webp", "added", nil)
	_, err := c.DeleteObjects(t.Context(), &awss3.DeleteObjectsInput{Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("cards/3.webp")}}}})
	if err != nil {
		t.Fatalf("delete objects: %v", err)
	}
	_, err = c.CopyObject(t.Context(), &awss3.CopyObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("cards/4.webp"), CopySource: aws.String(bucket + "/cards/1.webp")})
	if err != nil {
		t.Fatalf("copy object: %v", err)
	}
	mkBucket(t, c, "mossi-new")
	putIn(t, c, "mossi-new", "x", "in a new bucket", nil)
	del(t, c, "mossi-thumbs", "t/1.webp")
	rmBucket(t, c, "mossi-thumbs")
}

func seedState(t *testing.T, c *awss3.Client) {
	t.Helper()
	for i := 1; i <= 5; i++ {
		putIn(t, c, bucket, fmt.Sprintf("cards/%d.webp", i), strings.Repeat(fmt.Sprint(i), 100*i), map[string]string{"card": fmt.Sprint(i)})
	}
	mkBucket(t, c, "mossi-thumbs")
	putIn(t, c, "mossi-thumbs", "t/1.webp", "thumb", nil)
}

func admin(ts *httptest.Server) Admin {
	return Admin{Endpoint: ts.URL, AccessKey: accessKey, SecretKey: secretKey}
}

func TestCheckpointRestoreBringsBackEveryBucket(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c, a := client(ts.URL), admin(ts)
	seedState(t, c)
	want := state(t, c)
	if _, err := a.Save(t.Context(), "seed"); err != nil {
		t.Fatal(err)
	}
	scribble(t, c)
	res, err := a.Restore(t.Context(), "seed")
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, state(t, c), want)
	if res.Full || res.Changes < 8 {
		t.Errorf("restore = %+v, want one that rewrote only the changes (at least 8)", res)
	}

	// Again: the restore itself must count as the new base.
	scribble(t, c)
	if _, err := a.Restore(t.Context(), "seed"); err != nil {
		t.Fatal(err)
	}
	sameState(t, state(t, c), want)
	res, err = a.Restore(t.Context(), "seed")
	if err != nil || res.Changes != 0 {
		t.Errorf("restore without changes = %+v, %v; want 0 changes", res, err)
	}
}

func TestCheckpointsTrackEachOther(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c, a := client(ts.URL), admin(ts)
	seedState(t, c)
	wantA := state(t, c)
	if _, err := a.Save(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	scribble(t, c)
	wantB := state(t, c)
	if _, err := a.Save(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	putIn(t, c, bucket, "cards/after-b", "x", nil)
	for _, step := range []struct {
		name string
		want map[string]map[string]object
	}{{"a", wantA}, {"b", wantB}, {"a", wantA}, {"b", wantB}} {
		res, err := a.Restore(t.Context(), step.name)
		if err != nil {
			t.Fatal(err)
		}
		if res.Full {
			t.Errorf("restore %s was a full copy; both checkpoints are tracked", step.name)
		}
		sameState(t, state(t, c), step.want)
	}
	list, err := a.List(t.Context())
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" || list[0].Size == 0 {
		t.Fatalf("list = %+v, %v; want a and b", list, err)
	}
	if err := a.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Restore(t.Context(), "a"); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("restore of a deleted checkpoint: %v, want ErrNoCheckpoint", err)
	}
	if err := a.Delete(t.Context(), "a"); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("delete of a deleted checkpoint: %v, want ErrNoCheckpoint", err)
	}
}

// A restart keeps the tracking (it is in the store), and a checkpoint the
// store does not descend from is restored by a full copy.
func TestCheckpointAcrossRestartAndFullCopy(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	c, a := client(ts.URL), admin(ts)
	seedState(t, c)
	want := state(t, c)
	if _, err := a.Save(t.Context(), "seed"); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	// A copy under another name has no base in the store: full copy.
	ck := filepath.Join(dir, CheckpointDir)
	if err := copyFile(filepath.Join(ck, "seed.bolt"), filepath.Join(ck, "imported.bolt")); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a killed save and a killed restore.
	for _, f := range []string{filepath.Join(ck, ".tmp-x-1"), filepath.Join(dir, StoreFile+restoringSuffix)} {
		if err := os.WriteFile(f, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ts = newTestServer(t, dir)
	c, a = client(ts.URL), admin(ts)
	for _, f := range []string{filepath.Join(ck, ".tmp-x-1"), filepath.Join(dir, StoreFile+restoringSuffix)} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("leftover %s still there after start (%v)", f, err)
		}
	}
	scribble(t, c)
	res, err := a.Restore(t.Context(), "seed")
	if err != nil || res.Full {
		t.Fatalf("restore after restart = %+v, %v; want changes only", res, err)
	}
	sameState(t, state(t, c), want)
	scribble(t, c)
	res, err = a.Restore(t.Context(), "imported")
	if err != nil || !res.Full {
		t.Fatalf("restore of an imported checkpoint = %+v, %v; want a full copy", res, err)
	}
	sameState(t, state(t, c), want)
	// After a full copy, writes are tracked against it again.
	scribble(t, c)
	res, err = a.Restore(t.Context(), "imported")
	if err != nil || res.Full {
		t.Fatalf("second restore = %+v, %v; want changes only", res, err)
	}
	sameState(t, state(t, c), want)
}

func TestCheckpointNamesAreChecked(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	a := admin(ts)
	for _, name := range []string{"", "..", ".hidden", "a/b", "../../etc", "a b", strings.Repeat("x", 129)} {
		if _, err := a.Save(t.Context(), name); !errors.Is(err, ErrBadCheckpointName) {
			t.Errorf("save %q: %v, want ErrBadCheckpointName", name, err)
		}
	}
	// The server checks too, for clients other than Admin.
	for _, p := range []string{"checkpoints/.hidden", "checkpoints/..%2F..%2Fx", "checkpoints/a%20b"} {
		err := a.do(t.Context(), http.MethodPut, p, nil, nil)
		var ae *AdminError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !errors.Is(err, ErrBadCheckpointName) {
			t.Errorf("PUT %s: %v, want 400 %s", p, err, codeBadName)
		}
	}
	if _, err := a.Restore(t.Context(), "never-saved"); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("restore of a missing checkpoint: %v, want ErrNoCheckpoint", err)
	}
}

func TestAdminRefusesUnsignedCalls(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	resp, err := http.Post(ts.URL+"/_mossdev/pause?expires=1h", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("unsigned pause = %d %s, want 403 AccessDenied", resp.StatusCode, body)
	}
	for _, tc := range []struct{ key, secret, code string }{
		{accessKey, "wrong", "SignatureDoesNotMatch"},
		{"NOSUCHKEY", secretKey, "InvalidAccessKeyId"},
	} {
		a := Admin{Endpoint: ts.URL, AccessKey: tc.key, SecretKey: tc.secret}
		_, err := a.Save(t.Context(), "x")
		var ae *AdminError
		if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != http.StatusForbidden {
			t.Errorf("save signed with %s/%s: %v, want 403 %s", tc.key, tc.secret, err, tc.code)
		}
	}
	if list, err := admin(ts).List(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("list = %v, %v; refused calls must have saved nothing", list, err)
	}
}

// putAsync starts a put and reports its error when it finishes.
func putAsync(t *testing.T, c *awss3.Client, key string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.PutObject(t.Context(), &awss3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("during pause")})
		done <- err
	}()
	return done
}

func TestPauseBlocksWritesUntilResume(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c, a := client(ts.URL), admin(ts)
	put(t, c, "before", []byte("x"))
	if _, err := a.Pause(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	done := putAsync(t, c, "paused")
	select {
	case err := <-done:
		t.Fatalf("put finished during a pause (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Reads and checkpoints go on while writes are paused.
	if got := get(t, c, "before"); string(got) != "x" {
		t.Errorf("get during pause = %q", got)
	}
	if _, err := a.Save(t.Context(), "paused"); err != nil {
		t.Fatal(err)
	}
	if err := a.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("put after resume: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("put still blocked after resume")
	}
	if got := get(t, c, "paused"); string(got) != "during pause" {
		t.Errorf("paused put stored %q", got)
	}
}

func TestPauseExpires(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	c, a := client(ts.URL), admin(ts)
	start := time.Now()
	if _, err := a.Pause(t.Context(), 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-putAsync(t, c, "k"):
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 350*time.Millisecond {
			t.Errorf("put finished after %v, before the pause expired", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("put still blocked after the pause expired")
	}
	if _, err := a.Pause(t.Context(), 2*time.Hour); err == nil {
		t.Error("a pause of 2h was accepted; the limit is 1h")
	}
}

// BenchmarkCheckpoint30k measures save and restore at the default seed
// scale (30k card images of 5 KiB, ~150 MB): run with -benchtime=1x.
// The figures are per operation; the machine may be shared.
func BenchmarkCheckpoint30k(b *testing.B) {
	dir := b.TempDir()
	srv, err := New(Config{Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	body := bytes.Repeat([]byte("m"), 5<<10)
	for i := range 30000 {
		if _, err := srv.st.backend.PutObject(bucket, fmt.Sprintf("cards/%06d.webp", i), nil, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			b.Fatal(err)
		}
	}
	var save, changes, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := srv.Save("seed"); err != nil {
			b.Fatal(err)
		}
		save += time.Since(t0)
		for i := range 100 {
			if _, err := srv.st.backend.PutObject(bucket, fmt.Sprintf("cards/%06d.webp", i*7), nil, bytes.NewReader([]byte("new")), 3, nil); err != nil {
				b.Fatal(err)
			}
		}
		t0 = time.Now()
		if res, err := srv.Restore("seed"); err != nil || res.Full {
			b.Fatal(res, err)
		}
		changes += time.Since(t0)
		if err := srv.Delete("seed"); err != nil {
			b.Fatal(err)
		}
		// No base any more: the same file under a fresh name is restored
		// by a full copy.
		if _, err := srv.Save("seed"); err != nil {
			b.Fatal(err)
		}
		ck := filepath.Join(dir, CheckpointDir)
		if err := copyFile(filepath.Join(ck, "seed.bolt"), filepath.Join(ck, "copy.bolt")); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if res, err := srv.Restore("copy"); err != nil || !res.Full {
			b.Fatal(res, err)
		}
		full += time.Since(t0)
		_ = srv.Delete("copy")
	}
	n := float64(b.N)
	b.ReportMetric(save.Seconds()*1000/n, "save-ms")
	b.ReportMetric(changes.Seconds()*1000/n, "restore100changes-ms")
	b.ReportMetric(full.Seconds()*1000/n, "restorefull-ms")
	fi, _ := os.Stat(filepath.Join(dir, StoreFile))
	b.ReportMetric(float64(fi.Size())/1e6, "store-MB")
}

// crashDirEnv makes the test binary a restore loop to be killed: see
// TestRestoreSurvivesKill.
const crashDirEnv = "MOSSDEV_S3_CRASH_DIR"

// TestRestoreSurvivesKill kills (SIGKILL) a process that keeps writing and
// restoring, by changes and by full copies, at random moments; each time
// the store must open again and a restore must bring back exactly the
// checkpoint.
func TestRestoreSurvivesKill(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		restoreLoop(dir)
		return
	}
	dir := t.TempDir()
	cfg := Config{Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	c, a := client(ts.URL), admin(ts)
	seedState(t, c)
	for i := range 300 { // enough bytes that a full copy takes a while
		putIn(t, c, bucket, fmt.Sprintf("bulk/%d", i), strings.Repeat("b", 20<<10), nil)
	}
	want := state(t, c)
	if _, err := a.Save(t.Context(), "seed"); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, CheckpointDir)
	if err := copyFile(filepath.Join(ck, "seed.bolt"), filepath.Join(ck, "imported.bolt")); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreSurvivesKill$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+round*70) * time.Millisecond)
		_ = cmd.Process.Kill()
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: the restore loop ended by itself (%v), not by the kill", round, err)
		}

		srv, err := New(cfg)
		if err != nil {
			t.Fatalf("round %d: open after kill: %v", round, err)
		}
		ts := httptest.NewServer(srv)
		c, a := client(ts.URL), admin(ts)
		name := []string{"seed", "imported"}[round%2]
		if _, err := a.Restore(t.Context(), name); err != nil {
			t.Fatalf("round %d: restore after kill: %v", round, err)
		}
		sameState(t, state(t, c), want)
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// restoreLoop writes and restores until killed. It reads srv.st afresh
// each time: a full restore swaps the store.
func restoreLoop(dir string) {
	srv, err := New(Config{Dir: dir, Buckets: []string{bucket}, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		for j := range 20 {
			body := fmt.Sprintf("junk %d %d", i, j)
			_, _ = srv.st.backend.PutObject(bucket, fmt.Sprintf("junk/%d-%d", i, j), map[string]string{}, strings.NewReader(body), int64(len(body)), nil)
		}
		_, _ = srv.st.backend.DeleteObject(bucket, "cards/2.webp")
		_, _ = srv.st.backend.PutObject(bucket, "cards/1.webp", map[string]string{}, strings.NewReader("x"), 1, nil)
		// Alternating checkpoints: each restore is a full copy (the
		// other's base is forgotten); two in a row of the same one go
		// by changes.
		for _, name := range []string{"seed", "imported", "imported"} {
			if _, err := srv.Restore(name); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	}
}
