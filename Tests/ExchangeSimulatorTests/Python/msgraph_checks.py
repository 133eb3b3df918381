"""Drives the simulator's Microsoft Graph front-end with Microsoft's own Python SDK (msgraph-sdk), an
independent Graph client, the way an app with client credentials would: a token from the simulator's
OAuth2 token endpoint through azure-identity (a client secret, and a certificate's client assertion), over
HTTPS with the test's own CA, the SDK's request adapter pointed at the simulator's /v1.0, its default
middleware (retry handler included).

usage: msgraph_checks.py SCENARIO|all
environment: SIM_GRAPH (https://127.0.0.1:PORT/v1.0), SIM_TOKEN_URL, SIM_CONTROL (https://127.0.0.1:PORT),
             SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_MAILBOX, SIM_CERT_CLIENT_ID, SIM_CERT_PEM (its certificate
             and key), SIM_OTHER_CERT_PEM (a certificate it does not have), SSL_CERT_FILE (the CA)

Each scenario asserts what the SDK sees and prints one JSON document on stdout for the Swift test to compare
with the simulator's store. A failed assertion exits non-zero with a traceback on stderr.
"""

import asyncio
import json
import os
import sys
import time
import urllib.parse
import urllib.request

from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import CertificateCredential, ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.contact import Contact
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.linked_resource import LinkedResource
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.physical_address import PhysicalAddress
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.models.todo_task import TodoTask
from msgraph.generated.models.importance import Importance
from msgraph.generated.users.item.contacts.contacts_request_builder import ContactsRequestBuilder
from msgraph_core.authentication import AzureIdentityAuthenticationProvider
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

MAILBOX = os.environ.get("SIM_MAILBOX", "")
CRM_ID = "String {c11ff724-aa03-4555-9952-8fa248a11c3e} Name CrmId"


def authority():
    """The simulator's host:port and the tenant of SIM_TOKEN_URL (https://HOST:PORT/TENANT/oauth2/v2.0/token)."""
    url = urllib.parse.urlparse(os.environ["SIM_TOKEN_URL"])
    return url.netloc, url.path.split("/")[1]


def secret_credential():
    """azure-identity's ClientSecretCredential against the simulator's Entra endpoints (MSAL reads its OpenID
    configuration, then asks its token endpoint); no instance discovery, which would ask Microsoft's cloud."""
    host, tenant = authority()
    return ClientSecretCredential(tenant, os.environ["SIM_CLIENT_ID"], os.environ["SIM_CLIENT_SECRET"],
                                  authority=host, disable_instance_discovery=True)


def certificate_credential(path):
    """azure-identity's CertificateCredential: a client assertion signed with the key in the PEM file at path."""
    host, tenant = authority()
    return CertificateCredential(tenant, os.environ["SIM_CERT_CLIENT_ID"], certificate_path=path,
                                 authority=host, disable_instance_discovery=True)


def client(credential=None):
    credential = credential or secret_credential()
    host = urllib.parse.urlparse(os.environ["SIM_GRAPH"]).hostname
    # The scope is Graph's: without it the provider would ask for one named after the simulator's host.
    auth = AzureIdentityAuthenticationProvider(credential, allowed_hosts=[host], scopes=["https://graph.microsoft.com/.default"])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = os.environ["SIM_GRAPH"]
    return GraphServiceClient(request_adapter=adapter), credential


def token_requests():
    """How many requests the simulator's token endpoint has answered."""
    return control("GET", "/sim/counters").get("Entra token", 0)


def control(method, path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(os.environ["SIM_CONTROL"] + path, data=data, method=method)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def user(g):
    return g.users.by_user_id(MAILBOX)


async def contacts():
    """Contacts CRUD and paging: 12 created, read in pages of 5, one patched, one deleted, one not found."""
    g, _ = client()
    tokens_before = token_requests()
    created = []
    for n in range(12):
        c = Contact(
            given_name=f"Zoë{n}", surname="Müller", company_name="Contoso", job_title="Buyer",
            email_addresses=[EmailAddress(name=f"Zoë {n}", address=f"z{n}@example.org")],
            business_phones=[f"+49 30 {n}"], mobile_phone=f"+49 170 {n}",
            business_address=PhysicalAddress(street=f"Hauptstraße {n}", city="Berlin", country_or_region="Germany"),
            categories=["Customer"], personal_notes=f"Notes {n} & more",
            single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=CRM_ID, value=f"crm-{n}")],
        )
        r = await user(g).contacts.post(c)
        assert r.id and r.change_key and r.display_name == f"Zoë{n} Müller", r
        created.append(r.id)
    config = RequestConfiguration(query_parameters=ContactsRequestBuilder.ContactsRequestBuilderGetQueryParameters(
        top=5, select=["givenName", "surname", "emailAddresses"]))
    page = await user(g).contacts.get(request_configuration=config)
    pages, seen = 1, [c.id for c in page.value]
    while page.odata_next_link:
        page = await user(g).contacts.with_url(page.odata_next_link).get()
        pages += 1
        seen += [c.id for c in page.value]
    assert sorted(seen) == sorted(created), (len(seen), len(created))

    patched = await user(g).contacts.by_contact_id(created[0]).patch(Contact(job_title="Head of Buying", given_name="Zoe"))
    assert patched.job_title == "Head of Buying" and patched.given_name == "Zoe"
    got = await user(g).contacts.by_contact_id(created[0]).get()
    assert got.job_title == "Head of Buying" and got.email_addresses[0].address == "z0@example.org"
    assert got.business_address.city == "Berlin" and got.business_phones == ["+49 30 0"]

    # Found by its extended property, read with it expanded.
    found = await user(g).contacts.get(request_configuration=RequestConfiguration(
        query_parameters=ContactsRequestBuilder.ContactsRequestBuilderGetQueryParameters(
            filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_ID}' and ep/value eq 'crm-5')",
            expand=[f"singleValueExtendedProperties($filter=id eq '{CRM_ID}')"])))
    assert len(found.value) == 1 and found.value[0].id == created[5]
    assert found.value[0].single_value_extended_properties[0].value == "crm-5"

    await user(g).contacts.by_contact_id(created[11]).delete()
    try:
        await user(g).contacts.by_contact_id(created[11]).get()
        raise AssertionError("deleted contact still readable")
    except ODataError as e:
        assert e.response_status_code == 404 and e.error.code == "ErrorItemNotFound", e
    print(json.dumps({"created": created, "pages": pages, "seen": len(seen),
                      "tokens": token_requests() - tokens_before}))


async def delta():
    """Two delta rounds over the contacts: the initial round pages to a deltaLink; the second sees one create,
    one update and one delete."""
    g, _ = client()
    headers = HeadersCollection()
    headers.add("Prefer", "odata.maxpagesize=4")
    page = await user(g).contacts.delta.get(request_configuration=RequestConfiguration(headers=headers))
    initial, pages = len(page.value), 1
    ids = [c.id for c in page.value]
    while page.odata_next_link:
        page = await user(g).contacts.delta.with_url(page.odata_next_link).get(
            request_configuration=RequestConfiguration(headers=headers))
        initial += len(page.value)
        ids += [c.id for c in page.value]
        pages += 1
    link = page.odata_delta_link
    assert link and link.startswith("http"), link
    new = await user(g).contacts.post(Contact(given_name="New", surname="Person"))
    await user(g).contacts.by_contact_id(ids[0]).patch(Contact(job_title="Changed"))
    await user(g).contacts.by_contact_id(ids[1]).delete()
    page = await user(g).contacts.delta.with_url(link).get()
    changed = sorted(c.id for c in page.value if not (c.additional_data or {}).get("@removed"))
    removed = [c.id for c in page.value if (c.additional_data or {}).get("@removed")]
    assert sorted(changed) == sorted([new.id, ids[0]]), (changed, new.id, ids[0])
    assert removed == [ids[1]], removed
    assert page.odata_delta_link
    print(json.dumps({"initial": initial, "pages": pages, "changed": len(changed), "removed": len(removed),
                      "deltaLink": page.odata_delta_link}))


async def todo():
    """To Do: the default list, a task with a linked resource, read back with linkedResources expanded."""
    g, _ = client()
    lists = await user(g).todo.lists.get()
    default = [l for l in lists.value if l.wellknown_list_name and l.wellknown_list_name.value == "defaultList"]
    assert len(default) == 1, [l.display_name for l in lists.value]
    tasks = user(g).todo.lists.by_todo_task_list_id(default[0].id).tasks
    t = await tasks.post(TodoTask(title="Call back Zoë", importance=Importance.High, linked_resources=[
        LinkedResource(application_name="snapsync", display_name="CRM activity 42", external_id="crm-42",
                       web_url="https://crm.example/activities/42")]))
    assert t.title == "Call back Zoë" and t.status.value == "notStarted"
    from msgraph.generated.users.item.todo.lists.item.tasks.tasks_request_builder import TasksRequestBuilder
    listed = await tasks.get(request_configuration=RequestConfiguration(
        query_parameters=TasksRequestBuilder.TasksRequestBuilderGetQueryParameters(expand=["linkedResources"], top=50)))
    mine = [x for x in listed.value if x.id == t.id]
    assert len(mine) == 1 and mine[0].linked_resources[0].external_id == "crm-42", mine
    # The percentage in the open extension every task has (the task's own PercentComplete in the simulator).
    from msgraph.generated.models.open_type_extension import OpenTypeExtension
    ext = tasks.by_todo_task_id(t.id).extensions.by_extension_id("com.snapsync.task")
    await ext.patch(OpenTypeExtension(extension_name="com.snapsync.task", additional_data={"percentComplete": 60}))
    read = await ext.get()
    assert read.additional_data.get("percentComplete") == 60 and read.id.endswith("com.snapsync.task"), read
    done = await tasks.by_todo_task_id(t.id).patch(TodoTask(status=__import__("msgraph.generated.models.task_status", fromlist=["TaskStatus"]).TaskStatus.Completed))
    assert done.status.value == "completed" and done.completed_date_time is not None
    assert (await ext.get()).additional_data.get("percentComplete") == 100, "completing a task sets 100"
    page = await tasks.delta.get()
    while page.odata_next_link:
        page = await tasks.delta.with_url(page.odata_next_link).get()
    print(json.dumps({"task": t.id, "list": default[0].id, "lists": len(lists.value)}))


async def events():
    """A weekly series of six: its instances in a window, one moved (an exception), one cancelled, and the master
    read with cancelledOccurrences selected and exceptionOccurrences expanded."""
    import datetime
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
    from msgraph.generated.models.recurrence_pattern import RecurrencePattern
    from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
    from msgraph.generated.models.recurrence_range import RecurrenceRange
    from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
    from msgraph.generated.models.day_of_week import DayOfWeek
    from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder
    from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
    g, _ = client()
    master = await user(g).events.post(Event(
        subject="Weekly review",
        start=DateTimeTimeZone(date_time="2026-03-02T09:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-03-02T10:00:00", time_zone="UTC"),
        recurrence=PatternedRecurrence(
            pattern=RecurrencePattern(type=RecurrencePatternType.Weekly, interval=1, days_of_week=[DayOfWeek.Monday]),
            range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=datetime.date(2026, 3, 2), number_of_occurrences=6)),
    ))
    assert master.type.value == "seriesMaster" and master.recurrence.pattern.type == RecurrencePatternType.Weekly
    window = RequestConfiguration(query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
        start_date_time="2026-03-01T00:00:00Z", end_date_time="2026-04-01T00:00:00Z"))
    instances = await user(g).events.by_event_id(master.id).instances.get(request_configuration=window)
    assert [i.type.value for i in instances.value] == ["occurrence"] * 5, [i.type for i in instances.value]
    moved = await user(g).events.by_event_id(instances.value[1].id).patch(Event(
        subject="Weekly review (moved)",
        start=DateTimeTimeZone(date_time="2026-03-10T09:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-03-10T10:00:00", time_zone="UTC")))
    assert moved.type.value == "exception" and moved.series_master_id == master.id
    await user(g).events.by_event_id(instances.value[2].id).delete()
    read = await user(g).events.by_event_id(master.id).get(request_configuration=RequestConfiguration(
        query_parameters=EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            select=["subject", "start", "end", "cancelledOccurrences", "exceptionOccurrences"], expand=["exceptionOccurrences"])))
    assert read.cancelled_occurrences == [f"OID.{master.id}.2026-03-16"], read.cancelled_occurrences
    assert [e.subject for e in read.exception_occurrences] == ["Weekly review (moved)"]
    after = await user(g).events.by_event_id(master.id).instances.get(request_configuration=window)
    print(json.dumps({"instances": len(after.value), "cancelled": read.cancelled_occurrences,
                      "exceptions": len(read.exception_occurrences)}))


async def batch():
    """A $batch of three requests: create, read the collection, and one for an unknown item (404)."""
    g, _ = client()
    content = BatchRequestContent()
    post = user(g).contacts.to_post_request_information(Contact(given_name="Batch", surname="Created"))
    get = user(g).contacts.to_get_request_information()
    missing = user(g).contacts.by_contact_id("QUFNawEAAAAAAAAA_2FsaWNlQGV4YW1wbGUuY29t").to_get_request_information()
    items = [BatchRequestItem(request_information=post, id="1"), BatchRequestItem(request_information=get, id="2"),
             BatchRequestItem(request_information=missing, id="3")]
    for item in items:
        content.add_request(item.id, item)
    response = await g.batch.post(batch_request_content=content)
    statuses = response.get_response_status_codes()
    print(json.dumps({"statuses": statuses}))


async def throttled():
    """The simulator answers the next request 429 ApplicationThrottled with Retry-After: 1; the SDK's retry
    handler waits and retries it."""
    g, _ = client()
    await user(g).contacts.get()
    control("POST", "/sim/faults", {"graphThrottle": {"count": 1, "retryAfterSeconds": 1}})
    started = time.monotonic()
    page = await user(g).contacts.get()
    elapsed = time.monotonic() - started
    assert page.value is not None
    print(json.dumps({"elapsed": elapsed}))


async def certificate():
    """CertificateCredential: a client assertion signed with the registered certificate's key gets a token that
    reads the mailbox; one signed with another certificate's key is refused with Entra's AADSTS700027."""
    g, credential = client(certificate_credential(os.environ["SIM_CERT_PEM"]))
    page = await user(g).contacts.get()
    assert page.value is not None
    await credential.close()
    stranger = certificate_credential(os.environ["SIM_OTHER_CERT_PEM"])
    try:
        await stranger.get_token("https://graph.microsoft.com/.default")
        raise AssertionError("an assertion signed by an unregistered certificate got a token")
    except ClientAuthenticationError as e:
        refused = "AADSTS700027" in str(e)
    await stranger.close()
    print(json.dumps({"contacts": len(page.value), "refused": refused}))


SCENARIOS = {"contacts": contacts, "delta": delta, "todo": todo, "events": events, "batch": batch, "throttled": throttled,
             "certificate": certificate}

async def run_all():
    """Every scenario in order in one process (the SDK's imports take seconds): one JSON object per line."""
    for name in ["contacts", "delta", "todo", "events", "batch", "throttled", "certificate"]:
        print(json.dumps({"scenario": name}))
        await SCENARIOS[name]()


if __name__ == "__main__":
    asyncio.run(run_all() if sys.argv[1] == "all" else SCENARIOS[sys.argv[1]]())
