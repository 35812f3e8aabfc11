"""The area list's filters, sorts and pages, held to what each one means, on both databases: the list reads its
cases with statements of its own (``core/cases/lists.py``), so each filter and order is checked here against the
cases computed in Python from their rows, for the page, the count, the CSV export and the bulk form alike."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from caseframe.core import clock
from caseframe.core.auth.tables import User
from caseframe.core.cases import lists
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import make_agency, make_user, sign_in, web_client

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
# (state, risk, lead, closed, days since opened, days since updated, reference number)
CASES = [
    ("open", "high", "leaver", False, 40, 2, 7),
    ("open", "standard", "colleague", False, 30, 9, 3),
    ("visited", "medium", "leaver", False, 20, 1, 5),
    ("visited", "high", None, False, 10, 20, 1),
    ("closed", "medium", "colleague", True, 50, 3, 8),
    ("closed", "standard", "leaver", True, 5, 5, 2),
    ("open", "medium", "gone", False, 15, 15, 6),
    (
        "open",
        "high",
        "leaver",
        False,
        40,
        2,
        4,
    ),  # opened and updated with the first: the newer id comes first
]


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-lists", name="Ashdown Lists")
    partner = await make_agency(ctx, "harbour-lists", name="Harbour Lists")
    people = {
        "leaver": await make_user(council, ("caseworker",), name="Lena Leaver"),
        "colleague": await make_user(council, ("caseworker",), name="Cole Colleague"),
        "gone": await make_user(council, ("caseworker",), name="Gus Gone"),
        "supervisor": await make_user(council, ("supervisor",), name="Sue Supervisor"),
        "outsider": await make_user(partner, ("caseworker",), name="Otto Outsider"),
    }
    await User.update({User.active: False}).where(User.id == people["gone"].id)  # a leaver, gone
    now = clock.now()
    ids = []
    for state, risk, lead, closed, opened, updated, number in CASES:
        case = await cases.open_case(ctx, people["leaver"], "noise", REPORT)
        await Case.update(
            {
                Case.state: state,
                Case.risk_level: risk,
                Case.lead_officer: people[lead].id if lead else None,
                Case.closed_at: now if closed else None,
                Case.opened_at: now - dt.timedelta(days=opened),
                Case.updated_at: now - dt.timedelta(days=updated),
                Case.reference: f"NOI-2025-{number:06d}",
            }
        ).where(Case.id == case["id"])
        ids.append(case["id"])
    # another agency's case in the same area is in none of the council's lists
    await cases.open_case(ctx, people["outsider"], "noise", REPORT)
    today = clock.today()

    def task(case_index, due_days, status="open", agency=council):
        return Task(
            case=ids[case_index],
            title="Call back",
            owner_agency=agency["id"],
            due_date=today + dt.timedelta(days=due_days),
            status=status,
            created_at=now,
        )

    await Task.insert(
        task(0, -3),  # overdue
        task(2, -1),  # overdue
        task(1, 4),  # due later
        task(3, -5, status="done"),  # done: not overdue
        task(6, -2, agency=partner),  # the partner's own task on our case: not the council's overdue work
        task(4, -9),  # overdue, on a closed case
    )
    return {"ctx": ctx, "people": people, "ids": ids, "overdue": {ids[0], ids[2], ids[4]}}


async def _rows(ids):
    return await Case.select().where(Case.id.is_in(ids))


def _expected(world, rows, values, actor):
    lead_ids = {p.id for name, p in world["people"].items() if name != "outsider"}
    out = []
    for r in rows:
        state = values.get("state", "")
        if (
            state in ("open", "visited", "closed") and r["state"] != state
        ):  # the area's states ("open" is one)
            continue
        if values.get("risk") in ("standard", "medium", "high") and r["risk_level"] != values["risk"]:
            continue
        owner = values.get("owner", "")
        if owner == "me" and r["lead_officer"] != actor.id:
            continue
        if owner == "none" and r["lead_officer"] is not None:
            continue
        if owner.isdigit() and int(owner) in lead_ids and r["lead_officer"] != int(owner):
            continue
        if values.get("overdue") == "yes" and r["id"] not in world["overdue"]:
            continue
        out.append(r)
    sort = values.get("sort") if values.get("sort") in ("updated", "reference", "risk") else "opened"
    key, reverse = {
        "opened": (lambda r: (r["opened_at"], r["id"]), True),
        "updated": (lambda r: (r["updated_at"], r["id"]), True),
        "reference": (lambda r: (r["reference"], -r["id"]), False),
        "risk": (lambda r: (r["risk_level"], r["id"]), True),
    }[sort]
    return [r["id"] for r in sorted(out, key=key, reverse=reverse)]


FILTERS = {
    "state": ["", "open", "visited", "closed", "nonsense"],
    "risk": ["", "high", "medium", "unknown"],
    "owner": ["", "me", "none", "colleague", "outsider", "99999"],
    "overdue": ["", "yes"],
    "sort": ["", "updated", "reference", "risk", "sideways"],
}


def _combinations():
    """Each value of each filter with the others at their defaults, and a spread of them together."""
    for name, choices in FILTERS.items():
        for choice in choices[1:]:
            yield {name: choice}
    for state, risk, owner, sort in itertools.product(["open", ""], ["high", ""], ["me", ""], ["risk", ""]):
        yield {"state": state, "risk": risk, "owner": owner, "overdue": "yes" if owner else "", "sort": sort}


async def test_every_filter_and_sort_lists_the_cases_it_means(world, monkeypatch):
    ctx, area, people = world["ctx"], world["ctx"].area("noise"), world["people"]
    monkeypatch.setattr(lists, "PAGE_SIZE", 100)
    rows = await _rows(world["ids"])
    for actor in (people["leaver"], people["supervisor"]):
        for values in _combinations():
            query = dict(values)
            if query.get("owner") in ("colleague", "outsider"):
                query["owner"] = str(people[query["owner"]].id)
            listed = await lists.area_list(ctx, actor, area, query)
            expected = _expected(world, rows, query, actor)
            assert [i["id"] for i in listed["items"]] == expected, query
            assert listed["total"] == len(expected), query
            ids, filters = await lists.export_ids(actor, area, query)
            assert ids == expected and filters == listed["filters"], query
            # a value the list cannot read is dropped, not applied
            for name, value in query.items():
                kept = listed["filters"][name]
                assert kept in (value, "") and (kept == "" or name != "owner" or value != "99999"), (
                    name,
                    query,
                )


async def test_pages_hold_the_order_and_a_page_past_the_end_is_the_last(world, monkeypatch):
    ctx, area, actor = world["ctx"], world["ctx"].area("noise"), world["people"]["leaver"]
    monkeypatch.setattr(lists, "PAGE_SIZE", 3)
    expected = _expected(world, await _rows(world["ids"]), {"sort": "reference"}, actor)
    seen = []
    for number in (1, 2, 3):
        listed = await lists.area_list(ctx, actor, area, {"sort": "reference", "page": str(number)})
        assert (listed["number"], listed["pages"], listed["total"]) == (number, 3, len(expected))
        seen += [i["id"] for i in listed["items"]]
    assert seen == expected
    for beyond in ("4", "999999999999999999999", "-2", "two"):
        listed = await lists.area_list(ctx, actor, area, {"sort": "reference", "page": beyond})
        assert listed["number"] in (1, 3)
        assert [i["id"] for i in listed["items"]] == expected[(listed["number"] - 1) * 3 :][:3]


async def test_the_bulk_form_takes_every_open_case_the_filters_match(world):
    area, actor = world["ctx"].area("noise"), world["people"]["supervisor"]
    rows, filters = await lists.reassign_candidates(actor, area, {"scope": "all", "risk": "high"})
    expected = [r for r in await _rows(world["ids"]) if r["risk_level"] == "high" and r["closed_at"] is None]
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in expected)
    assert [r["reference"] for r in rows] == sorted(r["reference"] for r in rows)
    assert filters["risk"] == "high"


async def test_the_page_lists_them_and_offers_the_lead_officers(world, db):
    ctx, people = world["ctx"], world["people"]
    async with web_client(ctx, db) as client:
        await sign_in(client, people["supervisor"])
        page = await client.get("/areas/noise?overdue=yes&sort=reference")
    assert page.status_code == 200
    shown = [r for r in await _rows(world["ids"]) if r["reference"] in page.text]
    assert {r["id"] for r in shown} == world["overdue"]
    # the filter offers every lead officer (a deactivated one marked); the bulk form only who may lead a case
    assert "Gus Gone (deactivated)" in page.text and "Cole Colleague" in page.text
    bulk = page.text.split('id="lead_officer_id"')[1].split("</select>")[0]
    assert all(name in bulk for name in ("Cole Colleague", "Lena Leaver", "Sue Supervisor")), bulk
    assert "Gus Gone" not in bulk
    assert "Otto Outsider" not in page.text
