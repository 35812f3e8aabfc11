"""Notifications: each source tells the right people once, the bell counts, the pages list and mark read, and no one
ever sees another agency's; a rule's notify action tells without referring, showing only what the reader may see."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from caseframe.core import clock, hookimpl
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.errors import NotFound
from caseframe.core.notifications import service as notifications
from caseframe.core.notifications.tables import Notification, NotificationRead
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import AgendaItem
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.tables import Referral
from caseframe.core.sharing import service as sharing
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import make_agency, make_context, make_person, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
VISIT = {"risk_level": "high", "health_impact": "Panic attacks most nights since August"}
NOTIFY_RULES = """
[[rules]]
id = "tell-police-high-risk"
on = ["form_saved"]
when = { properties = { case = { properties = { forms = { required = ["visit"], properties = { visit = { required = ["risk_level", "health_impact"], properties = { risk_level = { const = "high" }, health_impact = { minLength = 1 } } } } } } } } }
then = { notify = { agency_type = "police", message = "For information: a high-risk noise case" }, reason = "The visit found a high risk to the complainant" }

[[rules]]
id = "tell-own-council"
on = ["form_saved"]
when = { properties = { case = { properties = { forms = { required = ["visit"] } } } } }
then = { notify = { agency_type = "district_council", message = "A visit was recorded" }, reason = "Councils hear of visits" }
"""


class NoticePlugin:
    def __init__(self, root: Path):
        self.root = root

    @hookimpl
    def register_areas(self):
        return [self.root]


@pytest.fixture
def ctx(tmp_path):
    area = tmp_path / "noise"
    shutil.copytree(Path(noise_plugin.__file__).parent / "noise", area)
    with (area / "area.toml").open("a") as f:
        f.write(NOTIFY_RULES)
    return make_context(NoticePlugin(area))


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    police2 = await make_agency(ctx, "northshire-police", agency_type="police")
    youth = await make_agency(ctx, "ashdown-youth", agency_type="youth_service")
    charity = await make_agency(ctx, "brightwell-charity", agency_type="victim_service")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    colleague = await make_user(council, ("caseworker",), name="Colin Colleague")
    chair = await make_user(council, ("supervisor", "panel_chair"), name="Chris Chair")
    officer = await make_user(police, ("caseworker",), name="Pat Police")
    officer2 = await make_user(police2, ("caseworker",), name="Nina North")
    worker = await make_user(youth, ("caseworker",), name="Yas Youthworker")
    helper = await make_user(charity, ("caseworker",), name="Cal Charity")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    today = clock.today()
    isa = await sharing.create_isa(
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
    return {
        "ctx": ctx,
        "council": council,
        "police": police,
        "police2": police2,
        "youth": youth,
        "charity": charity,
        "owner": owner,
        "colleague": colleague,
        "chair": chair,
        "officer": officer,
        "officer2": officer2,
        "worker": worker,
        "helper": helper,
        "isa": isa,
    }


async def _texts(actor) -> list[str]:
    return [n["text"] for n in await notifications.list_for(actor)]


async def test_a_rule_referral_tells_each_addressed_agency_once_and_not_the_referrer(world):
    ctx, owner = world["ctx"], world["owner"]
    child = await make_person(owner, given_name="Tia", family_name="Marsh", date_of_birth="2012-05-01")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(child["id"], "complainant")])
    referral = await Referral.select().where(Referral.from_case == case["id"]).first()
    assert referral["target"] == "youth_service"
    assert await _texts(world["worker"]) == [f"New referral waiting for your agency: {case['reference']}"]
    assert await notifications.unread_count(world["worker"]) == 1
    for nobody in ("owner", "officer", "helper"):
        assert await notifications.unread_count(world[nobody]) == 0
    # the same rule firing again adds to the open referral: no second notification
    other = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(child["id"], "complainant")])
    assert (await Referral.select().where(Referral.id == referral["id"]).first())[
        "status"
    ] == "open" and other
    assert await Notification.count().where(Notification.link == f"/referrals/{referral['id']}") == 1
    # the text carries a reference, never the case's answers or the person's name
    note = await Notification.select().where(Notification.link == f"/referrals/{referral['id']}").first()
    assert (
        "Kestrel" not in note["text"]
        and "Marsh" not in note["text"]
        and note["link"] == f"/referrals/{referral['id']}"
    )


async def test_a_manual_referral_to_an_agency_and_to_a_panel(world):
    ctx, owner = world["ctx"], world["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    await referrals.raise_referral(
        ctx,
        owner,
        target_kind="agency",
        target="brightwell-charity",
        reason="Support for the complainant",
        case=case,
    )
    assert await _texts(world["helper"]) == [f"New referral waiting for your agency: {case['reference']}"]
    assert await notifications.unread_count(world["officer"]) == 0
    panel = await panels.save_panel(
        ctx,
        world["chair"],
        name="Ashdown Complex Case Panel",
        member_agency_ids=[world["police"]["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    other = await cases.open_case(ctx, world["officer"], "noise", REPORT)
    await referrals.raise_referral(
        ctx, world["officer"], target_kind="panel", target=panel["slug"], reason="Escalating", case=other
    )
    # a panel's referrals wait for its chair agency: every one of its users is told
    for user in ("owner", "colleague", "chair"):
        assert await _texts(world[user]) == [f"New referral waiting for your agency: {other['reference']}"]


async def test_sharing_a_case_tells_the_partner_agency(world):
    ctx, owner = world["ctx"], world["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    await sharing.share_case(owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    assert await _texts(world["officer"]) == [f"A case was shared with your agency: {case['reference']}"]
    assert await notifications.unread_count(world["officer2"]) == 0
    # sharing again the same way is not a new share and tells no one again
    await sharing.share_case(owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    assert await notifications.unread_count(world["officer"]) == 1


async def _meeting_item(world, case):
    ctx, chair = world["ctx"], world["chair"]
    panel = await panels.save_panel(
        ctx,
        chair,
        name="Ashdown Complex Case Panel",
        member_agency_ids=[world["police"]["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    made = await referrals.raise_referral(
        ctx, world["owner"], target_kind="panel", target=panel["slug"], reason="Escalating", case=case
    )
    await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    starts = dt.datetime.combine(clock.today() + dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC)
    meeting = await panels.schedule_meeting(chair, panel["id"], starts_at=starts, location="Room 2")
    await panels.add_agenda_item(chair, meeting["id"], kind="referral", case_id=case["id"])
    await panels.set_status(chair, meeting["id"], "published")
    await panels.set_status(chair, meeting["id"], "in_progress")
    return meeting, await AgendaItem.select().where(AgendaItem.meeting == meeting["id"]).first()


async def test_a_panel_action_tells_the_person_it_is_assigned_to_or_else_the_agency(world):
    ctx, chair = world["ctx"], world["chair"]
    case = await cases.open_case(ctx, world["owner"], "noise", REPORT)
    meeting, item = await _meeting_item(world, case)
    due = clock.today() + dt.timedelta(days=14)
    await panels.add_minute(
        ctx,
        chair,
        meeting["id"],
        item_id=item["id"],
        kind="action",
        text="Visit Mr Dunmore about the dog",
        owner_agency_id=world["police"]["id"],
        assignee_id=world["officer"].id,
        due_date=due,
    )
    police_user = await make_user(world["police"], ("caseworker",), name="Another Officer")
    assert await _texts(world["officer"]) == [
        f"Panel action assigned to you: {case['reference']}, due {due:%-d %B %Y}"
    ]
    assert await notifications.unread_count(police_user) == 0  # addressed to one person
    await panels.add_minute(
        ctx,
        chair,
        meeting["id"],
        item_id=item["id"],
        kind="action",
        text="Check call-outs",
        owner_agency_id=world["police"]["id"],
        due_date=due,
    )
    assert f"Panel action assigned to your agency: {case['reference']}, due {due:%-d %B %Y}" in await _texts(
        police_user
    )
    assert not any("Dunmore" in t for t in await _texts(world["officer"]))


async def test_the_due_task_sweep_tells_once_per_task_and_day(world):
    ctx, owner = world["ctx"], world["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    today = clock.today()
    await tasks.add_task(
        ctx, owner, case["id"], title="Ring Mrs Patel back", due_date=today, assignee_id=owner.id
    )
    await tasks.add_task(ctx, owner, case["id"], title="Team task", due_date=today - dt.timedelta(days=2))
    await tasks.add_task(ctx, owner, case["id"], title="Later", due_date=today + dt.timedelta(days=5))
    assert await notifications.sweep_due_tasks() == 2
    assert await notifications.sweep_due_tasks() == 0  # run again: nothing new
    mine = await _texts(owner)
    assert (
        f"A task is due today: {case['reference']}" in mine
        and f"A task is overdue: {case['reference']}" in mine
    )
    # the team's, not Olive's
    assert await _texts(world["colleague"]) == [f"A task is overdue: {case['reference']}"]
    assert not any("Patel" in t for t in mine)
    # the next day the one due today is overdue: one more, under its due date's key, not a duplicate
    assert await notifications.sweep_due_tasks(today + dt.timedelta(days=1)) == 0


async def test_marking_read_one_and_all_and_who_joins_or_leaves(world):
    ctx, owner = world["ctx"], world["owner"]
    for i in range(3):
        case = await cases.open_case(ctx, owner, "noise", {**REPORT, "street": f"Lane {i}"})
        await sharing.share_case(
            owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
        )
    officer = world["officer"]
    rows = await notifications.list_for(officer)
    assert len(rows) == 3 and all(r["unread"] for r in rows)
    await notifications.mark_read(officer, rows[0]["id"])
    await notifications.mark_read(officer, rows[0]["id"])  # twice is harmless
    assert await notifications.unread_count(officer) == 2
    # read by one user of the agency is not read by the others
    newcomer_before = await make_user(world["police"], ("caseworker",), name="Early Bird")
    assert await notifications.unread_count(newcomer_before) == 0  # joined after they were sent
    assert await notifications.mark_all_read(officer) == 2
    assert await notifications.unread_count(officer) == 0 and await NotificationRead.count() == 0
    case = await cases.open_case(ctx, owner, "noise", {**REPORT, "street": "Lane 9"})
    await sharing.share_case(owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    assert (
        await notifications.unread_count(officer) == 1
        and await notifications.unread_count(newcomer_before) == 1
    )
    with pytest.raises(NotFound):
        await notifications.mark_read(world["officer2"], rows[0]["id"])
    with pytest.raises(NotFound):
        await notifications.get_for(world["owner"], rows[0]["id"])
    assert await AuditEvent.count().where(AuditEvent.action == "notification.read_all") == 1


async def test_a_notify_rule_tells_without_referring_and_shows_only_what_the_reader_may_see(world):
    ctx, owner = world["ctx"], world["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    case = await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    assert await Referral.count() == 0
    text = f"For information: a high-risk noise case: {case['reference']}"
    assert await _texts(world["officer"]) == [text] and await _texts(world["officer2"]) == [text]
    assert await notifications.unread_count(world["worker"]) == 0
    # the case's own agency (a district council) is never told by a kind it is itself
    assert not any(n["kind"] == "rule_notice" for n in await notifications.list_for(owner))
    events = await CaseEvent.select().where((CaseEvent.case == case["id"]) & (CaseEvent.kind == "notice"))
    assert any("no referral was made" in e["summary"] for e in events)
    assert any("no other agency is district council" in e["summary"] for e in events)
    # saving again fires the rule again: no one is told twice
    await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    assert await Notification.count().where(Notification.kind == "rule_notice") == 2
    # the police cannot see the case: the special-category answer the rule tested is withheld
    from caseframe.core.notifications.notices import notice_view

    note = (await notifications.list_for(world["officer"]))[0]
    row = await notifications.get_for(world["officer"], note["id"])
    view = await notice_view(ctx, world["officer"], row)
    assert not view["case_visible"] and view["reason"] == "The visit found a high risk to the complainant"
    answers = {line["question"]: line["answer"] for line in view["why"]}
    assert answers["Visit: Risk to the complainant"] == "High"
    assert answers["Visit: Effect on the complainant\u2019s health"] == "Not shared with your agency"
    assert "Panic" not in str(view)


async def test_pages_bell_list_mark_read_csrf_and_no_one_elses(world, db):
    ctx, owner = world["ctx"], world["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    case = await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    await sharing.share_case(owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["officer"])
        home = await client.get("/")
        bell = re.search(r'<a class="cf-header__link cf-bell".*?</a>', home.text, re.S).group(0)
        assert '>2<span class="govuk-visually-hidden"> unread</span>' in bell
        listing = await client.get("/notifications")
        assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
        assert (
            f"A case was shared with your agency: {case['reference']}" in listing.text
            and "Panic" not in listing.text
        )
        ids = [
            int(i)
            for i in re.findall(r'<form method="post" action="/notifications/(\d+)/open"', listing.text)
        ]
        assert len(ids) == 2
        assert (
            await client.post(f"/notifications/{ids[0]}/read", data={})
        ).status_code == 403  # no CSRF token
        done = await client.post(f"/notifications/{ids[0]}/read", data={"csrf_token": token})
        assert done.status_code == 303
        assert "Marked as read" in (await client.get(done.headers["location"])).text
        # following one is a POST with the token: it marks it read and goes through the case page's own checks
        shared = next(i for i in ids if i != ids[0]) if ids[0] != ids[1] else ids[1]
        assert (await client.post(f"/notifications/{shared}/open", data={})).status_code == 403
        opened = await client.post(f"/notifications/{shared}/open", data={"csrf_token": token})
        assert opened.status_code == 303
        assert await NotificationRead.count().where(NotificationRead.notification == shared) == 1
        notice = await Notification.select().where(Notification.kind == "rule_notice").first()
        where = opened.headers["location"]
        assert where in (f"/cases/{case['id']}", f"/notifications/{notice['id']}")
        shown = await client.get(f"/notifications/{notice['id']}")
        assert (
            shown.status_code == 200
            and "Not shared with your agency" in shown.text
            and "Panic" not in shown.text
        )
        assert "The visit found a high risk" in shown.text
        page = await client.get("/cases/" + str(case["id"]))
        assert page.status_code == 200  # shared: the link works
        assert (await client.post("/notifications/read-all", data={"csrf_token": token})).status_code == 303
        assert "cf-bell__count" not in (await client.get("/")).text
        assert (await client.get("/notifications/999999")).status_code == 404
        bad = await client.post("/notifications/settings", data={"csrf_token": token, "email": "maybe"})
        assert bad.status_code == 400 and "Select whether" in bad.text
    async with web_client(ctx, db) as client:
        helper_token = await sign_in(client, world["helper"])  # another agency: none of the police's
        assert "cf-bell__count" not in (await client.get("/")).text
        listing = await client.get("/notifications")
        assert "You have no notifications" in listing.text and case["reference"] not in listing.text
        for i in ids:
            assert (await client.get(f"/notifications/{i}/open")).status_code == 404
            assert (
                await client.post(f"/notifications/{i}/open", data={"csrf_token": helper_token})
            ).status_code == 404
            assert (
                await client.post(f"/notifications/{i}/read", data={"csrf_token": helper_token})
            ).status_code == 404
            assert (await client.get(f"/notifications/{i}")).status_code == 404
    # the share ends: the notice still says only what it said, and the case page refuses
    await sharing.revoke_share(owner, case["id"], (await sharing.shares_of(case["id"]))[0]["id"])
    async with web_client(ctx, db) as client:
        await sign_in(client, world["officer"])
        assert (await client.get(f"/cases/{case['id']}")).status_code == 404
        listing = await client.get("/notifications")
        assert case["reference"] in listing.text and "Kestrel" not in listing.text
        shown = await client.get(f"/notifications/{notice['id']}")
        assert "The case is not shared with your agency" in shown.text


def test_the_sweep_command_refuses_a_date_that_is_not_one(capsys):
    from caseframe.core.cli import main

    assert main(["notifications", "run", "--date", "2026-02-30"]) == 2
    assert "--date must be a date" in capsys.readouterr().err
