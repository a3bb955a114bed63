// Package elasticsearch is mossdev's stand-in for Elasticsearch: an
// emulator of the Elasticsearch 8 REST API on bleve indices, for machines
// where Elasticsearch itself cannot be installed.
//
// It speaks enough of the API for the official go-elasticsearch v8 client
// (esapi and the typed client) to create indices with mappings, index and
// bulk-load documents, and run the searches mossdev's platform uses: match,
// match_phrase, term(s), range, bool, exists, geo_distance with geo sort,
// terms aggregations, paging and sorting. Korean, Chinese and Japanese text
// is analyzed like ES's cjk analyzer (overlapping bigrams, Hangul included).
//
// Anything outside that subset is answered with an Elasticsearch-shaped
// error whose reason says it "is not supported by the mossdev Elasticsearch
// emulator", never with a quietly different answer. Scores use bleve's BM25
// and are close to, not equal to, Elasticsearch's.
//
// As Elasticsearch 8 with security on, the served emulator (Run) answers
// only requests authenticated as the elastic user with HTTP basic auth;
// the rest get 401 and a security_exception. Users, roles and API keys are
// not emulated.
//
// Indices persist under the data directory: one scorch index per ES index
// plus a meta.json holding its mapping and settings.
//
// The snapshot API (/_snapshot: fs repositories under path.repo, create,
// get, delete, restore) works as in Elasticsearch 8, so mossdev's
// checkpoints use one client path on both; a snapshot hard-links the
// immutable segment files, so taking and restoring one costs milliseconds
// (see snapshot.go). POST /_mossdev/pause?expires=30s and /_mossdev/resume
// hold writes back while a whole-stack checkpoint is taken.
package elasticsearch
