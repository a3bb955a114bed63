package seed

import (
	"bytes"
	"encoding/json"
	"image/png"
	"regexp"
	"testing"
	"time"
)

var uuid4Re = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestWriteBehindJobs(t *testing.T) {
	d := mustNew(t, Params{Seed: 12, Scale: Small})
	hot := map[int64]Card{}
	for c := range d.HotCards() {
		hot[c.ID] = c
	}
	ids := map[string]bool{}
	n := int64(0)
	for j := range d.WriteBehindJobs() {
		n++
		c, ok := hot[j.CardID]
		if !ok {
			t.Fatalf("job for card %d, which is not cached", j.CardID)
		}
		if !uuid4Re.MatchString(j.TaskID) || ids[j.TaskID] {
			t.Fatalf("task id %q malformed or repeated", j.TaskID)
		}
		ids[j.TaskID] = true
		if j.ContentType != "application/json" || j.ContentEncoding != "utf-8" || j.CorrelationID != j.TaskID ||
			j.DeliveryMode != 2 || j.Exchange == "" || j.RoutingKey == "" || j.Queue == "" {
			t.Fatalf("job properties %+v", j)
		}
		want := map[string]any{
			"lang": "py", "task": FlushTask, "id": j.TaskID, "root_id": j.TaskID, "parent_id": nil,
			"group": nil, "group_index": nil, "shadow": nil, "expires": nil, "retries": int64(0),
			"ignore_result": false,
		}
		for k, v := range want {
			got, ok := j.Headers[k]
			if !ok || got != v {
				t.Fatalf("header %s = %#v (present %v), want %#v", k, got, ok, v)
			}
		}
		for _, k := range []string{"eta", "argsrepr", "kwargsrepr", "origin", "timelimit"} {
			if _, ok := j.Headers[k]; !ok {
				t.Fatalf("header %s missing", k)
			}
		}
		if len(j.Headers) != len(want)+5 {
			t.Errorf("headers %v: unexpected extras", j.Headers)
		}
		// AMQP tables take only some Go types.
		for k, v := range j.Headers {
			switch v.(type) {
			case nil, string, int64, bool, []any:
			default:
				t.Errorf("header %s has type %T", k, v)
			}
		}
		eta, err := time.Parse("2006-01-02T15:04:05-07:00", j.Headers["eta"].(string))
		if err != nil || !eta.Equal(j.ETA) || !eta.After(end) {
			t.Fatalf("eta %v (%v), job ETA %v", j.Headers["eta"], err, j.ETA)
		}
		var body []json.RawMessage
		if err := json.Unmarshal(j.Body, &body); err != nil || len(body) != 3 {
			t.Fatalf("body %s: %v", j.Body, err)
		}
		var args []int64
		var kwargs map[string]int64
		var embed map[string]any
		if json.Unmarshal(body[0], &args) != nil || json.Unmarshal(body[1], &kwargs) != nil || json.Unmarshal(body[2], &embed) != nil {
			t.Fatalf("body parts %s", j.Body)
		}
		if len(args) != 2 || args[0] != c.ID || args[1] != j.Delta || j.Delta < 0 || j.Delta > c.UniqueViewCount ||
			kwargs["unique_view_count"] != c.UniqueViewCount || len(kwargs) != 1 {
			t.Fatalf("body %s for card %d with %d viewers", j.Body, c.ID, c.UniqueViewCount)
		}
		for _, k := range []string{"callbacks", "errbacks", "chain", "chord"} {
			if v, ok := embed[k]; !ok || v != nil {
				t.Fatalf("embed %s = %v (present %v)", k, v, ok)
			}
		}
	}
	if n != d.Counts().Jobs {
		t.Errorf("%d jobs, want %d", n, d.Counts().Jobs)
	}
}

func TestImages(t *testing.T) {
	d := mustNew(t, Params{Seed: 13, Scale: Small})
	seen := map[string]int64{}
	for id := int64(1); id <= 40; id++ {
		b, err := d.Image(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 12<<10 {
			t.Errorf("image %d is %d bytes", id, len(b))
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("image %d: %v", id, err)
		}
		if r := img.Bounds(); r.Dx() != ImageSize || r.Dy() != ImageSize {
			t.Fatalf("image %d is %v", id, r)
		}
		if other, ok := seen[string(b)]; ok {
			t.Fatalf("images %d and %d are identical", other, id)
		}
		seen[string(b)] = id
		again, _ := d.Image(id)
		if !bytes.Equal(b, again) {
			t.Fatalf("image %d differs between calls", id)
		}
	}
	// The id stamp alone tells cards apart even if their colours agreed.
	six, err := d.Image(6)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := png.Decode(bytes.NewReader(six))
	_, _, b0, _ := a.At(29*3, ImageSize-1).RGBA() // bit 2 of 6 is set: a dark cell
	_, _, b1, _ := a.At(28*3, ImageSize-1).RGBA() // bit 3 is clear: a light cell
	if b0 >= b1 {
		t.Errorf("id stamp not readable: dark cell %d, light cell %d", b0, b1)
	}
}

func BenchmarkCards(b *testing.B) {
	d := mustNew(b, Params{Seed: 1, Scale: Prod})
	id := int64(0)
	for b.Loop() {
		id = id%d.Counts().Cards + 1
		_ = d.Card(id)
	}
}

func BenchmarkViewLogs(b *testing.B) {
	d := mustNew(b, Params{Seed: 1, Scale: Prod})
	id, rows := int64(0), 0
	for b.Loop() {
		id = id%d.Counts().Cards + 1
		for range d.ViewLogs(d.Card(id)) {
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkImage(b *testing.B) {
	d := mustNew(b, Params{Seed: 1, Scale: Prod})
	id := int64(0)
	for b.Loop() {
		id++
		if _, err := d.Image(id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTag(b *testing.B) {
	d := mustNew(b, Params{Seed: 1, Scale: Prod})
	id := int64(0)
	for b.Loop() {
		id = id%d.Counts().Tags + 1
		_ = d.Tag(id)
	}
}
