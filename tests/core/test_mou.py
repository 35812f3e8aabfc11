"""The memorandum of understanding: no page works until the current version is accepted at each sign-in."""

from __future__ import annotations

import pytest

from caseframe.core.audit.tables import AuditEvent
from caseframe.core.errors import Forbidden, ValidationFailed
from caseframe.core.sharing import mou as mou_service
from caseframe.core.sharing.tables import MouAcceptance
from caseframe.core.testing import csrf_token_of, make_agency, make_context, make_user, sign_in

TEXT = "Use shared information only for the purpose you state.\n\nEvery view is recorded."


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def people(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    admin = await make_user(agency, ("system_admin",), name="Sam Sysadmin")
    worker = await make_user(agency, ("caseworker",), name="Casey Morgan")
    return admin, worker


async def test_with_no_memorandum_published_sign_in_goes_straight_in(people, client):
    await sign_in(client, people[1], accept_mou=False)
    assert (await client.get("/")).status_code == 200


async def test_every_page_waits_for_the_memorandum_and_the_acceptance_is_recorded(people, client):
    admin, worker = people
    await mou_service.publish_mou(admin, TEXT)
    token = await sign_in(client, worker, accept_mou=False)
    for path in ("/", "/persons", "/account", "/sharing/agreements"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/mou?next={path}"
    fragment = await client.post(
        "/account/sign-out-everywhere", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 403 and fragment.headers["hx-redirect"] == "/mou"
    page = await client.get("/mou?next=/persons")
    assert page.status_code == 200 and "Every view is recorded." in page.text and "Version 1" in page.text
    unticked = await client.post("/mou", data={"version": "1", "next": "/persons", "csrf_token": token})
    assert unticked.status_code == 400 and "Select that you accept" in unticked.text
    forged = await client.post("/mou", data={"version": "1", "accept": "yes"})
    assert forged.status_code == 403
    assert await MouAcceptance.count() == 0
    ok = await client.post(
        "/mou", data={"version": "1", "accept": "yes", "next": "/persons", "csrf_token": token}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/persons"
    assert (await client.get("/persons")).status_code == 200
    row = await MouAcceptance.select().first()
    assert row["user"] == worker.id and row["mou_version"] == 1
    assert await AuditEvent.count().where(AuditEvent.action == "mou.accept") == 1


async def test_a_new_version_is_asked_for_at_the_next_sign_in_and_an_old_one_is_refused(people, client):
    admin, worker = people
    await mou_service.publish_mou(admin, TEXT)
    await sign_in(client, worker)
    await mou_service.publish_mou(admin, TEXT + "\n\nVersion two adds this paragraph.")
    assert (await client.get("/")).status_code == 200  # the session already accepted
    token = await sign_in(client, worker, accept_mou=False)
    stale = await client.post("/mou", data={"version": "1", "accept": "yes", "csrf_token": token})
    assert stale.status_code == 400 and "has been updated" in stale.text
    assert (await client.get("/")).status_code == 303


async def test_only_a_system_admin_publishes_and_the_text_is_checked(people, client):
    admin, worker = people
    with pytest.raises(Forbidden):
        await mou_service.publish_mou(worker, TEXT)
    with pytest.raises(ValidationFailed):
        await mou_service.publish_mou(admin, "too short")
    token = await sign_in(client, admin)
    page = await client.get("/sharing/mou")
    assert "No memorandum has been published" in page.text
    r = await client.post(
        "/sharing/mou",
        data={"text": "<script>alert(1)</script> is not a memorandum, but long", "csrf_token": token},
    )
    assert r.status_code == 303
    await sign_in(client, admin)
    page = await client.get("/sharing/mou")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    await client.post("/sign-out", data={"csrf_token": csrf_token_of(page.text)})
    token = await sign_in(client, worker)
    assert (await client.get("/sharing/mou")).status_code == 403
