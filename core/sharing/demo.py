"""Demo sharing: a live partnership agreement, an ended one, and a few cases shared under the live one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.service import actor_for
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import can_work_case, case_access


async def create_demo_isas(ctx: Context, agency_ids: dict[str, dict[str, Any]]) -> None:
    """The partnership's live agreement (every demo agency, every installed area) and last year's, ended."""
    parties = [a["id"] for a in agency_ids.values()]
    system = Actor(
        id=0, email="", name="Demo loader", agency_id=parties[0], roles=frozenset({"system_admin"})
    )
    areas = [a.slug for a in ctx.areas]
    today = clock.today()
    await sharing.create_isa(
        ctx,
        system,
        reference="NCSP-ISA-2026",
        title="Northshire Community Safety Partnership",
        parties=parties,
        purposes=["early_intervention", "crime_prevention", "safeguarding", "public_protection"],
        areas=areas,
        legal_basis="Crime and Disorder Act 1998 s.115; UK GDPR Article 6(1)(e) and Article 9(2)(g)",
        starts_on=today - dt.timedelta(days=400),
        ends_on=today + dt.timedelta(days=165),
        max_sensitivity="sensitive",
    )
    await sharing.create_isa(
        ctx,
        system,
        reference="NCSP-ISA-2025",
        title="Northshire Community Safety Partnership (previous)",
        parties=parties,
        purposes=["crime_prevention"],
        areas=areas,
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=765),
        ends_on=today - dt.timedelta(days=401),
    )


DEMO_MOU = """This memorandum sets out the conditions on which partners of the Northshire Community Safety Partnership share personal information through Caseframe.

You may look at a record only for the purpose you state and only when your work needs it. Every search and every view is recorded, and the agency that holds the record can see who looked at it.

Information shared with you remains the responsibility of the agency that shared it. Do not copy it into other systems, print it or pass it on unless the sharing agreement allows it.

Report any loss, misuse or wrong disclosure to your information governance lead at once. (Fictional demo text.)"""


async def publish_demo_mou() -> None:
    from caseframe.core.sharing.mou import publish_mou

    await publish_mou(
        Actor(id=0, email="", name="Demo loader", agency_id=0, roles=frozenset({"system_admin"})), DEMO_MOU
    )


async def _caseworker_of(agency_id: int) -> dict[str, Any] | None:
    users = (
        await User.select(User.id, User.roles)
        .where(User.agency == agency_id)
        .order_by(User.id)
        .output(load_json=True)
    )
    return next((u for u in users if permissions.CASEWORKER in (u["roles"] or [])), None)


async def share_so_partner_can_see(actor: Actor, person_id: int) -> None:
    """Before a partner adds a person another agency holds, that agency shares a case about them (as the
    partnership does in practice: the holder shares, then the partner sees the person)."""
    from caseframe.core.cases.tables import CaseSubject
    from caseframe.core.persons.service import visible_person_ids

    if person_id in await visible_person_ids(actor, [person_id]):
        return
    link = (
        await CaseSubject.select(CaseSubject.case, CaseSubject.case.owning_agency.as_alias("owner"))
        .where((CaseSubject.person == person_id) & CaseSubject.removed_at.is_null())
        .order_by(CaseSubject.id)
        .first()
    )
    if link is None:
        return
    user = await _caseworker_of(link["owner"])
    if user is None:
        return
    await sharing.share_case(
        await actor_for(user["id"]), link["case"], agency_id=actor.agency_id, purpose="crime_prevention"
    )


async def load_sharing_demo(
    ctx: Context, agency_ids: dict[str, dict[str, Any]], progress=lambda _: None
) -> int:
    """Each of the council's and police's two newest open cases shared with the other; returns how many."""
    police, council = agency_ids.get("northshire-police"), agency_ids.get("ashdown-council")
    shared = 0
    for owner, partner in ((council, police), (police, council)):
        if not owner or not partner:
            continue
        user = await _caseworker_of(owner["id"])
        if user is None:
            continue
        actor = await actor_for(user["id"])
        rows = (
            await Case.select()
            .where((Case.owning_agency == owner["id"]) & Case.closed_at.is_null())
            .order_by(Case.id, ascending=False)
            .limit(2)
        )
        for row in rows:
            if not can_work_case(actor, await case_access(actor, row)):
                continue
            result = await sharing.share_case(
                actor, row["id"], agency_id=partner["id"], purpose="crime_prevention"
            )
            shared += 1 if result["new"] else 0
    progress(f"{shared} more cases shared under NCSP-ISA-2026")
    return shared
