package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/mossdev/mossdev/seed"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// The view log: database mossi, collection views, one document per view.
const (
	MongoDB         = "mossi"
	ViewsCollection = "views"
)

// ViewDoc is one view-log document as stored.
type ViewDoc struct {
	ID       bson.ObjectID `bson:"_id"`
	CardID   int64         `bson:"card_id"`
	UserID   int64         `bson:"user_id"`
	ViewedAt time.Time     `bson:"viewed_at"`
}

type mongoStore struct {
	t      Targets
	client *mongo.Client
	db     *mongo.Database
	// The stand-in (FerretDB on PostgreSQL) is the seed's slowest store:
	// several unordered batches in flight keep it busy (measured; see
	// mossdev bench seed).
	workers, batch int
}

func newMongo(ctx context.Context, t Targets) (*mongoStore, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(t.Mongo).SetMaxPoolSize(16))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &mongoStore{t: t, client: client, db: client.Database(MongoDB), workers: 4, batch: 2000}, nil
}

func (s *mongoStore) name() string { return Mongo }
func (s *mongoStore) close()       { _ = s.client.Disconnect(context.Background()) }

func (s *mongoStore) markers() *mongo.Collection { return s.db.Collection("mossdev_seed") }

func (s *mongoStore) marker(ctx context.Context) (Marker, error) {
	var doc struct {
		Marker string `bson:"marker"`
	}
	err := s.markers().FindOne(ctx, bson.D{{Key: "_id", Value: ViewsCollection}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Marker{}, nil
	}
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	return parseMarker([]byte(doc.Marker))
}

func (s *mongoStore) setMarker(ctx context.Context, m Marker) error {
	_, err := s.markers().ReplaceOne(ctx, bson.D{{Key: "_id", Value: ViewsCollection}},
		bson.D{{Key: "_id", Value: ViewsCollection}, {Key: "marker", Value: string(m.json())}},
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

func (s *mongoStore) total(ds *seed.Dataset) int64 { return ds.ViewLogRows() }

// load drops the collection and inserts every view in unordered
// InsertMany batches from several workers, each generating its own range
// of cards. No index but _id while loading: the platform's advice, since
// every index slows the insert path.
func (s *mongoStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	if err := s.setMarker(ctx, newMarker(ds, false, 0)); err != nil {
		return err
	}
	views := s.db.Collection(ViewsCollection)
	if err := views.Drop(ctx); err != nil {
		return fmt.Errorf("drop views: %w", err)
	}
	maxID, rows, err := s.insertViews(ctx, views, viewDocs(ds, 1, ds.Counts().Cards), m)
	if err != nil {
		return err
	}
	mk := newMarker(ds, true, rows)
	mk.Digest = maxID.Hex()
	if mk.Storage, err = s.storageDigest(ctx); err != nil {
		return err
	}
	return s.setMarker(ctx, mk)
}

// storageDigest is the FerretDB storage digest of the view log, "" when
// the server is no FerretDB whose storage mossdev can read.
func (s *mongoStore) storageDigest(ctx context.Context) (string, error) {
	ft, ok, err := OpenFerretTable(ctx, s.t, s.client, MongoDB, ViewsCollection)
	if err != nil || !ok {
		return "", err
	}
	defer ft.Close()
	return ft.Digest(ctx)
}

// viewDocs are the view-log documents of cards first..last.
func viewDocs(ds *seed.Dataset, first, last int64) iter.Seq[ViewDoc] {
	return func(yield func(ViewDoc) bool) {
		for c := range ds.Cards(first, last) {
			for v := range ds.ViewLogs(c) {
				if !yield(ViewDoc{ID: bson.ObjectID(v.ID), CardID: v.CardID, UserID: v.UserID, ViewedAt: v.ViewedAt}) {
					return
				}
			}
		}
	}
}

// insertViews is the seed's bulk path into MongoDB (raw.go measures it on
// a scratch collection): docs in unordered InsertMany batches from several
// workers. It returns the largest _id written (reset deletes anything
// above it) and the count.
func (s *mongoStore) insertViews(ctx context.Context, coll *mongo.Collection, docs iter.Seq[ViewDoc], m *meter) (bson.ObjectID, int64, error) {
	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan []any, s.workers)
	var mu sync.Mutex
	var maxID bson.ObjectID
	var rows int64
	g.Go(func() error {
		defer close(batches)
		batch := make([]any, 0, s.batch)
		var top bson.ObjectID
		var n int64
		for d := range docs {
			if bytes.Compare(d.ID[:], top[:]) > 0 {
				top = d.ID
			}
			batch = append(batch, d)
			n++
			if len(batch) == s.batch {
				select {
				case batches <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]any, 0, s.batch)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		mu.Lock()
		maxID, rows = top, n
		mu.Unlock()
		return nil
	})
	opts := options.InsertMany().SetOrdered(false)
	for range s.workers {
		g.Go(func() error {
			for b := range batches {
				if _, err := coll.InsertMany(ctx, b, opts); err != nil {
					return fmt.Errorf("insert views: %w", err)
				}
				m.add(int64(len(b)))
			}
			return nil
		})
	}
	err := g.Wait()
	return maxID, rows, err
}
