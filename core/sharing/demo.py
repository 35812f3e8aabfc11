"""Demo sharing: a live partnership agreement, an ended one, and a few cases shared under the live one."""
from __future__ import annotations

import datetime as dt
from typing import Any

from core import clock
from core.agencies.service import actor_for
from core.auth.actor import Actor
from core.auth.tables import User
from core.cases.tables import Case
from core.context import Context
from core.sharing import service as sharing
from core.sharing.policy import can_work_case, case_access

PARTNERSHIP = ["northshire-police", "ashdown-council", "ashdown-homes", "northshire-mh", "harbour-victim-support"]


async def load_sharing_demo(ctx: Context, agency_ids: dict[str, dict[str, Any]], progress=lambda _: None) -> int:
    """Agreements between the demo partnership's agencies; each agency's two newest cases shared with police
    or the council. Returns how many cases were shared."""
    parties = [agency_ids[s]["id"] for s in PARTNERSHIP if s in agency_ids]
    if len(parties) < 2:
        return 0
    system = Actor(id=0, email="", name="Demo loader", agency_id=parties[0], roles=frozenset({"system_admin"}))
    areas = [a.slug for a in ctx.areas]
    today = clock.today()
    await sharing.create_isa(
        ctx, system, reference="NCSP-ISA-2026", title="Northshire Community Safety Partnership",
        parties=parties, purposes=["early_intervention", "crime_prevention", "safeguarding", "public_protection"],
        areas=areas, legal_basis="Crime and Disorder Act 1998 s.115; UK GDPR Article 6(1)(e) and Article 9(2)(g)",
        starts_on=today - dt.timedelta(days=200), ends_on=today + dt.timedelta(days=165), max_sensitivity="sensitive")
    await sharing.create_isa(
        ctx, system, reference="NCSP-ISA-2025", title="Northshire Community Safety Partnership (previous)",
        parties=parties, purposes=["crime_prevention"], areas=areas, legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=565), ends_on=today - dt.timedelta(days=201))
    police, council = agency_ids.get("northshire-police"), agency_ids.get("ashdown-council")
    shared = 0
    for owner, partner in ((council, police), (police, council)):
        if not owner or not partner:
            continue
        user = await User.select(User.id).where((User.agency == owner["id"]) & User.roles.like('%caseworker%')).first()
        if user is None:
            continue
        actor = await actor_for(user["id"])
        rows = await Case.select().where((Case.owning_agency == owner["id"]) & Case.closed_at.is_null()).order_by(
            Case.id, ascending=False).limit(2)
        for row in rows:
            if not can_work_case(actor, await case_access(actor, row)):
                continue
            await sharing.share_case(actor, row["id"], agency_id=partner["id"], purpose="crime_prevention")
            shared += 1
    progress(f"{shared} cases shared under NCSP-ISA-2026")
    return shared
