package mongodb

import (
	"context"
	"fmt"
	"time"

	"github.com/mossdev/mossdev/stack"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Counter keys (stack.Counter.Key), stable for readers such as the TUI;
// the labels may change.
const (
	ViewLogs = "view_logs"
)

// Views is the collection of per-user card view logs.
const Views = "views"

// counters reads how many view-log entries the store holds, from
// collStats: MongoDB answers from collection metadata; the FerretDB
// stand-in counts in PostgreSQL, which takes about a second for tens of
// thousands of entries on a busy machine, hence the longer bound.
func counters(ctx context.Context, e *stack.Runtime) ([]stack.Counter, error) {
	ctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(URL(e)).
		SetServerSelectionTimeout(time.Second).SetConnectTimeout(time.Second))
	if err != nil {
		return nil, err
	}
	defer c.Disconnect(context.Background())
	db := c.Database(DB)
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: Views}})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return []stack.Counter{{Key: ViewLogs, Label: "view logs", Value: "no views collection (not seeded)"}}, nil
	}
	var st struct {
		Count int64 `bson:"count"`
	}
	if err := db.RunCommand(ctx, bson.D{{Key: "collStats", Value: Views}}).Decode(&st); err != nil {
		n, err2 := db.Collection(Views).EstimatedDocumentCount(ctx)
		if err2 != nil {
			return nil, fmt.Errorf("count %s: %w", Views, err)
		}
		st.Count = n
	}
	return []stack.Counter{{Key: ViewLogs, Label: "view logs", Value: fmt.Sprint(st.Count)}}, nil
}
