package stacktest_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/mariadb"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// argvWatch reads every process's command line in a loop until stopped and
// records any that carries one of the secrets: a local user polling
// /proc/*/cmdline would catch it.
type argvWatch struct {
	secrets map[string]string // value → name
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	hits    map[string]bool
	scans   int
}

func watchArgv(secrets map[string]string) *argvWatch {
	w := &argvWatch{secrets: secrets, stop: make(chan struct{}), done: make(chan struct{}), hits: map[string]bool{}}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			w.scan()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *argvWatch) scan() {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		for v, name := range w.secrets {
			if v != "" && bytes.Contains(raw, []byte(v)) {
				argv := strings.ReplaceAll(string(raw), "\x00", " ")
				w.mu.Lock()
				w.hits[fmt.Sprintf("pid %s carries the %s: %.60s…", e.Name(), name, argv)] = true
				w.mu.Unlock()
			}
		}
	}
	w.mu.Lock()
	w.scans++
	w.mu.Unlock()
}

func (w *argvWatch) finish(t *testing.T) {
	t.Helper()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.scans < 10 {
		t.Fatalf("only %d scans of /proc: the watch proves nothing", w.scans)
	}
	for h := range w.hits {
		t.Error(h)
	}
	t.Logf("%d scans of every process's argv", w.scans)
}

// No secret on any command line: the Erlang cookie while a node restarts
// and rejoins (rabbitmqctl), the Redis password while a shard restarts,
// and every other generated secret meanwhile.
func TestNoSecretOnAnyCommandLine(t *testing.T) {
	s := stacktest.Stack(t)
	e := stacktest.Runtime(t)
	w := watchArgv(map[string]string{
		e.Secrets.ErlangCookie: "Erlang cookie", e.Secrets.RedisPassword: "Redis password",
		e.Secrets.AppPassword: "app password", e.Secrets.PostgresPassword: "PostgreSQL superuser password",
		e.Secrets.MariaDBRoot: "MariaDB root password", e.Secrets.S3SecretKey: "S3 secret key",
		e.Secrets.StatsPassword: "HAProxy stats password", e.Secrets.MariaDBPassword: "MariaDB app password",
		e.Secrets.RabbitPassword: "RabbitMQ app password", e.Secrets.FerretDBPassword: "FerretDB role password",
		e.Secrets.ElasticPassword: "Elasticsearch password", e.Secrets.CDNPurgeToken: "CDN purge token",
		e.Secrets.MongoPassword: "MongoDB app password",
	})
	restart := func(name string) {
		if err := s.Stop(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Start(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	node := rabbitmq.NodeName(e.Options.RabbitNodes) // the last node: it joins node 1 at start
	restart(node)
	if _, err := rabbitmq.Members(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	restart("redis-0")
	w.finish(t)
	allHealthy(t, s)
}

// MariaDB keeps no account that logs in without a password (install-db's
// root@<hostname> and anonymous users are dropped).
func TestMariaDBHasNoPasswordlessAccount(t *testing.T) {
	e := stacktest.Runtime(t)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "root", e.Secrets.MariaDBRoot, "tcp", e.Addr(mariadb.Name, "main")
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// mysql.global_priv (MariaDB ≥ 10.4) holds each account's plugin,
	// password hash and lock as JSON; mysql.user is a view without the lock.
	rows, err := db.QueryContext(ctx, `SELECT CONCAT(User, '@', Host) FROM mysql.global_priv
		WHERE IFNULL(JSON_VALUE(Priv, '$.plugin'), 'mysql_native_password') IN ('', 'mysql_native_password')
		AND IFNULL(JSON_VALUE(Priv, '$.authentication_string'), '') = ''
		AND IFNULL(JSON_EXTRACT(Priv, '$.account_locked'), 'false') <> 'true'
		AND IFNULL(JSON_EXTRACT(Priv, '$.is_role'), 'false') <> 'true'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var open []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		open = append(open, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(open) > 0 {
		t.Fatalf("accounts without a password: %v", open)
	}
}

// No server of the stack runs as root on the host, mossdev's own fakes
// included: when mossdev runs as root they all run as the unprivileged
// server user. (On docker only S3 and the CDN run on the host; containers
// run as their images say.)
func TestNoServerRunsAsRoot(t *testing.T) {
	s := stacktest.Stack(t)
	sts, err := s.Status(t.Context(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, st := range sts {
		if sv, _ := s.Service(st.Name); s.Backend() == "docker" && !onHost(t, sv) {
			continue
		}
		checked++
		if st.PID == 0 {
			t.Fatalf("%s has no pid (%s)", st.Name, st.State)
		}
		fi, err := os.Stat(filepath.Join("/proc", strconv.Itoa(st.PID)))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid == 0 {
			t.Errorf("%s (pid %d) runs as root", st.Name, st.PID)
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d processes: the test proves nothing", checked)
	}
}

func onHost(t *testing.T, sv stack.Service) bool {
	t.Helper()
	if sv.Docker == nil {
		return false
	}
	spec, err := sv.Docker(stacktest.Runtime(t))
	return err == nil && spec.Host
}
