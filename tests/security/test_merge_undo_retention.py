"""Undoing a person merge respects retention: it never brings back a person or the people of a case retention has
erased, and never changes who is on a case retention restricts, holds or has due for review. Refused in words on
the undo page, with nothing changed. Services and HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.errors import Forbidden
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import Person, PersonMerge
from caseframe.core.retention import service as retention
from caseframe.core.testing import csrf_token_of, make_agency, make_person, make_user, sign_in

REPORT = {"date_of_incident": "2019-11-01", "street": "Kestrel Way", "kind": "music"}
YEAR = 365.25
#: what an undo may write when it is refused: nothing at all but the audit trail and the sign-in session
UNTOUCHED_BY_REFUSAL = {"cf_audit", "cf_audit_checkpoint", "cf_session", "cf_sign_in_throttle"}


async def _stored() -> dict[str, str]:
    from caseframe.core.db.piccolo_app import TABLES

    out = {}
    for table in TABLES:
        name = table._meta.tablename
        if name not in UNTOUCHED_BY_REFUSAL:
            rows = await table.raw(f"SELECT * FROM {name} ORDER BY id")
            out[name] = hashlib.sha256(repr([sorted(r.items()) for r in rows]).encode()).hexdigest()
    return out


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-undo")
    w = {
        "ctx": ctx,
        "worker": await make_user(council),
        "boss": await make_user(council, roles=("supervisor",)),
        "admin": await make_user(council, roles=("local_admin",)),
        "sysadmin": await make_user(council, roles=("system_admin",)),
    }
    return w


async def _merged(w, *, years_ago: float, keep_elsewhere: bool = True):
    """Jordon (on a case closed ``years_ago``) merged into Jordan (also on a new case unless ``keep_elsewhere`` is
    off); returns the old case, both records and the merge's number."""
    keep = await make_person(
        w["worker"], given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14"
    )
    dupe = await make_person(
        w["worker"],
        given_name="Jordon",
        family_name="Reily",
        date_of_birth="1998-03-14",
        identifiers=[{"type": "pnc", "value": "12/1"}],
    )
    with clock.travel(-years_ago * YEAR):
        old = await cases.open_case(
            w["ctx"], w["worker"], "noise", REPORT, subjects=[(dupe["id"], "subject")]
        )
        await cases.transition_case(w["ctx"], w["boss"], old["id"], "close")
        # merged then, while retention had nothing to say about the case: a merge now would be refused by the
        # rule its undo follows (test_a_merge_is_refused_by_the_rule_its_undo_follows)
        merge = await persons.merge_persons(
            w["ctx"], w["boss"], keep["id"], dupe["id"], versions={keep["id"]: 1, dupe["id"]: 1}
        )
    if keep_elsewhere:
        await cases.open_case(w["ctx"], w["worker"], "noise", REPORT, subjects=[(keep["id"], "subject")])
    return old, keep, dupe, merge["merge_id"]


async def _refused_over_http(client, w, merge_id: int, words: str) -> None:
    token = await sign_in(client, w["sysadmin"])
    page = await client.get(f"/admin/person-merges/{merge_id}/undo")
    assert page.status_code == 200
    before = await _stored()
    refused = await client.post(
        f"/admin/person-merges/{merge_id}/undo", data={"csrf_token": csrf_token_of(page.text)}
    )
    assert refused.status_code == 403, refused.text[:500]
    assert "This merge cannot be undone" in refused.text and words in refused.text
    assert "Nothing has been changed" in refused.text and 'class="govuk-error-summary' in refused.text
    assert await _stored() == before  # all or nothing: not one row moved back, no record restored
    assert token


async def test_a_case_erased_since_the_merge_stops_its_undo(world, client):
    old, keep, dupe, merge_id = await _merged(world, years_ago=7)
    await retention.erase(world["ctx"], world["admin"], old["id"], "Six years after closure, reviewed")
    await _refused_over_http(
        client, world, merge_id, "a case it moved people on was erased under the retention policy"
    )
    # the merged record stays a tombstone: its details are not brought back
    row = await Person.select().where(Person.id == dupe["id"]).first()
    assert row["merged_into"] == keep["id"]
    assert (await PersonMerge.select(PersonMerge.undone_at).first())["undone_at"] is None


async def test_a_survivor_erased_by_retention_is_not_brought_back(world):
    old, keep, dupe, merge_id = await _merged(world, years_ago=7, keep_elsewhere=False)
    result = await retention.erase(
        world["ctx"], world["admin"], old["id"], "Six years after closure, reviewed"
    )
    assert result["persons_anonymised"] == 1  # the survivor, on that case alone
    before = await _stored()
    with pytest.raises(Forbidden, match="one of the two records was erased under the retention policy"):
        await persons.undo_merge(world["ctx"], world["sysadmin"], merge_id)
    assert await _stored() == before
    assert (await Person.select(Person.given_name).where(Person.id == keep["id"]).first())[
        "given_name"
    ] == "Erased"


async def test_a_case_past_its_retention_date_waits_for_its_review_then_the_undo_goes_ahead(world, client):
    old, keep, dupe, merge_id = await _merged(world, years_ago=7)
    await _refused_over_http(client, world, merge_id, f"{old['reference']} is past its retention date")
    # the local admin reviews it and keeps it longer: the undo goes ahead
    await retention.extend(
        world["ctx"],
        world["admin"],
        old["id"],
        (clock.today() + dt.timedelta(days=90)).isoformat(),
        "A complaint about the case is open",
    )
    await persons.undo_merge(world["ctx"], world["sysadmin"], merge_id)
    assert (await Person.select(Person.merged_into).where(Person.id == dupe["id"]).first())[
        "merged_into"
    ] is None


@pytest.mark.parametrize("decision", ["legal_hold", "restricted"])
async def test_a_case_on_legal_hold_or_restricted_keeps_its_people(world, client, decision):
    old, keep, dupe, merge_id = await _merged(world, years_ago=1)
    if decision == "legal_hold":
        await retention.set_legal_hold(
            world["ctx"], world["admin"], old["id"], True, "Claim against the council"
        )
        words = f"{old['reference']} is on legal hold"
    else:
        await retention.set_restricted(world["ctx"], world["admin"], old["id"], True, "Accuracy contested")
        words = f"{old['reference']} is restricted under the retention policy"
    await _refused_over_http(client, world, merge_id, words)
    if decision == "legal_hold":
        await retention.set_legal_hold(world["ctx"], world["admin"], old["id"], False, "Claim settled")
    else:
        await retention.set_restricted(world["ctx"], world["admin"], old["id"], False, "Accuracy confirmed")
    await persons.undo_merge(world["ctx"], world["sysadmin"], merge_id)
    assert (await PersonMerge.select(PersonMerge.undone_at).first())["undone_at"] is not None


@pytest.mark.parametrize("decision", ["past its retention date", "legal_hold", "restricted"])
async def test_a_merge_is_refused_by_the_rule_its_undo_follows(world, decision):
    """Merging moves the merged record's rows onto the survivor: refused, with nothing changed and in the same
    words, wherever undoing it would be (persons.service._kept_refusal, shared by both)."""
    w = world
    keep = await make_person(
        w["worker"], given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14"
    )
    dupe = await make_person(
        w["worker"], given_name="Jordon", family_name="Reily", date_of_birth="1998-03-14"
    )
    with clock.travel(-(7 if decision == "past its retention date" else 1) * YEAR):
        old = await cases.open_case(
            w["ctx"], w["worker"], "noise", REPORT, subjects=[(dupe["id"], "subject")]
        )
        await cases.transition_case(w["ctx"], w["boss"], old["id"], "close")
    if decision == "legal_hold":
        await retention.set_legal_hold(w["ctx"], w["admin"], old["id"], True, "Claim against the council")
        words = f"{old['reference']} is on legal hold"
    elif decision == "restricted":
        await retention.set_restricted(w["ctx"], w["admin"], old["id"], True, "Accuracy contested")
        words = f"{old['reference']} is restricted under the retention policy"
    else:
        words = f"{old['reference']} is past its retention date"
    before = await _stored()
    with pytest.raises(Forbidden) as refused:
        await persons.merge_persons(
            w["ctx"], w["boss"], keep["id"], dupe["id"], versions={keep["id"]: 1, dupe["id"]: 1}
        )
    assert (
        refused.value.message.startswith("These records cannot be merged: ")
        and words in refused.value.message
    )
    assert "Nothing has been merged" in refused.value.message
    assert await _stored() == before
    # the other way round (the record on the kept case survives, its rows stay): nothing of that case moves
    await persons.merge_persons(
        w["ctx"], w["boss"], dupe["id"], keep["id"], versions={keep["id"]: 1, dupe["id"]: 1}
    )
