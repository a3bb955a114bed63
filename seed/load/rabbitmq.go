package load

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/mossdev/mossdev/seed"
	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitMarkerQueue holds one message: the seed marker. A broker has no
// other place for metadata that a Celery worker would not trip over.
const RabbitMarkerQueue = "mossdev.seed"

// confirmWindow is how many publishes may await their confirm at once:
// one at a time was measured at 1.6 k msg/s, 1,000 in flight at 26 k.
const confirmWindow = 1000

type rabbitStore struct {
	conn *amqp.Connection
}

func newRabbit(_ context.Context, t Targets) (*rabbitStore, error) {
	conn, err := amqp.Dial(t.AMQP)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &rabbitStore{conn: conn}, nil
}

func (s *rabbitStore) name() string { return RabbitMQ }
func (s *rabbitStore) close()       { _ = s.conn.Close() }

// DeclareWriteBehind declares what a Celery worker routing the flush task
// to its own queue declares (kombu's defaults for a named queue): a durable
// direct exchange and a durable classic queue of the same name, bound with
// that name. Declaring it identically means a worker's own declaration
// succeeds instead of failing with PRECONDITION_FAILED.
func DeclareWriteBehind(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(seed.WriteBehindName, "direct", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", seed.WriteBehindName, err)
	}
	if _, err := ch.QueueDeclare(seed.WriteBehindName, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", seed.WriteBehindName, err)
	}
	if err := ch.QueueBind(seed.WriteBehindName, seed.WriteBehindName, seed.WriteBehindName, false, nil); err != nil {
		return fmt.Errorf("bind queue %s: %w", seed.WriteBehindName, err)
	}
	return nil
}

// marker reads the marker message without consuming it. The queue's depth
// is not compared with the jobs published: workers consuming them is the
// queue's purpose, not a change to the seeded state (the jobs carry the
// counts the rows already hold, and verify checks that); reset publishes
// them again.
func (s *rabbitStore) marker(ctx context.Context) (Marker, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return Marker{}, err
	}
	defer ch.Close()
	// Declared as setMarker declares it (idempotent; empty when never
	// seeded) rather than passively: a passive declare of a missing queue
	// makes the broker log a channel error on every seed of a fresh stack.
	if _, err := ch.QueueDeclare(RabbitMarkerQueue, true, false, false, false, nil); err != nil {
		return Marker{}, fmt.Errorf("declare marker queue: %w", err)
	}
	msg, ok, err := ch.Get(RabbitMarkerQueue, false)
	if err != nil {
		return Marker{}, fmt.Errorf("read marker: %w", err)
	}
	if !ok {
		return Marker{}, nil
	}
	_ = msg.Nack(false, true)
	return parseMarker(msg.Body)
}

func (s *rabbitStore) setMarker(ch *amqp.Channel, m Marker) error {
	if _, err := ch.QueueDeclare(RabbitMarkerQueue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare marker queue: %w", err)
	}
	if _, err := ch.QueuePurge(RabbitMarkerQueue, false); err != nil {
		return fmt.Errorf("purge marker queue: %w", err)
	}
	dc, err := ch.PublishWithDeferredConfirm("", RabbitMarkerQueue, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: m.json()})
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if !dc.Wait() {
		return errors.New("write marker: broker nacked it")
	}
	return nil
}

func (s *rabbitStore) total(ds *seed.Dataset) int64 { return ds.Counts().Jobs }

// load purges the write-behind queue and publishes every job as a
// persistent Celery protocol-v2 message, with publisher confirms and up to
// confirmWindow unconfirmed at once.
func (s *rabbitStore) load(ctx context.Context, ds *seed.Dataset, _ Marker, m *meter) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable confirms: %w", err)
	}
	if err := s.setMarker(ch, newMarker(ds, false, 0)); err != nil {
		return err
	}
	if err := DeclareWriteBehind(ch); err != nil {
		return err
	}
	if _, err := ch.QueuePurge(seed.WriteBehindName, false); err != nil {
		return fmt.Errorf("purge %s: %w", seed.WriteBehindName, err)
	}
	jobs := func(yield func(outMsg) bool) {
		for j := range ds.WriteBehindJobs() {
			if !yield(outMsg{j.Exchange, j.RoutingKey, Publishing(j)}) {
				return
			}
		}
	}
	n, err := publishConfirmed(ctx, ch, jobs, m)
	if err != nil {
		return err
	}
	return s.setMarker(ch, newMarker(ds, true, n))
}

// outMsg is one message to publish and where.
type outMsg struct {
	exchange, key string
	msg           amqp.Publishing
}

// publishConfirmed is the seed's bulk path into the broker (raw.go
// measures it on a scratch queue): each message published on ch, which
// must be in confirm mode, with up to confirmWindow awaiting their
// confirm. It returns the messages confirmed.
func publishConfirmed(ctx context.Context, ch *amqp.Channel, msgs iter.Seq[outMsg], m *meter) (int64, error) {
	window := make([]*amqp.DeferredConfirmation, 0, confirmWindow)
	wait := func(dcs []*amqp.DeferredConfirmation) error {
		for _, dc := range dcs {
			ok, err := dc.WaitContext(ctx)
			if err != nil {
				return fmt.Errorf("wait for confirm: %w", err)
			}
			if !ok {
				return errors.New("publish job: broker nacked it")
			}
		}
		m.add(int64(len(dcs)))
		return nil
	}
	var n int64
	for o := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, o.exchange, o.key, false, false, o.msg)
		if err != nil {
			return n, fmt.Errorf("publish message %d: %w", n+1, err)
		}
		n++
		if window = append(window, dc); len(window) == confirmWindow {
			if err := wait(window[:confirmWindow/2]); err != nil {
				return n, err
			}
			window = append(window[:0], window[confirmWindow/2:]...)
		}
	}
	return n, wait(window)
}

// Publishing is job j as an AMQP message.
func Publishing(j seed.Job) amqp.Publishing {
	return amqp.Publishing{
		Headers:         amqp.Table(j.Headers),
		ContentType:     j.ContentType,
		ContentEncoding: j.ContentEncoding,
		CorrelationId:   j.CorrelationID,
		DeliveryMode:    j.DeliveryMode,
		Priority:        j.Priority,
		Body:            j.Body,
	}
}
