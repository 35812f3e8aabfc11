"""Notification e-mails through a local SMTP server (aiosmtpd): sent after the commit to users who asked, holding a
reference and a link only; a failing or absent mail server never fails the user's action, and is retried then dropped."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.notifications import email
from caseframe.core.notifications import service as notifications
from caseframe.core.notifications.tables import NotificationEmail
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_user, sign_in, web_client

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


class Inbox:
    """What the local mail server received; ``refuse`` makes it answer every message with a failure."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 Transaction failed"
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"mail-password")

    port = _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    email.configure(
        email.SmtpConfig(
            host="127.0.0.1",
            port=port,
            sender="caseframe@ashdown.example",
            starttls=False,
            username="caseframe",
            password="mail-password",
            base_url="https://caseframe.example",
        )
    )
    yield inbox, controller, logins
    email.configure(None)
    controller.stop()


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    wants = await make_user(police, ("caseworker",), name="Pat Police")
    quiet = await make_user(police, ("caseworker",), name="Quinn Quiet")
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
    )
    await notifications.set_email_preference(wants, True)
    return {"ctx": ctx, "owner": owner, "wants": wants, "quiet": quiet, "police": police}


async def _share(world, street: str) -> dict:
    case = await cases.open_case(world["ctx"], world["owner"], "noise", {**REPORT, "street": street})
    await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    return case


async def test_an_email_goes_after_the_commit_to_who_asked_with_a_reference_and_a_link_only(world, smtp):
    inbox, _, logins = smtp
    case = await _share(world, "Kestrel Way")
    assert inbox.messages == []  # nothing is sent inside the user's action
    assert await NotificationEmail.count() == 1  # Quinn did not ask for e-mail
    assert await email.send_pending() == (1, 0)
    [(to, text)] = inbox.messages
    assert to == [world["wants"].email] and logins == [(b"caseframe", b"mail-password")]
    note = (await notifications.list_for(world["wants"]))[0]
    assert f"Subject: Caseframe: A case was shared with your agency: {case['reference']}" in text
    assert f"https://caseframe.example/notifications/{note['id']}/open" in text
    assert "Kestrel" not in text and "music" not in text
    assert await email.send_pending() == (0, 0)  # sent once
    row = await NotificationEmail.select().first()
    assert row["status"] == "sent" and row["attempts"] == 1


async def test_a_failing_or_absent_server_never_fails_the_action_and_is_retried_then_dropped(
    world, smtp, caplog
):
    inbox, controller, _ = smtp
    inbox.refuse = True
    case = await _share(world, "Lane 1")  # the share itself succeeds whatever the mail server does
    assert await email.send_pending() == (0, 1)
    row = await NotificationEmail.select().first()
    assert row["status"] == "pending" and row["attempts"] == 1 and row["next_try_at"] > clock.now()
    assert await email.send_pending() == (0, 0)  # not due again yet
    # no server there at all
    email.configure(email.SmtpConfig(host="127.0.0.1", port=_free_port(), starttls=False))
    await _share(world, "Lane 2")
    for minutes in (2, 4, 8, 16):
        with clock.travel(minutes / 1440 * 2):
            await email.send_pending()
    rows = await NotificationEmail.select().order_by(NotificationEmail.id)
    assert [r["status"] for r in rows] == ["dropped", "dropped"]
    assert all(r["attempts"] == email.MAX_ATTEMPTS for r in rows)
    assert "dropped after" in caplog.text and case["reference"] not in caplog.text
    del controller


async def test_the_settings_page_turns_email_on_and_off_with_csrf(world, db, smtp):
    async with web_client(world["ctx"], db) as client:
        email.configure(email.SmtpConfig(host="127.0.0.1", port=smtp[1].port, starttls=False))
        token = await sign_in(client, world["quiet"])
        page = await client.get("/notifications/settings")
        assert "Yes, e-mail me at" in page.text
        assert (await client.post("/notifications/settings", data={"email": "yes"})).status_code == 403
        saved = await client.post("/notifications/settings", data={"email": "yes", "csrf_token": token})
        assert saved.status_code == 303
        assert await notifications.email_preference(world["quiet"])
        assert "You get an e-mail for each notification" in (await client.get("/account")).text
    email.configure(None)
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["quiet"])
        assert "e-mail is not set up for this site" in (await client.get("/notifications/settings")).text


async def test_a_deactivated_agency_is_neither_shared_with_nor_written_to(world, smtp):
    """Its users cannot sign in, yet the owner could still share a case with it and its users were e-mailed the
    case's reference, whether the e-mail was queued before or after the agency was deactivated. Now the share is
    refused, naming the field, the case page offers the agency no longer, and a queued e-mail is dropped."""
    from caseframe.core.agencies import service as agencies
    from caseframe.core.errors import ValidationFailed
    from caseframe.core.sharing.tables import CaseShare

    inbox, _, _ = smtp
    sysadmin = await make_user(
        {"id": world["owner"].agency_id, "slug": "ashdown-council"}, ("system_admin",), name="Sue Sysadmin"
    )
    await _share(world, "Kestrel Way")  # queued while the police are active
    await agencies.set_agency_active(sysadmin, world["police"]["id"], False)
    assert await email.send_pending() == (0, 0) and inbox.messages == []
    assert {e["status"] for e in await NotificationEmail.select(NotificationEmail.status)} == {"dropped"}

    case = await cases.open_case(world["ctx"], world["owner"], "noise", {**REPORT, "street": "Plover Lane"})
    with pytest.raises(ValidationFailed) as refused:
        await sharing.share_case(
            world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
        )
    assert [e["field"] for e in refused.value.errors] == ["/agency_id"]
    assert await CaseShare.count().where(CaseShare.case == case["id"]) == 0
    from caseframe.core.cases.tables import Case

    row = await Case.select().where(Case.id == case["id"]).first()
    assert world["police"]["id"] not in {a["id"] for a in await sharing.partners_for(world["owner"], row)}
