package traffic

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack"
	amqp "github.com/rabbitmq/amqp091-go"
)

func TestParseMixAcceptsSharesAndRefusesNonsense(t *testing.T) {
	m, err := ParseMix("read=70, view=20,post=5,search=5")
	if err != nil {
		t.Fatal(err)
	}
	if m.String() != "read=70,view=20,post=5,search=5" || m.total() != 100 {
		t.Fatalf("got %v", m)
	}
	for _, bad := range []string{"", "read", "read=x", "read=-1", "read=0,view=0", "read=1,read=2", "fly=3", "read=1,,view=2"} {
		_, err := ParseMix(bad)
		if !errors.Is(err, stack.ErrBadInput) {
			t.Errorf("ParseMix(%q) = %v, want bad input", bad, err)
		}
	}
}

func FuzzParseMix(f *testing.F) {
	f.Add(DefaultMix)
	f.Add("read=1")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMix(s)
		if err != nil {
			return
		}
		if m.total() <= 0 {
			t.Fatalf("%q parsed to a mix summing to %d", s, m.total())
		}
		for x := range m.total() {
			if m[m.pick(x)] == 0 {
				t.Fatalf("%q: pick(%d) chose %s with no share", s, x, m.pick(x))
			}
		}
	})
}

func TestValidateRefusesRunsThatMakeNoSense(t *testing.T) {
	for _, o := range []Options{
		{Rate: 0, Duration: time.Second},
		{Rate: -5, Duration: time.Second},
		{Rate: 10},
		{Rate: 10, Duration: -time.Second},
		{Rate: 10, Count: -1},
		{Rate: 10, Count: 1, Mix: Mix{Read: 0}},
	} {
		if err := o.Validate(); !errors.Is(err, stack.ErrBadInput) {
			t.Errorf("%+v: %v, want bad input", o, err)
		}
	}
	if err := (Options{Rate: 10, Count: 5}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func dataset(t *testing.T) *seed.Dataset {
	t.Helper()
	ds, err := seed.New(seed.Params{Seed: 7, Scale: seed.Small})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestPlanIsDeterministicAndPopularityIsLongTailed(t *testing.T) {
	ds := dataset(t)
	mix, _ := ParseMix("read=60,view=20,post=5,search=5,image=10")
	a, b := newPlanner(ds, 42, mix), newPlanner(ds, 42, mix)
	other := newPlanner(ds, 43, mix)
	same, flows := 0, map[string]int{}
	hot := map[int64]bool{}
	for _, id := range a.hot {
		hot[id] = true
	}
	const n = 20000
	onHot := 0
	for i := int64(1); i <= n; i++ {
		x, y, z := a.op(i), b.op(i), other.op(i)
		if x.flow != y.flow || x.card != y.card || x.user != y.user || x.r.Uint64() != y.r.Uint64() {
			t.Fatalf("op %d differs between two planners of one seed", i)
		}
		if x.card == z.card && x.flow == z.flow {
			same++
		}
		flows[x.flow]++
		if hot[x.card] {
			onHot++
		}
		if x.card < 1 || x.card > ds.Counts().Cards || x.user < 1 || x.user > ds.Counts().Users {
			t.Fatalf("op %d: card %d / user %d out of the dataset", i, x.card, x.user)
		}
	}
	if same > n/5 {
		t.Errorf("seeds 42 and 43 agree on %d of %d ops", same, n)
	}
	// Shares within 2 points of the mix.
	for f, parts := range mix {
		got := float64(flows[f]) / n * 100
		if got < float64(parts)-2 || got > float64(parts)+2 {
			t.Errorf("flow %s: %.1f%% of ops, mix says %d", f, got, parts)
		}
	}
	// The hot cards (2% of all) take most of the traffic: Zipf's long tail.
	share := float64(onHot) / n
	if share < 0.5 {
		t.Errorf("hot cards (%d of %d) got %.0f%% of ops, want most", len(a.hot), ds.Counts().Cards, share*100)
	}
	t.Logf("hot cards: %.0f%% of ops; flows %v", share*100, flows)
}

func TestFlushJobsParseAsTheSeedWritesThem(t *testing.T) {
	ds := dataset(t)
	n := 0
	for j := range ds.WriteBehindJobs() {
		f, err := ParseFlush(delivery(load.Publishing(j)))
		if err != nil {
			t.Fatal(err)
		}
		if f.TaskID != j.TaskID || f.CardID != j.CardID || f.Delta != j.Delta || f.UniqueViewCount != j.UniqueViewCount || !f.ETA.Equal(j.ETA.Truncate(time.Second)) {
			t.Fatalf("parsed %+v from %+v", f, j)
		}
		n++
	}
	p := &publisher{origin: "gen1@host"}
	j := p.job(42, 17)
	if !bytes.Equal(j.Body, []byte(`[[42, 1], {"unique_view_count": 17}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`)) {
		t.Fatalf("traffic job body %s", j.Body)
	}
	if f, err := ParseFlush(delivery(load.Publishing(j))); err != nil || f.UniqueViewCount != 17 || f.CardID != 42 {
		t.Fatalf("%+v %v", f, err)
	}
	bad := load.Publishing(j)
	bad.Headers = amqp.Table{"task": "other.task", "id": "x"}
	if _, err := ParseFlush(delivery(bad)); !errors.Is(err, ErrNotFlushJob) || !strings.Contains(err.Error(), "other.task") {
		t.Fatalf("other task: %v", err)
	}
	bad = load.Publishing(j)
	bad.Body = []byte(`[[42], {}, {}]`)
	if _, err := ParseFlush(delivery(bad)); !errors.Is(err, ErrNotFlushJob) {
		t.Fatalf("bad body: %v", err)
	}
	bad = load.Publishing(j)
	delete(bad.Headers, "task")
	if _, err := ParseFlush(delivery(bad)); !errors.Is(err, ErrNotFlushJob) || !strings.Contains(err.Error(), "protocol v1") {
		t.Fatalf("v1: %v", err)
	}
}

func delivery(p amqp.Publishing) amqp.Delivery {
	return amqp.Delivery{Headers: p.Headers, ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		CorrelationId: p.CorrelationId, DeliveryMode: p.DeliveryMode, Body: p.Body}
}

func TestCacheEntriesRoundTripByteForByte(t *testing.T) {
	ds := dataset(t)
	for c := range ds.Cards(1, 300) {
		_, b, err := seed.CacheEntry(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		_, b2, _ := seed.CacheEntry(back)
		if !bytes.Equal(b, b2) {
			t.Fatalf("card %d:\n%s\n%s", c.ID, b, b2)
		}
	}
}

func TestLikeEscape(t *testing.T) {
	if got := likeEscape(`a%b_c\d`); got != `a\%b\_c\\d` {
		t.Fatal(got)
	}
}

func TestLiveFigures(t *testing.T) {
	dir := t.TempDir()
	if _, ok := ReadLive(dir, time.Second); ok {
		t.Fatal("figures read from an empty directory")
	}
	st := newStats(2)
	st.use(StoreRedis, nil)
	st.use(StoreRedis, errors.New("down"))
	st.flows[Read].record(3*time.Millisecond, nil)
	snap := st.Snapshot(false)
	if f := snap.Store(StoreRedis); f.Calls != 2 || f.Errors != 1 || f.Rate <= 0 {
		t.Fatalf("redis figures %+v", f)
	}
	if f := st.Snapshot(false).Store(StoreRedis); f.Errors != 0 || f.Rate != 0 {
		t.Fatalf("second window still counts the first one's calls: %+v", f)
	}
	if err := WriteLive(dir, snap); err != nil {
		t.Fatal(err)
	}
	got, ok := ReadLive(dir, time.Second)
	if !ok || got.Store(StoreRedis).Calls != 2 || got.Flow(Read).Ops != 1 {
		t.Fatalf("read back %+v (%v)", got, ok)
	}
	if _, ok := ReadLive(dir, -time.Second); ok {
		t.Fatal("stale figures read")
	}
	RemoveLive(dir)
	if _, ok := ReadLive(dir, time.Second); ok {
		t.Fatal("figures read after RemoveLive")
	}
	if sum := st.Snapshot(true); sum.Store(StoreRedis).Errors != 1 || sum.Flow(Read).Ops != 1 {
		t.Fatalf("summary %+v", sum)
	}
}
