package tui

import (
	"bytes"
	"context"
	"github.com/mossdev/mossdev/seed/traffic"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/mossdev/mossdev/stack"
)

// kp builds the message a key press sends ("j", "tab", "enter", "esc",
// "down", "shift+tab").
func kp(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func start(t *testing.T, f *fakeSource, w, h int, opts ...tea.ProgramOption) *teatest.TestModel {
	t.Helper()
	// Not t.Context(): it ends before cleanups run, and a program killed
	// by its context fails the test from teatest's goroutine.
	m := New(context.Background(), f, Options{})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h), teatest.WithProgramOptions(opts...))
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	})
	return tm
}

// waitFor waits until the program has drawn s and returns what it drew
// meanwhile (reading the output consumes it).
func waitFor(t *testing.T, tm *teatest.TestModel, s string, d time.Duration) []byte {
	t.Helper()
	var out []byte
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		out = b
		return bytes.Contains(b, []byte(s))
	}, teatest.WithDuration(d), teatest.WithCheckInterval(20*time.Millisecond))
	return out
}

func final(t *testing.T, tm *teatest.TestModel) *Model {
	t.Helper()
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
}

// screen renders the model as plain text.
func screen(m *Model) string { return ansi.Strip(m.render()) }

// row finds a service's row on a rendered services screen.
func row(scr, name string) string {
	for _, l := range strings.Split(scr, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

func TestKeysMoveSelectionSwitchViewsAndQuit(t *testing.T) {
	f := newFake()
	tm := start(t, f, 80, 24)
	waitFor(t, tm, "healthy", 3*time.Second)
	tm.Send(kp("j"))
	tm.Send(kp("down"))
	tm.Send(kp("j"))
	tm.Send(kp("k")) // vim and arrow keys both move: postgres → mongodb … → mariadb
	tm.Send(kp("enter"))
	waitFor(t, tm, "hashtag search", 2*time.Second) // the detail pane shows the role
	tm.Send(kp("esc"))
	tm.Send(kp("tab"))
	waitFor(t, tm, "PgBouncer", 2*time.Second)
	tm.Send(kp("q"))
	m := final(t, tm)
	if m.Selected() != "mariadb" {
		t.Errorf("selected %q after j, ↓, j, k; want mariadb", m.Selected())
	}
	if m.Screen() != ScreenArchitecture {
		t.Errorf("screen %v after esc, tab; want architecture", m.Screen())
	}
	if a := f.actionsDone(); len(a) != 0 {
		t.Errorf("quitting ran actions %v: the stack must keep running", a)
	}
}

func TestResizeRelaysOut(t *testing.T) {
	f := newFake()
	tm := start(t, f, 80, 24)
	waitFor(t, tm, "healthy", 3*time.Second)
	tm.Send(tea.WindowSizeMsg{Width: 132, Height: 40})
	waitFor(t, tm, "ADDRESS", 2*time.Second) // wide enough for whole addresses
	tm.Send(tea.WindowSizeMsg{Width: 60, Height: 12})
	tm.Send(kp("G")) // the last row must scroll into view
	tm.Send(kp("q"))
	m := final(t, tm)
	if w, h := m.Size(); w != 60 || h != 12 {
		t.Fatalf("size %dx%d, want 60x12", w, h)
	}
	checkFits(t, m, 60, 12)
	if !strings.Contains(screen(m), "cdn") {
		t.Errorf("the selected last row is not in view at 60x12:\n%s", screen(m))
	}
}

func TestServiceGoingUnhealthyChangesItsRow(t *testing.T) {
	f := newFake()
	tm := start(t, f, 80, 24)
	waitFor(t, tm, "healthy", 3*time.Second)
	t0 := time.Now()
	f.set("redis-1", stack.StateUnhealthy, "not running")
	waitFor(t, tm, "✗ unhealthy", 3*time.Second)
	t.Logf("row changed %.2fs after the service died (status every 1 s)", time.Since(t0).Seconds())
	tm.Send(kp("q"))
	m := final(t, tm)
	r := row(screen(m), "redis-1")
	if !strings.Contains(r, "✗ unhealthy") || !strings.Contains(r, "not run") {
		t.Errorf("redis-1 row = %q, want ✗ unhealthy and the reason", r)
	}
	if r := row(screen(m), "redis-0"); !strings.Contains(r, "● healthy") {
		t.Errorf("redis-0 row = %q, want healthy", r)
	}
}

func TestStopAsksFirstThenStopsAndStartBringsBack(t *testing.T) {
	f := newFake()
	tm := start(t, f, 80, 24)
	waitFor(t, tm, "healthy", 3*time.Second)
	tm.Send(kp("s"))
	waitFor(t, tm, "Stop postgres?", 2*time.Second)
	tm.Send(kp("n"))
	waitFor(t, tm, "cancelled", 2*time.Second)
	if a := f.actionsDone(); len(a) != 0 {
		t.Fatalf("n still ran %v", a)
	}
	tm.Send(kp("s"))
	waitFor(t, tm, "pgbouncer and mongodb need it", 2*time.Second)
	tm.Send(kp("y"))
	waitFor(t, tm, "stopped", 3*time.Second) // the renderer redraws changed cells only: wait for one word
	tm.Send(kp("u"))
	waitFor(t, tm, "14 healthy", 3*time.Second)
	tm.Send(kp("q"))
	m := final(t, tm)
	if got := strings.Join(f.actionsDone(), ", "); got != "stop postgres, start postgres" {
		t.Errorf("actions = %s", got)
	}
	if m.State("postgres") != stack.StateHealthy || m.State("pgbouncer") != stack.StateHealthy {
		t.Errorf("after start: postgres %s, pgbouncer %s", m.State("postgres"), m.State("pgbouncer"))
	}
}

func ansiStrip(b []byte) []byte { return []byte(ansi.Strip(string(b))) }

var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m`)

func TestNoColorKeepsStatesInWords(t *testing.T) {
	env := []string{"TERM=xterm-256color", "TTY_FORCE=1"} // colour even on a pipe
	for _, tc := range []struct {
		env    []string
		colour bool
	}{{env, true}, {append(env, "NO_COLOR=yes"), false}} {
		f := newFake()
		f.set("redis-2", stack.StateUnhealthy, "connection refused")
		tm := start(t, f, 80, 24, ProgramOptions(context.Background(), tc.env)...)
		out := waitFor(t, tm, "unhealthy", 3*time.Second)
		tm.Send(kp("q"))
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		if got := colourSGR.Match(out); got != tc.colour {
			t.Errorf("env %v: colour codes present = %v, want %v", tc.env, got, tc.colour)
		}
		if !bytes.Contains(ansiStrip(out), []byte("✗ unhealthy")) {
			t.Errorf("env %v: the state is not written in words: %q", tc.env, out)
		}
	}
}

// ready builds a model at w×h that has seen one status and every counter,
// without running a program.
func ready(t testing.TB, f *fakeSource, w, h int) *Model {
	t.Helper()
	m := New(context.Background(), f, Options{})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(pollStatus(context.Background(), f, time.Second)())
	for _, s := range f.svcs {
		m.Update(pollCounters(context.Background(), f, s.Name)())
	}
	return m
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(kp(k))
	}
}

// checkFits asserts the screen is exactly h lines of at most w cells.
func checkFits(t *testing.T, m *Model, w, h int) {
	t.Helper()
	lines := strings.Split(m.render(), "\n")
	if len(lines) != h {
		t.Errorf("%v: %d lines, want %d", m.Screen(), len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("%v: line %d is %d cells wide (> %d): %q", m.Screen(), i, n, w, ansi.Strip(l))
		}
	}
}

func TestEveryScreenFits80x24(t *testing.T) {
	f := newFake()
	f.set("rabbitmq-2", stack.StateStopped, "")
	m := ready(t, f, 80, 24)
	checkFits(t, m, 80, 24)
	for _, s := range f.svcs {
		if row(screen(m), s.Name) == "" {
			t.Errorf("services view at 80x24 has no row for %s:\n%s", s.Name, screen(m))
		}
	}
	press(m, "enter")
	m.Update(pollLogs(context.Background(), f, "postgres", 20)())
	checkFits(t, m, 80, 24)
	if !strings.Contains(screen(m), "postgres line 2") {
		t.Errorf("detail pane without the log tail:\n%s", screen(m))
	}
	press(m, "esc", "2")
	checkFits(t, m, 80, 24)
	scr := screen(m)
	for _, want := range []string{"PgBouncer", "PostgreSQL", "Redis", "HAProxy", "RabbitMQ", "MariaDB", "MongoDB",
		"Elasticsearch", "S3", "CDN", "3 cl, 1 waiting", "write-behind jobs", "120 queued", "2·1·0",
		"12k cards", "6.0M", "93.5% hits", "crc32(key) % 3 · 3.0k keys"} {
		if !strings.Contains(scr, want) {
			t.Errorf("architecture view lacks %q:\n%s", want, scr)
		}
	}
	press(m, "?")
	checkFits(t, m, 80, 24)
}

func TestArchitectureSelectionExplainsTheBox(t *testing.T) {
	f := newFake()
	m := ready(t, f, 80, 24)
	press(m, "2", "g", "right") // app → PgBouncer
	if m.Selected() != "pgbouncer" {
		t.Fatalf("selected %s, want pgbouncer", m.Selected())
	}
	if !strings.Contains(screen(m), "connection pooler") {
		t.Errorf("no explanation of PgBouncer under the diagram:\n%s", screen(m))
	}
	press(m, "down") // the nearest box below: HAProxy
	if m.Selected() != "haproxy" {
		t.Errorf("selected %s after ↓, want haproxy", m.Selected())
	}
	press(m, "left", "left") // through the Redis shards, one by one
	if m.Selected() != "redis-1" {
		t.Errorf("selected %s after ← ←, want redis-1", m.Selected())
	}
	if !strings.Contains(screen(m), "▸redis-1") {
		t.Errorf("the panel does not point at redis-1:\n%s", screen(m))
	}
	press(m, "down", "down", "down", "down", "left") // MongoDB, MariaDB, Elasticsearch, CDN, S3
	if m.Selected() != "s3" {
		t.Errorf("selected %s at the bottom row, want s3", m.Selected())
	}
	press(m, "enter")
	if m.Screen() != ScreenDetail {
		t.Errorf("enter on a box opens %v, want the detail", m.Screen())
	}
}

func TestSecretsMaskedUntilAsked(t *testing.T) {
	f := newFake()
	m := ready(t, f, 100, 30)
	press(m, "enter")
	if s := screen(m); strings.Contains(s, "s3cret") || !strings.Contains(s, "mossi:••••••@") {
		t.Errorf("secret shown before v:\n%s", s)
	}
	press(m, "v")
	if s := screen(m); !strings.Contains(s, "mossi:s3cret@") {
		t.Errorf("secret not shown after v:\n%s", s)
	}
}

// varsFake adds the optional Varser capability.
type varsFake struct{ *fakeSource }

func (varsFake) Vars() ([]stack.Var, error) {
	return []stack.Var{
		{Name: "MOSSDEV_MARIADB_URL", Value: "mysql://mossi:pw1@127.0.0.1:3306/mossi", Service: "mariadb"},
		{Name: "MOSSDEV_MARIADB_DSN", Value: "mossi:pw2@tcp(127.0.0.1:3306)/mossi?charset=utf8mb4", Service: "mariadb"},
		{Name: "MOSSDEV_S3_URL", Value: "http://127.0.0.1:9000", Service: "s3"},
		{Name: "MOSSDEV_S3_SECRET_KEY", Value: "pw3", Service: "s3"},
	}, nil
}

func TestConnectionVariablesMaskedUntilAsked(t *testing.T) {
	f := newFake()
	m := New(context.Background(), varsFake{f}, Options{})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.Update(pollStatusNow(f))
	press(m, "j", "j", "enter") // mariadb
	s := screen(m)
	for _, want := range []string{"MOSSDEV_MARIADB_URL=mysql://mossi:••••••@127.0.0.1:3306/mossi",
		"MOSSDEV_MARIADB_DSN=mossi:••••••@tcp(127.0.0.1:3306)", "v shows the secrets"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "pw1") || strings.Contains(s, "pw2") {
		t.Errorf("secret shown before v:\n%s", s)
	}
	press(m, "v")
	if s := screen(m); !strings.Contains(s, "mossi:pw1@") || !strings.Contains(s, "mossi:pw2@tcp") {
		t.Errorf("secrets not shown after v:\n%s", s)
	}
	press(m, "v", "esc", "G", "k", "enter") // hide again; s3
	if s := screen(m); strings.Contains(s, "pw3") || !strings.Contains(s, "MOSSDEV_S3_SECRET_KEY=••••••") {
		t.Errorf("s3 secret key not masked:\n%s", s)
	}
}

func TestViewNeverTouchesTheStack(t *testing.T) {
	f := newFake()
	m := ready(t, f, 80, 24)
	before := map[string]int{}
	f.mu.Lock()
	for k, v := range f.calls {
		before[k] = v
	}
	f.mu.Unlock()
	for _, k := range []string{"", "enter", "esc", "2", "?", "?", "1"} {
		if k != "" {
			m.Update(kp(k))
		}
		for range 50 {
			m.View()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.calls {
		if before[k] != v {
			t.Errorf("View called the stack: %s %d → %d", k, before[k], v)
		}
	}
}

func TestCompactLabels(t *testing.T) {
	for in, want := range map[string]string{
		"12":                              "12",
		"1234":                            "1.2k",
		"≈6000000 (statistics estimate)":  "≈6.0M",
		"≥100000":                         "≥100k",
		"120 ready, 0 consumers":          "120",
		"93.5%":                           "93.5%",
		"no cards table (not seeded)":     "not seeded",
		"absent (no worker or producer)":  "no queue",
		"unavailable: connection refused": "?",
	} {
		if got := compact(in); got != want {
			t.Errorf("compact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mask("redis://:pw@127.0.0.1:1/0"); got != "redis://:••••••@127.0.0.1:1/0" {
		t.Errorf("mask = %s", got)
	}
	if got := mask("redis://default:pw@127.0.0.1:1/0"); got != "redis://default:••••••@127.0.0.1:1/0" {
		t.Errorf("mask with a user = %s", got)
	}
	if got := mask("http://127.0.0.1:9200"); got != "http://127.0.0.1:9200" {
		t.Errorf("mask without secret = %s", got)
	}
}

func TestLastLinesReadsOnlyTheEnd(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("\x1b[31m\t!\n")
	}
	lines, err := lastLines(strings.NewReader(b.String()), 20)
	if err != nil || len(lines) != 20 {
		t.Fatalf("%d lines, %v", len(lines), err)
	}
	if strings.ContainsAny(lines[19], "\x1b\t") {
		t.Errorf("escape or tab left in %q", lines[19])
	}
}

func TestProgramOptionsHonourNoColor(t *testing.T) {
	if noColor([]string{"NO_COLOR="}) || !noColor([]string{"NO_COLOR=1"}) || !noColor([]string{"NO_COLOR=yes"}) {
		t.Error("NO_COLOR: empty must keep colour, any other value must turn it off")
	}
}

// pollStatusNow reads the fake's status at once.
func pollStatusNow(f *fakeSource) statusMsg {
	return pollStatus(context.Background(), f, time.Second)().(statusMsg)
}

func TestAnySizeRendersWithinBounds(t *testing.T) {
	f := newFake()
	f.set("redis-1", stack.StateUnhealthy, "dial tcp 127.0.0.1:28015: connect: connection refused")
	for _, sz := range [][2]int{{1, 1}, {10, 3}, {40, 10}, {79, 23}, {80, 24}, {81, 25}, {100, 30}, {200, 60}} {
		m := ready(t, f, sz[0], sz[1])
		for _, k := range []string{"", "enter", "esc", "2", "right", "down", "?", "?", "1"} {
			if k != "" {
				press(m, k)
			}
			checkFits(t, m, sz[0], sz[1])
		}
	}
}

// A service's variables are the ones it exports, whatever their names:
// HAProxy exports the broker URL apps use.
func TestVariablesFollowTheServiceThatExportsThem(t *testing.T) {
	vars := []stack.Var{{Name: "MOSSDEV_STACK", Value: "dev"},
		{Name: "MOSSDEV_RABBITMQ_URL", Value: "amqp://x", Service: "haproxy"},
		{Name: "MOSSDEV_HAPROXY_STATS_URL", Value: "http://x", Service: "haproxy"},
		{Name: "MOSSDEV_RABBITMQ_1_URL", Value: "amqp://y", Service: "rabbitmq-1"}}
	var got []string
	for _, v := range varsOf("haproxy", vars) {
		got = append(got, v.Name)
	}
	if strings.Join(got, " ") != "MOSSDEV_RABBITMQ_URL MOSSDEV_HAPROXY_STATS_URL" {
		t.Errorf("haproxy's variables are %v", got)
	}
}

// While `mossdev traffic` runs, the architecture view's arrows show its
// rates instead of stored counts, and an arrow whose calls failed turns red.
func TestArchitectureShowsTrafficRatesOnEveryArrow(t *testing.T) {
	f := newFake()
	m := ready(t, f, 80, 24)
	press(m, "2")
	snap := traffic.Snapshot{Lag: 1200 * time.Millisecond, CDNFetches: 10, CDNHitRatio: 0.9,
		Shards: []traffic.ShardFigures{{Shard: 0, Hits: 8, Misses: 2}}}
	for i, s := range traffic.Stores {
		snap.Stores = append(snap.Stores, traffic.StoreFigures{Store: s, Rate: float64(101 + i)})
	}
	m.Update(trafficMsg{&snap})
	checkFits(t, m, 80, 24)
	scr := screen(m)
	for _, want := range []string{"101/s queries", "102/s · 80% hits", "103/s", "104/s", "105/s", "106/s puts",
		"107/s · 90% hits", "108/s · lag 1.2s", "workers write · 109/s"} {
		if !strings.Contains(scr, want) {
			t.Errorf("architecture view under traffic lacks %q:\n%s", want, scr)
		}
	}
	m.Update(trafficMsg{}) // the run ended: counts again
	if scr := screen(m); strings.Contains(scr, "/s queries") || !strings.Contains(scr, "12k cards") {
		t.Errorf("after traffic the arrows still show rates:\n%s", scr)
	}
}

// togglerSource is a fake stack whose `t` starts and stops traffic.
type togglerSource struct {
	*fakeSource
	on bool
}

func (s *togglerSource) ToggleTraffic() (string, error) {
	s.on = !s.on
	if s.on {
		return "traffic started", nil
	}
	return "traffic stopped", nil
}

func TestTKeyTogglesTraffic(t *testing.T) {
	f := newFake()
	m := ready(t, f, 80, 24)
	press(m, "2")
	_, cmd := m.Update(kp("t"))
	m.Update(cmd())
	if !strings.Contains(screen(m), "run `mossdev traffic` in another terminal") {
		t.Errorf("t without a toggler does not say how to run traffic:\n%s", screen(m))
	}
	src := &togglerSource{fakeSource: f}
	m2 := New(context.Background(), src, Options{})
	m2.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for _, want := range []string{"traffic started", "traffic stopped"} {
		_, cmd := m2.Update(kp("t"))
		m2.Update(cmd())
		if !strings.Contains(screen(m2), want) {
			t.Errorf("after t the screen lacks %q:\n%s", want, screen(m2))
		}
	}
}
