package stacktest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/stacktest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// pgxConn connects with the exec query mode, which works through
// PgBouncer's transaction pooling (no named prepared statements).
func pgxConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgresThroughPgBouncer(t *testing.T) {
	env := stacktest.Runtime(t)
	url := stacktest.URL(t, "postgres")
	if want := env.Addr("pgbouncer", "main"); !contains(url, want) {
		t.Fatalf("MOSSDEV_POSTGRES_URL %s does not go through PgBouncer (%s)", url, want)
	}
	conn := pgxConn(t, url)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS it_cards (id bigint PRIMARY KEY, body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO it_cards VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, 1, "새벽 세 시, 잠이 안 와 🌙"); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := conn.QueryRow(ctx, `SELECT body FROM it_cards WHERE id = $1`, 1).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != "새벽 세 시, 잠이 안 와 🌙" {
		t.Fatalf("round trip: got %q", body)
	}

	// PgBouncer is the one answering: its admin console lists a pool for
	// the app database with our client in it.
	admin, err := pgx.ConnectConfig(ctx, simple(t, pgbouncer.ConsoleURL(env, false)))
	if err != nil {
		t.Fatalf("connect to PgBouncer console: %v", err)
	}
	defer admin.Close(context.Background())
	rows, err := admin.Query(ctx, "SHOW POOLS")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(vals[0]) == "mossi" {
			found = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("SHOW POOLS has no pool for database mossi")
	}
}

func simple(t *testing.T, url string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return cfg
}

func TestMariaDBEmojiRoundTrip(t *testing.T) {
	db, err := sql.Open("mysql", mariadb.DSN(stacktest.Runtime(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS it_tags (
		id BIGINT PRIMARY KEY, tag VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
		UNIQUE KEY (tag)) ENGINE=InnoDB`); err != nil {
		t.Fatal(err)
	}
	tags := []string{"🌙새벽감성", "Love", "love"} // 4-byte emoji; case-sensitive key
	for i, tag := range tags {
		if _, err := db.ExecContext(ctx, `REPLACE INTO it_tags VALUES (?, ?)`, i+1, tag); err != nil {
			t.Fatalf("insert %q: %v", tag, err)
		}
	}
	var got string
	if err := db.QueryRowContext(ctx, `SELECT tag FROM it_tags WHERE id = 1`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != tags[0] {
		t.Fatalf("emoji round trip: got %q want %q", got, tags[0])
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM it_tags WHERE tag = 'love'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("case-sensitive match found %d rows for 'love', want 1", n)
	}
	// Root over TCP takes the stack's secret and nothing else (install-db
	// leaves root@127.0.0.1 without a password).
	env := stacktest.Runtime(t)
	for pw, wantOK := range map[string]bool{"": false, env.Secrets.MariaDBRoot: true} {
		root, _ := sql.Open("mysql", fmt.Sprintf("root:%s@tcp(%s)/", pw, env.Addr("mariadb", "main")))
		err := root.PingContext(ctx)
		root.Close()
		if (err == nil) != wantOK {
			t.Fatalf("root with password %q over TCP: err %v, want success %v", pw, err, wantOK)
		}
	}
	// MariaDB's 3-byte utf8 rejects the same emoji in strict mode.
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS it_tags3 (tag VARCHAR(190) CHARACTER SET utf8mb3)`); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO it_tags3 VALUES (?)`, tags[0])
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1366 {
		t.Fatalf("utf8mb3 column accepted a 4-byte emoji (err %v), want error 1366", err)
	}
}

func TestRedisEveryShard(t *testing.T) {
	env := stacktest.Runtime(t)
	for i := range env.Options.RedisShards {
		name := fmt.Sprintf("redis-%d", i)
		opt, err := redis.ParseURL(stacktest.URL(t, name))
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		key := "it:shard:" + strconv.Itoa(i)
		if err := c.Set(t.Context(), key, name, 0).Err(); err != nil {
			t.Fatalf("SET on %s: %v", name, err)
		}
		got, err := c.Get(t.Context(), key).Result()
		if err != nil || got != name {
			t.Fatalf("GET on %s: %q, %v", name, got, err)
		}
	}
}

func TestAMQPQuorumQueueThroughHAProxy(t *testing.T) {
	env := stacktest.Runtime(t)
	url := stacktest.Var(t, "MOSSDEV_RABBITMQ_URL")
	if !contains(url, env.Addr("haproxy", "main")) {
		t.Fatalf("MOSSDEV_RABBITMQ_URL %s does not go through HAProxy", url)
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	const q = "it.writebehind"
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	body := []byte(`[[42, 3], {}, {}]`)
	if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-confirms:
		if !c.Ack {
			t.Fatal("publish nacked")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no publisher confirm within 10s")
	}
	msgs, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-msgs:
		if string(d.Body) != string(body) {
			t.Fatalf("consumed %q", d.Body)
		}
		_ = d.Ack(false)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	members, err := rabbitmq.QueueMembers(t.Context(), env, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != env.Options.RabbitNodes {
		t.Fatalf("quorum queue members %v, want %d nodes", members, env.Options.RabbitNodes)
	}
}

// A killed server is reported within 2 s, and start brings it back.
func TestKilledServiceIsReportedAndRestarts(t *testing.T) {
	s := stacktest.Stack(t)
	const victim = "redis-1"
	pid := pidOf(t, s, victim)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	stacktest.Eventually(t, 2*time.Second, func() error {
		sts, err := s.Status(t.Context(), time.Second)
		if err != nil {
			return err
		}
		if st := find(sts, victim); st.State != stack.StateUnhealthy {
			return fmt.Errorf("%s is %s", victim, st.State)
		}
		return nil
	})
	t.Logf("reported unhealthy %.0f ms after the kill", float64(time.Since(killed).Milliseconds()))
	rep, err := s.Start(t.Context(), victim)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Started != 1 {
		t.Fatalf("start restarted %d services, want 1", rep.Started)
	}
	sts, err := s.Status(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st := find(sts, victim); st.State != stack.StateHealthy {
		t.Fatalf("%s is %s after start", victim, st.State)
	}
}

// Stop marks a service stopped (not unhealthy) and its dependents unhealthy.
func TestStopIsStoppedAndDependentsUnhealthy(t *testing.T) {
	s := stacktest.Stack(t)
	if err := s.Stop(t.Context(), "postgres"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := s.Start(context.Background(), "postgres"); err != nil {
			t.Errorf("restart postgres: %v", err)
		}
		allHealthy(t, s) // PgBouncer and FerretDB reconnect on their own
	})
	sts, err := s.Status(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st := find(sts, "postgres"); st.State != stack.StateStopped {
		t.Fatalf("postgres is %s, want stopped", st.State)
	}
	for _, sv := range s.Services() { // pgbouncer; mongodb where FerretDB stores in PostgreSQL
		if !slices.Contains(sv.Needs, "postgres") {
			continue
		}
		if st := find(sts, sv.Name); st.State != stack.StateUnhealthy {
			t.Fatalf("%s is %s with postgres stopped, want unhealthy", sv.Name, st.State)
		}
	}
}

func TestUpTwiceChangesNothing(t *testing.T) {
	s := stacktest.Stack(t)
	rep, err := s.Up(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Started != 0 || rep.Kept != len(s.Services()) {
		t.Fatalf("second up started %d and kept %d of %d\n%s", rep.Started, rep.Kept, len(s.Services()), rep.Plan)
	}
}

// allHealthy waits until every service answers: tests leave the shared
// stack as they found it.
func allHealthy(t *testing.T, s *stack.Stack) {
	t.Helper()
	stacktest.Eventually(t, 20*time.Second, func() error {
		sts, err := s.Status(context.Background(), time.Second)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.State != stack.StateHealthy {
				return fmt.Errorf("%s is %s: %s", st.Name, st.State, st.Error)
			}
		}
		return nil
	})
}

func pidOf(t *testing.T, s *stack.Stack, name string) int {
	t.Helper()
	sts, err := s.Status(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st := find(sts, name)
	if st.PID == 0 {
		t.Fatalf("%s has no pid (state %s)", name, st.State)
	}
	return st.PID
}

func find(sts []stack.Status, name string) stack.Status {
	i := slices.IndexFunc(sts, func(s stack.Status) bool { return s.Name == name })
	if i < 0 {
		return stack.Status{}
	}
	return sts[i]
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }

// Stopping PgBouncer with an app connected is prompt on both backends (its
// stop signal is SIGINT: SIGTERM waits for every client on PgBouncer ≥ 1.23),
// and so is stopping HAProxy with a client on its 7-day idle timeout.
func TestStopIsPromptWithClientsConnected(t *testing.T) {
	s := stacktest.Stack(t)
	conn := pgxConn(t, stacktest.URL(t, "postgres"))
	var one int
	if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	amqpConn, err := amqp.Dial(stacktest.URL(t, "haproxy"))
	if err != nil {
		t.Fatal(err)
	}
	defer amqpConn.Close()
	t.Cleanup(func() {
		for _, name := range []string{"pgbouncer", "haproxy"} {
			if _, err := s.Start(context.Background(), name); err != nil {
				t.Errorf("start %s: %v", name, err)
			}
		}
		allHealthy(t, s)
	})
	for _, name := range []string{"pgbouncer", "haproxy"} {
		t0 := time.Now()
		if err := s.Stop(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("stop %s with a client connected took %s", name, d.Round(10*time.Millisecond))
		} else {
			t.Logf("stop %s with a client connected: %s", name, d.Round(10*time.Millisecond))
		}
	}
}
