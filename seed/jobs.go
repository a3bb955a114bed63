package seed

import (
	"encoding/hex"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// Write-behind on the platform: the app SETs a card's counters in Redis
// first and queues a Celery task that writes them to PostgreSQL after a
// delay. The seeded snapshot is taken at rest (PostgreSQL, Redis and MongoDB
// agree), with one flush per hot card still queued in RabbitMQ, as a worker
// that was behind would find it.
//
// The task writes the absolute counter it carries (kwargs unique_view_count,
// equal to the card's row and cache entry), not row + delta: a flush that is
// retried, duplicated or reordered then cannot corrupt the count, which is
// how the platform's queue pipelines kept concurrent writers consistent. So
// consuming the seeded jobs leaves every store as seeded. The delta (views
// counted in Redis since the previous flush) is carried for logs and metrics.

// Names of the write-behind task and where its messages go. A Celery worker
// routing the task to its own queue declares a direct exchange and a queue
// of the same name, bound with that name as routing key.
const (
	FlushTask       = "mossi.tasks.flush_view_count"
	WriteBehindName = "writebehind" // exchange, routing key and queue
)

// Job is one Celery task message in message protocol v2, ready to publish
// over AMQP as-is: Headers go to the message's header table (the values are
// AMQP-table types: string, int64, bool, nil, []any), Body is the payload,
// and the remaining fields are the publishing's properties.
//
// Protocol v2 headers (Celery docs, "Message Protocol", version 2):
//
//	lang          "py": the language the task is implemented in
//	task          the task name, FlushTask
//	id            the task id, a UUID (here derived from the seed)
//	shadow        alternative name for logs; nil
//	eta           ISO 8601 time before which the task must not run (UTC);
//	              in the dataset's 2016 past, so a worker runs it at once
//	expires       ISO 8601 expiry; nil, because any 2016 expiry would make a
//	              worker revoke every seeded job unrun
//	group         group id for tasks in a group; nil
//	group_index   position in the group; nil
//	retries       times retried so far; 0
//	timelimit     [soft, hard] seconds; [nil, nil] for the worker defaults
//	root_id       id of the first task of the workflow; the task itself
//	parent_id     id of the task that called this one; nil
//	argsrepr      Python repr of args, for logs and monitors
//	kwargsrepr    Python repr of kwargs
//	origin        "gen<pid>@<hostname>" of the producer
//	ignore_result whether to skip storing the result; false
//
// The body is the JSON array [args, kwargs, embed] with embed
// {"callbacks": null, "errbacks": null, "chain": null, "chord": null},
// written exactly as Python's json.dumps writes it. Properties:
// content_type application/json, content_encoding utf-8, correlation_id the
// task id, delivery_mode 2 (persistent), priority 0.
type Job struct {
	TaskID          string
	CardID          int64
	Delta           int64 // views counted in Redis since the previous flush
	UniqueViewCount int64 // the absolute value the task writes
	ETA             time.Time

	Exchange, RoutingKey, Queue  string
	ContentType, ContentEncoding string
	CorrelationID                string
	DeliveryMode, Priority       uint8
	Headers                      map[string]any
	Body                         []byte
}

// WriteBehindJobs yields one flush job per hot card, in HotCards order.
func (d *Dataset) WriteBehindJobs() iter.Seq[Job] {
	return func(yield func(Job) bool) {
		for c := range d.HotCards() {
			if !yield(d.job(c)) {
				return
			}
		}
	}
}

func (d *Dataset) job(c Card) Job {
	r := newRNG(d.keys[streamJob], uint64(c.ID))
	id := uuid4(&r)
	delta := min(c.UniqueViewCount, 1+r.intn(20))
	eta := end.Add(time.Duration(5+r.intn(55)) * time.Second)
	origin := fmt.Sprintf("gen%d@mossi-api-%02d", 1000+r.intn(30000), 1+r.intn(8))
	return NewJob(id, c.ID, delta, c.UniqueViewCount, eta, origin)
}

// NewJob is the flush job for card: the write-behind task writing the
// absolute count uniqueViewCount (delta is for logs), task id taskID (a
// UUID), not to run before eta, published by origin ("gen<pid>@<host>").
// The seed's jobs and the traffic workload's are made here, so both are
// the same Celery message.
func NewJob(taskID string, card, delta, uniqueViewCount int64, eta time.Time, origin string) Job {
	id := taskID
	args := "[" + strconv.FormatInt(card, 10) + ", " + strconv.FormatInt(delta, 10) + "]"
	uvc := strconv.FormatInt(uniqueViewCount, 10)
	body := "[" + args + `, {"unique_view_count": ` + uvc +
		`}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`

	return Job{
		TaskID:          id,
		CardID:          card,
		Delta:           delta,
		UniqueViewCount: uniqueViewCount,
		ETA:             eta,
		Exchange:        WriteBehindName,
		RoutingKey:      WriteBehindName,
		Queue:           WriteBehindName,
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		CorrelationID:   id,
		DeliveryMode:    2,
		Headers: map[string]any{
			"lang":          "py",
			"task":          FlushTask,
			"id":            id,
			"shadow":        nil,
			"eta":           eta.UTC().Format("2006-01-02T15:04:05+00:00"),
			"expires":       nil,
			"group":         nil,
			"group_index":   nil,
			"retries":       int64(0),
			"timelimit":     []any{nil, nil},
			"root_id":       id,
			"parent_id":     nil,
			"argsrepr":      "(" + strconv.FormatInt(card, 10) + ", " + strconv.FormatInt(delta, 10) + ")",
			"kwargsrepr":    "{'unique_view_count': " + uvc + "}",
			"origin":        origin,
			"ignore_result": false,
		},
		Body: []byte(body),
	}
}

// uuid4 formats 16 random bytes as a version-4 UUID, as Celery's ids are.
func uuid4(r *rng) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		x := r.u64()
		for k := range 8 {
			b[i+k] = byte(x >> (8 * k))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
