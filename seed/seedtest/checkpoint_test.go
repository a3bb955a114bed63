package seedtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/checkpoint"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack/stacktest"
)

func ckTarget(t *testing.T) checkpoint.Target {
	t.Helper()
	return checkpoint.For(stacktest.Runtime(t))
}

// ckOptions restarts services through the test's stack, as the CLI does.
func ckOptions(t *testing.T) checkpoint.Options {
	s := stacktest.Stack(t)
	return checkpoint.Options{Restart: func(ctx context.Context, svc string) error {
		if err := s.Stop(ctx, svc); err != nil {
			return err
		}
		_, err := s.Start(ctx, svc)
		return err
	}}
}

// probe is a value written into every store, read back through the paths
// apps use: a row, a hashtag, a view, a key per shard, a queued message,
// a search document and an object.
type probe struct {
	Likes   int64
	Tag     string
	View    bson.ObjectID
	Key     string
	Message string
	Doc     string
	Object  string
}

const (
	probeQueue  = "mossdev.probe"
	probeKey    = "probe:key"
	probeDocID  = "probe-doc"
	probeObject = "probe/object.txt"
	probeCard   = 1
)

// write puts p into every store; extra also leaves things the checkpoint
// must remove on restore (a second object, an extra key and index).
func (p probe) write(t *testing.T, extra bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := pg(t).Exec(ctx, "UPDATE cards SET like_count = $1 WHERE id = $2", p.Likes, probeCard); err != nil {
		t.Fatal(err)
	}
	m := maria(t)
	if _, err := m.ExecContext(ctx, "DELETE FROM hashtags WHERE name LIKE 'probe-%'"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ExecContext(ctx, "INSERT INTO hashtags (id, name, card_count) VALUES (4000000000, ?, 1)", p.Tag); err != nil {
		t.Fatal(err)
	}
	views := mongoViews(t)
	if _, err := views.InsertOne(ctx, load.ViewDoc{ID: p.View, CardID: probeCard, UserID: 1, ViewedAt: time.Now().UTC().Truncate(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	for i, c := range redisShards(t) {
		if err := c.Set(ctx, probeKey, p.Key, 0).Err(); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		if extra {
			if err := c.Set(ctx, "probe:extra", "x", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	conn, err := amqp.Dial(targets(t).AMQP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(probeQueue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", probeQueue, true, false, amqp.Publishing{Body: []byte(p.Message), DeliveryMode: amqp.Persistent})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("publish not confirmed: %v", err)
	}
	if code, b := esDo(t, "PUT", "/"+load.CardsIndex+"/_doc/"+probeDocID+"?refresh=true", fmt.Sprintf(`{"text":%q}`, p.Doc)); code/100 != 2 {
		t.Fatalf("index probe doc: %d %s", code, b)
	}
	if extra {
		if code, b := esDo(t, "PUT", "/probe-extra", `{}`); code/100 != 2 {
			t.Fatalf("create index: %d %s", code, b)
		}
	}
	c := load.NewS3(targets(t).S3)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(targets(t).S3.Bucket), Key: aws.String(probeObject), Body: strings.NewReader(p.Object)}); err != nil {
		t.Fatal(err)
	}
	if extra {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(targets(t).S3.Bucket), Key: aws.String("probe/extra"), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
}

// check fails the test unless every store holds exactly p (and none of
// the extras).
func (p probe) check(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	var likes int64
	if err := pg(t).QueryRow(ctx, "SELECT like_count FROM cards WHERE id = $1", probeCard).Scan(&likes); err != nil || likes != p.Likes {
		t.Errorf("postgres: like_count %d (%v), want %d", likes, err, p.Likes)
	}
	var tags []string
	rows, err := maria(t).QueryContext(ctx, "SELECT name FROM hashtags WHERE name LIKE 'probe-%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tags = append(tags, n)
	}
	rows.Close()
	if strings.Join(tags, ",") != p.Tag {
		t.Errorf("mariadb: probe hashtags %v, want %q", tags, p.Tag)
	}
	views := mongoViews(t)
	for _, id := range []bson.ObjectID{p.View} {
		if n, err := views.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}}); err != nil || n != 1 {
			t.Errorf("mongodb: view %s found %d times (%v), want once", id.Hex(), n, err)
		}
	}
	for i, c := range redisShards(t) {
		if v, err := c.Get(ctx, probeKey).Result(); err != nil || v != p.Key {
			t.Errorf("redis shard %d: %s = %q (%v), want %q", i, probeKey, v, err, p.Key)
		}
		if n, _ := c.Exists(ctx, "probe:extra").Result(); n != 0 {
			t.Errorf("redis shard %d: probe:extra survived the restore", i)
		}
	}
	conn, err := amqp.Dial(targets(t).AMQP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		d, ok, err := ch.Get(probeQueue, false)
		if err != nil {
			t.Fatalf("rabbitmq: %v", err)
		}
		if !ok {
			break
		}
		got = append(got, string(d.Body))
	}
	_ = ch.Close() // returns them
	if strings.Join(got, ",") != p.Message {
		t.Errorf("rabbitmq: queue %s holds %v, want [%s]", probeQueue, got, p.Message)
	}
	if code, b := esDo(t, "GET", "/"+load.CardsIndex+"/_doc/"+probeDocID, ""); code != 200 || !strings.Contains(string(b), fmt.Sprintf(`"text":%q`, p.Doc)) {
		t.Errorf("elasticsearch: probe doc: %d %s, want text %q", code, b, p.Doc)
	}
	if code, _ := esDo(t, "HEAD", "/probe-extra", ""); code != 404 {
		t.Errorf("elasticsearch: index probe-extra answers %d after the restore, want 404", code)
	}
	c := load.NewS3(targets(t).S3)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(targets(t).S3.Bucket), Key: aws.String(probeObject)})
	if err != nil {
		t.Errorf("s3: %v", err)
	} else {
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != p.Object {
			t.Errorf("s3: %s = %q, want %q", probeObject, b, p.Object)
		}
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(targets(t).S3.Bucket), Key: aws.String("probe/extra")}); err == nil {
		t.Error("s3: probe/extra survived the restore")
	}
}

// cleanProbes removes what the probes left that the seed checkpoint does
// not cover (a queue made after it is kept by a restore).
func cleanProbes(t *testing.T) {
	conn, err := amqp.Dial(targets(t).AMQP)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(probeQueue, false, false, false)
	}
}

func probes() (probe, probe) {
	a := probe{Likes: 111, Tag: "probe-A", View: bson.NewObjectID(), Key: "A", Message: "A", Doc: "probe A", Object: "A"}
	b := probe{Likes: 222, Tag: "probe-B", View: bson.NewObjectID(), Key: "B", Message: "B", Doc: "probe B", Object: "B"}
	return a, b
}

// Change every store, save, change again, restore: exactly the saved
// state in every store. Then the seed's checkpoint gives back the seeded
// state, which verify checks.
func TestCheckpointRestoresExactlyTheSavedStateInEveryStore(t *testing.T) {
	seeded(t)
	t.Cleanup(func() {
		cleanProbes(t)
		_ = checkpoint.Remove(context.Background(), ckTarget(t), "changed")
		mustReset(t)
	})
	a, b := probes()
	a.write(t, false)
	res, err := checkpoint.Save(t.Context(), ckTarget(t), "changed", ckOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Manifest.Stores {
		t.Logf("save %-14s %6.2fs %10d bytes  %s", p.Store, p.Seconds, p.Bytes, p.Method)
	}
	b.write(t, true)
	rr, err := checkpoint.Restore(t.Context(), ckTarget(t), "changed", ckOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restore in %.2fs: %v", rr.Elapsed, rr.Actions)
	a.check(t)

	cleanProbes(t)
	if _, err := checkpoint.Reset(t.Context(), ckTarget(t), ckOptions(t)); err != nil {
		t.Fatal(err)
	}
	mustVerify(t)
}

// A restore that finds a spare copy renames it in instead of copying.
func TestPreparedRestoreRenamesInASpareCopy(t *testing.T) {
	seeded(t)
	if err := checkpoint.Prepare(t.Context(), ckTarget(t), checkpoint.SeedName); err != nil {
		t.Fatal(err)
	}
	res, err := checkpoint.Reset(t.Context(), ckTarget(t), ckOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reset in %.2fs: %v", res.Elapsed, res.Actions)
	if !strings.Contains(res.Actions[load.Postgres], "spare") {
		t.Errorf("postgres: %q, want the spare copy renamed in", res.Actions[load.Postgres])
	}
	mustVerify(t)
}

func TestCheckpointBadNamesAndMissingOnes(t *testing.T) {
	seeded(t)
	for _, name := range []string{"", "Upper", "a/b", "../x", strings.Repeat("a", 32), "-lead"} {
		if _, err := checkpoint.Save(t.Context(), ckTarget(t), name, ckOptions(t)); !errors.Is(err, checkpoint.ErrName) {
			t.Errorf("save %q: %v, want ErrName", name, err)
		}
	}
	_, err := checkpoint.Restore(t.Context(), ckTarget(t), "nosuch", ckOptions(t))
	if !errors.Is(err, checkpoint.ErrNotFound) || !strings.Contains(err.Error(), checkpoint.SeedName) {
		t.Errorf("restore nosuch: %v, want ErrNotFound listing %q", err, checkpoint.SeedName)
	}
	if err := checkpoint.Remove(t.Context(), ckTarget(t), "nosuch"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("rm nosuch: %v, want ErrNotFound", err)
	}
}

// A checkpoint from another shape of stack or other server versions is
// refused before anything is touched.
func TestCheckpointFromAnotherStackShapeOrVersionIsRefused(t *testing.T) {
	seeded(t)
	t.Cleanup(func() { _ = checkpoint.Remove(context.Background(), ckTarget(t), "shape") })
	if _, err := checkpoint.Save(t.Context(), ckTarget(t), "shape", ckOptions(t)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(stacktest.Runtime(t).Dir, "checkpoints", "shape", "manifest.json")
	edit := func(fn func(m *checkpoint.Manifest)) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m checkpoint.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		fn(&m)
		b, _ = json.Marshal(m)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(m *checkpoint.Manifest) { m.Shape.RedisShards = 5 })
	if _, err := checkpoint.Restore(t.Context(), ckTarget(t), "shape", ckOptions(t)); !errors.Is(err, checkpoint.ErrMismatch) || !strings.Contains(err.Error(), "5 redis shards") {
		t.Errorf("restore into another shape: %v, want ErrMismatch naming 5 shards", err)
	}
	edit(func(m *checkpoint.Manifest) { m.Shape.RedisShards = 3; m.Versions[load.Redis] = "6.0.0" })
	if _, err := checkpoint.Restore(t.Context(), ckTarget(t), "shape", ckOptions(t)); !errors.Is(err, checkpoint.ErrMismatch) || !strings.Contains(err.Error(), "6.0.0") {
		t.Errorf("restore across versions: %v, want ErrMismatch naming 6.0.0", err)
	}
	if checkpoint.Interrupted(stacktest.Runtime(t).Dir) != "" {
		t.Error("a refused restore left a journal")
	}
}

// Two restores at once are serialised: both succeed, in turn.
func TestTwoRestoresAtOnceAreSerialised(t *testing.T) {
	seeded(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = checkpoint.Reset(t.Context(), ckTarget(t), ckOptions(t)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("restore %d: %v", i, err)
		}
	}
	mustVerify(t)
}

// mossdevBinary builds the CLI once per test binary, for tests that kill
// it.
var mossdevBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mossdev-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mossdev")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/mossdev/mossdev/cmd/mossdev").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// runCLI starts the mossdev CLI on the test's stack.
func runCLI(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := mossdevBinary()
	if err != nil {
		t.Fatal(err)
	}
	env := stacktest.Runtime(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MOSSDEV_HOME="+filepath.Dir(env.Dir), "MOSSDEV_STACK="+env.Stack)
	return cmd
}

// A restore killed with SIGKILL halfway leaves a journal; the next
// restore finishes it and every store holds the checkpoint exactly. A
// killed save leaves nothing listed.
func TestKilledRestoreIsFinishedAndKilledSaveIsNotListed(t *testing.T) {
	seeded(t)
	t.Cleanup(func() {
		cleanProbes(t)
		_ = checkpoint.Remove(context.Background(), ckTarget(t), "killed")
		mustReset(t)
	})
	a, b := probes()
	a.write(t, false)
	if _, err := checkpoint.Save(t.Context(), ckTarget(t), "killed", ckOptions(t)); err != nil {
		t.Fatal(err)
	}
	b.write(t, true)
	dir := stacktest.Runtime(t).Dir
	journal := filepath.Join(dir, "checkpoints", ".restoring.json")
	cmd := runCLI(t, "checkpoint", "restore", "killed", "-q")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has recorded the restore and started on the stores.
	stacktest.Eventually(t, 30*time.Second, func() error {
		if _, err := os.Stat(journal); err != nil {
			return err
		}
		return nil
	})
	time.Sleep(30 * time.Millisecond)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if n := checkpoint.Interrupted(dir); n != "killed" {
		t.Fatalf("after kill -9: interrupted restore %q, want \"killed\" (did it finish before the kill?)", n)
	}
	if _, err := checkpoint.Restore(t.Context(), ckTarget(t), "killed", ckOptions(t)); err != nil {
		t.Fatal(err)
	}
	if n := checkpoint.Interrupted(dir); n != "" {
		t.Errorf("journal of %q left after the restore finished", n)
	}
	a.check(t)

	// A save killed halfway is never listed.
	cmd = runCLI(t, "checkpoint", "save", "half", "-q")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 30*time.Second, func() error {
		ents, err := os.ReadDir(filepath.Join(dir, "checkpoints", "half"))
		if err != nil || len(ents) == 0 {
			return errors.New("save not started")
		}
		return nil
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := checkpoint.Get(dir, "half"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("a killed save is listed: %v", err)
	}
	// PgBouncer is not left paused, and the next save collects the rest.
	var one int
	if err := pg(t).QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil {
		t.Errorf("the app path after a killed save: %v", err)
	}
}

// A disk that fills during a save: a clear error, nothing listed, the
// stores' shares removed, the stack as before.
func TestDiskFullDuringSave(t *testing.T) {
	seeded(t)
	if os.Geteuid() != 0 {
		if stacktest.Required() {
			t.Fatal("mounting a small tmpfs needs root; CI runs as root")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := filepath.Join(stacktest.Runtime(t).Dir, "checkpoints")
	// The checkpoint's files (Redis entries, queued messages) go to a 16 KiB
	// tmpfs: far too small for them.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	_, err := checkpoint.Save(t.Context(), ckTarget(t), "full", ckOptions(t))
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("save on a full disk: %v, want an error saying the disk is full", err)
	}
	t.Log(err)
	if _, err := checkpoint.Get(stacktest.Runtime(t).Dir, "full"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("the failed checkpoint is listed: %v", err)
	}
	var n int
	if err := pg(t).QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname LIKE 'mossdev_ck_full%'").Scan(&n); err == nil && n != 0 {
		t.Errorf("%d checkpoint databases of the failed save remain", n)
	}
	mustVerify(t)
}

// After a seed, the slow stores' seeded state is in the machine-wide
// cache; seeding the same dataset again puts it in place instead of
// loading those stores, and the stack verifies.
func TestSeedFromTheCachePutsTheSlowStoresInPlace(t *testing.T) {
	ds := seeded(t)
	env := stacktest.Runtime(t)
	home := filepath.Dir(env.Dir)
	want := []string{load.S3}
	if env.Backend == "native" {
		want = append(want, load.Mongo, load.Elasticsearch)
	}
	list, err := checkpoint.CacheList(home)
	if err != nil {
		t.Fatal(err)
	}
	var entry *checkpoint.CacheEntry
	for _, e := range list {
		if e.Fingerprint == ds.Fingerprint() {
			entry = e
		}
	}
	if entry == nil {
		t.Fatalf("no cache entry for dataset %s after the seed (%d entries)", ds.Fingerprint(), len(list))
	}
	for _, s := range want {
		if entry.Stores[s] == 0 {
			t.Errorf("cache entry lacks %s: %v", s, entry.Stores)
		}
	}
	t.Cleanup(func() { mustReset(t) })
	// Another dataset everywhere, then the first one again.
	if _, err := load.Seed(t.Context(), targets(t), seed.Params{Seed: 8, Scale: seed.Small}, load.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	// As on a fresh stack: the S3 fake has no checkpoint directory yet
	// (files put there must still be the fake's own to read).
	s3cks := filepath.Join(env.DataDir(load.S3), "checkpoints")
	if err := os.Rename(s3cks, s3cks+".away"); err != nil {
		t.Fatal(err)
	}
	rep, res, err := checkpoint.Seed(t.Context(), ckTarget(t), params, load.Options{}, ckOptions(t))
	// What the seed saved there since joins the older checkpoints.
	made, _ := os.ReadDir(s3cks)
	for _, f := range made {
		if err := os.Rename(filepath.Join(s3cks, f.Name()), filepath.Join(s3cks+".away", f.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(s3cks); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s3cks+".away", s3cks); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res == nil || res.Cache == nil {
		t.Fatal("the seed says nothing of the cache")
	}
	t.Logf("from the cache: %v; seed: %.1fs", res.Cache.Stores, rep.Elapsed.Seconds())
	for _, s := range want {
		if !slices.Contains(res.Cache.Stores, s) {
			t.Errorf("%s was not put in place from the cache (%v)", s, res.Cache.Stores)
		}
	}
	for _, r := range rep.Stores {
		if slices.Contains(res.Cache.Stores, r.Store) && r.Action != load.StateKept {
			t.Errorf("%s: %s after the cache put the dataset in place, want kept", r.Store, r.Action)
		}
	}
	mustVerify(t)

	// An entry of the same dataset made by other server versions is not
	// used, and the seed says so in one line.
	other := filepath.Join(checkpoint.CacheDir(home), ds.Fingerprint()+"-000000000000")
	if err := os.Rename(entry.Dir(), other); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(other, "entry.json"))
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	raw["versions"] = map[string]string{load.S3: "an older fake"}
	b, _ = json.Marshal(raw)
	if err := os.WriteFile(filepath.Join(other, "entry.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, res, err = checkpoint.Seed(t.Context(), ckTarget(t), params, load.Options{}, ckOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if res == nil || res.Cache == nil || !strings.Contains(res.Cache.Note, "other server versions") || len(res.Cache.Stores) != 0 {
		t.Errorf("cache use with an entry of other versions: %+v, want a note and nothing used", res.Cache)
	}
}
