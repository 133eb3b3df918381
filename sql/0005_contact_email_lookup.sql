-- Attendees are linked to CRM contacts by e-mail (inbound merge): for each attendee the first contact by id whose
-- email1, email2 or email3 matches case-insensitively. The partial indexes of 0002 could not serve that lookup
-- (the planner cannot prove `lower(email1) = $x` implies `email1 IS NOT NULL`) and it walked the primary key
-- instead, a scan of every contact per attendee: an inbound snapshot of 100 mailboxes against 20,000 contacts ran
-- at under 1,000 items/s. (lower(emailN), id) answers it, ORDER BY id LIMIT 1 included, from the index alone.
DROP INDEX crm.contacts_email1_lower;
DROP INDEX crm.contacts_email2_lower;
DROP INDEX crm.contacts_email3_lower;
CREATE INDEX contacts_email1_lower ON crm.contacts (lower(email1), id);
CREATE INDEX contacts_email2_lower ON crm.contacts (lower(email2), id);
CREATE INDEX contacts_email3_lower ON crm.contacts (lower(email3), id);
