package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/services"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/pgbouncer"
	"github.com/mossdev/mossdev/stack/services/redis"
	"github.com/mossdev/mossdev/stack/stacktest"
)

// composeCLI is the compose command on this machine (v2's plugin or
// docker-compose v1); missing, it skips the test locally and fails it
// where a stack is required.
func composeCLI(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	msg := "neither `docker compose` nor `docker-compose` runs (fix: apt-get install docker-compose)"
	if stacktest.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return nil
}

// freePort is a loopback port free now; compose binds it a moment later.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// The exported project runs with its secrets in the compose file only:
// PostgreSQL (its app role made by the init script from the environment)
// answers through PgBouncer (its userlist written in the container) with
// the app password, HAProxy's stats page takes its password (from the
// environment) and refuses another, and so does Redis (requirepass on its
// stdin). It runs the images the docker backend would (MOSSDEV_IMAGE_*:
// the offline stand-ins in CI), brought up by docker compose itself.
func TestExportedComposeProjectRunsWithSecretsOnlyInTheComposeFile(t *testing.T) {
	only := []string{pgbouncer.Name, haproxy.Name, redis.ShardName(0)}
	requireDocker(t, only...)
	cli := composeCLI(t)
	sel, err := stack.Select(services.Platform(light, "docker"), only)
	if err != nil {
		t.Fatal(err)
	}
	env := &stack.Runtime{Stack: "cup", Backend: "docker", Options: light, Ports: map[string]map[string]int{}}
	env.Secrets = stack.Secrets{AppUser: "mossi", AppPassword: randomToken(t), PostgresPassword: randomToken(t),
		FerretDBPassword: randomToken(t), RedisPassword: randomToken(t), StatsPassword: randomToken(t),
		RabbitPassword: randomToken(t), ErlangCookie: strings.ToUpper(randomToken(t))}
	for _, s := range sel {
		env.Ports[s.Name] = map[string]int{}
		for _, n := range s.Ports {
			env.Ports[s.Name][n] = freePort(t)
		}
	}
	c, err := docker.ExportCompose(t.Context(), "cup", sel, env)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := c.Write(dir, false); err != nil {
		t.Fatal(err)
	}
	for name := range c.Files {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o644); name == docker.ComposeFile {
			want = 0o600
			if fi.Mode().Perm() != want {
				t.Errorf("%s is %v, want %v", name, fi.Mode().Perm(), want)
			}
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v (no secret in it, readable by the server's user)", name, fi.Mode().Perm(), want)
		}
	}

	project := fmt.Sprintf("mossdevcomposetest%d", os.Getpid())
	compose := func(ctx context.Context, args ...string) ([]byte, error) {
		argv := append(append([]string{}, cli[1:]...), append([]string{"-p", project, "-f", filepath.Join(dir, docker.ComposeFile)}, args...)...)
		return exec.CommandContext(ctx, cli[0], argv...).CombinedOutput()
	}
	// Registered before up, so a failed up is cleaned too; the logs of a
	// failed test are printed before the project goes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := compose(ctx, "down", "-v", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := compose(context.Background(), "logs", "--no-color", "--tail", "40")
			t.Logf("compose logs:\n%s", out)
		}
	})
	start := time.Now()
	if out, err := compose(t.Context(), "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}

	stacktest.Eventually(t, 2*time.Minute, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgbouncer.AppURL(env))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var user string
		if err := conn.QueryRow(ctx, "SELECT current_user", pgx.QueryExecModeSimpleProtocol).Scan(&user); err != nil {
			return err
		}
		if user != env.Secrets.AppUser {
			return fmt.Errorf("logged in as %q", user)
		}
		return nil
	})
	t.Logf("postgres through pgbouncer answered %.1fs after compose up", time.Since(start).Seconds())

	stats := "http://" + env.Addr(haproxy.Name, "stats") + "/"
	get := func(user, password string) (int, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, stats, nil)
		if err != nil {
			return 0, err
		}
		req.SetBasicAuth(user, password)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	stacktest.Eventually(t, time.Minute, func() error {
		code, err := get(env.Secrets.AppUser, env.Secrets.StatsPassword)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("stats page with the password: HTTP %d", code)
		}
		return err
	})
	if code, err := get(env.Secrets.AppUser, "wrong"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("stats page with a wrong password: HTTP %d, %v; want 401", code, err)
	}

	shard := redis.ShardName(0)
	stacktest.Eventually(t, time.Minute, func() error {
		rdb := goredis.NewClient(&goredis.Options{Addr: env.Addr(shard, "main"), Password: env.Secrets.RedisPassword})
		defer rdb.Close()
		return rdb.Ping(t.Context()).Err()
	})
	wrong := goredis.NewClient(&goredis.Options{Addr: env.Addr(shard, "main"), Password: "wrong"})
	defer wrong.Close()
	if err := wrong.Ping(t.Context()).Err(); err == nil {
		t.Error("redis accepted a wrong password: requirepass did not reach it")
	}
}
