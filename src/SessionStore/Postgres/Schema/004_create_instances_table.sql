-- SessionStore schema version 4, both layouts: the application instances using the session table, each with the
-- migration phase it runs and its last heartbeat, written by every instance every few seconds (for
-- `sessionstore status` and the start-up check that an instance runs no phase more than one step from the fleet's).
-- Placeholders in double braces are replaced by quoted identifiers before the script runs.

CREATE TABLE IF NOT EXISTS {{instances}} (
    instance_id    text        PRIMARY KEY,
    phase          text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    last_heartbeat timestamptz NOT NULL DEFAULT now()
);
