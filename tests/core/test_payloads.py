"""One shape everywhere: every hook given a case gets a CasePayload, every hook given the user an ActorPayload."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from caseframe.core import hookimpl
from caseframe.core.cases import service as cases
from caseframe.core.payloads import ActorPayload, CasePayload, ReferralPayload, SubjectFacts, case_payload
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
    web_client,
)

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"
CASE_KEYS = set(CasePayload.__annotations__)
ACTOR_KEYS = set(ActorPayload.__annotations__)


class Recorder:
    """Implements every hook that is given a case or a user, and keeps what each was given."""

    CASEFRAME_PLUGIN_NAME = "recorder"

    def __init__(self, area: Path):
        self.area = area
        self.seen: dict[str, list[dict]] = {}

    def _keep(self, hook: str, **given) -> None:
        self.seen.setdefault(hook, []).append(given)

    @hookimpl
    def register_areas(self):
        return [self.area]

    @hookimpl
    def case_created(self, case, actor):
        self._keep("case_created", case=case, actor=actor)

    @hookimpl
    def case_transitioned(self, case, actor):
        self._keep("case_transitioned", case=case, actor=actor)

    @hookimpl
    def referral_made(self, referral, case):
        self._keep("referral_made", case=case, referral=referral)

    @hookimpl
    def extra_referral_facts(self, case, subject):
        self._keep("extra_referral_facts", case=case, subject=subject)

    @hookimpl
    def validate_case(self, case):
        if case is not None:
            self._keep("validate_case", case=case)

    @hookimpl
    def case_panels(self, case, actor):
        self._keep("case_panels", case=case, actor=actor)

    @hookimpl
    def menu_links(self, actor):
        self._keep("menu_links", actor=actor)


@pytest.fixture
def recorder(tmp_path):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    text = (area / "area.toml").read_text(encoding="utf-8")
    # the street rule also tests a plugin's facts, so extra_referral_facts is asked for them
    old = "same_street_90d = { minimum = 2 } } }"
    assert old in text
    (area / "area.toml").write_text(text.replace(old, old + ", extra = { properties = { recorder = {} } }"))
    return Recorder(area)


async def test_every_hook_given_a_case_or_a_user_gets_one_shape(db, recorder):
    ctx = make_context(recorder)
    agency = await make_agency(ctx, "ashdown-council")
    worker = await make_user(agency, ("caseworker", "supervisor"))
    person = await make_person(worker)
    case = await cases.open_case(
        ctx,
        worker,
        "noise",
        {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"},
        subjects=[(person["id"], "subject")],
    )
    case = await cases.save_form(
        ctx, worker, case["id"], "visit", {"risk_level": "high"}, expected_version=case["version"]
    )
    await make_agency(ctx, "northshire-police", "police")
    await make_agency(ctx, "northshire-youth", "youth_service")
    async with web_client(ctx, db) as client:
        await sign_in(client, worker)
        page = await client.get(f"/cases/{case['id']}")
        assert page.status_code == 200
        # a person's referral, from the case page and from the API: the same case shape as a rule's
        made = await client.post(
            f"/cases/{case['id']}/referrals",
            data={
                "target": "agency_type:police",
                "reason": "Threats to neighbours",
                "person_id": str(person["id"]),
                "csrf_token": csrf_token_of(page.text),
            },
        )
        assert made.status_code == 303, made.text
        session = await client.post(
            "/api/v1/session", json={"email": worker.email, "password": TEST_PASSWORD}
        )
        made = await client.post(
            f"/api/v1/cases/{case['id']}/referrals",
            json={"target_kind": "agency_type", "target": "youth_service", "reason": "A child lives there"},
            headers={"Authorization": f"Bearer {session.json()['token']}"},
        )
        assert made.status_code == 201, made.text
    # closed last: a closed case is read-only, so its referrals are made first
    await cases.transition_case(ctx, worker, case["id"], "close", expected_version=None)
    manual = [
        given for given in recorder.seen.get("referral_made", []) if given["referral"]["rule_id"] is None
    ]
    assert [(g["referral"]["target"], g["referral"]["person_id"]) for g in manual] == [
        ("police", person["id"]),
        ("youth_service", None),
    ]
    for given in manual:
        assert set(given["referral"]) == set(ReferralPayload.__annotations__)
        assert given["case"]["id"] == case["id"] and given["case"]["access"] == "owner"
    hooks = {
        "case_created",
        "case_transitioned",
        "extra_referral_facts",
        "validate_case",
        "case_panels",
        "menu_links",
        "referral_made",
    }
    assert hooks <= set(recorder.seen), f"not called: {hooks - set(recorder.seen)}"
    for hook, calls in recorder.seen.items():
        for given in calls:
            if given.get("case") is not None:
                assert set(given["case"]) == CASE_KEYS, hook
            if "actor" in given:
                assert set(given["actor"]) == ACTOR_KEYS, hook
            if given.get("subject") is not None:
                assert set(given["subject"]) == set(SubjectFacts.__annotations__), hook


def test_a_case_answers_its_old_keys_with_a_deprecation_warning():
    case = case_payload({"owning_agency_id": 7, "lead_officer_id": None})
    with pytest.warns(
        DeprecationWarning, match=r"case\['owning_agency'\] is deprecated: read case\['owning_agency_id'\]"
    ):
        assert case["owning_agency"] == 7
    with pytest.warns(DeprecationWarning):
        assert case.get("lead_officer") is None
    assert case.get("no_such_key", "x") == "x"
    with pytest.raises(KeyError):
        case["no_such_key"]


async def test_a_plugin_asking_for_user_still_gets_it_and_is_warned(db):
    class OldStyle:
        @hookimpl
        def menu_links(self, user, areas):
            return [{"href": "/old", "label": f"Old style for {user['email']}"}]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = make_context(OldStyle(), builtins=True)
    assert any(
        "menu_links(user=...) is deprecated, name the argument 'actor'" in str(w.message) for w in caught
    )
    agency = await make_agency(ctx, "ashdown-council")
    worker = await make_user(agency)
    async with web_client(ctx, db) as client:
        await sign_in(client, worker)
        assert f"Old style for {worker.email}" in (await client.get("/")).text
