"""Read-only queries about referrals: which are waiting for an agency, which a case raised."""
from __future__ import annotations

from typing import Any

from core.auth.actor import Actor
from core.referrals.inbox import OPEN
from core.referrals.tables import Referral

# The same addressee rule as ``inbox._addressee_where`` (what the agency answers to, read in the statement itself:
# its slug, its enabled areas, the panels it chairs), written out once as SQL: My work asks it on every load, and
# building the ORM form of this condition cost more than running it. ``tests/core/test_referral_inbox.py`` holds the
# two to the same answers.
_WAITING_SQL = """
SELECT r.*, p.given_name AS given_name, p.family_name AS family_name
FROM cf_referral r
LEFT JOIN cf_person p ON p.id = r.person
LEFT JOIN cf_case fc ON fc.id = r.from_case
WHERE r.status IN ({}, {})
  AND (r.target_agency IS NULL OR r.target_agency = {})
  AND (
    (
      ((r.target_kind = 'agency_type' AND r.target = {})
       OR (r.target_kind = 'area' AND r.target IN (SELECT area FROM cf_agency_area WHERE agency = {})))
      AND ((r.raised_by_agency IS NOT NULL AND r.raised_by_agency != {})
           OR (r.raised_by_agency IS NULL AND (r.from_case IS NULL OR fc.owning_agency != {})))
    )
    OR (r.target_kind = 'panel' AND r.target IN (SELECT slug FROM cf_panel WHERE chair_agency = {}))
    OR (r.target_kind = 'agency' AND r.target = (SELECT slug FROM cf_agency WHERE id = {}))
  )
ORDER BY r.created_at DESC
LIMIT {}
"""


async def waiting_for(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """Open referrals addressed to the actor's agency (its type, its areas, itself or panels it chairs)."""
    agency = actor.agency_id
    return await Referral.raw(_WAITING_SQL, *OPEN, agency, actor.agency_type, agency, agency, agency, agency, agency,
                              int(limit))


async def raised_from_case(case_id: int) -> list[dict[str, Any]]:
    """The referrals raised from a case, newest first (the case page's list): one fixed statement, read on every
    view of the case (tests/core/test_case_reads.py holds it to the ORM's)."""
    return await Referral.raw("SELECT * FROM cf_referral WHERE from_case = {} ORDER BY id DESC", int(case_id))
