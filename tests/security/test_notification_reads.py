"""Reading a notification changes nothing: its page and an e-mail's link are GETs a link scanner, a prefetch or
another site's <img> can make, so only a POST with the session's CSRF token marks it read."""

from __future__ import annotations

import datetime as dt
import re

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.notifications import service as notifications
from caseframe.core.notifications.tables import NotificationPreference, NotificationRead
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_user, sign_in, web_client

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


async def _world(ctx):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    officer = await make_user(police, ("caseworker",), name="Pat Police")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-1",
        title="Partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="official",
    )
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    note = (await notifications.list_for(officer))[0]
    return owner, officer, case, note


async def _receipts() -> tuple[int, int]:
    return await NotificationRead.count(), await NotificationPreference.count()


async def test_opening_a_notification_by_get_leaves_it_unread(db, ctx):
    owner, officer, case, note = await _world(ctx)
    async with web_client(ctx, db) as client:
        token = await sign_in(client, officer)
        shown = await client.get(f"/notifications/{note['id']}")
        assert shown.status_code == 200 and "Mark as read" in shown.text
        # the link an e-mail carries goes to that page, read only
        mailed = await client.get(f"/notifications/{note['id']}/open")
        assert mailed.status_code == 303 and mailed.headers["location"] == f"/notifications/{note['id']}"
        assert await _receipts() == (0, 0)
        assert await notifications.unread_count(officer) == 1
        # a cross-site form cannot carry the token: refused, nothing marked
        assert (await client.post(f"/notifications/{note['id']}/open", data={})).status_code == 403
        assert (await client.post(f"/notifications/{note['id']}/read", data={})).status_code == 403
        assert await notifications.unread_count(officer) == 1
        # the page's own button marks it read and comes back to it, saying so
        done = await client.post(
            f"/notifications/{note['id']}/read",
            data={"csrf_token": token, "next": f"/notifications/{note['id']}"},
        )
        assert (
            done.status_code == 303 and done.headers["location"] == f"/notifications/{note['id']}?done=read"
        )
        again = await client.get(done.headers["location"])
        assert "Marked as read" in again.text and "Mark as read</button>" not in again.text
        assert await notifications.unread_count(officer) == 0
        # a next that leaves the site is not followed
        away = await client.post(
            f"/notifications/{note['id']}/read", data={"csrf_token": token, "next": "https://evil.example/x"}
        )
        assert away.headers["location"] == "/?done=read"


async def test_the_list_follows_a_notification_with_a_form_that_works_without_javascript(db, ctx):
    owner, officer, case, note = await _world(ctx)
    async with web_client(ctx, db) as client:
        token = await sign_in(client, officer)
        listing = (await client.get("/notifications")).text
        form = re.search(
            r'<form method="post" action="/notifications/(\d+)/open"[^>]*>(.*?)</form>', listing, re.S
        )
        assert form and int(form.group(1)) == note["id"]
        assert f'name="csrf_token" value="{token}"' in form.group(2)
        assert f"A case was shared with your agency: {case['reference']}" in form.group(2)
        assert f'href="/notifications/{note["id"]}/open"' not in listing  # no GET link that marks anything
        followed = await client.post(f"/notifications/{note['id']}/open", data={"csrf_token": token})
        assert followed.status_code == 303 and followed.headers["location"] == f"/cases/{case['id']}"
        assert await notifications.unread_count(officer) == 0
        assert (await client.get(followed.headers["location"])).status_code == 200
