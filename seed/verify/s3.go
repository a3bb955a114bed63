package verify

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"golang.org/x/sync/errgroup"
)

// checkS3 lists the bucket once and compares, for every card row, the
// object at its image_key with the image generated for the card (by ETag,
// the MD5 of the bytes; generating the images is this check's cost).
func checkS3(ctx context.Context, e *env, r *recorder) error {
	c := load.NewS3(e.t.S3)
	cards := e.ds.Counts().Cards
	etags := make([][16]byte, cards+1)
	seen := make([]bool, cards+1)
	var mu sync.Mutex
	err := load.ListBucket(ctx, c, e.t.S3.Bucket, func(o load.Object) {
		if !strings.HasPrefix(o.Key, "cards/") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id, ok := load.CardIDOfKey(o.Key)
		if !ok || id > cards {
			r.mismatch("object %s belongs to no card", o.Key)
			return
		}
		b, err := hex.DecodeString(o.ETag)
		if err != nil || len(b) != 16 {
			r.mismatch("object %s: ETag %s is no MD5", o.Key, o.ETag)
			return
		}
		seen[id] = true
		copy(etags[id][:], b)
	})
	if err != nil {
		return err
	}
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, "SELECT id, image_key FROM cards ORDER BY id")
	if err != nil {
		return fmt.Errorf("read image keys: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return err
		}
		r.checked(1)
		if kid, ok := load.CardIDOfKey(key); !ok || kid != id {
			r.mismatch("card %d: image_key %s is not the card's key %s", id, key, seed.ImageKey(id))
			continue
		}
		if id > cards || !seen[id] {
			r.mismatch("card %d: no object at %s", id, key)
			continue
		}
		g.Go(func() error {
			img, err := e.ds.Image(id)
			if err != nil {
				return err
			}
			if md5.Sum(img) != etags[id] {
				r.mismatch("card %d: object %s is not the card's image (MD5 %x, want %x)", id, key, etags[id], md5.Sum(img))
			}
			return gctx.Err()
		})
	}
	rows.Close()
	if err := g.Wait(); err != nil {
		return err
	}
	return rows.Err()
}

// checkCDN fetches a few cards' images through the CDN (a miss goes to the
// bucket, a hit comes from its cache; either must be the card's image).
func checkCDN(ctx context.Context, e *env, r *recorder) error {
	cards := e.ds.Counts().Cards
	for _, id := range []int64{1, (cards + 1) / 2, cards} {
		want, err := e.ds.Image(id)
		if err != nil {
			return err
		}
		url := strings.TrimSuffix(e.t.CDN, "/") + "/" + seed.ImageKey(id)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("get %s: %w", url, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("get %s: %w", url, err)
		}
		r.checked(1)
		switch {
		case res.StatusCode != http.StatusOK:
			r.mismatch("card %d: CDN answered %s for %s", id, res.Status, seed.ImageKey(id))
		case !bytes.Equal(got, want):
			r.mismatch("card %d: CDN served %d bytes that are not the card's image (%s)", id, len(got), res.Header.Get("X-Cache"))
		}
	}
	return nil
}
