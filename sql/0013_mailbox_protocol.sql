-- Hybrid deployments: the protocol each mailbox is reached by (`snapsync mailbox set-protocol ADDR ews|graph`).
-- NULL follows the configuration's exchange_protocol. A mailbox's settings row may now hold its protocol alone:
-- `enabled` NULL means its own sync switch was never set (it follows the global switch, as without a row).
ALTER TABLE sync.mailbox_settings ALTER COLUMN enabled DROP NOT NULL;
ALTER TABLE sync.mailbox_settings ADD COLUMN protocol text CHECK (protocol IN ('ews', 'graph'));

-- A change of protocol is journaled beside the switch transitions: an entry holds a switch state or a protocol.
ALTER TABLE sync.journal ALTER COLUMN enabled DROP NOT NULL;
ALTER TABLE sync.journal ADD COLUMN protocol text CHECK (protocol IN ('ews', 'graph'));
ALTER TABLE sync.journal ADD CONSTRAINT journal_switch_or_protocol CHECK ((enabled IS NULL) <> (protocol IS NULL));
