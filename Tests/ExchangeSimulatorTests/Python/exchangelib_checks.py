"""Drives the Exchange simulator with exchangelib, an independent EWS client, the way a real deployment would:
a delegate account, HTTP Basic auth, no autodiscover, Exchange 2016.

usage: exchangelib_checks.py SCENARIO
environment: SIM_ENDPOINT, SIM_USER, SIM_PASSWORD, SIM_MAILBOX

Each scenario asserts what exchangelib sees and prints one JSON document on stdout for the Swift test to compare
with the simulator's store. A failed assertion exits non-zero with a traceback on stderr.
"""

import datetime
from decimal import Decimal
import json
import os
import sys

from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    Task,
    Version,
)
from exchangelib.errors import ErrorItemNotFound
from exchangelib.indexed_properties import EmailAddress, PhoneNumber
from exchangelib.version import EXCHANGE_2016

UTC = EWSTimeZone("UTC")


def account():
    config = Configuration(
        service_endpoint=os.environ["SIM_ENDPOINT"],
        credentials=Credentials(os.environ["SIM_USER"], os.environ["SIM_PASSWORD"]),
        auth_type=BASIC,
        version=Version(build=EXCHANGE_2016),
    )
    return Account(os.environ["SIM_MAILBOX"], config=config, autodiscover=False, access_type=DELEGATE)


def iso(value):
    """Datetimes as epoch seconds (time zone independent), dates as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value.isoformat()


def instant(value):
    """A start as an aware datetime (all-day events come back from exchangelib as dates)."""
    if isinstance(value, datetime.datetime):
        return value
    return EWSDateTime(value.year, value.month, value.day, tzinfo=UTC)


def contact_fields(c):
    return {
        "subject": c.subject,
        "given_name": c.given_name,
        "surname": c.surname,
        "display_name": c.display_name,
        "company_name": c.company_name,
        "job_title": c.job_title,
        "emails": sorted(e.email for e in (c.email_addresses or [])),
        "phones": sorted(f"{p.label}={p.phone_number}" for p in (c.phone_numbers or [])),
        "addresses": sorted(f"{a.label}={a.city}" for a in (c.physical_addresses or [])),
        "birthday": iso(c.birthday),
        "body": str(c.body) if c.body is not None else None,
        "categories": c.categories or [],
    }


def calendar_fields(i):
    return {
        "subject": i.subject,
        "location": i.location,
        "start": iso(i.start),
        "end": iso(i.end),
        "is_all_day": i.is_all_day,
        "uid": i.uid,
        "sensitivity": i.sensitivity,
        "recurring": i.recurrence is not None,
        "modified_occurrences": len(i.modified_occurrences or []),
        "deleted_occurrences": len(i.deleted_occurrences or []),
        "required_attendees": sorted(a.mailbox.email_address for a in (i.required_attendees or [])),
        "categories": i.categories or [],
    }


def task_fields(t):
    return {
        "subject": t.subject,
        "status": t.status,
        "percent_complete": float(t.percent_complete) if t.percent_complete is not None else None,
        "importance": t.importance,
        "due_date": iso(t.due_date),
        "start_date": iso(t.start_date),
        "complete_date": iso(t.complete_date),
        "categories": t.categories or [],
    }


def read(a):
    """contacts/calendar/tasks .all() return every seeded item with its fields."""
    return {
        "contacts": [contact_fields(c) for c in a.contacts.all()],
        "calendar": [calendar_fields(i) for i in a.calendar.all()],
        "tasks": [task_fields(t) for t in a.tasks.all()],
    }


def missing(a, ids):
    """True for each id the server no longer knows (exchangelib yields the error object instead of an item)."""
    return [isinstance(r, ErrorItemNotFound) for r in a.fetch(ids=ids)]


def bulk(a):
    """bulk_create, bulk_update and bulk_delete round-trip for contacts, appointments and tasks."""
    start = EWSDateTime(2026, 4, 7, 9, 0, tzinfo=UTC)
    contacts = [
        Contact(
            folder=a.contacts,
            display_name=f"Bülk{n} Tëst",
            given_name=f"Bülk{n}",
            surname="Tëst",
            company_name="Fabrikam & Söhne",
            job_title="Buyer",
            email_addresses=[EmailAddress(email=f"bulk{n}@example.org", label="EmailAddress1")],
            phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number=f"+49 30 {n}")],
            body=f"created by exchangelib #{n}",
        )
        for n in range(3)
    ]
    events = [
        CalendarItem(folder=a.calendar, subject=f"Bulk meeting {n}", location="Room 1",
                     start=start + datetime.timedelta(days=n), end=start + datetime.timedelta(days=n, hours=1))
        for n in range(2)
    ]
    tasks = [Task(folder=a.tasks, subject=f"Bulk task {n}", status="InProgress", percent_complete=Decimal(50)) for n in range(2)]
    created = {}
    for name, folder, items in (("contacts", a.contacts, contacts), ("calendar", a.calendar, events), ("tasks", a.tasks, tasks)):
        results = a.bulk_create(folder=folder, items=items)
        assert all(not isinstance(r, Exception) for r in results), results
        assert all(r.id and r.changekey for r in results), results
        created[name] = [(r.id, r.changekey) for r in results]

    fetched = list(a.fetch(ids=created["contacts"]))
    assert [c.given_name for c in fetched] == ["Bülk0", "Bülk1", "Bülk2"], [c.given_name for c in fetched]
    assert fetched[1].email_addresses[0].email == "bulk1@example.org"
    assert fetched[1].phone_numbers[0].phone_number == "+49 30 1"
    assert fetched[2].company_name == "Fabrikam & Söhne"
    assert fetched[0].body == "created by exchangelib #0", repr(fetched[0].body)
    events_back = list(a.fetch(ids=created["calendar"]))
    assert events_back[1].start == start + datetime.timedelta(days=1), events_back[1].start
    assert events_back[0].location == "Room 1"
    tasks_back = list(a.fetch(ids=created["tasks"]))
    assert tasks_back[0].status == "InProgress" and float(tasks_back[0].percent_complete) == 50.0

    # bulk_update: each item gets a new value and a new ChangeKey.
    for c in fetched:
        c.job_title = "Head of Procurement"
        c.surname = "Updated"
    for e in events_back:
        e.subject = e.subject + " (moved)"
        e.start = e.start + datetime.timedelta(hours=2)
        e.end = e.end + datetime.timedelta(hours=2)
    for t in tasks_back:
        t.status = "Completed"
        t.percent_complete = Decimal(100)
    updates = [(c, ["job_title", "surname"]) for c in fetched] + [(e, ["subject", "start", "end"]) for e in events_back] \
        + [(t, ["status", "percent_complete"]) for t in tasks_back]
    results = a.bulk_update(items=updates)
    assert all(not isinstance(r, Exception) for r in results), results
    old_keys = {i: k for ids in created.values() for i, k in ids}
    assert all(k != old_keys[i] for i, k in results), "UpdateItem must hand out new ChangeKeys"
    again = list(a.fetch(ids=created["contacts"]))
    assert all(c.job_title == "Head of Procurement" and c.surname == "Updated" for c in again)
    assert all(c.given_name.startswith("Bülk") for c in again), "fields not updated must stay"
    ev = list(a.fetch(ids=created["calendar"]))
    assert ev[0].subject == "Bulk meeting 0 (moved)" and ev[0].start == start + datetime.timedelta(hours=2), (ev[0].subject, ev[0].start)
    tk = list(a.fetch(ids=created["tasks"]))
    assert all(t.status == "Completed" and float(t.percent_complete) == 100.0 for t in tk)

    # bulk_delete: every item is gone afterwards.
    all_ids = [i for ids in created.values() for i, _ in ids]
    results = a.bulk_delete(ids=[(i, None) for i in all_ids])
    assert results == [True] * len(all_ids), results
    assert missing(a, [(i, None) for i in all_ids]) == [True] * len(all_ids)
    return {"created": {k: len(v) for k, v in created.items()}, "deleted": len(all_ids)}


def drain(folder, state):
    changes = list(folder.sync_items(sync_state=state))
    return changes, folder.item_sync_state


def sync(a):
    """sync_items(), one change, sync_items() again: exactly that change, for create, update and delete."""
    out = {}
    for name, folder in (("contacts", a.contacts), ("calendar", a.calendar), ("tasks", a.tasks)):
        first, state = drain(folder, None)
        assert all(kind == "create" for kind, _ in first), [kind for kind, _ in first]
        initial = len(first)
        none, state = drain(folder, state)
        assert none == [], f"{name}: no change must yield nothing, got {none}"

        if name == "contacts":
            item = Contact(folder=folder, display_name="Synced Person", given_name="Synced", surname="Person")
        elif name == "calendar":
            s = EWSDateTime(2026, 5, 4, 14, 0, tzinfo=UTC)
            item = CalendarItem(folder=folder, subject="Synced meeting", start=s, end=s + datetime.timedelta(hours=1))
        else:
            item = Task(folder=folder, subject="Synced task")
        item.save()
        created, state = drain(folder, state)
        assert [(k, i.id) for k, i in created] == [("create", item.id)], created

        item.subject = "Synced, renamed"
        item.save(update_fields=["subject"])
        updated, state = drain(folder, state)
        assert [(k, i.id) for k, i in updated] == [("update", item.id)], updated
        assert updated[0][1].subject == "Synced, renamed"

        item_id = item.id
        item.delete()
        deleted, state = drain(folder, state)
        assert [(k, i.id) for k, i in deleted] == [("delete", item_id)], deleted
        out[name] = {"initial": initial, "create": 1, "update": 1, "delete": 1}
    return out


def query(a):
    """.filter(subject=...) and .order_by(...) agree with the simulator's data."""
    out = {}
    subjects = [t.subject for t in a.tasks.all()]
    target = subjects[len(subjects) // 2]
    matched = [t.subject for t in a.tasks.filter(subject=target)]
    assert matched == [target], (target, matched)
    assert list(a.tasks.filter(subject="no such subject")) == []
    out["filter_subject"] = target

    ordered = [t.subject for t in a.tasks.all().order_by("subject")]
    assert ordered == sorted(subjects, key=str.lower), ordered  # Exchange sorts strings case-insensitively
    descending = [t.subject for t in a.tasks.all().order_by("-subject")]
    assert descending == list(reversed(ordered)), descending
    starts = [instant(i.start) for i in a.calendar.all().order_by("-start")]
    assert starts == sorted(starts, reverse=True), starts
    out["ordered_tasks"] = ordered

    high = [t.subject for t in a.tasks.filter(importance="High")]
    assert high and all(t.importance == "High" for t in a.tasks.filter(importance="High"))
    out["high_importance"] = sorted(high)

    window_start = EWSDateTime(2026, 6, 1, tzinfo=UTC)
    later = [instant(i.start) for i in a.calendar.filter(start__gte=window_start).order_by("start")]
    assert all(s >= window_start for s in later) and later == sorted(later), later
    out["calendar_from_june"] = len(later)
    out["counts"] = {"tasks": a.tasks.all().count(), "contacts": a.contacts.all().count()}
    out["sliced"] = [t.subject for t in a.tasks.all().order_by("subject")[2:5]]
    assert out["sliced"] == ordered[2:5]
    return out


def convert_id(a):
    """ConvertId of alice's items and folder, asked with the service account's address as Mailbox (as a delegate
    client that does not know the owner would): each answer names the id's owner and converts back unchanged."""
    from exchangelib.properties import AlternateId
    from exchangelib.properties import EWS_ID, HEX_ENTRY_ID
    ids = [c.id for c in a.contacts.all().only("id")[:3]] + [a.calendar.id]
    asked = [AlternateId(id=i, format=EWS_ID, mailbox=os.environ["SIM_USER"]) for i in ids]
    hexed = list(a.protocol.convert_ids(asked, destination_format=HEX_ENTRY_ID))
    assert all(isinstance(h, AlternateId) for h in hexed), hexed
    back = list(a.protocol.convert_ids(hexed, destination_format=EWS_ID))
    assert [b.id for b in back] == ids, (back, ids)
    return {"owners": [h.mailbox for h in hexed], "formats": sorted({h.format for h in hexed}),
            "hex": all(all(ch in "0123456789ABCDEF" for ch in h.id) for h in hexed)}


def recurrence(a):
    """A daily series of 10 from 2026-03-02 09:00 UTC: occurrence 5 moved an hour later with exchangelib's own
    save() (which sends the time zones with the times), occurrence 6 deleted; a calendar view of 03-04 to 03-09
    (missing the series' first occurrence) lists occurrences 3, 4, 5 (as an exception) and 7; the master comes
    back through a RecurringMasterItemId; a single item's id is no OccurrenceId."""
    from exchangelib.errors import ErrorCalendarCannotUseIdForRecurringMasterId
    from exchangelib.recurrence import DailyPattern, Recurrence
    start = EWSDateTime(2026, 3, 2, 9, tzinfo=UTC)
    master = CalendarItem(account=a, folder=a.calendar, subject="Daily standup", start=start,
                          end=start + datetime.timedelta(minutes=30),
                          recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=10))
    master.save()
    fifth = master.occurrence(index=5)
    fifth.refresh()
    fifth.start += datetime.timedelta(hours=1)
    fifth.end += datetime.timedelta(hours=1)
    fifth.save(update_fields=["start", "end"])
    sixth = master.occurrence(index=6)
    sixth.refresh()
    sixth.delete()
    view = list(a.calendar.view(start=EWSDateTime(2026, 3, 4, tzinfo=UTC), end=EWSDateTime(2026, 3, 9, tzinfo=UTC)))
    found = view[0].recurring_master()
    found.refresh()
    single = CalendarItem(account=a, folder=a.calendar, subject="One-off", start=start, end=start + datetime.timedelta(hours=1))
    single.save()
    try:
        single.recurring_master().refresh()
        refused = None
    except ErrorCalendarCannotUseIdForRecurringMasterId as e:
        refused = type(e).__name__
    return {
        "view": [{"subject": i.subject, "type": i.type, "start": iso(i.start), "end": iso(i.end)} for i in view],
        "master": {"id_matches": found.id == master.id, "type": found.type, "subject": found.subject},
        "single_as_occurrence": refused,
    }


def access(_):
    """Access rights: SIM_ACCESS is a JSON list of [user, password, access_type, mailbox]; each one counts the
    mailbox's contacts as that account, or names the error exchangelib raised."""
    from exchangelib import IMPERSONATION
    from exchangelib.errors import EWSError
    out = []
    for user, password, access_type, mailbox in json.loads(os.environ["SIM_ACCESS"]):
        config = Configuration(service_endpoint=os.environ["SIM_ENDPOINT"], credentials=Credentials(user, password),
                               auth_type=BASIC, version=Version(build=EXCHANGE_2016))
        a = Account(mailbox, config=config, autodiscover=False,
                    access_type=IMPERSONATION if access_type == "impersonation" else DELEGATE)
        try:
            out.append(a.contacts.all().count())
        except EWSError as e:
            out.append(type(e).__name__)
    return {"results": out}


def mime(a):
    """MimeContent asked by name: every contact's vCard and task's iCalendar by item id, every calendar item's
    iCalendar by UID."""
    def texts(folder, *fields, key=lambda i: i.id):
        return {key(i): i.mime_content.decode("utf-8") for i in folder.all().only("mime_content", *fields)}
    return {"contacts": texts(a.contacts), "calendar": texts(a.calendar, "uid", key=lambda i: i.uid), "tasks": texts(a.tasks)}


SCENARIOS = {"mime": mime, "read": read, "bulk": bulk, "sync": sync, "query": query, "convert_id": convert_id, "recurrence": recurrence,
             "access": access}

if __name__ == "__main__":
    result = SCENARIOS[sys.argv[1]](account())
    json.dump(result, sys.stdout, ensure_ascii=False, sort_keys=True)
