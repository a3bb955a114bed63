package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/traffic"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/cdn"
	"github.com/mossdev/mossdev/stack/services/elasticsearch"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/mongodb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/postgres"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/services/redis"
	"github.com/mossdev/mossdev/stack/services/s3"
)

// The architecture view draws the platform's data flows as boxes and
// arrows on an 80×16 grid:
//
//	app ─▶ PgBouncer ─▶ PostgreSQL
//	app ─▶ Redis shards (crc32(key) % n) ─ write-behind jobs ─▶ HAProxy ─▶ RabbitMQ ─ workers ─▶ PostgreSQL
//	view logs ─▶ MongoDB, hashtag search ─▶ MariaDB, search & geo ─▶ Elasticsearch
//	images ─▶ S3 ─▶ CDN
//
// Boxes take the colour of their service's live state (the worst member's
// for the Redis shards and the RabbitMQ nodes, each member with its own
// glyph), arrows carry a live counter, and the selected box is drawn heavy
// and explained below the diagram.
const (
	archW = 80
	archH = 16
)

// archBox is one box of the diagram.
type archBox struct {
	id      string // service kind, or "app"
	label   string
	x, y    int // top-left corner; boxes are 3 rows high
	members []string
	row     int // navigation row
}

func (b *archBox) width() int {
	return 4 + b.glyphCells() + len([]rune(b.label)) + boolInt(len(b.members) > 0)
}

// glyphCells is the room for the members' states: a glyph per member, or
// a count beyond 6.
func (b *archBox) glyphCells() int {
	if len(b.members) > 6 {
		return len([]rune(fmt.Sprintf("%d×", len(b.members))))
	}
	return len(b.members)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// archView is the architecture screen.
type archView struct {
	c     Common
	w     *world
	boxes []*archBox
	box   int // selected box
	// member is the selected member of a group box (Redis shards,
	// RabbitMQ nodes); world.selected follows it.
	member int
}

var _ Component = (*archView)(nil)

func newArchView(c Common, w *world) *archView {
	a := &archView{c: c, w: w}
	byKind := map[string][]string{}
	for _, s := range w.svcs {
		byKind[s.svc.Kind] = append(byKind[s.svc.Kind], s.svc.Name)
	}
	add := func(id, label string, x, y, row int) {
		a.boxes = append(a.boxes, &archBox{id: id, label: label, x: x, y: y, members: byKind[id], row: row})
	}
	add("app", "app", 0, 0, 0)
	add("pgbouncer", "PgBouncer", 27, 0, 0)
	add("postgres", "PostgreSQL", 62, 0, 0)
	add("redis", "Redis", 7, 4, 1)
	add("haproxy", "HAProxy", 40, 4, 1)
	add("rabbitmq", "RabbitMQ", 63, 4, 1)
	add("mongodb", "MongoDB", 50, 7, 2)
	add("mariadb", "MariaDB", 35, 9, 3)
	add("elasticsearch", "Elasticsearch", 50, 11, 4)
	add("s3", "S3", 31, 13, 5)
	add("cdn", "CDN", 70, 13, 5)
	// Right-align the boxes at the right edge whatever their width.
	for _, b := range a.boxes {
		if b.id == "postgres" || b.id == "rabbitmq" {
			b.x = archW - 2 - b.width() + 1
		}
	}
	a.follow()
	return a
}

func (a *archView) Init() tea.Cmd { return nil }

func (a *archView) SetSize(width, height int) { a.c.Width, a.c.Height = width, height }

func (a *archView) find(id string) *archBox {
	for _, b := range a.boxes {
		if b.id == id {
			return b
		}
	}
	return nil
}

// follow selects the box holding the world's selected service.
func (a *archView) follow() {
	for i, b := range a.boxes {
		for j, m := range b.members {
			if m == a.w.selected {
				a.box, a.member = i, j
				return
			}
		}
	}
}

func (a *archView) sync() {
	if b := a.boxes[a.box]; len(b.members) > 0 {
		a.member = min(max(a.member, 0), len(b.members)-1)
		a.w.selected = b.members[a.member]
	}
}

// slots lists the row's selectable positions: each member of each box.
type slot struct{ box, member int }

func (a *archView) slots(row int) []slot {
	var out []slot
	for i, b := range a.boxes {
		if b.row != row {
			continue
		}
		n := max(len(b.members), 1)
		if len(b.members) > 6 {
			n = len(b.members)
		}
		for j := range n {
			out = append(out, slot{i, j})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return a.boxes[out[i].box].x < a.boxes[out[j].box].x })
	return out
}

func (a *archView) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	cur := a.boxes[a.box]
	keys := a.c.Keys
	switch {
	case key.Matches(k, keys.Left), key.Matches(k, keys.Right):
		sl := a.slots(cur.row)
		i := 0
		for j, s := range sl {
			if s.box == a.box && (s.member == a.member || len(cur.members) == 0) {
				i = j
			}
		}
		if key.Matches(k, keys.Left) {
			i = max(i-1, 0)
		} else {
			i = min(i+1, len(sl)-1)
		}
		a.box, a.member = sl[i].box, sl[i].member
	case key.Matches(k, keys.Up), key.Matches(k, keys.Down):
		row := cur.row - 1
		if key.Matches(k, keys.Down) {
			row = cur.row + 1
		}
		center := cur.x + cur.width()/2
		best, dist := -1, 1<<30
		for i, b := range a.boxes {
			if b.row != row {
				continue
			}
			d := abs(b.x + b.width()/2 - center)
			if d < dist {
				best, dist = i, d
			}
		}
		if best >= 0 {
			a.box, a.member = best, 0
		}
	case key.Matches(k, keys.Top):
		a.box, a.member = 0, 0
	case key.Matches(k, keys.Bottom):
		a.box, a.member = len(a.boxes)-1, 0
	default:
		return nil
	}
	a.sync()
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// onApp reports whether the app box (not a service) is selected.
func (a *archView) onApp() bool { return len(a.boxes[a.box].members) == 0 }

// boxState is the worst state among a box's members.
func (a *archView) boxState(b *archBox) string {
	var states []string
	for _, m := range b.members {
		if s := a.w.by[m]; s != nil {
			states = append(states, s.state())
		}
	}
	return worst(states...)
}

// counter reads a counter of a service by key ("" when absent).
func (a *archView) counter(svc, key string) string {
	if s := a.w.by[svc]; s != nil {
		v, _ := s.counter(key)
		return v
	}
	return ""
}

// sumCounter adds a numeric counter over a box's members.
func (a *archView) sumCounter(b *archBox, key string) (int64, bool) {
	var sum int64
	any := false
	for _, m := range b.members {
		if n, ok := leadingInt(a.counter(m, key)); ok {
			sum, any = sum+n, true
		}
	}
	return sum, any
}

func (a *archView) labels() map[string]string {
	l := map[string]string{}
	val := func(svc, key, unit string) string {
		v := a.counter(svc, key)
		if v == "" {
			return ""
		}
		c := compact(v)
		if _, ok := leadingInt(v); ok && unit != "" {
			return c + " " + unit
		}
		return c
	}
	// app → PgBouncer: clients served and waiting.
	if v := a.counter(pgbouncer.Name, pgbouncer.ClientsActive); v != "" {
		l["app-pgb"] = v + " clients"
		if w := a.counter(pgbouncer.Name, pgbouncer.ClientsWaiting); w != "" && w != "0" {
			l["app-pgb"] = v + " cl, " + w + " waiting"
		}
	} else if v := a.counter(pgbouncer.Name, pgbouncer.Pools); v != "" {
		l["app-pgb"] = "no pool yet"
	}
	// PgBouncer → PostgreSQL: server connections of the pool.
	if act, ok := leadingInt(a.counter(pgbouncer.Name, pgbouncer.ServerActive)); ok {
		idle, _ := leadingInt(a.counter(pgbouncer.Name, pgbouncer.ServerIdle))
		l["pgb-pg"] = fmt.Sprintf("%d conns · %d idle", act+idle, idle)
	}
	if b := a.find(redis.Kind); b != nil {
		if n, ok := a.sumCounter(b, redis.Keys); ok {
			l["keys"] = humanCount(n) + " keys"
		}
	}
	if v := a.counter(haproxy.Name, rabbitmq.QueueKey(seed.WriteBehindName)); v != "" {
		if _, ok := leadingInt(v); ok {
			l["wb"] = compact(v) + " queued"
		} else {
			l["wb"] = compact(v)
		}
	}
	if b := a.find("rabbitmq"); b != nil {
		var per []string
		for _, m := range b.members {
			v := a.counter(haproxy.Name, haproxy.SessionsKey(m))
			if n, ok := leadingInt(v); ok {
				per = append(per, fmt.Sprint(n))
			} else if v != "" || len(per) > 0 {
				per = append(per, "?")
			}
		}
		if len(per) > 0 && strings.Trim(strings.Join(per, ""), "?") != "" {
			l["sess"] = strings.Join(per, "·")
		}
	}
	l["cards"] = val(postgres.Name, postgres.Cards, "cards")
	l["views"] = val(mongodb.Name, mongodb.ViewLogs, "")
	l["tags"] = val(mariadb.Name, mariadb.Hashtags, "")
	l["docs"] = val(elasticsearch.Name, elasticsearch.Documents, "docs")
	l["objects"] = val(s3.Name, s3.Objects, "objects")
	if v := a.counter(cdn.Name, cdn.HitRatio); v != "" {
		if _, ok := leadingInt(v); ok {
			l["hit"] = v + " hits"
		} else {
			l["hit"] = compact(v)
		}
	}
	a.trafficLabels(l)
	return l
}

// trafficLabels puts a running traffic command's rates on the arrows in
// place of the stored counts: calls a second to each store over the last
// second, the cache and CDN hit ratios, the write-behind lag.
func (a *archView) trafficLabels(l map[string]string) {
	t := a.w.traffic
	if t == nil {
		return
	}
	rate := func(store string) string { return perSec(t.Store(store).Rate) }
	l["app-pgb"] = rate(traffic.StorePostgres) + " queries"
	var hits, reads int64
	for _, sh := range t.Shards {
		hits += sh.Hits
		reads += sh.Hits + sh.Misses + sh.Fallbacks
	}
	l["redis"] = rate(traffic.StoreRedis)
	if reads > 0 {
		l["redis"] += fmt.Sprintf(" · %.0f%% hits", 100*float64(hits)/float64(reads))
	}
	l["wb"] = rate(traffic.StoreRabbit)
	if t.Lag >= 100*time.Millisecond {
		l["wb"] += " · lag " + t.Lag.Round(100*time.Millisecond).String()
	}
	l["workers"] = rate(traffic.StoreWorker)
	l["views"] = rate(traffic.StoreMongo)
	l["tags"] = rate(traffic.StoreMaria)
	l["docs"] = rate(traffic.StoreElasticsearch)
	l["objects"] = rate(traffic.StoreS3) + " puts"
	l["hit"] = rate(traffic.StoreCDN)
	if t.CDNFetches > 0 {
		l["hit"] += fmt.Sprintf(" · %.0f%% hits", 100*t.CDNHitRatio)
	}
}

// perSec is a rate as an arrow shows it: "340/s", "1.2k/s".
func perSec(r float64) string {
	if r >= 1000 {
		return fmt.Sprintf("%.1fk/s", r/1000)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// trafficStore is the traffic figures' store behind an arrow's target box.
var trafficStore = map[string]string{
	"pgbouncer": traffic.StorePostgres, "postgres": traffic.StoreWorker, "redis": traffic.StoreRedis,
	"haproxy": traffic.StoreRabbit, "rabbitmq": traffic.StoreRabbit, "mongodb": traffic.StoreMongo,
	"mariadb": traffic.StoreMaria, "elasticsearch": traffic.StoreElasticsearch, "s3": traffic.StoreS3, "cdn": traffic.StoreCDN,
}

// diagram draws the boxes and arrows.
func (a *archView) diagram() []string {
	st := a.c.Styles
	c := newCanvas(archW, archH)
	l := a.labels()
	stateStyle := map[string]int{}
	styleOf := func(state string, bold bool) int {
		k := fmt.Sprint(state, bold)
		if i, ok := stateStyle[k]; ok {
			return i
		}
		s := st.state(state)
		if state == "" {
			s = lipgloss.NewStyle()
		}
		if bold {
			s = s.Bold(true)
		}
		stateStyle[k] = c.style(s)
		return stateStyle[k]
	}
	dim := c.style(st.Dim)
	lbl := c.style(st.Bold)
	// arrowTo styles an arrow by the state of the box it points at: a red
	// arrow is a flow that currently fails.
	arrowTo := func(id string) int {
		if b := a.find(id); b != nil && a.boxState(b) == stack.StateUnhealthy {
			return styleOf(stack.StateUnhealthy, false)
		}
		// Under traffic, an arrow whose calls failed in the last second.
		if t := a.w.traffic; t != nil && t.Store(trafficStore[id]).Errors > 0 {
			return styleOf(stack.StateUnhealthy, false)
		}
		return dim
	}
	flow := func(x, y int, s string) { c.text(x, y, s, dim) }
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}

	// Boxes.
	for i, b := range a.boxes {
		sel := i == a.box
		brd := thin
		if sel {
			brd = heavy
		}
		state := a.boxState(b)
		bs := styleOf(state, sel)
		if b.id == "app" {
			bs = c.style(st.App.Bold(sel))
		}
		w := b.width()
		c.box(b.x, b.y, w, brd, bs)
		x := b.x + 2
		if len(b.members) > 6 {
			x = c.text(x, b.y+1, fmt.Sprintf("%d×", len(b.members)), bs)
		} else {
			for j, m := range b.members {
				s := a.w.by[m]
				g := glyph(s.state())
				ms := st.state(s.state())
				if sel && j == a.member && len(b.members) > 1 {
					ms = ms.Underline(true).Bold(true)
				}
				x = c.text(x, b.y+1, g, c.style(ms))
			}
		}
		if len(b.members) > 0 {
			x++
		}
		c.text(x, b.y+1, b.label, bs)
	}
	app, pgb, pg := a.find("app"), a.find("pgbouncer"), a.find("postgres")
	redis, hap, rmq := a.find("redis"), a.find("haproxy"), a.find("rabbitmq")
	right := func(b *archBox) int { return b.x + b.width() }

	// Row A: app → PgBouncer → PostgreSQL.
	flow(right(app)+2, 0, "SQL")
	c.harrow(right(app), pgb.x-1, 1, or(l["app-pgb"], "…"), arrowTo("pgbouncer"), lbl)
	flow(right(pgb)+2, 0, "pooled")
	c.harrow(right(pgb), pg.x-1, 1, or(l["pgb-pg"], "…"), arrowTo("postgres"), lbl)

	// The app's trunk down the left side, one branch per flow.
	trunk := 3
	c.set(trunk, 2, '┬', c.style(st.App))
	c.vline(trunk, 3, 14, dim)
	for _, y := range []int{5, 8, 10, 12} {
		c.set(trunk, y, '├', dim)
	}
	c.set(trunk, 14, '└', dim)

	// Row B: app → Redis shards → write-behind jobs → HAProxy → RabbitMQ → PostgreSQL.
	shards := len(redis.members)
	shardText := fmt.Sprintf("shard = crc32(key) %% %d", shards) + or(" · "+l["keys"], "")
	if l["redis"] != "" { // under traffic: the rate, not the stored keys
		shardText = fmt.Sprintf("crc32(key) %% %d · %s", shards, l["redis"])
	}
	c.text(trunk+2, 3, truncate(shardText, 40), dim)
	c.harrow(trunk+1, redis.x-1, 5, "", arrowTo("redis"), lbl)
	flow(right(redis)+1, 4, "write-behind jobs")
	c.harrow(right(redis), hap.x-1, 5, or(l["wb"], "…"), arrowTo("haproxy"), lbl)
	flow(right(hap)+1, 4, "sessions")
	c.harrow(right(hap), rmq.x-1, 5, or(l["sess"], "…"), arrowTo("rabbitmq"), lbl)
	// RabbitMQ → PostgreSQL: Celery workers run the jobs and write rows.
	up := rmq.x + 7
	if up >= pg.x && up < right(pg) {
		ws := arrowTo("postgres")
		c.set(up, 2, '▲', ws)
		c.set(up, 3, '│', ws)
		c.set(up, 4, '┴', styleOf(a.boxState(rmq), a.boxes[a.box] == rmq))
		text := "workers write · " + or(l["cards"], "…")
		if w := l["workers"]; w != "" {
			text = "workers write · " + w
		}
		c.text(up-2-len([]rune(text)), 3, text, dim)
	}

	// The single-hop flows.
	mongo, maria, es := a.find("mongodb"), a.find("mariadb"), a.find("elasticsearch")
	s3, cdn := a.find("s3"), a.find("cdn")
	c.harrow(trunk+1, mongo.x-1, 8, "view logs · "+or(l["views"], "…"), arrowTo("mongodb"), lbl)
	c.harrow(trunk+1, maria.x-1, 10, "hashtag search · "+or(l["tags"], "…"), arrowTo("mariadb"), lbl)
	c.harrow(trunk+1, es.x-1, 12, "search & geo · "+or(l["docs"], "…"), arrowTo("elasticsearch"), lbl)
	c.harrow(trunk+1, s3.x-1, 14, "images · "+or(l["objects"], "…"), arrowTo("s3"), lbl)
	cdnLabel := "misses · " + or(l["hit"], "…")
	if a.w.traffic != nil { // fetches through the CDN a second, and its hit ratio
		cdnLabel = l["hit"]
	}
	c.harrow(right(s3), cdn.x-1, 14, cdnLabel, arrowTo("cdn"), lbl)
	return c.render()
}

func (a *archView) View() string {
	width, height := a.c.Width, a.c.Height
	pad := ""
	if width > archW {
		pad = strings.Repeat(" ", (width-archW)/2)
	}
	lines := a.diagram()
	if height-len(lines) < 2 {
		lines = lines[:max(0, min(len(lines), height-2))]
	}
	for i := range lines {
		lines[i] = fit(pad+lines[i], width)
	}
	if width < archW {
		lines = append(lines, a.c.Styles.Dim.Render(fit(fmt.Sprintf("(the diagram needs %d columns)", archW), width)))
	}
	lines = append(lines, a.panel(height-len(lines))...)
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

// panel explains the selected box: its members' states, what it is for,
// its counters and its last error.
func (a *archView) panel(h int) []string {
	if h <= 0 {
		return nil
	}
	st := a.c.Styles
	width := a.c.Width
	b := a.boxes[a.box]
	var head []string
	title := b.label
	switch b.id {
	case "redis":
		title = "Redis shards"
	case "rabbitmq":
		title = "RabbitMQ cluster"
	}
	line := st.Rule.Render("── ") + st.Bold.Render(title)
	for _, m := range b.members {
		s := a.w.by[m]
		name := m
		if len(b.members) > 1 && m == a.w.selected {
			name = st.Bold.Render("▸" + m)
		}
		line += "  " + name + " " + st.state(s.state()).Render(glyph(s.state())+" "+orWaiting(s.state()))
	}
	head = append(head, line)
	var tail []string
	if !a.onApp() {
		s := a.w.sel()
		if s != nil {
			if cl := countersLine(st, s); cl != "" {
				who := ""
				if len(b.members) > 1 {
					who = st.Dim.Render(s.svc.Name + ": ")
				}
				tail = append(tail, who+cl)
			}
			if s.status.Error != "" && s.state() != stack.StateHealthy {
				tail = append(tail, st.Error.Render("error: "+shortErr(s.status.Error)))
			}
		}
		tail = append(tail, st.Dim.Render("enter: detail and log · s stop · u start · r restart"))
	}
	room := h - len(head) - len(tail)
	var body []string
	for _, l := range wrap(a.explain(b), width-1) {
		body = append(body, st.Dim.Render(l))
	}
	if room < len(body) {
		body = body[:max(room, 0)]
	}
	out := append(append(head, body...), tail...)
	if len(out) > h {
		out = out[:h]
	}
	for i := range out {
		out[i] = fit(out[i], width)
	}
	return out
}

// explain is what a box is for: the app tier's note, or the explanation
// its services carry (every member of a kind shares one).
func (a *archView) explain(b *archBox) string {
	if b.id == "app" {
		return appExplain
	}
	for _, m := range b.members {
		if s := a.w.by[m]; s != nil && s.svc.Explain != "" {
			return s.svc.Explain
		}
	}
	return ""
}

func orWaiting(state string) string {
	if state == "" {
		return "waiting"
	}
	return state
}
