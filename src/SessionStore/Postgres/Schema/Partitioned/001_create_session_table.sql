-- SessionStore session table partitioned by expiry, schema version 1. See docs/cleanup.md for the design.

-- bucket: an aligned instant at or after expire; each partition holds one bucket, so a partition whose bucket
-- has passed holds only expired rows and is dropped whole. PostgreSQL cannot enforce a unique sid across
-- partitions; the statements keep it unique (one row per sid) and the primary key serves lookups by sid.
CREATE TABLE IF NOT EXISTS {{table}} (
    sid                varchar(255) COLLATE "C" NOT NULL,
    sess               {{payload_type}} NOT NULL,
    user_id            text,
    expire             timestamptz  NOT NULL,
    sliding_expiration interval,
    absolute_expire    timestamptz,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    bucket             timestamptz  NOT NULL,
    PRIMARY KEY (sid, bucket),
    -- What makes dropping a partition safe; a statement that broke it fails instead of losing a session.
    CHECK (expire <= bucket)
) PARTITION BY LIST (bucket);

CREATE INDEX IF NOT EXISTS {{user_index}} ON {{table}} (user_id) WHERE user_id IS NOT NULL;

-- Rows that never expire, or expire beyond the partitions created so far. Cleaned row by row, through this index;
-- the other partitions need no index on expire, so their touches can be HOT updates.
CREATE TABLE IF NOT EXISTS {{forever_partition}} PARTITION OF {{table}} FOR VALUES IN ('infinity');
CREATE INDEX IF NOT EXISTS {{expire_index}} ON {{forever_partition}} (expire);

-- The bucket width, fixed when the table is created, and the horizon: every bucket after now() up to it has a
-- partition. Writers read both; only partition maintenance moves the horizon, in the transaction that creates
-- the partitions.
CREATE TABLE IF NOT EXISTS {{partitioning}} (
    one_row      boolean     PRIMARY KEY DEFAULT true CHECK (one_row),
    bucket_width interval    NOT NULL CHECK (bucket_width > interval '0'),
    horizon      timestamptz NOT NULL DEFAULT '-infinity'
);
