package rabbitmq_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/haproxy"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
	"github.com/mossdev/mossdev/stack/stacktest"
	amqp "github.com/rabbitmq/amqp091-go"
)

// One node behind HAProxy: what the counters read on any cluster size.
func TestMain(m *testing.M) {
	stacktest.Main(m, stacktest.WithOnly(haproxy.Name),
		stacktest.WithOptions(stack.Options{RedisShards: 1, RabbitNodes: 1}))
}

// Reading queue depths, the TUI's every 2 s, must leave the broker's log
// clean: a passive declare of a queue nobody has declared logs a channel
// exception (not_found) each time. The counters still tell an absent
// queue from a declared one, and its depth.
func TestQueueCountersLeaveTheBrokerLogClean(t *testing.T) {
	s := stacktest.Stack(t)
	node := rabbitmq.NodeName(1)
	queue := rabbitmq.Queues[0]
	depth := func(service string) (string, error) {
		cs, err := s.Counters(t.Context(), service)
		if err != nil {
			return "", err
		}
		for _, c := range cs {
			if c.Key == rabbitmq.QueueKey(queue) {
				return c.Value, nil
			}
		}
		return "", fmt.Errorf("no counter %s in %v", rabbitmq.QueueKey(queue), cs)
	}
	const reads = 10
	for range reads {
		for _, svc := range []string{haproxy.Name, node} {
			v, err := depth(svc)
			if err != nil {
				t.Fatalf("counters of %s: %v", svc, err)
			}
			if !strings.HasPrefix(v, "absent") {
				t.Fatalf("%s reports queue %s as %q before anyone declared it", svc, queue, v)
			}
		}
	}

	conn, err := amqp.Dial(stacktest.URL(t, haproxy.Name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.QueueDelete(queue, false, false, false) })
	for range 3 {
		if err := ch.PublishWithContext(t.Context(), "", queue, false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	// The broker publishes queue figures every statistics interval (5 s).
	stacktest.Eventually(t, 20*time.Second, func() error {
		for _, svc := range []string{haproxy.Name, node} {
			if v, err := depth(svc); err != nil || v != "3 ready, 0 consumers" {
				return fmt.Errorf("%s reports %q, %v; want 3 ready", svc, v, err)
			}
		}
		return nil
	})

	rc, err := s.Logs(t.Context(), node, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	log, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"not_found", "channel exception", "[error]"} {
		if strings.Contains(string(log), bad) {
			t.Errorf("after %d counter reads the broker logged %q:\n%s", 2*reads, bad, lastLines(string(log), 20))
		}
	}
}

func lastLines(s string, n int) string {
	lines, _ := stack.LastLines(strings.NewReader(s), n)
	return strings.Join(lines, "\n")
}
