-- SessionStore schema version 2, both layouts: the last cleanup run of the session table, one row, written at the end of each
-- run of the cleaner (for `sessionstore stats` and dashboards).

CREATE TABLE IF NOT EXISTS {{last_cleanup}} (
    id                 boolean     PRIMARY KEY DEFAULT true CHECK (id),
    finished_at        timestamptz NOT NULL,
    rows_deleted       bigint      NOT NULL,
    partitions_dropped integer     NOT NULL,
    duration           interval    NOT NULL
);
