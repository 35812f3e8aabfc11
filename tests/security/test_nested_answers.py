"""An answer nested inside another (a household list whose members each have a special-category health answer, a
contact object holding a sensitive note) is hidden from a partner wherever the answer it sits in is shown: the
case's answers, and the timeline's "changed from X to Y", which records a whole list or object where it was added,
replaced or removed. Found by a hostile review: the timeline checked only the question its pointer named, so the
API's timeline and the case page handed an official-level partner the nested health and note answers."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import Access, filter_answers, readable_change, readable_changes
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import nested_plugin
from tests.security.test_leaks import _marker

HEALTH = _marker("nestedhealth")
OLD_HEALTH = _marker("oldnestedhealth")
NOTE = _marker("nestednote")
OFFICIAL_NAME = _marker("membername")
OFFICIAL = Access(kind="share", max_sensitivity="official")
SENSITIVE = Access(kind="share", max_sensitivity="sensitive")


@pytest.fixture
def ctx():
    return make_context(nested_plugin)


@pytest.fixture
async def world(db, ctx):
    today = clock.today()
    council = await make_agency(ctx, "council", areas=["nested"])
    partner = await make_agency(ctx, "partner", agency_type="police", areas=[])
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    admin = await make_user(council, ("system_admin",), name="Sam Admin")
    reader = await make_user(partner, ("caseworker",), name="Pat Partner")
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-N",
        title="Council and partner",
        parties=[council["id"], partner["id"]],
        purposes=["crime_prevention"],
        areas=["nested"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=10),
        max_sensitivity="official",
    )
    case = await cases.open_case(ctx, owner, "nested", {"address": "1 High Street"})
    for answers in (
        {"members": [{"name": OFFICIAL_NAME, "health": OLD_HEALTH}]},
        {"members": [{"name": OFFICIAL_NAME, "health": HEALTH}], "contact": {"phone": "0123", "note": NOTE}},
        {},  # removed again: "changed from" holds the list and the object whole
    ):
        case = await cases.save_form(
            ctx, owner, case["id"], "household", answers, expected_version=case["version"]
        )
    await sharing.share_case(owner, case["id"], agency_id=partner["id"], purpose="crime_prevention")
    return {"case": case, "owner": owner, "reader": reader}


async def _read(db, ctx, actor, case_id: int) -> dict[str, str]:
    async with web_client(ctx, db) as client:
        await sign_in(client, actor)
        api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        bearer = {"Authorization": f"Bearer {api.json()['token']}"}
        out = {}
        for url in (f"/cases/{case_id}", f"/api/v1/cases/{case_id}"):
            response = await client.get(url, headers=bearer if url.startswith("/api/") else None)
            assert response.status_code == 200, url
            out[url] = response.text
        return out


async def test_a_partner_reads_no_nested_answer_above_its_level_in_the_timeline(db, ctx, world):
    bodies = await _read(db, ctx, world["reader"], world["case"]["id"])
    found = [f"{m} in {url}" for url, body in bodies.items() for m in (HEALTH, OLD_HEALTH, NOTE) if m in body]
    assert found == []
    # the official answers around them are still read
    assert OFFICIAL_NAME in bodies[f"/api/v1/cases/{world['case']['id']}"]


async def test_the_owner_reads_the_nested_answers_so_the_test_is_not_vacuous(db, ctx, world):
    bodies = await _read(db, ctx, world["owner"], world["case"]["id"])
    api = bodies[f"/api/v1/cases/{world['case']['id']}"]
    assert HEALTH in api and OLD_HEALTH in api and NOTE in api


def test_a_list_item_or_list_of_lists_above_the_level_is_left_out():
    schema = {
        "properties": {
            "codes": {"type": "array", "items": {"type": "string", "x-sensitivity": "special_category"}},
            "grid": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"a": {"type": "string"}, "b": {"x-sensitivity": "sensitive"}},
                    },
                },
            },
        }
    }
    answers = {"codes": ["x"], "grid": [[{"a": "1", "b": "2"}]]}
    assert filter_answers(answers, schema, OFFICIAL) == {"codes": [], "grid": [[{"a": "1"}]]}
    assert filter_answers(answers, schema, SENSITIVE) == {"codes": [], "grid": [[{"a": "1", "b": "2"}]]}
    assert readable_change(OFFICIAL, schema, {"field": "/codes/0", "from": "x", "to": "y"}) is None
    assert readable_change(OFFICIAL, schema, {"field": "/grid", "from": None, "to": answers["grid"]}) == {
        "field": "/grid",
        "from": None,
        "to": [[{"a": "1"}]],
    }


def test_a_malformed_change_is_dropped_for_a_partner_and_kept_for_the_owner():
    changes = [{"field": 7}, "not a change", {"field": "/x", "from": 1, "to": 2}]
    assert readable_changes(OFFICIAL, {"properties": {}}, changes) == [{"field": "/x", "from": 1, "to": 2}]
    assert readable_changes(OFFICIAL, None, changes) == []
    assert readable_changes(Access.owner(), None, changes) == changes


def test_an_unknown_level_is_never_read_as_official():
    """A level the core does not know (a typo in stored data) is the most sensitive, and an access of no level
    (a reference-only listing) reads no answer at all, where both used to count as official."""
    assert not Access.reference_only().may_see(None) and not Access.reference_only().may_see("official")
    assert filter_answers({"a": 1}, {"properties": {"a": {}}}, Access.reference_only()) == {}
    assert not SENSITIVE.may_see("secret") and Access.owner().may_see("secret")
    assert OFFICIAL.may_see(None) and OFFICIAL.may_see("official") and not OFFICIAL.may_see("sensitive")


def test_a_form_marked_as_a_whole_hides_every_answer_and_change():
    """``x-sensitivity`` on the form itself: its questions, each unmarked, are as sensitive as the form. It used
    to count only for answers the form does not describe, so a special-category form's answers reached every
    partner, and its timeline changes too."""
    schema = {"x-sensitivity": "special_category", "properties": {"diagnosis": {"type": "string"}}}
    assert filter_answers({"diagnosis": "x", "other": "y"}, schema, SENSITIVE) == {}
    assert readable_change(SENSITIVE, schema, {"field": "/diagnosis", "from": None, "to": "x"}) is None
    assert filter_answers({"diagnosis": "x"}, schema, Access.owner()) == {"diagnosis": "x"}
