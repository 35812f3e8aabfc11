"""A field the page sends once, sent twice (a crafted form), is refused with a clear message and changes nothing.

Handlers read such fields with ``data.get(x)`` and passed them on: a choice sent twice read as "not yes" (a legal
hold lifted, a user deactivated), a reason as the text of a list ("['a', 'b']" stored), a version as no version (the
check that nobody changed the record meanwhile skipped), an address row's value as empty (the row removed). They are
read with ``form_text`` / ``form_number`` / ``form_date`` now (core/web/pages.py): "Enter this only once", nothing
saved. Fields meant to repeat (checkboxes) are read with ``form_list``.
"""

from __future__ import annotations

import json

import pytest

from caseframe.core.retention.tables import CaseRetention
from tests.security.test_hostile_writes import FORM, _urlencode, boss  # noqa: F401

REFUSED = ("sent a field more than once", "Enter this only once")


def _refused(response) -> bool:
    return response.status_code in (400, 422) and any(m in response.text for m in REFUSED)


async def _post(client, url: str, body: list[tuple[str, str]]):
    return await client.post(url, content=_urlencode(body), headers={"Content-Type": FORM})


async def _retention(case_id: int) -> list[dict]:
    return await CaseRetention.select().where(CaseRetention.case_id == case_id)


@pytest.mark.parametrize(
    "body",
    [
        [("hold", "yes"), ("hold", "yes"), ("hold_reason", "Litigation")],
        [("hold", "yes"), ("hold_reason", "Litigation"), ("hold_reason", "Appeal")],
    ],
    ids=["choice twice", "reason twice"],
)
async def test_a_legal_hold_sent_twice_is_refused_and_the_hold_stays(boss, body):
    """The hold's "yes" twice read as "no": the hold was lifted; its reason twice was stored as "['a', 'b']"."""
    from caseframe.core.retention import service as retention
    from caseframe.core.testing import make_context
    from tests.fixtures.areas import noise_plugin

    client, actor, case = boss
    await retention.set_legal_hold(make_context(noise_plugin), actor, case["id"], True, "Court order")
    before = await _retention(case["id"])
    response = await _post(client, f"/admin/retention/{case['id']}/hold", body)
    assert _refused(response), (response.status_code, response.text[:300])
    assert await _retention(case["id"]) == before
    assert before[0]["legal_hold"] and before[0]["hold_reason"] == "Court order"


async def test_a_restriction_reason_sent_twice_is_refused_and_nothing_restricted(boss):
    client, _, case = boss
    response = await _post(
        client,
        f"/admin/retention/{case['id']}/restrict",
        [("restrict", "yes"), ("restrict_reason", "Contested"), ("restrict_reason", "Other")],
    )
    assert _refused(response)
    assert not [r for r in await _retention(case["id"]) if r["restricted"]]


async def test_a_users_active_choice_sent_twice_is_refused_and_they_stay_active(boss):
    """ "yes" twice read as "no": with the confirmation, the user was deactivated."""
    from caseframe.core.auth.tables import User
    from caseframe.core.testing import make_user

    client, actor, _ = boss
    council = {"id": actor.agency_id, "slug": "ashdown-council"}
    colleague = await make_user(council, ("caseworker",), name="Cal Colleague")
    response = await _post(
        client,
        f"/admin/users/{colleague.id}/active",
        [("active", "yes"), ("active", "yes"), ("confirmed", "yes")],
    )
    assert _refused(response), response.status_code
    assert (await User.select(User.active).where(User.id == colleague.id).first())["active"] is True


async def test_a_task_title_sent_twice_is_refused_and_the_task_is_unchanged(boss):
    """A title sent twice was read as "no title given": the edit went through without it, silently."""
    from caseframe.core.tasks import service as tasks
    from caseframe.core.tasks.tables import Task
    from caseframe.core.testing import make_context
    from tests.fixtures.areas import noise_plugin

    client, actor, case = boss
    task = await tasks.add_task(make_context(noise_plugin), actor, case["id"], title="Visit the street")
    before = await Task.select().where(Task.id == task["id"]).first()
    response = await _post(
        client,
        f"/tasks/{task['id']}/edit",
        [("title", "Call"), ("title", "Write"), ("due-day", "1"), ("due-month", "1"), ("due-year", "2027")],
    )
    assert _refused(response), response.status_code
    assert await Task.select().where(Task.id == task["id"]).first() == before


async def test_a_subject_access_request_with_its_requester_sent_twice_is_refused(boss):
    from caseframe.core.sar.tables import SubjectAccessRequest
    from caseframe.core.testing import make_person

    client, actor, _ = boss
    person = await make_person(actor, given_name="Ada", family_name="Asker")
    response = await _post(
        client,
        "/admin/sar/new",
        [
            ("person_id", str(person["id"])),
            ("requester", "Ada Asker"),
            ("requester", "Her solicitor"),
            ("received_on-day", "1"),
            ("received_on-month", "12"),
            ("received_on-year", "2026"),
        ],
    )
    assert _refused(response), response.status_code
    assert await SubjectAccessRequest.count() == 0


async def test_a_persons_address_line_sent_twice_is_refused_and_the_address_kept(boss):
    """An address row's value sent twice was read as empty: the row was dropped, so saving removed the address."""
    from caseframe.core.persons.tables import Person
    from caseframe.core.testing import make_person

    client, actor, _ = boss
    person = await make_person(
        actor,
        given_name="Ada",
        family_name="Addressed",
        addresses=[{"line1": "1 Wren Lane", "town": "Ashdown", "postcode": "AS1 1AA", "from": "", "to": ""}],
    )
    before = await Person.select().where(Person.id == person["id"]).first()
    response = await _post(
        client,
        f"/persons/{person['id']}/edit",
        [
            ("version", str(before["version"])),
            ("given_name", "Ada"),
            ("family_name", "Addressed"),
            ("addresses-0-line1", "1 Wren Lane"),
            ("addresses-0-line1", "2 Wren Lane"),
            ("addresses-0-town", "Ashdown"),
            ("addresses-0-postcode", "AS1 1AA"),
        ],
    )
    assert _refused(response), response.status_code
    assert await Person.select().where(Person.id == person["id"]).first() == before


async def test_a_repeated_checkbox_is_still_a_list(boss):
    """Fields meant to repeat are read as lists (form_list): two roles for a new user are both given."""
    from caseframe.core.auth.tables import User

    client, _, _ = boss
    response = await _post(
        client,
        "/admin/users/",
        [
            ("email", "two.roles@example.org"),
            ("name", "Two Roles"),
            ("roles", "caseworker"),
            ("roles", "supervisor"),
            ("password", "a long enough password 1"),
        ],
    )
    assert response.status_code in (200, 303), (response.status_code, response.text[:500])
    user = await User.select(User.id).where(User.email == "two.roles@example.org").first()
    assert user is not None


async def test_a_case_form_answer_sent_twice_is_refused_and_the_answers_stay(boss):
    """A single-answer question sent twice used to keep the first answer without a word; now it is refused."""
    from caseframe.core.cases.tables import Case

    client, _, case = boss
    before = await Case.select(Case.data, Case.version).where(Case.id == case["id"]).first()
    body = [
        ("f.date_of_incident.year", "2026"),
        ("f.date_of_incident.month", "11"),
        ("f.date_of_incident.day", "1"),
        ("f.street", "High Street"),
        ("f.street", "Low Street"),
        ("f.kind", "dog"),
        ("version", str(before["version"])),
    ]
    response = await _post(client, f"/cases/{case['id']}/forms/report", body)
    assert _refused(response), (response.status_code, response.text[:300])
    assert await Case.select(Case.data, Case.version).where(Case.id == case["id"]).first() == before
    # the same answer once is saved, so the refusal is about the doubled field alone
    ok = await _post(client, f"/cases/{case['id']}/forms/report", [b for b in body if b[1] != "Low Street"])
    assert ok.status_code in (200, 303), ok.status_code
    saved = (await Case.select(Case.data).where(Case.id == case["id"]).first())["data"]
    saved = json.loads(saved) if isinstance(saved, str) else saved
    assert "High Street" in json.dumps(saved) and "Low Street" not in json.dumps(saved)


async def test_a_new_case_whose_answer_is_sent_twice_is_refused_and_no_case_is_opened(boss):
    from caseframe.core.cases.tables import Case

    client, _, _ = boss
    count = await Case.count()
    body = [
        ("f.date_of_incident.year", "2026"),
        ("f.date_of_incident.year", "2025"),
        ("f.date_of_incident.month", "11"),
        ("f.date_of_incident.day", "1"),
        ("f.street", "High Street"),
        ("f.kind", "dog"),
    ]
    response = await _post(client, "/areas/noise/new", body)
    assert _refused(response), (response.status_code, response.text[:300])
    assert await Case.count() == count
