-- Every staged item gets its new CRM id as COPY loads it (a column default), and the match stage marks the rows it
-- matched to an existing CRM row (`matched`) instead of leaving the others NULL and giving them ids in one more
-- UPDATE. That UPDATE rewrote every staged row of a blank CRM's first snapshot (about 5 µs an item, 7% of
-- PostgreSQL's time in `snapsync-bench pipeline`) only to store a random value.
ALTER TABLE sync.stage_appointments ADD COLUMN matched boolean NOT NULL DEFAULT false;
ALTER TABLE sync.stage_tasks ADD COLUMN matched boolean NOT NULL DEFAULT false;

-- Rows of a run stopped between its stages: an id set so far came from the match (or its last step).
UPDATE sync.stage_appointments SET matched = true WHERE crm_id IS NOT NULL;
UPDATE sync.stage_tasks SET matched = true WHERE crm_id IS NOT NULL;
UPDATE sync.stage_appointments SET crm_id = gen_random_uuid() WHERE crm_id IS NULL;
UPDATE sync.stage_tasks SET crm_id = gen_random_uuid() WHERE crm_id IS NULL;

ALTER TABLE sync.stage_appointments ALTER COLUMN crm_id SET DEFAULT gen_random_uuid(), ALTER COLUMN crm_id SET NOT NULL;
ALTER TABLE sync.stage_tasks ALTER COLUMN crm_id SET DEFAULT gen_random_uuid(), ALTER COLUMN crm_id SET NOT NULL;
