// Package seed generates the Mossi dataset that mossdev loads into every
// store: members, cards, hashtags, view logs, hot-card cache entries,
// write-behind jobs and card images, all mutually consistent.
//
// A dataset is defined by Params (a seed and a size); the same Params give
// byte-identical data on every run, whatever GOMAXPROCS, map iteration order
// or how much of a stream a consumer reads. Every entity is derived from the
// seed and its index alone (each field group draws from its own PCG stream
// keyed by seed, stream and index), so there is no generation order: card 500
// is the same whether it is generated alone, in a full pass or by a writer
// working on ids 400-600 in parallel with others. That is also what keeps
// memory constant at any scale: nothing is held but the one-pass aggregates
// that need it, and those say what they hold (hashtag card counts: one
// counter per used tag; hot cards: their ids).
//
// One id space everywhere: ids are sequential int64 from 1. A card's id, its
// author's id and its hashtags' ids are the same numbers in PostgreSQL,
// MariaDB, MongoDB, Redis, Elasticsearch and the S3 keys, and creation
// times are non-decreasing in id, as with a sequence-backed table.
//
// What makes the data realistic: Korean late-night card texts composed from
// whole sentences of one mood; anonymous nicknames; hashtags in Korean,
// Latin (case variants are distinct tags) and emoji (4-byte UTF-8, which is
// why MariaDB needs utf8mb4) drawn with Zipf popularity from a corpus six
// times the card count (6 M tags at prod); posting times that grow over
// 2014-11..2016-02 and peak around midnight KST; locations on 60% of cards,
// clustered around busy districts of Korean cities; view counts that are
// log-normal with a viral Pareto tail, and view logs whose distinct viewers
// are exactly the stored unique view count.
//
// Determinism has two limits. Float maths (Zipf, gaussians, logs) may round
// differently on another GOARCH, and image/png's deflate output may change
// with a Go release; either can change some bytes, so compare data made by
// the same build. GeneratorVersion must be bumped whenever the output
// changes on purpose; a pinned digest in the tests catches changes that were
// not on purpose.
package seed
