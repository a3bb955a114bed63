package redis_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/redis"
	"github.com/mossdev/mossdev/stack/stacktest"
)

func TestMain(m *testing.M) {
	stacktest.Main(m, stacktest.WithOnly(redis.ShardName(0)),
		stacktest.WithOptions(stack.Options{RedisShards: 1, RabbitNodes: 1}))
}

// The URL a shard exports works with Debian's redis-cli, which refuses an
// empty user ("redis://:PASSWORD@" sends AUTH "" PASSWORD).
func TestShardURLWorksWithRedisCLI(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		if stacktest.Required() {
			t.Fatal("redis-cli is not installed")
		}
		t.Skip("redis-cli is not installed (apt-get install redis-tools)")
	}
	url := stacktest.URL(t, redis.ShardName(0))
	if !strings.HasPrefix(url, "redis://default:") {
		t.Errorf("shard URL %q does not name the user", url)
	}
	out, err := exec.CommandContext(t.Context(), cli, "-u", url, "--no-auth-warning", "PING").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "PONG" {
		t.Errorf("redis-cli -u %s PING: %v: %s", url, err, out)
	}
}
