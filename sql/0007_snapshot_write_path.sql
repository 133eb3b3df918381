-- Two costs of snapshots found with snapsync-bench pipeline --statements (pg_stat_statements).
--
-- 1. An outbound snapshot pages a user's appointments and tasks by id (`WHERE owner_id = $1 AND id > $2 ORDER BY id
--    LIMIT n`). Neither table had an index answering that order for one owner, so every page walked the primary
--    key across all users' rows: about 75 ms a page of 500 at 100 users. (owner_id, id) answers each page from the
--    index. The existing indexes stay: the CRM's own queries may use them.
CREATE INDEX appointments_owner_id_id ON crm.appointments (owner_id, id);
CREATE INDEX tasks_owner_id_id ON crm.tasks (owner_id, id);

-- 2. The capture triggers are row-level AFTER triggers: for every row a snapshot or a pulled change wrote, PostgreSQL
--    queued an event and called the trigger function once the statement ended, only for 0006's first test to
--    return at once because the write came from Exchange. A WHEN condition on the same setting is checked as the
--    row is written, and nothing is queued. What is captured is unchanged: the functions still check it too.
DROP TRIGGER capture ON crm.appointments;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointments
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_owned('appointments');
DROP TRIGGER capture ON crm.tasks;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.tasks
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_owned('tasks');
DROP TRIGGER capture ON crm.appointment_exceptions;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointment_exceptions
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_appointment_child();
DROP TRIGGER capture ON crm.appointment_attendees;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointment_attendees
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_appointment_child();
DROP TRIGGER capture ON crm.contacts;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.contacts
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_contact();
DROP TRIGGER capture ON crm.coverage;
CREATE TRIGGER capture AFTER INSERT OR DELETE ON crm.coverage
    FOR EACH ROW WHEN (current_setting('snapsync.origin', true) IS DISTINCT FROM 'exchange')
    EXECUTE FUNCTION sync.capture_coverage();
