package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// During traffic started from the UI (t), the architecture view shows a
// non-zero rate on every arrow; t again stops it and the arrows go back to
// stored counts. Like TestUIEndToEndInTmux it brings up a stack of its own
// (seeded), or uses MOSSDEV_E2E_STACK.
func TestTrafficRatesOnEveryArrowInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: needs a running stack")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("MOSSDEV_REQUIRE_STACK") == "1" || os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (scripts/install-native.sh installs it)")
		}
		t.Skip("tmux is not installed")
	}
	e := &e2e{t: t, bin: filepath.Join(t.TempDir(), "mossdev"), socket: fmt.Sprintf("mossdev-e2e-tr-%d", os.Getpid())}
	if out, err := exec.Command("go", "build", "-o", e.bin, "github.com/mossdev/mossdev/cmd/mossdev").CombinedOutput(); err != nil {
		t.Fatalf("build mossdev: %v\n%s", err, out)
	}
	e.stack = os.Getenv("MOSSDEV_E2E_STACK")
	if e.stack == "" {
		e.stack = fmt.Sprintf("tui-tr-%d", os.Getpid()%100000)
		t.Cleanup(func() { e.run("down") })
		if out, err := e.run("up", "--no-tui", "--backend", "native", "--scale", "small", "--rabbitmq-nodes", "1"); err != nil {
			t.Fatalf("mossdev up: %v\n%s", err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", e.socket, "kill-server").Run() })
	cmd := fmt.Sprintf("%s ui --name %s; echo UI-EXITED $?; sleep 600", e.bin, e.stack)
	tm := exec.Command("tmux", "-L", e.socket, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80", "-y", "24", cmd)
	if out, err := tm.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	e.waitScreen(10*time.Second, "the UI", func(s string) bool { return strings.Contains(s, "Architecture") })
	e.keys("2", "t")
	rate := `[1-9][0-9.]*k?/s`
	arrows := map[string]*regexp.Regexp{
		"app → PgBouncer":            regexp.MustCompile(`app │─ ` + rate + ` queries`),
		"app → Redis shards":         regexp.MustCompile(`crc32\(key\) % \d+ · ` + rate),
		"Redis → HAProxy (jobs)":     regexp.MustCompile(`Redis │─ ` + rate),
		"RabbitMQ → PostgreSQL":      regexp.MustCompile(`workers write · ` + rate),
		"app → MongoDB":              regexp.MustCompile(`view logs · ` + rate),
		"app → MariaDB":              regexp.MustCompile(`hashtag search · ` + rate),
		"app → Elasticsearch":        regexp.MustCompile(`search & geo · ` + rate),
		"app → S3":                   regexp.MustCompile(`images · ` + rate + ` puts`),
		"S3 → CDN (fetches, hits %)": regexp.MustCompile(`S3 │─ ` + rate + ` · \d+% hits`),
	}
	scr, took := e.waitScreen(20*time.Second, "a non-zero rate on every arrow", func(s string) bool {
		for _, re := range arrows {
			if !re.MatchString(s) {
				return false
			}
		}
		return true
	})
	t.Logf("every arrow shows a rate %.1fs after t:\n%s", took.Seconds(), scr)
	e.keys("t")
	e.waitScreen(10*time.Second, "the arrows back to counts", func(s string) bool {
		return strings.Contains(s, "traffic stopped") && !strings.Contains(s, "/s queries")
	})
	e.keys("q")
	e.waitScreen(5*time.Second, "the UI to exit", func(s string) bool { return strings.Contains(s, "UI-EXITED 0") })
	if out, err := e.run("reset"); err != nil { // leave the stack as seeded
		t.Errorf("reset after traffic: %v\n%s", err, out)
	}
}
