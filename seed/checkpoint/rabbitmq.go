package checkpoint

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mossdev/mossdev/seed/load"
	"github.com/mossdev/mossdev/stack/services/rabbitmq"
)

// rabbitStore saves the broker's queues (from rabbitmqctl, where the node
// runs) and the messages in them, read with basic.get without acking and
// returned to their queues in their order when the channel closes; a
// restore declares each queue, purges it and publishes its messages again
// with confirms. A broker has no copy of its own to restore from without a
// restart of every node, which costs tens of seconds.
//
// Publishers cannot be held: a message published through HAProxy while
// the other stores are held is in the checkpoint or not, as it lands.
type rabbitStore struct {
	t    Target
	conn *amqp.Connection
}

func newRabbit(_ context.Context, t Target) (*rabbitStore, error) {
	conn, err := amqp.Dial(t.Targets.AMQP)
	if err != nil {
		return nil, err
	}
	return &rabbitStore{t: t, conn: conn}, nil
}

func (s *rabbitStore) name() string { return load.RabbitMQ }
func (s *rabbitStore) method() string {
	return "queues and their messages copied out (basic.get, requeued), purged and republished with confirms"
}
func (s *rabbitStore) close() { _ = s.conn.Close() }

func (s *rabbitStore) version(context.Context) (string, error) {
	v, _ := s.conn.Properties["version"].(string)
	if v == "" {
		return "", errors.New("the broker does not say its version")
	}
	return v, nil
}

// queue is one queue as saved.
type queue struct {
	Name       string         `json:"name"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"autoDelete"`
	Args       map[string]any `json:"arguments,omitempty"`
	Messages   int            `json:"messages"`
}

type rabbitInfo struct {
	Queues []queue `json:"queues"`
}

// message is one queued message as saved: its properties and body.
type message struct {
	Queue                                                                       string
	Headers                                                                     amqp.Table
	ContentType, ContentEncoding, CorrelationID, ReplyTo, Expiration, MessageID string
	Type, UserID, AppID                                                         string
	DeliveryMode, Priority                                                      uint8
	Timestamp                                                                   time.Time
	Body                                                                        []byte
}

func init() {
	// Header values travel as interface values.
	gob.Register(amqp.Table{})
	gob.Register([]any{})
	gob.Register(amqp.Decimal{})
	gob.Register(time.Time{})
}

// queues lists the vhost's queues a client can declare again (not the
// exclusive or server-named ones of live consumers).
func (s *rabbitStore) queues(ctx context.Context) ([]queue, error) {
	out, err := rabbitmq.Ctl(ctx, s.t.Env, 1, "list_queues", "-q", "--formatter", "json",
		"name", "durable", "auto_delete", "exclusive", "arguments", "messages")
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Name       string          `json:"name"`
		Durable    bool            `json:"durable"`
		AutoDelete bool            `json:"auto_delete"`
		Exclusive  bool            `json:"exclusive"`
		Arguments  json.RawMessage `json:"arguments"`
		Messages   int             `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &rows); err != nil {
		return nil, fmt.Errorf("read rabbitmqctl list_queues: %w", err)
	}
	var qs []queue
	for _, r := range rows {
		if r.Exclusive || strings.HasPrefix(r.Name, "amq.") {
			continue
		}
		qs = append(qs, queue{Name: r.Name, Durable: r.Durable, AutoDelete: r.AutoDelete, Args: queueArgs(r.Arguments), Messages: r.Messages})
	}
	return qs, nil
}

// queueArgs reads rabbitmqctl's rendering of queue arguments: an object,
// or (older versions) a list of [key, value] pairs.
func queueArgs(raw json.RawMessage) map[string]any {
	args := map[string]any{}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		for k, v := range obj {
			args[k] = argValue(v)
		}
		return args
	}
	var pairs [][]any
	if json.Unmarshal(raw, &pairs) == nil {
		for _, p := range pairs {
			if len(p) == 2 {
				if k, ok := p[0].(string); ok {
					args[k] = argValue(p[1])
				}
			}
		}
	}
	if len(args) == 0 {
		return nil
	}
	return args
}

// argValue makes a JSON number an AMQP integer where it is one.
func argValue(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}

func msgFile(dir string) string { return filepath.Join(dir, "rabbitmq.msgs") }

func (s *rabbitStore) hold(ctx context.Context, _, dir string) (func(context.Context) (Part, error), func(), error) {
	qs, err := s.queues(ctx)
	if err != nil {
		return nil, nil, err
	}
	save := func(ctx context.Context) (Part, error) {
		f, err := os.OpenFile(msgFile(dir), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return Part{}, err
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		enc := gob.NewEncoder(w)
		for i := range qs {
			n, err := s.copyQueue(qs[i].Name, enc)
			if err != nil {
				return Part{}, fmt.Errorf("queue %s: %w", qs[i].Name, err)
			}
			qs[i].Messages = n
		}
		if err := w.Flush(); err != nil {
			return Part{}, err
		}
		if err := f.Sync(); err != nil {
			return Part{}, err
		}
		fi, _ := f.Stat()
		info, _ := json.Marshal(rabbitInfo{Queues: qs})
		return Part{Bytes: fi.Size(), Info: info}, nil
	}
	return save, func() {}, nil
}

// copyQueue writes every message of queue q to enc and returns how many;
// closing the channel without acking returns them to the queue in order.
func (s *rabbitStore) copyQueue(q string, enc *gob.Encoder) (int, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	n := 0
	for {
		d, ok, err := ch.Get(q, false)
		if err != nil {
			return n, err
		}
		if !ok {
			return n, nil
		}
		m := message{Queue: q, Headers: d.Headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
			CorrelationID: d.CorrelationId, ReplyTo: d.ReplyTo, Expiration: d.Expiration, MessageID: d.MessageId,
			Type: d.Type, UserID: d.UserId, AppID: d.AppId, DeliveryMode: d.DeliveryMode, Priority: d.Priority,
			Timestamp: d.Timestamp, Body: d.Body}
		if err := enc.Encode(m); err != nil {
			return n, err
		}
		n++
	}
}

func (s *rabbitStore) restore(ctx context.Context, _, dir string, p Part, _ Options) (string, error) {
	var info rabbitInfo
	if err := json.Unmarshal(p.Info, &info); err != nil {
		return "", fmt.Errorf("read checkpoint info: %w", err)
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return "", err
	}
	defer func() { _ = ch.Close() }()
	for _, q := range info.Queues {
		if ch, err = s.declare(ch, q); err != nil {
			return "", fmt.Errorf("declare %s: %w", q.Name, err)
		}
		if _, err := ch.QueuePurge(q.Name, false); err != nil {
			return "", fmt.Errorf("purge %s: %w", q.Name, err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		return "", err
	}
	f, err := os.Open(msgFile(dir))
	if err != nil {
		return "", err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReader(f))
	var pending []*amqp.DeferredConfirmation
	n := 0
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("read %s: %w", f.Name(), err)
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", m.Queue, true, false, amqp.Publishing{
			Headers: m.Headers, ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
			DeliveryMode: m.DeliveryMode, Priority: m.Priority, CorrelationId: m.CorrelationID, ReplyTo: m.ReplyTo,
			Expiration: m.Expiration, MessageId: m.MessageID, Timestamp: m.Timestamp, Type: m.Type,
			UserId: m.UserID, AppId: m.AppID, Body: m.Body,
		})
		if err != nil {
			return "", fmt.Errorf("publish to %s: %w", m.Queue, err)
		}
		pending = append(pending, dc)
		n++
	}
	for _, dc := range pending {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errors.New("the broker refused a republished message (nack)")
		}
	}
	return fmt.Sprintf("republished %d messages to %d queues", n, len(info.Queues)), nil
}

// declare makes sure q exists as saved: a queue of the same name with
// other settings is deleted and declared again.
func (s *rabbitStore) declare(ch *amqp.Channel, q queue) (*amqp.Channel, error) {
	_, err := ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, false, false, amqp.Table(q.Args))
	if err == nil {
		return ch, nil
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return ch, err
	}
	// The failed declare closed the channel.
	if ch, err = s.conn.Channel(); err != nil {
		return nil, err
	}
	if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
		return ch, err
	}
	_, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, false, false, amqp.Table(q.Args))
	return ch, err
}

// Files only: they go with the checkpoint's directory.
func (s *rabbitStore) ids(context.Context) ([]string, error) { return nil, nil }
func (s *rabbitStore) remove(context.Context, string) error  { return nil }
