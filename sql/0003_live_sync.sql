-- Live sync: the sync switch and its journal, the outbox CRM changes queue in (filled by triggers in the
-- same transaction as the change, coalesced per item), and conflicts resolved by inbound live sync.

-- The global switch (one row) and per-mailbox switches; every transition is journaled.
CREATE TABLE sync.settings (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled     boolean     NOT NULL DEFAULT false,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync.settings (enabled) VALUES (false);

CREATE TABLE sync.mailbox_settings (
    mailbox    text PRIMARY KEY,
    enabled    boolean     NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync.journal (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    mailbox text,                       -- NULL: the global switch
    enabled boolean     NOT NULL,
    note    text
);

-- One entry per CRM item with changes not yet in Exchange. A new change to the same item bumps `seq`
-- (coalescing); the sender deletes the entry only if `seq` is still the one it sent.
CREATE TABLE sync.outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('contacts', 'appointments', 'tasks')),
    crm_id          uuid        NOT NULL,
    seq             bigint      NOT NULL DEFAULT 1,
    enqueued_at     timestamptz NOT NULL DEFAULT now(),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    last_error_kind text,
    parked          boolean     NOT NULL DEFAULT false,
    UNIQUE (kind, crm_id)
);
CREATE INDEX outbox_due ON sync.outbox (next_attempt_at, id) WHERE NOT parked;

-- Conflicts inbound live sync met (both sides changed an item since its last sync) and how they were resolved.
CREATE TABLE sync.conflicts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    mailbox     text        NOT NULL,
    kind        text        NOT NULL,
    crm_id      uuid        NOT NULL,
    item_id     text        NOT NULL,
    policy      text        NOT NULL,
    winner      text        NOT NULL CHECK (winner IN ('crm', 'exchange'))
);

-- True when sync captures changes for this mailbox (NULL mailbox: any enabled mailbox).
CREATE FUNCTION sync.capture_enabled(p_mailbox text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT s.enabled
       AND coalesce(current_setting('snapsync.origin', true), '') <> 'exchange'
       AND (p_mailbox IS NULL
            OR coalesce((SELECT m.enabled FROM sync.mailbox_settings m WHERE m.mailbox = lower(p_mailbox)), true))
    FROM sync.settings s
$$;

CREATE FUNCTION sync.enqueue(p_kind text, p_crm_id uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync.outbox (kind, crm_id) VALUES (p_kind, p_crm_id)
    ON CONFLICT (kind, crm_id) DO UPDATE
    SET seq = sync.outbox.seq + 1, enqueued_at = now(), next_attempt_at = now(), attempts = 0,
        parked = false, last_error = NULL, last_error_kind = NULL
$$;

-- Appointments and tasks: captured when their owner's mailbox (old or new owner) syncs.
CREATE FUNCTION sync.capture_owned() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    owners uuid[] := CASE TG_OP WHEN 'DELETE' THEN ARRAY[OLD.owner_id] WHEN 'INSERT' THEN ARRAY[NEW.owner_id]
                              ELSE ARRAY[OLD.owner_id, NEW.owner_id] END;
BEGIN
    IF EXISTS (SELECT 1 FROM crm.users u WHERE u.id = ANY(owners) AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue(TG_ARGV[0], row_id);
    END IF;
    RETURN NULL;
END $$;

-- Exceptions and attendees change their appointment.
CREATE FUNCTION sync.capture_appointment_child() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.appointment_id ELSE NEW.appointment_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM crm.appointments a JOIN crm.users u ON u.id = a.owner_id
               WHERE a.id = parent AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue('appointments', parent);
    END IF;
    RETURN NULL;
END $$;

-- Contacts: captured when any covering user's mailbox syncs (or, on delete, any mailbox it was linked to).
CREATE FUNCTION sync.capture_contact() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
BEGIN
    IF EXISTS (SELECT 1 FROM crm.coverage cv JOIN crm.users u ON u.id = cv.user_id
               WHERE cv.contact_id = row_id AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox))
       OR EXISTS (SELECT 1 FROM sync.links l WHERE l.kind = 'contacts' AND l.crm_id = row_id AND sync.capture_enabled(l.mailbox)) THEN
        PERFORM sync.enqueue('contacts', row_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION sync.capture_coverage() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    IF EXISTS (SELECT 1 FROM crm.users u WHERE u.id = r.user_id AND u.mailbox IS NOT NULL AND sync.capture_enabled(u.mailbox)) THEN
        PERFORM sync.enqueue('contacts', r.contact_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointments
    FOR EACH ROW EXECUTE FUNCTION sync.capture_owned('appointments');
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.tasks
    FOR EACH ROW EXECUTE FUNCTION sync.capture_owned('tasks');
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointment_exceptions
    FOR EACH ROW EXECUTE FUNCTION sync.capture_appointment_child();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.appointment_attendees
    FOR EACH ROW EXECUTE FUNCTION sync.capture_appointment_child();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON crm.contacts
    FOR EACH ROW EXECUTE FUNCTION sync.capture_contact();
CREATE TRIGGER capture AFTER INSERT OR DELETE ON crm.coverage
    FOR EACH ROW EXECUTE FUNCTION sync.capture_coverage();
