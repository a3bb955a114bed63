package docker_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/docker"
	"github.com/mossdev/mossdev/stack/services"
)

// The exported compose project is the stack the docker backend runs: the
// same images and host ports (on 127.0.0.1 only), healthchecks every
// second, dependencies on health, and mossdev's host processes left out.
func TestExportComposeIsTheSameStack(t *testing.T) {
	svcs := services.Platform(light, "docker")
	env := &stack.Runtime{Stack: "exp", Backend: "docker", Options: light, Ports: map[string]map[string]int{},
		Secrets: stack.Secrets{AppUser: "mossi", AppPassword: "app$pw", MariaDBPassword: "app$pw", RabbitPassword: "app$pw", PostgresPassword: "pg", RedisPassword: "rd", ErlangCookie: "C"}}
	port := 21000
	for _, s := range svcs {
		env.Ports[s.Name] = map[string]int{}
		for _, n := range s.Ports {
			env.Ports[s.Name][n] = port
			port++
		}
	}
	c, err := docker.ExportCompose(t.Context(), "exp", svcs, env)
	if err != nil {
		t.Fatal(err)
	}
	y := string(c.Files[docker.ComposeFile])
	if strings.Join(c.Skipped, ",") != "s3,cdn" {
		t.Errorf("skipped %v, want the host-run s3,cdn", c.Skipped)
	}
	for _, s := range svcs {
		spec, _ := s.Docker(env)
		if spec.Host {
			if strings.Contains(y, "\n  "+s.Name+":\n") {
				t.Errorf("%s runs on the host but is in the compose file", s.Name)
			}
			continue
		}
		if !strings.Contains(y, "\n  "+s.Name+":\n    image: \""+spec.Image+"\"") {
			t.Errorf("%s with image %s missing from the compose file", s.Name, spec.Image)
		}
		p := env.Port(s.Name, s.Ports[0])
		if !strings.Contains(y, "\"127.0.0.1:") || !strings.Contains(y, ":"+strconv.Itoa(p)+":") {
			t.Errorf("%s: host port %d not published on 127.0.0.1", s.Name, p)
		}
	}
	for _, want := range []string{
		"interval: 1s",
		"pgbouncer:\n    image:",
		"      postgres:\n        condition: service_healthy",
		`"app$$pw"`, // compose would interpolate a bare $
	} {
		if !strings.Contains(y, want) {
			t.Errorf("compose file lacks %q", want)
		}
	}
	if strings.Contains(y, "0.0.0.0:") {
		t.Error("a port is published on every interface")
	}
	if conf := string(c.Files["files/rabbitmq-1/etc/rabbitmq/conf.d/90-mossdev-cluster.conf"]); !strings.Contains(conf, "classic_config.nodes.1 = rabbit@rabbitmq-1") {
		t.Errorf("rabbitmq-1 cluster config: %q", conf)
	}
	if ini := string(c.Files["files/pgbouncer/etc/pgbouncer/pgbouncer.ini"]); !strings.Contains(ini, "host=postgres port=5432") {
		t.Errorf("pgbouncer does not reach postgres by its alias: %q", ini)
	}
}
