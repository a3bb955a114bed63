package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mossdev/mossdev/seed/load"
)

// wireMongo checkpoints a MongoDB through its own protocol: every
// collection of the app database is copied into a database of the
// checkpoint's, by the server ($out) where it can, by the client
// otherwise; a restore copies each back under a temporary name, builds its
// indexes and renames it over the live one (dropTarget), an atomic swap
// per collection.
type wireMongo struct {
	client *mongo.Client
	ver    string
	db     string
}

func (s *wireMongo) name() string { return load.Mongo }
func (s *wireMongo) method() string {
	return "collections copied into a database of the server ($out), renamed back over the live ones"
}
func (s *wireMongo) close()                                  { _ = s.client.Disconnect(context.Background()) }
func (s *wireMongo) version(context.Context) (string, error) { return s.ver, nil }

type wireInfo struct {
	// Indexes are each collection's index specifications (extended JSON),
	// rebuilt on restore.
	Indexes map[string][]json.RawMessage `json:"indexes"`
}

// MongoDB has no way to hold writes that would let this copy run
// (fsyncLock blocks the copy too): collections are copied as they are.
func (s *wireMongo) hold(_ context.Context, id, _ string) (func(context.Context) (Part, error), func(), error) {
	save := func(ctx context.Context) (Part, error) {
		src := s.client.Database(s.db)
		names, err := src.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return Part{}, err
		}
		info := wireInfo{Indexes: map[string][]json.RawMessage{}}
		var n int64
		for _, c := range names {
			if strings.HasPrefix(c, "system.") {
				continue
			}
			specs, err := indexSpecs(ctx, src.Collection(c))
			if err != nil {
				return Part{}, err
			}
			info.Indexes[c] = specs
			k, err := s.copyColl(ctx, src.Collection(c), ckPrefix+id, c)
			if err != nil {
				return Part{}, fmt.Errorf("copy collection %s: %w", c, err)
			}
			n += k
		}
		b, _ := json.Marshal(info)
		return Part{Bytes: n, Info: b}, nil
	}
	return save, func() {}, nil
}

func indexSpecs(ctx context.Context, c *mongo.Collection) ([]json.RawMessage, error) {
	cur, err := c.Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	for cur.Next(ctx) {
		b, err := bson.MarshalExtJSON(cur.Current, true, false)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, cur.Err()
}

// copyColl copies src into db.coll (replacing it) and returns how many
// documents it holds, or -1 when the server copied them itself.
func (s *wireMongo) copyColl(ctx context.Context, src *mongo.Collection, db, coll string) (int64, error) {
	cur, err := src.Aggregate(ctx, mongo.Pipeline{{{Key: "$out", Value: bson.D{{Key: "db", Value: db}, {Key: "coll", Value: coll}}}}})
	if err == nil {
		_ = cur.Close(ctx)
		return 0, nil
	}
	if !unsupported(err) {
		return 0, err
	}
	// No $out (FerretDB 1.x): copy through the client in batches.
	dst := s.client.Database(db).Collection(coll)
	if err := dst.Drop(ctx); err != nil {
		return 0, err
	}
	if err := s.client.Database(db).CreateCollection(ctx, coll); err != nil {
		return 0, err
	}
	cur, err = src.Find(ctx, bson.D{}, options.Find().SetBatchSize(2000))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	var n int64
	batch := make([]any, 0, 2000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := dst.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		n += int64(len(batch))
		batch = batch[:0]
		return err
	}
	for cur.Next(ctx) {
		batch = append(batch, bson.Raw(append([]byte(nil), cur.Current...)))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// unsupported reports an aggregation stage the server does not know.
func unsupported(err error) bool {
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		// 40324: unrecognized pipeline stage; 238: NotImplemented (FerretDB).
		return ce.Code == 40324 || ce.Code == 238
	}
	return strings.Contains(err.Error(), "not implemented") || strings.Contains(err.Error(), "Unrecognized pipeline stage")
}

func (s *wireMongo) restore(ctx context.Context, id, _ string, p Part, _ Options) (string, error) {
	var info wireInfo
	if err := json.Unmarshal(p.Info, &info); err != nil {
		return "", fmt.Errorf("read checkpoint info: %w", err)
	}
	live := s.client.Database(s.db)
	ck := s.client.Database(ckPrefix + id)
	for c, specs := range info.Indexes {
		tmp := "mossdev_restore_" + c
		if err := live.Collection(tmp).Drop(ctx); err != nil {
			return "", err
		}
		if _, err := s.copyColl(ctx, ck.Collection(c), s.db, tmp); err != nil {
			return "", fmt.Errorf("copy back %s: %w", c, err)
		}
		if err := createIndexes(ctx, live, tmp, specs); err != nil {
			return "", fmt.Errorf("indexes of %s: %w", c, err)
		}
		if err := s.renameOver(ctx, live, tmp, c); err != nil {
			return "", fmt.Errorf("swap in %s: %w", c, err)
		}
	}
	names, err := live.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return "", err
	}
	for _, c := range names {
		if _, ok := info.Indexes[c]; !ok && !strings.HasPrefix(c, "system.") {
			if err := live.Collection(c).Drop(ctx); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("copied %d collections back and renamed them in", len(info.Indexes)), nil
}

// renameOver renames collection from over to in one step (dropTarget),
// or, where the server lacks dropTarget (FerretDB 1.x), drops to first:
// then a reader may miss the collection for an instant, and a restore
// killed in between is finished by the next (its journal).
func (s *wireMongo) renameOver(ctx context.Context, db *mongo.Database, from, to string) error {
	rename := func(dropTarget bool) error {
		cmd := bson.D{{Key: "renameCollection", Value: s.db + "." + from}, {Key: "to", Value: s.db + "." + to}}
		if dropTarget {
			cmd = append(cmd, bson.E{Key: "dropTarget", Value: true})
		}
		return s.client.Database("admin").RunCommand(ctx, cmd).Err()
	}
	err := rename(true)
	if err == nil || !unsupported(err) {
		return err
	}
	if err := db.Collection(to).Drop(ctx); err != nil {
		return err
	}
	return rename(false)
}

func createIndexes(ctx context.Context, db *mongo.Database, coll string, specs []json.RawMessage) error {
	var idx bson.A
	for _, raw := range specs {
		var spec bson.D
		if err := bson.UnmarshalExtJSON(raw, true, &spec); err != nil {
			return err
		}
		var name string
		out := bson.D{}
		for _, e := range spec {
			switch e.Key {
			case "v", "ns":
				continue
			case "name":
				name, _ = e.Value.(string)
			}
			out = append(out, e)
		}
		if name == "_id_" {
			continue
		}
		idx = append(idx, out)
	}
	if len(idx) == 0 {
		return nil
	}
	return db.RunCommand(ctx, bson.D{{Key: "createIndexes", Value: coll}, {Key: "indexes", Value: idx}}).Err()
}

func (s *wireMongo) ids(ctx context.Context) ([]string, error) {
	names, err := s.client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if id, ok := strings.CutPrefix(n, ckPrefix); ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *wireMongo) remove(ctx context.Context, id string) error {
	return s.client.Database(ckPrefix + id).Drop(ctx)
}
