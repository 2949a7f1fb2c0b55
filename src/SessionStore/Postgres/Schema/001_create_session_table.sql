-- SessionStore session table, schema version 1.

CREATE TABLE IF NOT EXISTS {{table}} (
    sid                varchar(255) COLLATE "C" NOT NULL PRIMARY KEY,
    sess               {{payload_type}} NOT NULL,
    user_id            text,
    -- The effective expiry: least(last touch + sliding_expiration, absolute_expire), or 'infinity'.
    expire             timestamptz  NOT NULL,
    sliding_expiration interval,
    absolute_expire    timestamptz,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now()
);

-- Cleanup finds expired rows through this index.
CREATE INDEX IF NOT EXISTS {{expire_index}} ON {{table}} (expire);

-- "Log out all sessions of a user"; most sessions are anonymous, hence partial.
CREATE INDEX IF NOT EXISTS {{user_index}} ON {{table}} (user_id) WHERE user_id IS NOT NULL;
