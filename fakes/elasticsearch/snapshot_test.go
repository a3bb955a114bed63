package elasticsearch

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// The snapshot tests use go-elasticsearch's esapi Snapshot* calls, the
// client path mossdev's checkpoints use against the real Elasticsearch.

// snapFixture starts an emulator whose path.repo is dir/repo, with an fs
// repository "ck" at the relative location "mossdev".
func snapFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := startServer(t, dir, WithPathRepo(filepath.Join(dir, "repo")))
	must(t, r(f.es.Snapshot.CreateRepository("ck",
		strings.NewReader(`{"type":"fs","settings":{"location":"mossdev"}}`))))
	return f
}

func must(t *testing.T, rr result) map[string]any {
	t.Helper()
	status, body := call(t, rr)
	return mustOK(t, status, body)
}

// okPair checks a (status, body) pair as mustOK does.
func okPair(t *testing.T) func(int, map[string]any) {
	return func(status int, body map[string]any) {
		t.Helper()
		mustOK(t, status, body)
	}
}

func bulkCards(t *testing.T, f *fixture, index string, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{"index":{"_index":%q,"_id":"%d"}}`+"\n"+`{"text":"카드 %d 새벽 감성","hashtags":["tag%d"],"view_count":%d}`+"\n", index, i, i, i%10, i)
	}
	_, body := call(t, r(f.es.Bulk(strings.NewReader(b.String()), f.es.Bulk.WithRefresh("true"))))
	if body["errors"] != false {
		t.Fatalf("bulk: %v", body)
	}
}

func count(t *testing.T, f *fixture, index string) string {
	t.Helper()
	_, body := call(t, r(f.es.Count(f.es.Count.WithIndex(index))))
	return str(body["count"])
}

func snapshot(t *testing.T, f *fixture, snap, body string) map[string]any {
	t.Helper()
	return must(t, r(f.es.Snapshot.Create("ck", snap, f.es.Snapshot.Create.WithBody(strings.NewReader(body)),
		f.es.Snapshot.Create.WithWaitForCompletion(true))))
}

func restore(t *testing.T, f *fixture, snap, body string) (int, map[string]any) {
	t.Helper()
	return call(t, r(f.es.Snapshot.Restore("ck", snap, f.es.Snapshot.Restore.WithBody(strings.NewReader(body)),
		f.es.Snapshot.Restore.WithWaitForCompletion(true))))
}

func TestSnapshotRestoreBringsBackDocsAndMapping(t *testing.T) {
	dir := t.TempDir()
	f := snapFixture(t, dir)
	must(t, r(f.es.Indices.Create("cards", f.es.Indices.Create.WithBody(strings.NewReader(cardsMapping)))))
	bulkCards(t, f, "cards", 0, 300)
	must(t, r(f.es.Indices.Create("views")))
	bulkCards(t, f, "views", 0, 5)

	body := snapshot(t, f, "seed", `{"indices":"cards,views","include_global_state":false}`)
	expect(t, "create snapshot", body, map[string]string{
		"snapshot.snapshot": "seed", "snapshot.state": "SUCCESS", "snapshot.repository": "ck",
		"snapshot.indices": `["cards","views"]`, "snapshot.shards.failed": "0", "snapshot.include_global_state": "false",
	})
	// The snapshot hard-links the live segment files rather than copying.
	live, _ := filepath.Glob(filepath.Join(dir, indicesDir, "cards", bleveDir, "store", "*.zap"))
	if len(live) == 0 {
		t.Fatal("no segment files in the live index")
	}
	a, err1 := os.Stat(live[0])
	b, err2 := os.Stat(filepath.Join(dir, "repo", "mossdev", "seed", indicesDir, "cards", bleveDir, "store", filepath.Base(live[0])))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Errorf("snapshot segment is not a hard link of %s (%v, %v)", live[0], err1, err2)
	}

	// Change everything a restore must undo.
	must(t, r(f.es.Index("cards", strings.NewReader(`{"text":"바뀐 카드"}`), f.es.Index.WithDocumentID("1"), f.es.Index.WithRefresh("true"))))
	must(t, r(f.es.Delete("cards", "2", f.es.Delete.WithRefresh("true"))))
	bulkCards(t, f, "cards", 1000, 1010)
	must(t, r(f.es.Indices.PutMapping([]string{"cards"}, strings.NewReader(`{"properties":{"added_later":{"type":"keyword"}}}`))))

	status, body := restore(t, f, "seed", `{"indices":"cards"}`)
	if status != 500 || errorType(body) != "snapshot_restore_exception" || !strings.Contains(str(at(body, "error.reason")), "open index with same name") {
		t.Fatalf("restore over an open index = %d %v, want 500 snapshot_restore_exception", status, body)
	}

	// As with real ES: delete, then restore.
	must(t, r(f.es.Indices.Delete([]string{"cards"})))
	status, body = restore(t, f, "seed", `{"indices":"cards","include_global_state":false}`)
	mustOK(t, status, body)
	expect(t, "restore", body, map[string]string{"snapshot.snapshot": "seed", "snapshot.indices": `["cards"]`, "snapshot.shards.successful": "1"})
	if got := count(t, f, "cards"); got != "300" {
		t.Errorf("count after restore = %s, want 300", got)
	}
	_, doc := call(t, r(f.es.Get("cards", "1")))
	if got := str(at(doc, "_source.text")); got != "카드 1 새벽 감성" {
		t.Errorf("doc 1 after restore = %q", got)
	}
	if status, _ := call(t, r(f.es.Get("cards", "2"))); status != 200 {
		t.Errorf("deleted doc 2 not restored: %d", status)
	}
	if status, _ := call(t, r(f.es.Get("cards", "1005"))); status != 404 {
		t.Errorf("doc 1005 added after the snapshot survived the restore: %d", status)
	}
	_, mapping := call(t, r(f.es.Indices.GetMapping(f.es.Indices.GetMapping.WithIndex("cards"))))
	if at(mapping, "cards.mappings.properties.added_later") != nil || str(at(mapping, "cards.mappings.properties.text.analyzer")) != "cjk" {
		t.Errorf("mapping after restore = %v, want the snapshot's", mapping)
	}
	// The restored index searches and takes writes.
	_, res := call(t, r(f.es.Search(f.es.Search.WithIndex("cards"), f.es.Search.WithBody(strings.NewReader(`{"query":{"match":{"text":"새벽"}}}`)))))
	if str(at(res, "hits.total.value")) != "300" {
		t.Errorf("search after restore = %v", at(res, "hits.total"))
	}
	bulkCards(t, f, "cards", 2000, 2001)
	if got := count(t, f, "cards"); got != "301" {
		t.Errorf("count after a write to the restored index = %s, want 301", got)
	}
	// "views" was not restored (not asked for) and is untouched.
	if got := count(t, f, "views"); got != "5" {
		t.Errorf("views count = %s", got)
	}

	// Snapshots and repositories survive a restart.
	f.stop(t)
	f = startServer(t, dir, WithPathRepo(filepath.Join(dir, "repo")))
	must(t, r(f.es.Indices.Delete([]string{"cards"})))
	must(t, r(f.es.Indices.Delete([]string{"views"})))
	okPair(t)(restore(t, f, "seed", ``))
	if c, v := count(t, f, "cards"), count(t, f, "views"); c != "300" || v != "5" {
		t.Errorf("after restart and restore of all: cards %s, views %s", c, v)
	}
}

func TestSnapshotAPIShapesAndErrors(t *testing.T) {
	dir := t.TempDir()
	f := snapFixture(t, dir)
	must(t, r(f.es.Indices.Create("cards")))
	bulkCards(t, f, "cards", 0, 3)

	_, body := call(t, r(f.es.Snapshot.GetRepository(f.es.Snapshot.GetRepository.WithRepository("ck"))))
	expect(t, "get repository", body, map[string]string{"ck.type": "fs", "ck.settings.location": "mossdev"})
	_, body = call(t, r(f.es.Snapshot.VerifyRepository("ck")))
	if nodes, _ := body["nodes"].(map[string]any); len(nodes) != 1 {
		t.Errorf("verify repository = %v, want one node", body)
	}

	// Without wait_for_completion ES answers {"accepted":true}.
	_, body = call(t, r(f.es.Snapshot.Create("ck", "one")))
	expect(t, "create without wait", body, map[string]string{"accepted": "true"})
	snapshot(t, f, "two", `{"indices":["card*"]}`)
	_, body = call(t, r(f.es.Snapshot.Get("ck", []string{"_all"})))
	expect(t, "get all", body, map[string]string{"total": "2", "snapshots.0.snapshot": "one", "snapshots.1.snapshot": "two", "snapshots.1.indices": `["cards"]`})
	_, body = call(t, r(f.es.Snapshot.Get("ck", []string{"two"})))
	expect(t, "get one", body, map[string]string{"total": "1", "snapshots.0.state": "SUCCESS", "snapshots.0.version": versionNumber})

	// A snapshot being written (or killed half-way) is never listed.
	for _, d := range []string{".tmp-three-x", "four"} {
		if err := os.MkdirAll(filepath.Join(dir, "repo", "mossdev", d, indicesDir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, body = call(t, r(f.es.Snapshot.Get("ck", []string{"*"})))
	expect(t, "get with half-written snapshots", body, map[string]string{"total": "2"})
	// A restart removes what a killed snapshot left.
	f.stop(t)
	f = startServer(t, dir, WithPathRepo(filepath.Join(dir, "repo")))
	if _, err := os.Stat(filepath.Join(dir, "repo", "mossdev", ".tmp-three-x")); !os.IsNotExist(err) {
		t.Errorf("leftover of a killed snapshot still there after a restart (%v)", err)
	}

	for _, tc := range []struct {
		name   string
		res    result
		status int
		typ    string
	}{
		{"duplicate snapshot", r(f.es.Snapshot.Create("ck", "two")), 400, "invalid_snapshot_name_exception"},
		{"upper-case snapshot", r(f.es.Snapshot.Create("ck", "Two")), 400, "invalid_snapshot_name_exception"},
		{"snapshot of a missing index", r(f.es.Snapshot.Create("ck", "five", f.es.Snapshot.Create.WithBody(strings.NewReader(`{"indices":"nope"}`)))), 404, "index_not_found_exception"},
		{"get missing snapshot", r(f.es.Snapshot.Get("ck", []string{"nope"})), 404, "snapshot_missing_exception"},
		{"restore missing snapshot", r(f.es.Snapshot.Restore("ck", "nope", f.es.Snapshot.Restore.WithWaitForCompletion(true))), 404, "snapshot_missing_exception"},
		{"delete missing snapshot", r(f.es.Snapshot.Delete("ck", []string{"nope"})), 404, "snapshot_missing_exception"},
		{"missing repository", r(f.es.Snapshot.Get("nope", []string{"_all"})), 404, "repository_missing_exception"},
		{"location outside path.repo", r(f.es.Snapshot.CreateRepository("out", strings.NewReader(`{"type":"fs","settings":{"location":"/tmp/elsewhere"}}`))), 500, "repository_exception"},
		{"relative escape", r(f.es.Snapshot.CreateRepository("out", strings.NewReader(`{"type":"fs","settings":{"location":"../x"}}`))), 500, "repository_exception"},
		{"repository type", r(f.es.Snapshot.CreateRepository("s3", strings.NewReader(`{"type":"s3","settings":{"bucket":"b"}}`))), 500, "repository_exception"},
	} {
		status, body := call(t, tc.res)
		if status != tc.status || errorType(body) != tc.typ {
			t.Errorf("%s = %d %v, want %d %s", tc.name, status, body, tc.status, tc.typ)
		}
	}
	// An absolute location under path.repo is accepted.
	must(t, r(f.es.Snapshot.CreateRepository("abs", strings.NewReader(
		fmt.Sprintf(`{"type":"fs","settings":{"location":%q}}`, filepath.Join(dir, "repo", "abs"))))))

	must(t, r(f.es.Snapshot.Delete("ck", []string{"one"})))
	_, body = call(t, r(f.es.Snapshot.Get("ck", []string{"_all"})))
	expect(t, "after delete", body, map[string]string{"total": "1"})
	must(t, r(f.es.Snapshot.DeleteRepository([]string{"abs"})))
	status, _ := call(t, r(f.es.Snapshot.GetRepository(f.es.Snapshot.GetRepository.WithRepository("abs"))))
	if status != 404 {
		t.Errorf("get deleted repository = %d, want 404", status)
	}

	// Without path.repo every fs repository is refused, as ES does.
	g := startServer(t, t.TempDir())
	status, body = call(t, r(g.es.Snapshot.CreateRepository("ck", strings.NewReader(`{"type":"fs","settings":{"location":"x"}}`))))
	if status != 500 || !strings.Contains(str(at(body, "error.reason")), "path.repo because this setting is empty") {
		t.Errorf("repository without path.repo = %d %v", status, body)
	}
}

// A snapshot taken while bulk writes run holds each bulk request whole or
// not at all.
func TestSnapshotIsConsistentUnderWrites(t *testing.T) {
	f := snapFixture(t, t.TempDir())
	must(t, r(f.es.Indices.Create("cards")))
	const batch = 50
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var written atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			var b strings.Builder
			for j := range batch {
				fmt.Fprintf(&b, `{"index":{"_index":"cards","_id":"%d-%d"}}`+"\n"+`{"n":%d}`+"\n", i, j, j)
			}
			res, err := f.es.Bulk(strings.NewReader(b.String()))
			if err != nil {
				return
			}
			res.Body.Close()
			written.Add(batch)
		}
	}()
	for written.Load() < 5*batch {
		time.Sleep(5 * time.Millisecond)
	}
	snapshot(t, f, "live", `{"indices":"cards"}`)
	cancel()
	wg.Wait()
	must(t, r(f.es.Indices.Delete([]string{"cards"})))
	okPair(t)(restore(t, f, "live", `{"indices":"cards"}`))
	must(t, r(f.es.Indices.Refresh(f.es.Indices.Refresh.WithIndex("cards"))))
	var n int
	fmt.Sscan(count(t, f, "cards"), &n)
	if n == 0 || n%batch != 0 {
		t.Errorf("restored %d docs: not a whole number of %d-doc bulk requests", n, batch)
	}
}

func TestPauseHoldsWritesNotReads(t *testing.T) {
	f := snapFixture(t, t.TempDir())
	must(t, r(f.es.Indices.Create("cards")))
	bulkCards(t, f, "cards", 0, 3)
	if err := PauseWrites(t.Context(), f.es, time.Minute); err != nil {
		t.Fatal(err)
	}

	done := make(chan *esapi.Response, 1)
	go func() {
		res, err := f.es.Index("cards", strings.NewReader(`{"text":"paused"}`), f.es.Index.WithDocumentID("p"), f.es.Index.WithRefresh("true"))
		if err != nil {
			done <- nil
			return
		}
		done <- res
	}()
	select {
	case <-done:
		t.Fatal("a write went through during a pause")
	case <-time.After(300 * time.Millisecond):
	}
	// Searches (POST _search) and snapshots go on.
	if got := count(t, f, "cards"); got != "3" {
		t.Errorf("count during pause = %s", got)
	}
	snapshot(t, f, "paused", `{"indices":"cards"}`)
	if err := ResumeWrites(t.Context(), f.es); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res == nil || res.StatusCode != 201 {
			t.Fatalf("write after resume: %v", res)
		}
		res.Body.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("write still blocked after resume")
	}

	// A pause expires on its own.
	okPair(t)(perform(t, f, "POST", "/_mossdev/pause?expires=300ms", ""))
	start := time.Now()
	bulkCards(t, f, "cards", 10, 11)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("write finished %v into a 300ms pause", d)
	}
	if status, body := perform(t, f, "POST", "/_mossdev/pause?expires=2h", ""); status != 400 {
		t.Errorf("pause of 2h = %d %v, want 400", status, body)
	}
}

// BenchmarkSnapshot30k measures snapshot and delete+restore of a 30k-card
// index (the default seed scale): run with -benchtime=1x. The machine may
// be shared.
func BenchmarkSnapshot30k(b *testing.B) {
	dir := b.TempDir()
	srv, err := New(dir, WithPathRepo(filepath.Join(dir, "repo")))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	es, err := es8.NewClient(es8.Config{Addresses: []string{hs.URL}})
	if err != nil {
		b.Fatal(err)
	}
	do := func(res *esapi.Response, err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		if res.IsError() {
			raw, _ := io.ReadAll(res.Body)
			b.Fatalf("%s: %s", res.Status(), raw)
		}
	}
	do(es.Indices.Create("cards", es.Indices.Create.WithBody(strings.NewReader(cardsMapping))))
	for from := 0; from < 30000; from += 1000 {
		var sb strings.Builder
		for i := from; i < from+1000; i++ {
			fmt.Fprintf(&sb, `{"index":{"_id":"%d"}}`+"\n"+`{"text":"새벽 세 시, 잠이 오지 않아 카드를 쓴다 %d 오늘도 수고했어","hashtags":["새벽","감성","tag%d"],"location":{"lat":37.5,"lon":127.0},"created_at":"2024-05-01T12:00:00Z","view_count":%d}`+"\n", i, i, i%500, i)
		}
		do(es.Bulk(strings.NewReader(sb.String()), es.Bulk.WithIndex("cards")))
	}
	do(es.Indices.Refresh(es.Indices.Refresh.WithIndex("cards")))
	do(es.Snapshot.CreateRepository("ck", strings.NewReader(`{"type":"fs","settings":{"location":"mossdev"}}`)))
	var snap, rest time.Duration
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("s%d", i)
		i++
		t0 := time.Now()
		do(es.Snapshot.Create("ck", name, es.Snapshot.Create.WithBody(strings.NewReader(`{"indices":"cards"}`)), es.Snapshot.Create.WithWaitForCompletion(true)))
		snap += time.Since(t0)
		t0 = time.Now()
		do(es.Indices.Delete([]string{"cards"}))
		do(es.Snapshot.Restore("ck", name, es.Snapshot.Restore.WithBody(strings.NewReader(`{"indices":"cards"}`)), es.Snapshot.Restore.WithWaitForCompletion(true)))
		rest += time.Since(t0)
	}
	n := float64(b.N)
	b.ReportMetric(snap.Seconds()*1000/n, "snapshot-ms")
	b.ReportMetric(rest.Seconds()*1000/n, "delete+restore-ms")
	var size int64
	_ = filepath.WalkDir(filepath.Join(dir, indicesDir, "cards"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	b.ReportMetric(float64(size)/1e6, "index-MB")
}

// path.repo reaches Run from Config (native stacks) and from the
// environment (the stand-in image), and the admin API needs the elastic
// user's password like every request.
func TestRunPathRepoAndAdminAuth(t *testing.T) {
	send := func(addr, method, path, body, pw string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if pw != "" {
			req.SetBasicAuth(ElasticUser, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	repoBody := `{"type":"fs","settings":{"location":"ck"}}`

	root := t.TempDir()
	addr := runServed(t, Config{Password: "pw", PathRepo: []string{root}})
	if got := send(addr, "PUT", "/_snapshot/ck", repoBody, "pw"); got != 200 {
		t.Errorf("put repository with Config.PathRepo = %d", got)
	}
	if _, err := os.Stat(filepath.Join(root, "ck")); err != nil {
		t.Errorf("relative location not created under path.repo: %v", err)
	}
	for _, p := range []string{"/_mossdev/pause", "/_mossdev/resume", "/_snapshot/ck"} {
		if got := send(addr, "POST", p, "", ""); got != 401 {
			t.Errorf("POST %s without credentials = %d, want 401", p, got)
		}
	}

	t.Setenv("xpack.security.enabled", "false")
	first, second := t.TempDir(), t.TempDir()
	t.Setenv("path.repo", first+","+second)
	addr = runServed(t, Config{ImageEnv: true})
	if got := send(addr, "PUT", "/_snapshot/ck", repoBody, ""); got != 200 {
		t.Errorf("put repository with path.repo from the environment = %d", got)
	}
	if _, err := os.Stat(filepath.Join(first, "ck")); err != nil {
		t.Errorf("relative location not under the first path.repo entry: %v", err)
	}
	abs := fmt.Sprintf(`{"type":"fs","settings":{"location":%q}}`, filepath.Join(second, "x"))
	if got := send(addr, "PUT", "/_snapshot/abs", abs, ""); got != 200 {
		t.Errorf("put repository under the second path.repo entry = %d", got)
	}
}
