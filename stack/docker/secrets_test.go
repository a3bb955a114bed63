package docker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/services"
)

// secretRuntime is a docker Runtime of the full platform with a distinct,
// recognisable value in every field of Secrets (quotes and a dollar among
// them, which every way of carrying them must survive), and host ports.
func secretRuntime(svcs []stack.Service, opts stack.Options) *stack.Runtime {
	env := &stack.Runtime{Stack: "sec", Backend: "docker", Options: opts, Ports: map[string]map[string]int{}}
	v := reflect.ValueOf(&env.Secrets).Elem()
	for i := range v.NumField() {
		v.Field(i).SetString(fmt.Sprintf("Zq%02dsecret$'x%s", i, v.Type().Field(i).Name))
	}
	env.Secrets.AppUser = "mossi"
	port := 22000
	for _, s := range svcs {
		env.Ports[s.Name] = map[string]int{}
		for _, n := range s.Ports {
			env.Ports[s.Name][n] = port
			port++
		}
	}
	return env
}

// secrets lists the Runtime's secret values by field name: all but the app
// user's name.
func secrets(env *stack.Runtime) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(env.Secrets)
	for i := range v.NumField() {
		if n := v.Type().Field(i).Name; n != "AppUser" {
			out[n] = v.Field(i).String()
		}
	}
	return out
}

// The files an exported project bind-mounts lie on the host readable by
// the containers' users (0644): none may hold a secret. The compose file
// (0600) carries them all, in the environment the servers read.
func TestExportComposeKeepsSecretsOutOfTheFiles(t *testing.T) {
	opts := stack.DefaultOptions()
	svcs := services.Platform(opts, "docker")
	env := secretRuntime(svcs, opts)
	c, err := docker.ExportCompose(t.Context(), "sec", svcs, env)
	if err != nil {
		t.Fatal(err)
	}
	sec := secrets(env)
	for name, data := range c.Files {
		if name == docker.ComposeFile {
			continue
		}
		for field, v := range sec {
			if strings.Contains(string(data), v) {
				t.Errorf("%s holds the %s", name, field)
			}
		}
		if c.Private[name] {
			t.Errorf("%s is marked private (0600), which locks out the server that reads it", name)
		}
	}
	y := string(c.Files[docker.ComposeFile])
	// The secrets the files used to hold are in the compose file now,
	// escaped for compose's interpolation.
	for _, field := range []string{"AppPassword", "FerretDBPassword", "PostgresPassword", "StatsPassword", "RedisPassword"} {
		if want := strings.ReplaceAll(sec[field], "$", "$$"); !strings.Contains(y, want) {
			t.Errorf("the compose file lacks the %s (%q)", field, want)
		}
	}
	if !c.Private[docker.ComposeFile] {
		t.Error("the compose file is not marked private")
	}
	// The files that left their secrets out must still be there, naming
	// where the secret comes from.
	for name, want := range map[string]string{
		"files/postgres/docker-entrypoint-initdb.d/10-mossdev.sql": `\getenv app_password MOSSDEV_APP_PASSWORD`,
		"files/haproxy/usr/local/etc/haproxy/haproxy.cfg":          `stats auth "mossi:${MOSSDEV_STATS_PASSWORD}"`,
		"files/pgbouncer/etc/pgbouncer/pgbouncer.ini":              "auth_file = /etc/pgbouncer/userlist.txt",
		"files/redis-0/usr/local/etc/mossdev-redis.conf":           "appendonly yes",
	} {
		if !strings.Contains(string(c.Files[name]), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, c.Files[name])
		}
	}
	if _, ok := c.Files["files/pgbouncer/etc/pgbouncer/userlist.txt"]; ok {
		t.Error("pgbouncer's userlist.txt is exported: the wrapper entrypoint writes it in the container")
	}
	// No secret in an entrypoint or command: argv is readable through /proc.
	for _, line := range strings.Split(y, "\n") {
		l := strings.TrimSpace(line)
		if !strings.HasPrefix(l, "entrypoint:") && !strings.HasPrefix(l, "command:") && !strings.HasPrefix(l, "test:") {
			continue
		}
		for field, v := range sec {
			if strings.Contains(l, strings.ReplaceAll(v, "$", "$$")) {
				t.Errorf("the %s is in an argv: %s", field, l)
			}
		}
	}
}

// A file that still holds a secret (a service that forgot to move it to
// the environment) is marked private, and Write makes it 0600.
func TestExportComposeMarksAFileWithASecretPrivate(t *testing.T) {
	env := secretRuntime(nil, stack.Options{})
	leaky := stack.Service{Name: "leaky", Docker: func(e *stack.Runtime) (stack.DockerSpec, error) {
		return stack.DockerSpec{Image: "leaky:1", Files: map[string]string{
			"/etc/leaky.conf": "password " + e.Secrets.MariaDBRoot + "\n",
			"/etc/plain.conf": "user " + e.Secrets.AppUser + "\n",
		}}, nil
	}}
	c, err := docker.ExportCompose(t.Context(), "sec", []stack.Service{leaky}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Private["files/leaky/etc/leaky.conf"] || c.Private["files/leaky/etc/plain.conf"] {
		t.Fatalf("private = %v, want the file with the password only", c.Private)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := c.Write(dir, false); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		docker.ComposeFile:           0o600,
		"files/leaky/etc/leaky.conf": 0o600,
		"files/leaky/etc/plain.conf": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}
