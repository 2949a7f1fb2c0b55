-- SessionStore schema version 5, both layouts: a session's value stays in its row (STORAGE MAIN) rather than
-- going out of line to the TOAST table as soon as the row passes ~2 KB, the size of a typical session. A read
-- then finds the value in the heap page it already reads, and a write does not also write TOAST rows and their
-- index. Values are still compressed first, and a row that cannot fit in a page still goes out of line.
-- Metadata only: existing rows keep their layout until they are next written. On a partitioned table the
-- setting reaches every partition, and partitions created later take it from the parent.
-- Measured with `dotnet run -c Release --project tests/SessionStore.Benchmarks -- toast` (docs/postgres.md, "TOAST").
-- Placeholders in double braces are replaced by quoted identifiers before the script runs.

ALTER TABLE {{table}} ALTER COLUMN sess SET STORAGE MAIN;
