"""What is worked out from an answer leaks as the answer does: a partner below an answer's level reads neither it
nor anything that says it (a rule that fired on it, whom the rule referred to and why, what became of that referral),
and does not find the case or its people by searching for it.

Each scenario plants a marker answer above an official partner's ISA and a referral rule that fires on an answer
above that level: a rough sleeper's special-category support need ("mental health"), and a noise report's street
made sensitive, tested through a count grouped by it ("two or more reports in the same street"). The addressee
declines the referral, so the source case's timeline also says what became of it. The partner's caseworker then reads
the case page, the case and its referrals in the JSON API, their notifications and home page, and searches for the
marker: no marker, no rule reason, no rule id and no addressee's name. The owner reads all of it and the addressee
keeps its referral (the rule is not silenced), and a rule on an official answer is still told to the partner.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.referrals import inbox
from caseframe.core.referrals.tables import Referral
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import (
    TEST_PASSWORD,
    demo_answers,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
    web_client,
)
from tests.security.test_plugin_fact_leaks import sensitive_street_ctx  # noqa: F401  (a fixture)

MARKER = f"ZEBRASECRET{uuid.uuid4().hex[:8]}"
SUBJECT = ("Quillon", "Farrowby")


async def _partnership(ctx, area: str, addressee_type: str, partner_type: str) -> dict:
    today = clock.today()
    council = await make_agency(ctx, "ashdown-council", agency_type="district_council")
    partner = await make_agency(ctx, "marker-partner", agency_type=partner_type, name="Marker Partner")
    addressee = await make_agency(
        ctx, "zephyr-addressee", agency_type=addressee_type, name="Zephyr Addressee"
    )
    admin = await make_user(council, ("system_admin",))
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-DERIVED",
        title="Council and partner",
        parties=[council["id"], partner["id"]],
        purposes=["crime_prevention"],
        areas=[area],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=30),
        max_sensitivity="official",
    )
    return {
        "owner": await make_user(council, ("caseworker",), name="Olive Owner"),
        "partner": await make_user(partner, ("caseworker",), name="Petra Partner"),
        "addressee": await make_user(addressee, ("caseworker",), name="Zed Addressee"),
    }


async def _rough_sleeper(ctx) -> dict:
    """A special-category support need: the rule refers mental health needs to a mental health service."""
    people = await _partnership(ctx, "rough_sleepers", "mental_health", "housing_provider")
    owner = people["owner"]
    case = await cases.open_case(ctx, owner, "rough_sleepers", demo_answers(ctx, "rough_sleepers"))
    assessment = {
        **demo_answers(ctx, "rough_sleepers", "assessment"),
        "needs": ["mental_health"],
        "notes": f"Told us about {MARKER}",
        # an official answer: the duty to refer fires too (no other council receives it), and is told
        "consent_to_refer": True,
    }
    case = await cases.save_form(
        ctx, owner, case["id"], "assessment", assessment, expected_version=case["version"]
    )
    rule = next(r for r in ctx.area("rough_sleepers").rules if r.id == "mental-health-need")
    told = next(r for r in ctx.area("rough_sleepers").rules if r.id == "duty-to-refer")
    return {**people, "ctx": ctx, "case": case, "role": "rough_sleeper", "rule": rule, "told": told.reason}


async def _noise_street(ctx) -> dict:
    """A sensitive street: the rule fires on a count of reports grouped by it."""
    people = await _partnership(ctx, "noise", "police", "youth_service")
    owner = people["owner"]
    report = {"date_of_incident": "2026-11-01", "street": MARKER, "kind": "music", "details": "Music at 2am"}
    await cases.open_case(ctx, owner, "noise", report)
    case = await cases.open_case(ctx, owner, "noise", report)
    rule = next(r for r in ctx.area("noise").rules if r.id == "street-hotspot")
    return {**people, "ctx": ctx, "case": case, "role": "complainant", "rule": rule, "told": None}


@pytest.fixture(params=["rule on a special-category answer", "rule on a count grouped by a sensitive answer"])
async def planted(request, db):
    if request.param.startswith("rule on a special"):
        world = await _rough_sleeper(make_context(builtins=True))
    else:
        world = await _noise_street(request.getfixturevalue("sensitive_street_ctx"))
    ctx, owner, case = world["ctx"], world["owner"], world["case"]
    person = await make_person(owner, given_name=SUBJECT[0], family_name=SUBJECT[1])
    await cases.add_subject(ctx, owner, case["id"], person["id"], world["role"])
    referral = (
        await Referral.select()
        .where((Referral.from_case == case["id"]) & (Referral.rule_id == world["rule"].qualified_id))
        .first()
    )
    assert referral is not None, "the rule fired on the hidden answer"
    await inbox.decline(
        ctx, world["addressee"], referral["id"], version=referral["version"], reason="Not ours"
    )
    await sharing.share_case(
        owner, case["id"], agency_id=world["partner"].agency_id, purpose="crime_prevention"
    )
    return {**world, "referral": referral, "person": person}


async def _read(ctx, db, actor, case_id: int) -> dict[str, str]:
    """What ``actor`` reads of the case, and what a search for the marker finds, address -> body."""
    async with web_client(ctx, db) as client:
        token = await sign_in(client, actor)
        api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        bearer = {"Authorization": f"Bearer {api.json()['token']}"}
        bodies = {}
        for url in (f"/cases/{case_id}", "/", "/notifications", "/referrals", "/referrals?box=decided"):
            bodies[url] = (await client.get(url)).text
        for url in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/referrals", "/api/v1/referrals"):
            bodies[url] = (await client.get(url, headers=bearer)).text
        searches = {
            "/persons/search": {"name": MARKER},
            "/search/national": {"name": MARKER, "purpose": "crime_prevention"},
        }
        for url, data in searches.items():
            response = await client.post(url, data={**data, "csrf_token": token})
            assert response.status_code < 500
            bodies[f"POST {url}"] = response.text
        found = await client.get(f"/api/v1/persons?name={MARKER}", headers=bearer)
        assert found.status_code < 500
        bodies["/api/v1/persons?name=marker"] = found.text
    return bodies


async def _page_and_api(ctx, db, actor, case_id: int) -> tuple[str, dict]:
    async with web_client(ctx, db) as client:
        await sign_in(client, actor)
        api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        bearer = {"Authorization": f"Bearer {api.json()['token']}"}
        page = (await client.get(f"/cases/{case_id}")).text
        return page, (await client.get(f"/api/v1/cases/{case_id}", headers=bearer)).json()


def _said(bodies: dict[str, str], words: tuple[str, ...]) -> list[str]:
    return sorted(f"{w!r} in {where}" for where, body in bodies.items() for w in words if w in body)


async def test_a_partner_reads_neither_a_hidden_answer_nor_the_rule_that_fired_on_it(planted, db):
    rule = planted["rule"]
    bodies = await _read(planted["ctx"], db, planted["partner"], planted["case"]["id"])
    searched = {k: v for k, v in bodies.items() if "search" in k or "persons" in k}
    read = {k: v for k, v in bodies.items() if k not in searched}  # a search repeats the words searched for
    # the answer, what the rule that fired on it says, its name, whom it referred the case to
    assert _said(read, (MARKER, rule.reason, rule.id, "Zephyr Addressee")) == []
    # nor is the case or its person found by searching for the answer
    assert _said(searched, (*SUBJECT, planted["case"]["reference"], rule.reason)) == []
    # the walk reached the case, and a rule on an official answer is still told
    assert planted["case"]["reference"] in bodies[f"/cases/{planted['case']['id']}"]
    if planted["told"]:
        assert planted["told"] in bodies[f"/cases/{planted['case']['id']}"]


async def test_the_owner_and_the_addressee_still_read_the_rule_that_fired(planted, db):
    rule, case = planted["rule"], planted["case"]
    bodies = await _read(planted["ctx"], db, planted["owner"], case["id"])
    page = bodies[f"/cases/{case['id']}"]
    assert MARKER in page and rule.reason in page and "Zephyr Addressee" in page
    assert rule.qualified_id in bodies[f"/api/v1/cases/{case['id']}/referrals"]
    decided = await inbox.inbox(planted["ctx"], planted["addressee"], box="decided")
    assert [r["reason"] for r in decided if r["id"] == planted["referral"]["id"]] == [rule.reason]


async def test_a_partners_system_admin_reads_no_rule_that_fired_in_a_subject_access_export_or_the_audit(
    planted, db
):
    """Siblings of the case page, read by the partner's system admin, whose position covers the shared case: the
    subject access export carried the referral the rule raised (its reason, its addressee, the decline), and the audit
    trail named the rule that fired ("rough_sleepers:mental-health-need") and whom it told. Neither does now; the
    owner's own system admin still reads both."""
    import json

    from caseframe.core.audit import service as audit
    from caseframe.core.sar import service as sar

    ctx, rule = planted["ctx"], planted["rule"]
    words = (MARKER, rule.reason, rule.id, "Not ours")
    partner = {"id": planted["partner"].agency_id, "slug": "marker-partner"}
    for admin, told in (
        (await make_user(partner, ("system_admin",), name="Pam Partneradmin"), False),
        (
            await make_user({"id": planted["owner"].agency_id, "slug": "ashdown-council"}, ("system_admin",)),
            True,
        ),
    ):
        made = await sar.create_request(
            admin,
            {
                "person_id": str(planted["person"]["id"]),
                "requester": "The person",
                "received_on": clock.today().isoformat(),
            },
        )
        content, _, _ = await sar.export_request(ctx, admin, made["id"], "json")
        report = json.loads(content)
        events = await audit.export_events(admin, {})
        read = {"SAR export": content.decode(), "audit": json.dumps(events, default=str)}
        if told:
            assert rule.reason in read["SAR export"] and rule.qualified_id in read["audit"]
            continue
        assert _said(read, words) == []
        assert planted["case"]["reference"] in {c["reference"] for c in report["cases"]}  # the case is there
        fired = [e for e in events if e["action"] == "referral.rule_fired"]
        # that a rule fired, not which, whom it told, nor on which case (the addressee's decline would say it)
        assert fired and all(not {"rule", "agencies", "case_id"} & set(e["detail"] or {}) for e in fired)


@pytest.fixture
def hidden_form_ctx(tmp_path):
    """The noise area with its visit form marked special category as a whole (its questions each unmarked but one),
    and its report's street sensitive; the risk level no longer comes from the visit, as the loader requires."""
    import json
    import shutil

    from caseframe.core import hookimpl
    from tests.security.test_plugin_fact_leaks import NOISE

    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    for form, question in (("visit", None), ("report", "street")):
        path = area / "forms" / f"{form}.schema.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        if question is None:
            schema["x-sensitivity"] = "special_category"
        else:
            schema["properties"][question]["x-sensitivity"] = "sensitive"
        path.write_text(json.dumps(schema), encoding="utf-8")
    toml = area / "area.toml"
    risk_from = 'risk_from = { form = "visit", field = "/risk_level" }\n'
    assert risk_from in toml.read_text(encoding="utf-8"), "the noise fixture changed"
    toml.write_text(toml.read_text(encoding="utf-8").replace(risk_from, ""), encoding="utf-8")

    class Noise:
        @hookimpl
        def register_areas(self):
            return [area]

    return make_context(Noise())


async def test_a_partner_is_not_told_a_form_above_its_level_was_filled_in_or_a_hidden_answer_changed(
    db, hidden_form_ctx
):
    """A form marked above the partner's level as a whole was listed on the case page (empty) and in the API's
    answers ("visit": {}), and its timeline entry said when it was added; a save that changed only a sensitive
    answer left "Noise report changed" with no change in it: each says an answer the partner may not read was given.
    A save changing an official answer beside a sensitive one is still told, with the official change only."""
    ctx = hidden_form_ctx
    people = await _partnership(ctx, "noise", "police", "youth_service")
    owner = people["owner"]
    report = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music", "details": "Music"}
    case = await cases.open_case(ctx, owner, "noise", report)
    for form, answers in (
        ("report", {**report, "street": MARKER}),  # only the sensitive street
        ("visit", {"risk_level": "high", "health_impact": f"{MARKER} sleepless"}),
        ("report", {**report, "street": f"{MARKER} Lane", "details": "Music at 2am"}),  # and an official one
    ):
        case = await cases.save_form(ctx, owner, case["id"], form, answers, expected_version=case["version"])
    await sharing.share_case(
        owner, case["id"], agency_id=people["partner"].agency_id, purpose="crime_prevention"
    )

    def form_entries(api: dict) -> list[tuple[str, list[str]]]:
        return [
            (e["summary"], [c["field"] for c in e["detail"]["changes"]])
            for e in api["timeline"]
            if e["kind"] == "form"
        ]

    page, api = await _page_and_api(ctx, db, people["partner"], case["id"])
    assert MARKER not in page and MARKER not in str(api)
    assert "visit" not in api["data"] and 'govuk-summary-card__title">Visit' not in page
    assert form_entries(api) == [("Noise report changed", ["/details"])]
    assert "Visit added" not in page and page.count("Noise report changed") == 1

    page, api = await _page_and_api(ctx, db, owner, case["id"])  # the owner is told all of it
    assert api["data"]["visit"]["health_impact"] == f"{MARKER} sleepless"
    assert len(form_entries(api)) == 3 and "Visit added" in page and page.count("Noise report changed") == 2


async def test_a_subject_access_export_by_a_partner_lists_no_form_above_its_level(db, hidden_form_ctx):
    """The export a partner's system admin makes lists the forms as the case page shows them to the partner: a form
    marked above its level as a whole was listed by its title with no answers ("Visit", []), saying it was filled
    in. Its answers are counted among those withheld, as a question's are; the owner's export lists it in full."""
    import json

    from caseframe.core.sar import service as sar

    ctx = hidden_form_ctx
    people = await _partnership(ctx, "noise", "police", "youth_service")
    owner = people["owner"]
    report = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music", "details": "Music"}
    case = await cases.open_case(ctx, owner, "noise", report)
    visit = {"risk_level": "high", "health_impact": f"{MARKER} sleepless"}
    case = await cases.save_form(ctx, owner, case["id"], "visit", visit, expected_version=case["version"])
    person = await make_person(owner, given_name="Sara", family_name="Subject")
    await cases.add_subject(ctx, owner, case["id"], person["id"], "complainant")
    await sharing.share_case(
        owner, case["id"], agency_id=people["partner"].agency_id, purpose="crime_prevention"
    )
    partner = await make_user(
        {"id": people["partner"].agency_id, "slug": "marker-partner"}, ("system_admin",)
    )
    council = await make_user({"id": owner.agency_id, "slug": "ashdown-council"}, ("system_admin",))
    exports = {}
    for admin in (partner, council):
        made = await sar.create_request(
            admin,
            {"person_id": str(person["id"]), "requester": "them", "received_on": clock.today().isoformat()},
        )
        exports[admin.id] = json.loads((await sar.export_request(ctx, admin, made["id"], "json"))[0])

    def titles(export: dict) -> list[str]:
        return [f["title"] for c in export["cases"] for f in c["forms"]]

    assert "Visit" not in titles(exports[partner.id]) and MARKER not in json.dumps(exports[partner.id])
    assert exports[partner.id]["withheld_answers"] == len(visit) + 1  # and the report's sensitive street
    assert "Visit" in titles(exports[council.id]) and MARKER in json.dumps(exports[council.id])
