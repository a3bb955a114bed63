// Package load writes a generated Mossi dataset (package seed) into every
// store of a running platform, each through its bulk path, all stores
// concurrently, each streaming from the generator in constant memory:
//
//	PostgreSQL     pgx CopyFrom through PgBouncer, one transaction; then
//	               VACUUM ANALYZE, a template database for reset, pg_prewarm
//	MariaDB        LOAD DATA LOCAL INFILE from a reader, unique key built after
//	MongoDB        unordered InsertMany batches from several workers
//	Elasticsearch  go-elasticsearch's BulkIndexer (_bulk)
//	S3             parallel PutObject, images generated in the workers
//	Redis          pipelined SETs per shard, placed by seed/shard.Index
//	RabbitMQ       Celery protocol-v2 messages with publisher confirms
//
// The PostgreSQL schema is managed by versioned, embedded migrations
// (Migrate, schema_version).
//
// Idempotence and interruption are decided from the stores themselves:
// each keeps a marker (Marker) saying which dataset it holds and whether
// loading finished, written "loading" before the store is touched and
// "complete" last. Seed keeps the stores whose marker matches and cleans
// and reloads the others; Reset returns each store to the last complete
// seed as cheaply as it can (see Reset).
//
// Writers take addresses (Targets), never a stack, so they load either
// backend; TargetsFor reads them from a stack's Env.
package load
