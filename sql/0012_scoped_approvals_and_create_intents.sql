-- Two pieces of recovery bookkeeping.
--
-- An approval to delete CRM rows past the mass-delete guard names the run, mailbox and kind it approves: it is
-- given by `snapsync rerun RUN --stage reconcile --mailbox ADDR --allow-mass-delete` (or by `--allow-mass-delete`
-- on a snapshot command, for the mailboxes and kinds that command scopes). Before this migration the approval was
-- one flag of the whole run (`sync.runs.options`), so approving one mailbox let every refused mailbox of the run
-- delete.
--
-- A create intent is written and committed before a CreateItem request is sent: the mailbox folder and the CRM ids
-- of the batch. The transaction that commits the batch's links deletes it. An intent still there means Exchange may
-- hold items of those CRM ids that no link knows about (the answer was lost, could not be decoded, or the process
-- died while the request was in flight): whichever command writes to that folder next looks the ids up by the CRM
-- id stamped on the items and links what it finds before creating anything.
CREATE SCHEMA IF NOT EXISTS sync;

CREATE TABLE sync.mass_delete_approvals (
    run_id      bigint      NOT NULL REFERENCES sync.runs ON DELETE CASCADE,
    mailbox     text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('contacts', 'appointments', 'tasks')),
    approved_by text        NOT NULL,
    approved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, mailbox, kind)
);

CREATE TABLE sync.create_intents (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox    text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('contacts', 'appointments', 'tasks')),
    crm_ids    uuid[]      NOT NULL,
    run_id     bigint      REFERENCES sync.runs ON DELETE SET NULL,   -- NULL: live sync's outbox
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX create_intents_folder ON sync.create_intents (mailbox, kind);
