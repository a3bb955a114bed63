package seed

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestViewLogs(t *testing.T) {
	d := mustNew(t, Params{Seed: 21, Scale: Small})
	ids := map[ObjectID]bool{}
	var rows, distinct int64
	for c := range d.Cards(1, d.Counts().Cards) {
		viewers := map[int64]bool{}
		for v := range d.ViewLogs(c) {
			if v.CardID != c.ID || v.UserID < 1 || v.UserID > d.Counts().Users || v.UserID == c.UserID {
				t.Fatalf("card %d (author %d): bad view %+v", c.ID, c.UserID, v)
			}
			if !v.ViewedAt.After(c.CreatedAt) || v.ViewedAt.Before(d.User(v.UserID).CreatedAt) || !v.ViewedAt.Before(end) {
				t.Fatalf("card %d created %v viewed at %v by a user who joined %v",
					c.ID, c.CreatedAt, v.ViewedAt, d.User(v.UserID).CreatedAt)
			}
			if v.ViewedAt.UnixMilli()*1e6 != v.ViewedAt.UnixNano() {
				t.Fatalf("view time %v has sub-millisecond digits", v.ViewedAt)
			}
			if ids[v.ID] {
				t.Fatalf("duplicate view id %s", v.ID.Hex())
			}
			ids[v.ID] = true
			viewers[v.UserID] = true
			rows++
		}
		if int64(len(viewers)) != c.UniqueViewCount {
			t.Fatalf("card %d: %d distinct viewers, unique_view_count %d", c.ID, len(viewers), c.UniqueViewCount)
		}
		distinct += c.UniqueViewCount
	}
	if rows <= distinct || rows > 2*distinct {
		t.Errorf("%d view rows for %d distinct views: want some repeats", rows, distinct)
	}
	if got := d.ViewLogRows(); got != rows {
		t.Errorf("ViewLogRows() = %d, streamed %d", got, rows)
	}
	// Early exit stops the stream.
	for c := range d.HotCards() {
		n := 0
		for range d.ViewLogs(c) {
			n++
			break
		}
		if n != 1 {
			t.Errorf("stream did not stop")
		}
		break
	}
}

func TestHotCards(t *testing.T) {
	d := mustNew(t, Params{Seed: 4, Scale: Small})
	type cv struct{ id, views int64 }
	var all []cv
	for c := range d.Cards(1, d.Counts().Cards) {
		all = append(all, cv{c.ID, c.UniqueViewCount})
	}
	slices.SortFunc(all, func(a, b cv) int { return hotter(viewed{a.views, a.id}, viewed{b.views, b.id}) })
	i := 0
	for c := range d.HotCards() {
		if c.ID != all[i].id {
			t.Fatalf("hot card %d is %d (%d views), want %d (%d views)", i, c.ID, c.UniqueViewCount, all[i].id, all[i].views)
		}
		i++
	}
	if int64(i) != d.Counts().HotCards {
		t.Errorf("%d hot cards, want %d", i, d.Counts().HotCards)
	}
	if all[0].views < 20*all[len(all)/2].views {
		t.Errorf("hottest card has %d viewers, median %d: no viral tail", all[0].views, all[len(all)/2].views)
	}
}

func TestCacheEntry(t *testing.T) {
	d := mustNew(t, Params{Seed: 8, Scale: Small})
	for c := range d.HotCards() {
		key, value, err := CacheEntry(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := "card:" + strconv.FormatInt(c.ID, 10); key != want {
			t.Fatalf("key %q, want %q", key, want)
		}
		order := []string{`{"id":`, `,"user_id":`, `,"text":`, `,"hashtags":`, `,"image_key":`,
			`,"location":`, `,"unique_view_count":`, `,"like_count":`, `,"created_at":`}
		at := 0
		for _, f := range order {
			i := strings.Index(string(value[at:]), f)
			if i < 0 {
				t.Fatalf("field %s missing or out of order in %s", f, value)
			}
			at += i + len(f)
		}
		var got cachedCard
		if err := json.Unmarshal(value, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.UserID != c.UserID || got.Text != c.Text || got.ImageKey != c.ImageKey ||
			got.UniqueViewCount != c.UniqueViewCount || got.LikeCount != c.LikeCount ||
			got.CreatedAt != c.CreatedAt.Format(CacheTimeLayout) || len(got.Hashtags) != len(c.Tags) {
			t.Fatalf("cache entry %s does not match card %+v", value, c)
		}
		if (got.Location == nil) != (c.Location == nil) ||
			c.Location != nil && (got.Location.Lat != c.Location.Lat || got.Location.Lon != c.Location.Lon) {
			t.Fatalf("cache entry location %s, card %+v", value, c.Location)
		}
	}
	_, v, _ := CacheEntry(Card{ID: 1})
	if !strings.Contains(string(v), `"hashtags":[]`) || !strings.Contains(string(v), `"location":null`) {
		t.Errorf("empty card entry %s", v)
	}
}

// haversineKm is the great-circle distance between two points.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * 6371 * math.Asin(math.Sqrt(a))
}

func TestLocations(t *testing.T) {
	d := mustNew(t, Params{Seed: 6, Scale: Small})
	byName := map[string]place{}
	for _, p := range places {
		byName[p.name] = p
	}
	used := map[string]int{}
	var near int
	var total int
	for c := range d.Cards(1, d.Counts().Cards) {
		l := c.Location
		if l == nil {
			continue
		}
		p, ok := byName[l.Place]
		if !ok {
			t.Fatalf("card %d: unknown place %q", c.ID, l.Place)
		}
		km := haversineKm(p.lat, p.lon, l.Lat, l.Lon)
		if km > maxSpreadSigmas*p.sigmaKm*1.01 {
			t.Fatalf("card %d is %.2f km from %s (limit %.1f km)", c.ID, km, p.name, maxSpreadSigmas*p.sigmaKm)
		}
		if km <= 2*p.sigmaKm {
			near++
		}
		if l.Lat != round6(l.Lat) || l.Lon != round6(l.Lon) {
			t.Fatalf("card %d location %v not rounded to 6 decimals", c.ID, l)
		}
		used[l.Place]++
		total++
	}
	// A 2-D gaussian puts 86% within 2 sigma.
	if near*100 < total*80 {
		t.Errorf("%d of %d points within 2 sigma of their centre: not clustered", near, total)
	}
	if used["서울 강남"] <= used["경주"] || len(used) < 15 {
		t.Errorf("place use %v does not follow the weights", used)
	}
}
