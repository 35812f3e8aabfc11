"""Warning markers on a person's record: declared by the core and by areas, each with a level; the agency that
recorded the person sets them and reads them all, a partner reads those its agreement's level allows, on the
person's page, the API, searches, a referral's reasons and a subject access export; bad markers are refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from caseframe.core import clock
from caseframe.core.areas import load_area
from caseframe.core.areas.registry import AreaRegistry
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.errors import AreaError, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import Person
from caseframe.core.referrals.explain import NOT_SHARED, explain, filter_facts
from caseframe.core.sar import service as sar
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import Access, FlagReader
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
)
from tests.fixtures.areas import noise_plugin

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"
REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
#: one marker of each level, and one no area declares (left on the record by an area since removed)
MARKERS = ["violence_marker", "vulnerable", "noise_illness", "retired_marker"]


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


async def _isa(ctx, admin, reference, parties, level):
    today = clock.today()
    return await sharing.create_isa(
        ctx,
        admin,
        reference=reference,
        title=f"Agreement {reference}",
        parties=parties,
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=30),
        max_sensitivity=level,
    )


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "flag-council", name="Flag District Council")
    police = await make_agency(ctx, "flag-police", agency_type="police", name="Flag Police")
    health = await make_agency(ctx, "flag-health", agency_type="mental_health", name="Flag Mental Health")
    worker = await make_user(council, ("caseworker",), name="Casey Worker")
    officer = await make_user(police, ("caseworker",), name="Pat Officer")
    nurse = await make_user(health, ("caseworker",), name="Nia Nurse")
    sysadmin = await make_user(council, ("system_admin",), name="Sid Sysadmin")
    await _isa(ctx, sysadmin, "ISA-OFFICIAL", [council["id"], police["id"]], "official")
    await _isa(ctx, sysadmin, "ISA-HEALTH", [council["id"], health["id"]], "special_category")
    person = await make_person(
        worker,
        given_name="Reece",
        family_name="Dunmore",
        flags=MARKERS[:3],
        flag_levels=ctx.areas.flag_levels,
    )
    # a marker an area declared when it was set, and no area declares now
    await Person.update({Person.flags: MARKERS}).where(Person.id == person["id"])
    case = await cases.open_case(ctx, worker, "noise", REPORT, subjects=[(person["id"], "subject")])
    for agency in (police, health):
        await sharing.share_case(worker, case["id"], agency_id=agency["id"], purpose="crime_prevention")
    return {
        "ctx": ctx,
        "council": council,
        "police": police,
        "worker": worker,
        "officer": officer,
        "nurse": nurse,
        "sysadmin": sysadmin,
        "person": person,
        "case": case,
    }


# --- the contract: markers declared with a level ------------------------------------------------------------


def test_the_core_and_an_area_declare_markers_each_with_a_level(ctx):
    flags = ctx.areas.person_flags
    assert flags["violence_marker"].sensitivity == "official"
    assert flags["substance_misuse"].sensitivity == "special_category"
    assert flags["noise_illness"] == ("Made ill by noise (health condition)", "special_category")
    assert ctx.areas.flag_levels["vulnerable"] == "sensitive"


def test_where_two_areas_rate_one_marker_differently_the_stricter_level_holds(ctx):
    noise = ctx.areas.get("noise")
    laxer = dataclasses.replace(
        noise,
        slug="other",
        person_flags={
            "noise_illness": noise.person_flags["noise_illness"]._replace(sensitivity="official"),
            "vulnerable": noise.person_flags["noise_illness"]._replace(sensitivity="special_category"),
        },
    )
    registry = AreaRegistry(areas={"other": laxer, "noise": noise}, agency_types={})
    assert registry.flag_levels["noise_illness"] == "special_category"
    assert registry.flag_levels["vulnerable"] == "special_category"  # stricter than the core's "sensitive"
    assert registry.person_flags["vulnerable"].label == "Vulnerable adult"  # the first label stays


def _area_with(tmp_path, marker_block: str, rule: str = "") -> Path:
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    text = (area / "area.toml").read_text(encoding="utf-8")
    start = text.index("[[person_flags]]")
    end = text.index("[retention]")
    text = text[:start] + marker_block + "\n" + text[end:]
    (area / "area.toml").write_text(text + rule, encoding="utf-8")
    return area


@pytest.mark.parametrize(
    "block, pointer, words",
    [
        ('[[person_flags]]\nname = "loud"\nlabel = "Loud"\n', "/person_flags/0", "sensitivity"),
        (
            '[[person_flags]]\nname = "loud"\nlabel = "Loud"\nsensitivity = "secret"\n',
            "/person_flags/0/sensitivity",
            "secret",
        ),
        (
            '[[person_flags]]\nname = "Loud Music"\nlabel = "Loud"\nsensitivity = "official"\n',
            "/person_flags/0/name",
            "Loud Music",
        ),
        (
            '[[person_flags]]\nname = "loud"\nlabel = " "\nsensitivity = "official"\n',
            "/person_flags/0/label",
            "",
        ),
    ],
)
def test_a_marker_without_a_good_name_label_or_level_stops_the_area_naming_it(
    tmp_path, block, pointer, words
):
    with pytest.raises(AreaError) as caught:
        load_area(_area_with(tmp_path, block))
    problems = [p for p in caught.value.problems if p.pointer == pointer]
    assert problems and words in problems[0].reason, caught.value.problems


RULE = """
[[rules]]
id = "ill-from-noise"
on = ["case_created"]
when = {{ required = ["subject"], properties = {{ subject = {{ properties = {{ flags = {{ contains = {{ const = "{marker}" }} }} }} }} }} }}
then = {{ agency_type = "mental_health", reason = "The person is made ill by noise" }}
"""


def test_a_rule_naming_a_marker_nobody_declares_stops_the_area_and_a_declared_one_loads(tmp_path):
    block = '[[person_flags]]\nname = "noise_illness"\nlabel = "Ill"\nsensitivity = "special_category"\n'
    with pytest.raises(AreaError) as caught:
        load_area(_area_with(tmp_path / "a", block, RULE.format(marker="noise_ilness")))
    assert any("'noise_ilness'" in p.reason and "person_flags" in p.reason for p in caught.value.problems), (
        caught.value.problems
    )
    for marker in ("noise_illness", "vulnerable"):  # the area's own, the core's
        area = load_area(_area_with(tmp_path / marker, block, RULE.format(marker=marker)))
        assert [r.id for r in area.rules][-1] == "ill-from-noise"


# --- setting markers: only declared ones, only by the agency holding the record ------------------------------


async def test_recording_a_person_with_a_marker_nobody_declares_is_refused_and_saves_nothing(world):
    ctx, worker = world["ctx"], world["worker"]
    before = await Person.count()
    for flags, words in (
        (["violence_marker", "made_up"], "'made_up'"),
        ("vulnerable", "list"),
        ([3], "list"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            await persons.create_person(
                worker, given_name="Ann", family_name="Other", flags=flags, flag_levels=ctx.areas.flag_levels
            )
        assert words in caught.value.errors[0]["message"] and caught.value.errors[0]["field"] == "/flags"
    assert await Person.count() == before


async def test_the_holder_changes_markers_and_the_change_is_audited(world):
    ctx, worker, person = world["ctx"], world["worker"], world["person"]
    row = await Person.select(Person.version).where(Person.id == person["id"]).first()
    changed = await persons.update_person(
        worker,
        person["id"],
        expected_version=row["version"],
        fields={
            "given_name": "Reece",
            "family_name": "Dunmore",
            "flags": ["violence_marker", "retired_marker", "lives_alone"],
        },
        flag_levels=ctx.areas.flag_levels,
    )
    # a marker no area declares any more may stay where it was; it cannot be added anew
    assert changed["flags"] == ["violence_marker", "retired_marker", "lives_alone"]
    event = (
        await AuditEvent.select()
        .where((AuditEvent.action == "person.update") & (AuditEvent.object_id == person["id"]))
        .output(load_json=True)
        .first()
    )
    flags_change = next(c for c in event["detail"]["changes"] if c["field"] == "flags")
    assert flags_change == {
        "field": "flags",
        "added": ["lives_alone"],
        "removed": ["vulnerable", "noise_illness"],
    }
    with pytest.raises(ValidationFailed):
        await persons.update_person(
            worker,
            person["id"],
            expected_version=changed["version"],
            fields={"given_name": "Reece", "family_name": "Dunmore", "flags": ["another_retired_one"]},
            flag_levels=ctx.areas.flag_levels,
        )


# --- reading markers: the holder all, a partner up to its agreement's level ----------------------------------


async def test_each_reader_sees_the_markers_its_agreement_with_the_holder_allows(world):
    ctx, person = world["ctx"], world["person"]
    levels = ctx.areas.flag_levels

    async def seen(actor):
        return (await persons.get_person(actor, person["id"], flag_levels=levels))["flags"]

    assert await seen(world["worker"]) == MARKERS
    assert await seen(world["officer"]) == ["violence_marker"]
    # special category: every marker, the undeclared one too (read as the most sensitive)
    assert await seen(world["nurse"]) == MARKERS
    # without the registry's levels an area's marker counts as the most sensitive: never shown by mistake
    assert (await persons.get_person(world["officer"], person["id"]))["flags"] == ["violence_marker"]
    found = await persons.find_persons(world["officer"], name="Reece Dunmore", flag_levels=levels)
    assert [p["flags"] for p in found] == [["violence_marker"]]
    # duplicates and the create page's warnings carry no markers at all
    assert all("flags" not in p for p in await persons.likely_duplicates("Reece", "Dunmore", None))


async def test_a_reader_with_no_agreement_with_the_holder_sees_official_markers_only(world):
    ctx = world["ctx"]
    stranger = await make_agency(ctx, "flag-charity", agency_type="charity")
    reader = FlagReader(await make_user(stranger), ctx.areas.flag_levels)
    row = {"flags": MARKERS, "created_by_agency": world["council"]["id"]}
    assert await reader.visible(row) == ["violence_marker"]
    assert await reader.visible({"flags": MARKERS, "created_by_agency": None}) == ["violence_marker"]
    assert await reader.visible({"flags": None, "created_by_agency": None}) == []


async def test_a_referrals_reasons_show_a_partner_only_the_markers_it_may_read(world):
    ctx = world["ctx"]
    facts = {"event": "case_created", "area": "noise", "subject": {"role": "subject", "flags": MARKERS}}
    official = Access(kind="share", max_sensitivity="official")
    assert filter_facts(ctx, facts, official)["subject"]["flags"] == ["violence_marker"]
    assert filter_facts(ctx, facts, Access.owner())["subject"]["flags"] == MARKERS

    def when(marker):
        flags = {"contains": {"const": marker}}
        return {"required": ["subject"], "properties": {"subject": {"properties": {"flags": flags}}}}

    # a rule looking for a special category marker: its line says nothing, not even what it looks for
    (line,) = explain(ctx, None, when("noise_illness"), facts, official)
    assert line == {"question": "Warning markers on their record", "answer": NOT_SHARED, "looks_for": ""}
    (line,) = explain(ctx, None, when("violence_marker"), facts, official)
    assert line["answer"] == "violence or threats to staff"
    assert line["looks_for"] == "the rule looks for violence or threats to staff"
    (line,) = explain(ctx, None, when("noise_illness"), facts, Access.owner())
    assert "made ill by noise" in line["answer"] and "made ill by noise" in line["looks_for"]


async def test_a_subject_access_export_lists_the_markers_the_exporting_agency_may_read(world):
    ctx, person = world["ctx"], world["person"]
    police_admin = await make_user(world["police"], ("local_admin",))
    council_admin = await make_user(world["council"], ("local_admin",))
    for admin, expected in ((council_admin, MARKERS), (police_admin, ["violence_marker"])):
        made = await sar.create_request(
            admin,
            {
                "person_id": str(person["id"]),
                "requester": "The person",
                "received_on": clock.today().isoformat(),
            },
        )
        content, _, _ = await sar.export_request(ctx, admin, made["id"], "json")
        markers = json.loads(content)["person"]["warning_markers"]
        assert [m["name"] for m in markers] == expected
        if admin is police_admin:
            assert "noise" not in content.decode().lower().replace("noise nuisance", "")


# --- over HTTP: the page, the API, the edit form ------------------------------------------------------------


async def test_a_partners_person_page_and_api_show_only_the_markers_it_may_read(client, world):
    person = world["person"]
    await sign_in(client, world["officer"])
    page = (await client.get(f"/persons/{person['id']}")).text
    assert "Violence or threats to staff" in page
    for hidden in ("Vulnerable adult", "Made ill by noise", "Retired marker", "noise_illness"):
        assert hidden not in page
    session = await client.post(
        "/api/v1/session", json={"email": world["officer"].email, "password": TEST_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    api = (await client.get(f"/api/v1/persons/{person['id']}", headers=headers)).json()
    assert api["flags"] == ["violence_marker"]
    found = (await client.get("/api/v1/persons/", params={"name": "Reece Dunmore"}, headers=headers)).json()
    assert [p["flags"] for p in found] == [["violence_marker"]]
    assert (await client.get(f"/persons/{person['id']}/edit")).status_code == 403
    # the search results show each person's markers as the person's page does
    token = csrf_token_of((await client.get("/persons")).text)
    results = (await client.post("/persons/search", data={"csrf_token": token, "name": "Reece Dunmore"})).text
    assert "Violence or threats to staff" in results
    assert "Made ill by noise" not in results and "Vulnerable adult" not in results


async def test_the_case_page_shows_each_reader_the_markers_it_may_read_beside_the_person(client, world):
    case = world["case"]
    await sign_in(client, world["officer"])  # the case is shared with the police under the official agreement
    page = (await client.get(f"/cases/{case['id']}")).text
    people = page.split('<h2 class="govuk-heading-m">People</h2>', 1)[1].split("</ul>", 1)[0]
    assert "Reece Dunmore" in people and "Violence or threats to staff" in people
    for hidden in ("Vulnerable adult", "Made ill by noise", "Retired marker"):
        assert hidden not in page
    await sign_in(client, world["worker"])
    page = (await client.get(f"/cases/{case['id']}")).text
    for label in ("Violence or threats to staff", "Vulnerable adult", "Made ill by noise", "Retired marker"):
        assert label in page


async def test_the_holder_ticks_markers_on_the_edit_page(client, world):
    person = world["person"]
    await sign_in(client, world["worker"])
    page = (await client.get(f"/persons/{person['id']}")).text
    for label in ("Violence or threats to staff", "Vulnerable adult", "Made ill by noise (health condition)"):
        assert label in page
    form = await client.get(f"/persons/{person['id']}/edit")
    assert 'name="flags" type="checkbox" value="noise_illness"' in form.text
    assert "Partners whose agreement allows special category information" in form.text
    assert 'value="retired_marker" aria-describedby="flag-retired_marker-hint" checked' in form.text
    version = await Person.select(Person.version).where(Person.id == person["id"]).first()
    base = {
        "csrf_token": csrf_token_of(form.text),
        "version": str(version["version"]),
        "given_name": "Reece",
        "family_name": "Dunmore",
        "flags-shown": "yes",
    }
    # a marker nobody declares (a crafted form): refused in words, the record as it was
    bad = await client.post(
        f"/persons/{person['id']}/edit", data={**base, "flags": ["violence_marker", "<b>made_up</b>"]}
    )
    assert bad.status_code == 400 and "Choose warning markers from the list" in bad.text
    assert "<b>made_up" not in bad.text  # the name is escaped where it is repeated
    assert await _flags_of(person) == MARKERS
    # without the token: refused, nothing changed
    forged = await client.post(f"/persons/{person['id']}/edit", data={**base, "csrf_token": "", "flags": []})
    assert forged.status_code == 403
    ok = await client.post(
        f"/persons/{person['id']}/edit", data={**base, "flags": ["lives_alone", "vulnerable"]}
    )
    assert ok.status_code == 303
    assert await _flags_of(person) == ["lives_alone", "vulnerable"]
    # a form without the markers section (an older page) leaves them as they are
    version = await Person.select(Person.version).where(Person.id == person["id"]).first()
    base.pop("flags-shown")
    kept = await client.post(
        f"/persons/{person['id']}/edit",
        data={**base, "version": str(version["version"]), "given_name": "Reese"},
    )
    assert kept.status_code == 303
    assert await _flags_of(person) == ["lives_alone", "vulnerable"]
    assert (await Person.select(Person.given_name).where(Person.id == person["id"]).first())[
        "given_name"
    ] == "Reese"


async def _flags_of(person):
    row = await Person.select(Person.flags).where(Person.id == person["id"]).output(load_json=True).first()
    return row["flags"]
