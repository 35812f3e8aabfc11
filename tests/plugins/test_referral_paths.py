"""Every rule of every built-in area, in its demo scenario: rule fires -> referral -> someone accepts -> case.

The demo is the realistic deployment: each referral must reach at least one agency that can decide it,
explain itself in plain words, and end as a case (or a case on a panel's list) with the referring case
told the outcome.
"""

from __future__ import annotations

import pytest

from caseframe.core.agencies.tables import Agency
from caseframe.core.cases.tables import CaseEvent, CaseSubject
from caseframe.core.context import build_context
from caseframe.core.demo import load_demo
from caseframe.core.panels.tables import PanelCase
from caseframe.core.plugins import DEFAULT_PLUGINS
from caseframe.core.referrals import inbox
from caseframe.core.referrals.tables import Referral, RuleFiring
from caseframe.core.testing import make_user

BUILTIN = ["asb", "iom", "hate_crime", "rough_sleepers", "licensing"]


@pytest.fixture(scope="module")
def ctx():
    return build_context(",".join(DEFAULT_PLUGINS))


def _demo_opening_answers(ctx, slug: str) -> dict:
    area = ctx.area(slug)
    case = next(c for d in ctx.pm.hook.demo_data() if d for c in d.get("cases", []) if c["area"] == slug)
    return case["forms"][area.opening_form]


async def test_every_rule_referral_in_the_demo_is_explained_reaches_an_agency_and_becomes_a_case(ctx, db):
    await load_demo(ctx)
    deciders = {}
    for agency in await Agency.select(Agency.id, Agency.slug):
        deciders[agency["id"]] = await make_user(
            agency, ("caseworker", "supervisor", "panel_chair"), name=f"Decider {agency['slug']}"
        )
    rules_done: set[str] = set()
    for ref in await Referral.select().where(
        Referral.rule_id.is_not_null() & Referral.status.is_in(["open"])
    ):
        if ref["rule_id"] in rules_done:
            continue
        addressees = [
            a for a in deciders.values() if any(x["id"] == ref["id"] for x in await inbox.inbox(ctx, a))
        ]
        assert addressees, f"no agency in the demo can decide the referral of rule {ref['rule_id']}"
        actor = addressees[0]
        seen = await inbox.get_referral(ctx, actor, ref["id"], audit_view=False)
        assert seen["can_decide"]
        for firing in seen["firings"]:
            assert firing["why"], f"rule {firing['rule_id']} fired without any fact explained"
            for line in firing["why"]:
                assert line["question"] and line["answer"] and "_" not in line["question"], line
        if ref["target_kind"] == "panel":
            await inbox.accept_to_panel(ctx, actor, ref["id"], version=ref["version"])
            assert await PanelCase.count().where(PanelCase.case == ref["from_case"]) >= 1
        else:
            enabled = await inbox.cases.enabled_areas(actor.agency_id)
            slug = ref["target"] if ref["target_kind"] == "area" else ref["source_area"]
            if slug not in enabled:
                slug = sorted(enabled)[0]
            area = ctx.area(slug)
            answers = {
                **_demo_opening_answers(ctx, slug),
                **inbox.carried_answers(ctx, ref, await inbox.source_case_row(ref), slug),
            }
            role = await inbox.source_role(ref)
            role = role if role in area.roles else next(iter(area.roles))
            case = await inbox.accept_new_case(
                ctx, actor, ref["id"], version=ref["version"], area_slug=slug, answers=answers, role=role
            )
            if ref["person"]:
                on_case = await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case["id"])
                assert [s["person"] for s in on_case] == [ref["person"]]
        row = await Referral.select().where(Referral.id == ref["id"]).first()
        assert row["status"] == "accepted" and row["resulting_case"]
        told = await CaseEvent.select(CaseEvent.summary).where(
            (CaseEvent.case == ref["from_case"]) & (CaseEvent.kind == "referral")
        )
        assert any("accepted" in t["summary"].lower() for t in told)
        rules_done.add(ref["rule_id"])
    expected = {r.qualified_id for slug in BUILTIN for r in ctx.area(slug).rules}
    fired = {r["rule_id"] for r in await RuleFiring.select(RuleFiring.rule_id)}
    assert expected <= fired
    # a rule that fired for a person already referred to the same place was merged into that referral
    accepted = {
        f["rule_id"]
        for f in await RuleFiring.select(RuleFiring.rule_id).where(RuleFiring.referral.status == "accepted")
    }
    assert expected <= accepted, f"rules whose referral no one accepted: {sorted(expected - accepted)}"
