-- Bulk onboarding ("batch sync setup"): administrators list the mailboxes to activate or deactivate here;
-- `snapsync onboard` tests each mailbox, links it to its CRM user, switches its sync (journaled), optionally
-- runs an initial snapshot limited to a window of days, and deletes the row on success. A failed row stays
-- with its attempts and last error, and is retried by later runs up to a limit (`--max-attempts`, default 5).
CREATE TABLE sync.onboarding (
    mailbox    text PRIMARY KEY,
    user_login text        NOT NULL,
    activate   boolean     NOT NULL DEFAULT true,
    attempts   int         NOT NULL DEFAULT 0,
    last_error text,
    updated_at timestamptz
);
