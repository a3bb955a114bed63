package verify

import (
	"strings"
	"testing"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	amqp "github.com/rabbitmq/amqp091-go"
)

func TestSelectedByNameOrStore(t *testing.T) {
	for _, c := range []struct {
		name string
		only []string
		want bool
	}{
		{"redis.cache", nil, true},
		{"redis.cache", []string{"redis"}, true},
		{"redis.cache", []string{"redis.cache"}, true},
		{"redis.cache", []string{"red"}, false},
		{"mariadb.schema", []string{"redis", "mariadb"}, true},
		{"markers", []string{"mongodb"}, false},
	} {
		if got := selected(c.name, c.only); got != c.want {
			t.Errorf("selected(%s, %v) = %v", c.name, c.only, got)
		}
	}
}

func TestJobChecksAgainstTheRow(t *testing.T) {
	ds, err := seed.New(seed.Params{Seed: 11, Scale: seed.Small})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{}
	var jobs []seed.Job
	for j := range ds.WriteBehindJobs() {
		want[j.CardID] = j.UniqueViewCount
		jobs = append(jobs, j)
	}
	deliver := func(j seed.Job) amqp.Delivery {
		p := load.Publishing(j)
		return amqp.Delivery{Headers: p.Headers, ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
			DeliveryMode: p.DeliveryMode, CorrelationId: p.CorrelationId, Body: p.Body}
	}
	for _, j := range jobs {
		if card, problem := checkJob(deliver(j), want); problem != "" || card != j.CardID {
			t.Fatalf("seeded job for card %d: card %d, %s", j.CardID, card, problem)
		}
	}
	j := jobs[0]
	want[j.CardID]++
	if _, problem := checkJob(deliver(j), want); !strings.Contains(problem, "PostgreSQL has") {
		t.Errorf("a job whose count differs from the row passed: %q", problem)
	}
	delete(want, j.CardID)
	if _, problem := checkJob(deliver(j), want); !strings.Contains(problem, "not a hot card") {
		t.Errorf("a job for a cold card passed: %q", problem)
	}
	d := deliver(jobs[1])
	d.Headers["task"] = "other.task"
	if _, problem := checkJob(d, want); !strings.Contains(problem, "task") {
		t.Errorf("another task passed: %q", problem)
	}
}

func TestCardDiffNamesFields(t *testing.T) {
	ds, _ := seed.New(seed.Params{Seed: 12, Scale: seed.Small})
	c := ds.Card(5)
	if d := cardDiff(c, c); d != "" {
		t.Fatalf("equal cards differ: %s", d)
	}
	changed := c
	changed.UniqueViewCount++
	changed.Text = "x"
	d := cardDiff(changed, c)
	if !strings.Contains(d, "unique_view_count") || !strings.Contains(d, "text") || strings.Contains(d, "user_id") {
		t.Fatalf("diff %q", d)
	}
}

func TestReportNamesEachMismatch(t *testing.T) {
	r := &Report{Checks: []Check{
		{Name: "a", Checked: 3},
		{Name: "b", Checked: 3, Mismatches: 3, Examples: []string{"card 1: x", "card 2: y"}},
		{Name: "c", Error: "connection refused"},
	}}
	if r.OK() {
		t.Fatal("report with failures is OK")
	}
	got := strings.Join(r.Failures(), "\n")
	for _, want := range []string{"b: card 1: x", "b: card 2: y", "b: ... and 1 more", "c: could not check: connection refused"} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
}
