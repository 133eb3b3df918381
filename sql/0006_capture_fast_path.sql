-- The capture triggers asked, for every row a statement wrote, which mailboxes own the row and whether each
-- syncs, before looking at the two things that rule out capture for the whole transaction: a write coming from
-- Exchange (snapshots and pulled changes set snapsync.origin) and the global switch being off. An inbound
-- snapshot spent more server time in those per-row lookups than in its merges (pg_stat_statements, snapsync-bench
-- pipeline --statements). Each trigger now checks both first; what is captured is unchanged.

-- False when nothing this transaction writes can be captured: it comes from Exchange, or sync is off.
CREATE FUNCTION sync.capture_possible() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('snapsync.origin', true), '') <> 'exchange'
       AND (SELECT s.enabled FROM sync.settings s)
$$;

-- Appointments and tasks: captured when their owner's mailbox (old or new owner) syncs.
CREATE OR REPLACE FUNCTION sync.capture_owned() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    owners uuid[] := CASE TG_OP WHEN 'DELETE' THEN ARRAY[OLD.owner_id] WHEN 'INSERT' THEN ARRAY[NEW.owner_id]
                              ELSE ARRAY[OLD.owner_id, NEW.owner_id] END;
BEGIN
    IF NOT sync.capture_possible() THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM crm.users u WHERE u.id = ANY(owners) AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue(TG_ARGV[0], row_id);
    END IF;
    RETURN NULL;
END $$;

-- Exceptions and attendees change their appointment.
CREATE OR REPLACE FUNCTION sync.capture_appointment_child() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.appointment_id ELSE NEW.appointment_id END;
BEGIN
    IF NOT sync.capture_possible() THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM crm.appointments a JOIN crm.users u ON u.id = a.owner_id
               WHERE a.id = parent AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue('appointments', parent);
    END IF;
    RETURN NULL;
END $$;

-- Contacts: captured when any covering user's mailbox syncs (or, on delete, any mailbox it was linked to).
CREATE OR REPLACE FUNCTION sync.capture_contact() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
BEGIN
    IF NOT sync.capture_possible() THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM crm.coverage cv JOIN crm.users u ON u.id = cv.user_id
               WHERE cv.contact_id = row_id AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox))
       OR EXISTS (SELECT 1 FROM sync.links l WHERE l.kind = 'contacts' AND l.crm_id = row_id AND sync.capture_enabled(l.mailbox)) THEN
        PERFORM sync.enqueue('contacts', row_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync.capture_coverage() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    IF NOT sync.capture_possible() THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM crm.users u WHERE u.id = r.user_id AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue('contacts', r.contact_id);
    END IF;
    RETURN NULL;
END $$;
