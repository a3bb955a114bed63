// Package traffic is a workload in the shape of the Mossi app, run over a
// seeded stack through the paths the app uses: cards read cache-aside from
// the Redis shard the sharding function names (a miss goes to PostgreSQL
// through PgBouncer and fills the cache with a TTL), views appended to the
// MongoDB view log with new viewers counted in Redis first and flushed to
// PostgreSQL later by Celery jobs on the RabbitMQ cluster (write-behind),
// cards posted to PostgreSQL, MariaDB, Elasticsearch and S3, hashtag, text
// and geo searches, and card images fetched through the CDN. The app itself
// stays out of scope; this is its load, for demos, load and failure tests.
//
// A run is deterministic in what it does: operation i (its flow, card, user,
// hashtags, query) depends only on the seed and i, drawn with Zipf
// popularity over the seeded cards and tags, so two runs of the same seed
// and count ask the same questions. Their order, and so their timings, are
// the machine's.
//
// The write-behind worker (Worker) consumes the flush jobs through HAProxy
// the way a Celery worker does, acknowledging each after its PostgreSQL
// commit, so the stack works with a real Celery worker too: the jobs are
// the seed's Celery protocol-v2 messages (seed.NewJob).
//
// Check, after a run and once the queue drained, proves the run left the
// stores agreeing: every view is in the log, each viewed card's distinct
// viewers equal its PostgreSQL count, which equals what its flush jobs
// carried and what Redis holds, and every posted card is in every store.
//
// Faults are a mode, not a crash: a Redis shard that does not answer is
// marked down for a moment, reads of its keys fall back to PostgreSQL and
// are counted as fallbacks, and new viewers of its cards are counted in
// PostgreSQL directly; any other failing store shows as errors of the flows
// that use it.
package traffic
