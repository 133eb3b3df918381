-- An inbound snapshot writes the items no CRM row can claim straight into the CRM as it pages them (no staging, no
-- merge), and reconciles by which links the run saw instead of which items it staged. `seen_by_run` is the inbound
-- snapshot run (or, negative, the live-sync pass) that last read the link's item from Exchange: after a folder's
-- merge, a link of the folder the run did not see has lost its item. NULL for links written before this migration
-- and by outbound writes. Adding a nullable column without a default rewrites nothing.
ALTER TABLE sync.links ADD COLUMN seen_by_run bigint;
