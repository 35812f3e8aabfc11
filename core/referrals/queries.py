"""Read-only queries about referrals: which are waiting for an agency."""
from __future__ import annotations

from typing import Any

from core.agencies.tables import Agency
from core.auth.actor import Actor
from core.cases.service import enabled_areas
from core.panels.tables import Panel
from core.referrals.tables import Referral


async def waiting_for(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """Open referrals addressed to the actor's agency: its type, its areas, its slug or panels it chairs."""
    areas = sorted(await enabled_areas(actor.agency_id))
    agency = await Agency.select(Agency.slug).where(Agency.id == actor.agency_id).first()
    panels = [p["slug"] for p in await Panel.select(Panel.slug).where(Panel.chair_agency == actor.agency_id)]
    where = (Referral.target_kind == "agency_type") & (Referral.target == actor.agency_type)
    if areas:
        where |= (Referral.target_kind == "area") & Referral.target.is_in(areas)
    if panels:
        where |= (Referral.target_kind == "panel") & Referral.target.is_in(panels)
    if agency:
        where |= (Referral.target_kind == "agency") & (Referral.target == agency["slug"])
    return await Referral.select(
        Referral.all_columns(), Referral.person.given_name.as_alias("given_name"),
        Referral.person.family_name.as_alias("family_name"),
    ).where(Referral.status.is_in(["open", "info_requested"]) & where).order_by(
        Referral.created_at, ascending=False).limit(limit)
