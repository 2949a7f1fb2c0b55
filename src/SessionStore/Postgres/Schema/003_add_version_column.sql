-- SessionStore schema version 3, both layouts: the version stamp of each entry. An ordinary write sets it to
-- greatest(stored + 1, the server's clock in microseconds); a dual-write cache copies an entry to its secondary
-- store only over an older version, so concurrent writers leave both stores with the same last write.
-- Adding a column with a constant default rewrites nothing (PostgreSQL 11+): existing rows read as 0.
-- Placeholders in double braces are replaced by quoted identifiers before the script runs.

ALTER TABLE {{table}} ADD COLUMN IF NOT EXISTS ver bigint NOT NULL DEFAULT 0;
