"""Who may see and change a case: the owning agency's users, by role."""
from __future__ import annotations

from typing import Any

from core.auth.actor import Actor

CASEWORKING_ROLES = ("caseworker", "supervisor", "panel_chair")


def can_see_case(actor: Actor, case_row: dict[str, Any]) -> bool:
    return case_row["owning_agency"] == actor.agency_id


def can_work_case(actor: Actor, case_row: dict[str, Any]) -> bool:
    return can_see_case(actor, case_row) and actor.has(*CASEWORKING_ROLES)
