package traffic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/seed/load"
	amqp "github.com/rabbitmq/amqp091-go"
)

// publisher sends flush jobs through HAProxy on one confirm-mode channel,
// reconnecting on the next publish after the connection broke (a node or
// HAProxy restarted): a job counts as published only once the broker
// confirmed it, as Celery's publisher confirms do.
type publisher struct {
	url    string
	origin string
	mu     sync.Mutex
	conn   *amqp.Connection
	ch     *amqp.Channel
}

func newPublisher(url string) (*publisher, error) {
	host, _ := os.Hostname()
	p := &publisher{url: url, origin: fmt.Sprintf("gen%d@%s", os.Getpid(), host)}
	if _, err := p.channel(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *publisher) channel() (*amqp.Channel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil && !p.ch.IsClosed() {
		return p.ch, nil
	}
	if p.conn != nil {
		_ = p.conn.Close()
	}
	conn, err := amqp.Dial(p.url)
	if err != nil {
		return nil, fmt.Errorf("connect to rabbitmq through haproxy: %w", err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err == nil {
		err = load.DeclareWriteBehind(ch)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open publishing channel: %w", err)
	}
	p.conn, p.ch = conn, ch
	return ch, nil
}

// publish sends j and waits for the broker's confirm.
func (p *publisher) publish(ctx context.Context, j seed.Job) error {
	ch, err := p.channel()
	if err != nil {
		return err
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, j.Exchange, j.RoutingKey, false, false, load.Publishing(j))
	if err != nil {
		return fmt.Errorf("publish flush job: %w", err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("publish flush job: wait for confirm: %w", err)
	}
	if !ok {
		return errors.New("publish flush job: the broker nacked it")
	}
	return nil
}

// job is the flush job of one new viewer: delta 1, the absolute count,
// due now, with a random task id as Celery's are (ids are the one thing
// of a run that is not derived from its seed: a rerun publishes new tasks).
func (p *publisher) job(card, uniqueViewCount int64) seed.Job {
	return seed.NewJob(newTaskID(), card, 1, uniqueViewCount, time.Now().UTC().Truncate(time.Second), p.origin)
}

func (p *publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		_ = p.conn.Close()
	}
}

// newTaskID is a version-4 UUID, formatted as Python's uuid4() prints it.
func newTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
