-- The match stage sets crm_id on every staged row. Staging pages were filled to the brim by COPY, so each of those
-- updates wrote the new row version to another page and a new entry into the primary key. With room left on
-- each page (crm_id is in no index) the update is a heap-only tuple update on the same page, and the page is
-- pruned of the old versions as it is read. Applies to pages written from now on.
ALTER TABLE sync.stage_appointments SET (fillfactor = 50);
ALTER TABLE sync.stage_tasks SET (fillfactor = 50);
