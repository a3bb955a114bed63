package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"

	fakees "github.com/mossdev/mossdev/fakes/elasticsearch"
	essvc "github.com/mossdev/mossdev/stack/services/elasticsearch"

	"github.com/mossdev/mossdev/seed/load"
)

// esRepo is the snapshot repository checkpoints go to: an fs repository
// under the node's path.repo (set by the service on both backends).
const esRepo = "mossdev"

// esStore keeps a checkpoint as a snapshot, through Elasticsearch's own
// snapshot API: the real server (docker) and the emulator (native, CI)
// answer the same calls. A restore deletes the live indices and restores
// the snapshot's, as Elasticsearch requires.
type esStore struct {
	es *elasticsearch.Client
	// repo is the repository's directory on this machine where the
	// emulator runs here (native); empty for a server in a container.
	repo string
}

func newES(ctx context.Context, t Target) (*esStore, error) {
	es, err := load.NewES(t.Targets.Elasticsearch)
	if err != nil {
		return nil, err
	}
	s := &esStore{es: es}
	if dir := filepath.Join(essvc.NativePathRepo(t.Env), essvc.CheckpointLocation); t.Env.Backend == "native" {
		s.repo = dir
	}
	// Register the repository (idempotent; a relative location resolves
	// under path.repo).
	res, err := es.Snapshot.CreateRepository(esRepo, strings.NewReader(fmt.Sprintf(`{"type":"fs","settings":{"location":%q}}`, essvc.CheckpointLocation)),
		es.Snapshot.CreateRepository.WithContext(ctx))
	if err := load.ESErr(res, err); err != nil {
		return nil, fmt.Errorf("register snapshot repository: %w", err)
	}
	return s, nil
}

func (s *esStore) name() string { return load.Elasticsearch }
func (s *esStore) method() string {
	return "snapshot in the node's fs repository (snapshot API), indices deleted and restored"
}
func (s *esStore) close() {}

func (s *esStore) version(ctx context.Context) (string, error) {
	res, err := s.es.Info(s.es.Info.WithContext(ctx))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return "", err
	}
	return info.Version.Number, nil
}

// hold pauses the emulator's writes (its POST /_mossdev/pause, as the S3
// fake's); a real Elasticsearch has no such switch, and its snapshot is
// consistent per shard.
func (s *esStore) hold(ctx context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	release := func() {}
	if fakees.PauseWrites(ctx, s.es, holdFor) == nil {
		release = func() { _ = fakees.ResumeWrites(context.Background(), s.es) }
	}
	save := func(ctx context.Context) (Part, error) {
		res, err := s.es.Snapshot.Create(esRepo, id,
			s.es.Snapshot.Create.WithBody(strings.NewReader(`{"indices":"*","include_global_state":false}`)),
			s.es.Snapshot.Create.WithWaitForCompletion(true),
			s.es.Snapshot.Create.WithContext(ctx))
		if err := load.ESErr(res, err); err != nil {
			return Part{}, fmt.Errorf("snapshot: %w", err)
		}
		return Part{}, nil
	}
	return save, release, nil
}

func (s *esStore) restore(ctx context.Context, id, _ string, _ Part, _ Options) (string, error) {
	// Every open index of the same name blocks a restore, and indices made
	// since the checkpoint must go: delete all (not hidden or system ones).
	res, err := s.es.Cat.Indices(s.es.Cat.Indices.WithFormat("json"), s.es.Cat.Indices.WithH("index"), s.es.Cat.Indices.WithContext(ctx))
	if err != nil {
		return "", err
	}
	var rows []struct {
		Index string `json:"index"`
	}
	err = json.NewDecoder(res.Body).Decode(&rows)
	res.Body.Close()
	if err != nil {
		return "", fmt.Errorf("list indices: %w", err)
	}
	var names []string
	for _, r := range rows {
		if !strings.HasPrefix(r.Index, ".") {
			names = append(names, r.Index)
		}
	}
	// One at a time: a list of names is refused where
	// action.destructive_requires_name is set (the default in 8).
	for _, n := range names {
		res, err := s.es.Indices.Delete([]string{n}, s.es.Indices.Delete.WithContext(ctx))
		if err := load.ESErr(res, err); err != nil {
			return "", fmt.Errorf("delete index %s: %w", n, err)
		}
	}
	res, err = s.es.Snapshot.Restore(esRepo, id,
		s.es.Snapshot.Restore.WithBody(strings.NewReader(`{"indices":"*","include_global_state":false}`)),
		s.es.Snapshot.Restore.WithWaitForCompletion(true),
		s.es.Snapshot.Restore.WithContext(ctx))
	if err := load.ESErr(res, err); err != nil {
		return "", fmt.Errorf("restore snapshot: %w", err)
	}
	return fmt.Sprintf("deleted %d indices, restored the snapshot", len(names)), nil
}

func (s *esStore) ids(ctx context.Context) ([]string, error) {
	res, err := s.es.Snapshot.Get(esRepo, []string{"_all"}, s.es.Snapshot.Get.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, fmt.Errorf("list snapshots: %s", res.Status())
	}
	var out struct {
		Snapshots []struct {
			Snapshot string `json:"snapshot"`
		} `json:"snapshots"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Snapshots))
	for i, sn := range out.Snapshots {
		ids[i] = sn.Snapshot
	}
	return ids, nil
}

func (s *esStore) remove(ctx context.Context, id string) error {
	res, err := s.es.Snapshot.Delete(esRepo, []string{id}, s.es.Snapshot.Delete.WithContext(ctx))
	if err == nil && res.StatusCode == http.StatusNotFound {
		res.Body.Close()
		return nil
	}
	return load.ESErr(res, err)
}

// release resumes writes a killed save left paused.
func (s *esStore) release(ctx context.Context) { _ = fakees.ResumeWrites(ctx, s.es) }

// The seed cache keeps the emulator's snapshot directory (hard links to
// its immutable segment files); a server in a container keeps its own.
func (s *esStore) cacheVersion(ctx context.Context) (string, error) {
	if s.repo == "" {
		return "", nil
	}
	v, err := s.version(ctx)
	return "emulator " + v, err
}

func (s *esStore) export(_ context.Context, id, dir string) (int64, bool, error) {
	if s.repo == "" || !hasDir(filepath.Join(s.repo, id)) {
		return 0, false, nil
	}
	n, err := linkTree(filepath.Join(s.repo, id), filepath.Join(dir, id), -1, -1)
	return n, err == nil, err
}

// load drops the cached snapshot into the repository and restores it
// through the API, then deletes it.
func (s *esStore) load(ctx context.Context, dir string, o Options) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		return fmt.Errorf("cached snapshot in %s: want one directory (%v)", dir, err)
	}
	snap := ents[0].Name()
	// The emulator runs as its own user (native, as root): what it reads
	// must be that user's, like the repository it registered.
	uid, gid := owner(filepath.Dir(s.repo))
	if err := os.MkdirAll(s.repo, 0o750); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Lchown(s.repo, uid, gid); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(filepath.Join(s.repo, snap))
	if _, err := linkTree(filepath.Join(dir, snap), filepath.Join(s.repo, snap), uid, gid); err != nil {
		return err
	}
	defer func() { _ = s.remove(context.WithoutCancel(ctx), snap) }()
	_, err = s.restore(ctx, snap, "", Part{}, o)
	return err
}
