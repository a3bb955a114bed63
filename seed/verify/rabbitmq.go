package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mossdev/mossdev/seed"
	amqp "github.com/rabbitmq/amqp091-go"
)

// checkRabbit reads every message of the write-behind queue without
// acknowledging it (closing the channel puts them all back) and checks
// each is a Celery protocol-v2 flush job for a hot card carrying the row's
// unique_view_count. A seeded job no longer queued was consumed by a
// worker (mossdev's or a real Celery one; a purge looks the same): it is
// reported as consumed, and the row must hold the count it carried, which
// is what running it writes.
func checkRabbit(ctx context.Context, e *env, r *recorder) error {
	conn, err := connectPG(ctx, e.t.Postgres)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	hot, err := hotCards(ctx, conn, e.ds.Counts().HotCards)
	if err != nil {
		return err
	}
	want := map[int64]int64{} // hot card -> unique_view_count
	rows, err := conn.Query(ctx, "SELECT id, unique_view_count FROM cards WHERE id = ANY($1)", hot)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		want[id] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}

	ac, err := amqp.Dial(e.t.AMQP)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer ac.Close()
	ch, err := ac.Channel()
	if err != nil {
		return err
	}
	defer ch.Close() // requeues every unacknowledged message
	q, err := ch.QueueDeclarePassive(seed.WriteBehindName, true, false, false, false, nil)
	if err != nil {
		r.mismatch("queue %s: %v", seed.WriteBehindName, err)
		return nil
	}
	deliveries, err := ch.ConsumeWithContext(ctx, seed.WriteBehindName, "mossdev-verify", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	seenCard := map[int64]bool{}
	queued := map[string]bool{} // task ids
	for range q.Messages {
		var d amqp.Delivery
		select {
		case d = <-deliveries:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("queue %s: only part of its %d messages arrived", seed.WriteBehindName, q.Messages)
		case <-ctx.Done():
			return ctx.Err()
		}
		r.checked(1)
		if id, _ := d.Headers["id"].(string); id != "" {
			queued[id] = true
		}
		card, problem := checkJob(d, want)
		if card != 0 && seenCard[card] {
			r.mismatch("card %d: more than one flush job", card)
		}
		if card != 0 {
			seenCard[card] = true
		}
		if problem != "" {
			r.mismatch("%s", problem)
		}
	}
	var consumed int64
	for j := range e.ds.WriteBehindJobs() {
		if queued[j.TaskID] {
			continue
		}
		consumed++
		r.checked(1)
		seenCard[j.CardID] = true
		if got, ok := want[j.CardID]; ok && got != j.UniqueViewCount {
			r.mismatch("card %d: its flush job (task %s) was consumed, but PostgreSQL has unique_view_count %d, the job carried %d",
				j.CardID, j.TaskID, got, j.UniqueViewCount)
		}
	}
	if consumed > 0 {
		r.note("%d of %d seeded flush jobs consumed by a worker; PostgreSQL checked for what they carried", consumed, e.ds.Counts().Jobs)
	}
	for id := range want {
		if !seenCard[id] {
			r.mismatch("card %d: hot, but no flush job queued or consumed", id)
		}
	}
	return nil
}

// checkJob validates one message; it returns the card and a problem ("" if none).
func checkJob(d amqp.Delivery, want map[int64]int64) (int64, string) {
	id, _ := d.Headers["id"].(string)
	if task, _ := d.Headers["task"].(string); task != seed.FlushTask {
		return 0, fmt.Sprintf("message %s: task %q, want %s", id, task, seed.FlushTask)
	}
	if d.ContentType != "application/json" || d.ContentEncoding != "utf-8" || d.DeliveryMode != amqp.Persistent || d.CorrelationId != id || id == "" {
		return 0, fmt.Sprintf("message %s: properties are not Celery's (content_type %q, encoding %q, delivery_mode %d, correlation_id %q)",
			id, d.ContentType, d.ContentEncoding, d.DeliveryMode, d.CorrelationId)
	}
	var body [3]json.RawMessage
	var args []int64
	var kwargs struct {
		UniqueViewCount *int64 `json:"unique_view_count"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil || json.Unmarshal(body[0], &args) != nil ||
		json.Unmarshal(body[1], &kwargs) != nil || len(args) != 2 || kwargs.UniqueViewCount == nil {
		return 0, fmt.Sprintf("message %s: body is not [[card, delta], {\"unique_view_count\": n}, embed]: %s", id, trunc(d.Body))
	}
	card := args[0]
	n, hot := want[card]
	switch {
	case !hot:
		return card, fmt.Sprintf("message %s: card %d is not a hot card", id, card)
	case *kwargs.UniqueViewCount != n:
		return card, fmt.Sprintf("card %d: flush job carries unique_view_count %d, PostgreSQL has %d", card, *kwargs.UniqueViewCount, n)
	}
	return card, ""
}
