-- 0001_crm: the CRM schema. It is part of the product's contract (issue 2): column names, types and
-- nullability stay exactly as they are; extra columns and indexes may be added by later migrations.
-- Appointments and tasks owned by a user live in that user's mailbox; a contact syncs to the mailbox of every
-- user that covers it (crm.coverage).

create schema crm;

create table crm.users (
    id           uuid primary key,
    login        text not null unique,
    display_name text not null,
    mailbox      text unique            -- SMTP address of the user's Exchange mailbox
);

create table crm.contacts (
    id             uuid primary key,
    given_name     text,
    surname        text,
    display_name   text not null,
    company        text,
    job_title      text,
    email1         text,
    email2         text,
    email3         text,
    business_phone text,
    mobile_phone   text,
    home_phone     text,
    street         text,
    city           text,
    state          text,
    postal_code    text,
    country        text,
    notes          text,
    birthday       date,
    categories     text[] not null default '{}',
    updated_at     timestamptz not null,
    version        bigint not null
);

create table crm.coverage (
    user_id    uuid not null references crm.users,
    contact_id uuid not null references crm.contacts,
    primary key (user_id, contact_id)
);
create index coverage_contact_id_idx on crm.coverage (contact_id);

create table crm.appointments (
    id          uuid primary key,
    owner_id    uuid not null references crm.users,
    subject     text not null,
    location    text,
    body        text,
    starts_at   timestamptz not null,
    ends_at     timestamptz not null,
    is_all_day  boolean not null,
    time_zone   text,
    is_private  boolean not null,
    categories  text[] not null,
    ical_uid    text,
    recurrence  text,                   -- RFC 5545 RRULE of a series master; null for a single appointment
    updated_at  timestamptz not null,
    version     bigint not null
);
create index appointments_owner_id_starts_at_idx on crm.appointments (owner_id, starts_at);
create index appointments_ical_uid_idx on crm.appointments (ical_uid) where ical_uid is not null;

create table crm.appointment_exceptions (
    appointment_id uuid not null references crm.appointments on delete cascade,
    original_start timestamptz not null,
    is_cancelled   boolean not null,
    subject        text,
    location       text,
    starts_at      timestamptz,
    ends_at        timestamptz,
    primary key (appointment_id, original_start)
);

create table crm.appointment_attendees (
    appointment_id uuid not null references crm.appointments on delete cascade,
    email          text not null,
    name           text,
    kind           text constraint appointment_attendees_kind_check
                        check (kind in ('required', 'optional', 'resource')),
    contact_id     uuid references crm.contacts,
    primary key (appointment_id, email)
);
create index appointment_attendees_contact_id_idx on crm.appointment_attendees (contact_id)
    where contact_id is not null;

create table crm.tasks (
    id               uuid primary key,
    owner_id         uuid not null references crm.users,
    subject          text not null,
    body             text,
    starts_on        date,
    due_on           date,
    status           text not null constraint tasks_status_check
                          check (status in ('not_started', 'in_progress', 'completed', 'waiting', 'deferred')),
    percent_complete integer not null,
    importance       text not null constraint tasks_importance_check
                          check (importance in ('low', 'normal', 'high')),
    completed_at     timestamptz,
    categories       text[] not null,
    updated_at       timestamptz not null,
    version          bigint not null
);
create index tasks_owner_id_idx on crm.tasks (owner_id);
