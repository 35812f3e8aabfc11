"""Read-only queries about referrals: which are waiting for an agency."""
from __future__ import annotations

from typing import Any

from core.auth.actor import Actor
from core.referrals.inbox import OPEN, _addressee_where
from core.referrals.tables import Referral


async def waiting_for(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """Open referrals addressed to the actor's agency (its type, its areas, itself or panels it chairs)."""
    return await Referral.select(
        Referral.all_columns(), Referral.person.given_name.as_alias("given_name"),
        Referral.person.family_name.as_alias("family_name"),
    ).where(Referral.status.is_in(list(OPEN)) & await _addressee_where(actor)).order_by(
        Referral.created_at, ascending=False).limit(limit)
