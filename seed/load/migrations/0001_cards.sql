-- The Mossi main database: members, cards and their hashtags, as the
-- Flask app's models define them. Ids come from the app (one id space
-- across every store), so they are plain bigints, not sequences the seed
-- would have to keep in step.

CREATE TABLE users (
    id         bigint      PRIMARY KEY,
    nickname   varchar(64) NOT NULL UNIQUE,  -- anonymous: the only name a member has
    created_at timestamptz NOT NULL
);

-- The hashtags cards use. The whole deduplicated corpus (6 M at prod) is
-- the search table in MariaDB; this one holds the tags links point to.
CREATE TABLE hashtags (
    id   bigint       PRIMARY KEY,
    name varchar(190) NOT NULL UNIQUE
);

CREATE TABLE cards (
    id                bigint       PRIMARY KEY,
    user_id           bigint       NOT NULL REFERENCES users (id),
    text              text         NOT NULL,
    image_key         varchar(255) NOT NULL,     -- S3 key, served through the CDN
    created_at        timestamptz  NOT NULL,
    latitude          double precision,
    longitude         double precision,
    place             varchar(64),                -- the district the location is in
    unique_view_count integer      NOT NULL DEFAULT 0 CHECK (unique_view_count >= 0),
    like_count        integer      NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX cards_user_id_idx ON cards (user_id);
CREATE INDEX cards_created_at_idx ON cards (created_at);

-- A card's hashtags in the order written.
CREATE TABLE card_hashtags (
    card_id    bigint   NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    position   smallint NOT NULL,
    hashtag_id bigint   NOT NULL REFERENCES hashtags (id),
    PRIMARY KEY (card_id, position),
    UNIQUE (card_id, hashtag_id)
);
CREATE INDEX card_hashtags_hashtag_id_idx ON card_hashtags (hashtag_id);
