package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
)

// checkES fetches every card's document with _mget in batches of 1,000,
// following PostgreSQL's rows, and compares it field by field.
func checkES(ctx context.Context, e *env, r *recorder) error {
	es, err := load.NewES(e.t.Elasticsearch)
	if err != nil {
		return err
	}
	n, err := load.Count(ctx, es, load.CardsIndex)
	if err != nil {
		return err
	}
	r.checked(1)
	if n != e.ds.Counts().Cards {
		r.mismatch("index %s has %d documents, the dataset %d cards", load.CardsIndex, n, e.ds.Counts().Cards)
	}
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	batch := make([]seed.Card, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids := make([]string, len(batch))
		for i, c := range batch {
			ids[i] = strconv.FormatInt(c.ID, 10)
		}
		body, _ := json.Marshal(map[string]any{"ids": ids})
		res, err := es.Mget(bytes.NewReader(body), es.Mget.WithIndex(load.CardsIndex), es.Mget.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("mget: %w", err)
		}
		defer res.Body.Close()
		if res.IsError() {
			return fmt.Errorf("mget: %s", res.Status())
		}
		var out struct {
			Docs []struct {
				ID     string          `json:"_id"`
				Found  bool            `json:"found"`
				Source json.RawMessage `json:"_source"`
			} `json:"docs"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return fmt.Errorf("mget: %w", err)
		}
		if len(out.Docs) != len(batch) {
			return fmt.Errorf("mget: %d docs for %d ids", len(out.Docs), len(batch))
		}
		for i, d := range out.Docs {
			c := batch[i]
			r.checked(1)
			if !d.Found {
				r.mismatch("card %d: no document", c.ID)
				continue
			}
			var got load.CardDoc
			if err := json.Unmarshal(d.Source, &got); err != nil {
				r.mismatch("card %d: unreadable document: %v", c.ID, err)
				continue
			}
			if want := load.NewCardDoc(c); !reflect.DeepEqual(got, want) {
				r.mismatch("card %d: document differs from the row: %s", c.ID, docDiff(got, want))
			}
		}
		batch = batch[:0]
		return nil
	}
	var qerr error
	for c := range pgCards(ctx, conn, &qerr, "true") {
		batch = append(batch, c)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if qerr != nil {
		return qerr
	}
	return flush()
}

func docDiff(got, want load.CardDoc) string {
	var d []string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	t := g.Type()
	for i := range t.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			gj, _ := json.Marshal(g.Field(i).Interface())
			wj, _ := json.Marshal(w.Field(i).Interface())
			d = append(d, fmt.Sprintf("%s %s, want %s", strings.Split(t.Field(i).Tag.Get("json"), ",")[0], trunc(gj), trunc(wj)))
		}
	}
	if len(d) == 0 {
		return "?"
	}
	return joinDiff(d)
}

func trunc(b []byte) string {
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
