// Package checkpoint saves and restores every store of a running stack as
// one consistent state, keeps the seeded state for reset, and keeps the
// slowest stores' seeded state in a machine-wide cache.
//
// A checkpoint is taken at one cut: every store's writers are held first
// (PgBouncer pauses the app database's pool, MariaDB's tables are locked
// for writes, Redis shards pause writes, the S3 fake and the Elasticsearch
// emulator pause theirs), then each store copies its state while all are
// held, then the holds are released. Each store keeps its share where it
// is cheapest to copy back from:
//
//	postgres       a template database in the server; restored by renaming
//	               in a copy (made ahead of time by Prepare, so a restore is
//	               a rename)
//	mongodb        FerretDB's storage database, the same way; a real
//	               MongoDB copies its collections into a database of the
//	               server and renames them back
//	mariadb        table copies in a database of the server; tables whose
//	               CHECKSUM TABLE did not change are not copied back
//	redis          DUMP of every key in files; RESTOREd in one MULTI/EXEC
//	rabbitmq       each queue's messages copied out and republished
//	elasticsearch  the snapshot API (the emulator hard-links segments)
//	s3             the fake's store, restored by rewriting changed keys
//
// Crash safety: a checkpoint exists once its manifest is written (last);
// the stores' shares carry a generation, so saving over a name replaces it
// only when complete, and shares no manifest names are collected. A
// restore writes a journal first, and the next operation finishes a
// killed one. Holds expire or end with their session, except PgBouncer's
// pause: Options.Guard (a watchdog process in the CLI) and the start of
// every operation lift it.
//
// Seed wraps load.Seed: it takes the slow stores' dataset from the seed
// cache where it can, loads the rest, saves checkpoint "seed" and fills
// the cache. Reset restores checkpoint "seed".
package checkpoint
