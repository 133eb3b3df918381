-- An ANALYZE the policy runs in the middle of a snapshot samples 3,000 rows (statistics target 10) instead of the
-- server's 30,000: the merges that follow need the table's size and rough distributions, not a fine histogram, and
-- the full sample made each ANALYZE of a 100,000-row table cost ten times as much (about a tenth of PostgreSQL's time
-- in an inbound snapshot). `coarse` marks a table whose last ANALYZE was such an interim one; when the run ends, it
-- is analyzed once more at the server's target, so the CRM's own queries are planned from full statistics.
ALTER TABLE sync.table_activity ADD COLUMN coarse boolean NOT NULL DEFAULT false;
