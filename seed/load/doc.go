// Package load writes a generated Mossi dataset (package seed) into every
// store of a running platform, each through its bulk path, all stores
// concurrently, each streaming from the generator in constant memory:
//
//	PostgreSQL     pgx CopyFrom through PgBouncer, one transaction (foreign
//	               keys dropped and re-added inside it); VACUUM ANALYZE; a
//	               template database of the seeded state; pg_prewarm
//	MariaDB        LOAD DATA LOCAL INFILE from a reader into a side table,
//	               unique key built after, swapped in with one RENAME
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
// each keeps a Marker saying which dataset it holds and whether loading
// finished, written "loading" before the store is touched and "complete"
// last (PostgreSQL's in the same transaction as its rows). Seed keeps the
// stores whose marker matches and cleans and reloads the others, so a
// repeated seed is a no-op and an interrupted one is finished by the next.
// A PostgreSQL advisory lock keeps two seeds or resets off one stack.
//
// Returning to the seeded state (mossdev reset) is package
// seed/checkpoint's: the seed's checkpoint, restored store by store.
//
// Writers take addresses (Targets), never a stack, so they load either
// backend; TargetsFor reads them from a stack's Env. Raw measures each
// store's bulk path alone, for `mossdev bench seed`.
package load
