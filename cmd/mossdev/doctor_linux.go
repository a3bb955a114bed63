//go:build linux

package main

import (
	"os"
	"os/user"
	"strings"

	"github.com/mossdev/mossdev/stack/native"
)

var thisOS = osFacts{name: "Linux", native: func() []check { return linuxNative(osRelease()) }}

// binaries the native backend runs, with the Debian package providing each.
var binaries = []struct{ bin, pkg string }{
	{"initdb", "postgresql"}, {"postgres", "postgresql"}, {"pgbouncer", "pgbouncer"},
	{"mariadbd", "mariadb-server"}, {"mariadb-install-db", "mariadb-server"},
	{"redis-server", "redis-server"}, {"/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"},
	{"/usr/lib/rabbitmq/bin/rabbitmqctl", "rabbitmq-server"}, {"haproxy", "haproxy"},
}

// osRelease is /etc/os-release (or its fallback), "" when neither exists.
func osRelease() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	return ""
}

// packager names this distribution's package manager from os-release's ID
// and ID_LIKE, and whether it is Debian's (whose packages the native
// backend runs, at the paths Debian installs them).
func packager(osRelease string) (pm string, debian bool) {
	var ids []string
	for _, line := range strings.Split(osRelease, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && (k == "ID" || k == "ID_LIKE") {
			ids = append(ids, strings.Fields(strings.Trim(v, `"'`))...)
		}
	}
	for _, id := range ids {
		switch id {
		case "debian", "ubuntu":
			return "apt-get", true
		}
	}
	for _, id := range ids {
		switch id {
		case "fedora", "rhel", "centos":
			return "dnf", false
		case "arch":
			return "pacman", false
		case "alpine":
			return "apk", false
		case "suse", "opensuse":
			return "zypper", false
		}
	}
	return "", false
}

func linuxNative(osRelease string) []check {
	pm, debian := packager(osRelease)
	var out []check
	var missing []string
	for _, b := range binaries {
		p, err := native.Look(b.bin)
		c := check{Name: "binary " + b.bin, OK: err == nil, Info: p}
		if err != nil {
			c.Info = "not found"
			if debian {
				c.Fix = "apt-get install " + b.pkg
			}
			missing = append(missing, b.pkg)
		}
		out = append(out, c)
	}
	if len(missing) > 0 {
		c := check{Name: "native servers", OK: false, Info: "missing packages: " + strings.Join(uniq(missing), " ")}
		switch {
		case debian:
			c.Fix = "sudo scripts/install-native.sh   (or: sudo apt-get install -y " + strings.Join(uniq(missing), " ") + ")"
		case pm != "":
			c.Info = "missing servers (Debian's package names): " + strings.Join(uniq(missing), " ")
			c.Fix = "install PostgreSQL, PgBouncer, MariaDB, Redis, RabbitMQ and HAProxy with " + pm +
				" (scripts/install-native.sh names the packages; the native backend is tested with Debian's), or use --backend docker"
		default:
			c.Info = "missing servers (Debian's package names): " + strings.Join(uniq(missing), " ")
			c.Fix = "use --backend docker (the native backend runs Debian's server packages)"
		}
		out = append(out, c)
	}
	if os.Geteuid() == 0 {
		_, err := user.Lookup(native.RunUser)
		c := check{Name: "server user", OK: err == nil, Info: "servers run as " + native.RunUser + " when mossdev runs as root"}
		if err != nil {
			c.Fix = "scripts/install-native.sh (or: useradd --system --no-create-home " + native.RunUser + ")"
		}
		out = append(out, c)
	}
	return out
}
