-- snapsync bookkeeping: links between CRM rows and mailbox items, per-folder sync states, snapshot runs
-- with their stages and checkpoints, quarantined items, and the counters the ANALYZE policy reads.
CREATE SCHEMA IF NOT EXISTS sync;

-- A CRM row and the mailbox item it is synced with. Contacts have one link per covering user's mailbox.
CREATE TABLE sync.links (
    mailbox     text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('contacts', 'appointments', 'tasks')),
    crm_id      uuid        NOT NULL,
    item_id     text        NOT NULL,
    change_key  text,
    crm_version bigint      NOT NULL,   -- the CRM row's version last written to or read from the item
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, kind, crm_id)
);
CREATE UNIQUE INDEX links_item_key ON sync.links (mailbox, item_id);
CREATE INDEX links_crm_id ON sync.links (crm_id);

-- Where live inbound sync continues from, per mailbox folder.
CREATE TABLE sync.folder_states (
    mailbox        text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('contacts', 'appointments', 'tasks')),
    sync_state     text,
    needs_snapshot boolean     NOT NULL DEFAULT false,
    reason         text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, kind)
);

-- A snapshot run: what was asked, and where it stands.
CREATE TABLE sync.runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    direction    text        NOT NULL CHECK (direction IN ('inbound', 'outbound', 'full-from-exchange', 'full-from-crm')),
    kinds        text[]      NOT NULL,
    mailboxes    text[],                -- NULL: every mailbox with a CRM user
    from_date    timestamptz,
    to_date      timestamptz,
    date_field   text        CHECK (date_field IN ('start', 'modified')),
    options      jsonb       NOT NULL DEFAULT '{}',
    signature    text        NOT NULL,  -- identifies "the same command" so rerunning it resumes this run
    status       text        NOT NULL DEFAULT 'running'
                             CHECK (status IN ('running', 'completed', 'completed_with_errors', 'failed', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    requested_by text
);
CREATE INDEX runs_open ON sync.runs (signature) WHERE status = 'running';

-- One mailbox of a run, claimed by one worker at a time (FOR UPDATE SKIP LOCKED + lease).
CREATE TABLE sync.run_mailboxes (
    run_id      bigint      NOT NULL REFERENCES sync.runs ON DELETE CASCADE,
    mailbox     text        NOT NULL,
    user_id     uuid        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    lease_owner text,
    lease_until timestamptz,
    claims      int         NOT NULL DEFAULT 0,
    error       text,
    started_at  timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (run_id, mailbox)
);

-- The stages of a mailbox in a run, with their checkpoint (cursor) and counts.
CREATE TABLE sync.run_stages (
    run_id      bigint      NOT NULL,
    mailbox     text        NOT NULL,
    kind        text        NOT NULL,
    stage       text        NOT NULL,
    position    int         NOT NULL,
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    cursor      text,
    items       bigint      NOT NULL DEFAULT 0,
    created     bigint      NOT NULL DEFAULT 0,
    updated     bigint      NOT NULL DEFAULT 0,
    deleted     bigint      NOT NULL DEFAULT 0,
    failed      bigint      NOT NULL DEFAULT 0,
    total       bigint,
    attempts    int         NOT NULL DEFAULT 0,
    error       text,
    started_at  timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (run_id, mailbox, kind, stage),
    FOREIGN KEY (run_id, mailbox) REFERENCES sync.run_mailboxes ON DELETE CASCADE
);

-- What happened during a run that an administrator may want to read (ANALYZE, safety stops, windows).
CREATE TABLE sync.run_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id  bigint      REFERENCES sync.runs ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    mailbox text,
    kind    text,
    stage   text,
    event   text        NOT NULL,
    message text        NOT NULL,
    data    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX run_events_run ON sync.run_events (run_id, id);

-- Items that could not be decoded, mapped or written: kept with their reason and raw payload.
CREATE TABLE sync.quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint      REFERENCES sync.runs ON DELETE SET NULL,
    mailbox     text        NOT NULL,
    kind        text        NOT NULL,
    item_id     text,
    crm_id      uuid,
    direction   text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    code        text        NOT NULL,
    reason      text        NOT NULL,
    payload     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX quarantine_open ON sync.quarantine (mailbox, kind) WHERE resolved_at IS NULL;

-- Rows the pipeline changed per table since that table's last ANALYZE (the ANALYZE policy's input).
CREATE TABLE sync.table_activity (
    table_name      text PRIMARY KEY,
    rows_at_analyze double precision NOT NULL DEFAULT -1,   -- pg_class.reltuples after the last ANALYZE (-1: never)
    changed_since   bigint           NOT NULL DEFAULT 0,
    analyzed_at     timestamptz
);

-- Staging for inbound snapshots: what a mailbox holds, loaded with COPY, matched and merged set-based.
-- UNLOGGED: it is rebuilt from Exchange if lost in a crash.
CREATE UNLOGGED TABLE sync.stage_appointments (
    run_id      bigint      NOT NULL,
    mailbox     text        NOT NULL,
    item_id     text        NOT NULL,
    change_key  text,
    stamped_id  uuid,                   -- the CRM id snapsync stamped on the item, if any
    crm_id      uuid,                   -- set by the match stage
    owner_id    uuid        NOT NULL,
    subject     text        NOT NULL,
    location    text,
    body        text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    is_all_day  boolean     NOT NULL,
    time_zone   text,
    is_private  boolean     NOT NULL,
    categories  text[]      NOT NULL,
    ical_uid    text,
    recurrence  text,
    recurrence_end timestamptz,         -- end of the series range; NULL: no end (or not recurring)
    PRIMARY KEY (run_id, mailbox, item_id)
);

CREATE UNLOGGED TABLE sync.stage_appointment_exceptions (
    run_id         bigint      NOT NULL,
    mailbox        text        NOT NULL,
    item_id        text        NOT NULL,
    original_start timestamptz NOT NULL,
    is_cancelled   boolean     NOT NULL,
    subject        text,
    location       text,
    starts_at      timestamptz,
    ends_at        timestamptz,
    PRIMARY KEY (run_id, mailbox, item_id, original_start)
);

CREATE UNLOGGED TABLE sync.stage_appointment_attendees (
    run_id  bigint NOT NULL,
    mailbox text   NOT NULL,
    item_id text   NOT NULL,
    email   text   NOT NULL,
    name    text,
    kind    text   NOT NULL,
    PRIMARY KEY (run_id, mailbox, item_id, email)
);

CREATE UNLOGGED TABLE sync.stage_tasks (
    run_id           bigint      NOT NULL,
    mailbox          text        NOT NULL,
    item_id          text        NOT NULL,
    change_key       text,
    stamped_id       uuid,
    crm_id           uuid,
    owner_id         uuid        NOT NULL,
    subject          text        NOT NULL,
    body             text,
    starts_on        date,
    due_on           date,
    status           text        NOT NULL,
    percent_complete int         NOT NULL,
    importance       text        NOT NULL,
    completed_at     timestamptz,
    categories       text[]      NOT NULL,
    PRIMARY KEY (run_id, mailbox, item_id)
);

-- Attendees are linked to CRM contacts by email, case-insensitively.
CREATE INDEX contacts_email1_lower ON crm.contacts (lower(email1)) WHERE email1 IS NOT NULL;
CREATE INDEX contacts_email2_lower ON crm.contacts (lower(email2)) WHERE email2 IS NOT NULL;
CREATE INDEX contacts_email3_lower ON crm.contacts (lower(email3)) WHERE email3 IS NOT NULL;
