-- mossdev's seed manifest: one row per store saying which dataset
-- (fingerprint) it holds and whether loading it finished. The postgres row
-- is written in the same transaction as the data, so it is the database's
-- own marker; the other rows mirror the markers each store keeps itself,
-- for `mossdev seed` to report. Not part of the Mossi app's schema.

CREATE TABLE mossdev_seed (
    store       text        PRIMARY KEY,
    fingerprint text        NOT NULL,
    seed        text        NOT NULL,   -- uint64 in decimal
    cards       bigint      NOT NULL,
    complete    boolean     NOT NULL,
    rows        bigint      NOT NULL DEFAULT 0,
    seconds     double precision,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
