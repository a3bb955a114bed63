package seed

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// CacheKey is the Redis key of a cached card. The key is also what the
// app's sharding function hashes (see package shard) to choose the Redis
// instance.
func CacheKey(cardID int64) string { return "card:" + strconv.FormatInt(cardID, 10) }

// CacheTimeLayout is how times are written in cache entries: RFC 3339 in
// UTC with whole seconds, e.g. "2015-07-04T15:04:05Z".
const CacheTimeLayout = "2006-01-02T15:04:05Z"

// cachedCard fixes the cache entry's JSON: field order is struct order, and
// every value is the PostgreSQL row's (hashtags are the card's links in
// order, joined to the hashtag table).
type cachedCard struct {
	ID              int64           `json:"id"`
	UserID          int64           `json:"user_id"`
	Text            string          `json:"text"`
	Hashtags        []cachedTag     `json:"hashtags"`
	ImageKey        string          `json:"image_key"`
	Location        *cachedLocation `json:"location"`
	UniqueViewCount int64           `json:"unique_view_count"`
	LikeCount       int64           `json:"like_count"`
	CreatedAt       string          `json:"created_at"`
}

type cachedTag struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type cachedLocation struct {
	Lat   float64 `json:"lat"`
	Lon   float64 `json:"lon"`
	Place string  `json:"place"`
}

// CacheEntry returns card c's Redis key and value: the JSON an app caches
// for the card row, e.g.
//
//	{"id":42,"user_id":7,"text":"새벽 두 시. 괜히 네 생각이 난다.",
//	 "hashtags":[{"id":1,"name":"일상"}],"image_key":"cards/042/42.png",
//	 "location":{"lat":37.556281,"lon":126.92217,"place":"서울 홍대"},
//	 "unique_view_count":12,"like_count":3,"created_at":"2015-07-04T15:04:05Z"}
//
// (one line; "location" is null for cards without one, "hashtags" is [] when
// empty). Marshalling these field types cannot fail; the error is there so a
// future field that can is not silently dropped.
func CacheEntry(c Card) (key string, value []byte, err error) {
	v := cachedCard{
		ID:              c.ID,
		UserID:          c.UserID,
		Text:            c.Text,
		Hashtags:        make([]cachedTag, len(c.Tags)),
		ImageKey:        c.ImageKey,
		UniqueViewCount: c.UniqueViewCount,
		LikeCount:       c.LikeCount,
		CreatedAt:       c.CreatedAt.UTC().Format(CacheTimeLayout),
	}
	for i, t := range c.Tags {
		v.Hashtags[i] = cachedTag(t)
	}
	if l := c.Location; l != nil {
		v.Location = &cachedLocation{Lat: l.Lat, Lon: l.Lon, Place: l.Place}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", nil, fmt.Errorf("marshal cache entry for card %d: %w", c.ID, err)
	}
	return CacheKey(c.ID), b, nil
}
