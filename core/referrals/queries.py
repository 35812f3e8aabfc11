"""Read-only queries about referrals: which are waiting for an agency, which a case raised."""

from __future__ import annotations

from typing import Any

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.referrals.inbox import OPEN, readable_referrals
from caseframe.core.referrals.tables import Referral
from caseframe.core.retention.service import Withheld
from caseframe.core.sharing.policy import Access

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


async def waiting_for(
    actor: Actor, limit: int = 50, ctx: Context | None = None, withheld: Withheld | None = None
) -> list[dict[str, Any]]:
    """Open referrals addressed to the actor's agency (its type, its areas, itself or panels it chairs), each with
    whom it is for (``target_label``); their words as the actor may read them (``withheld``: what
    ``retention.withheld_from(actor)`` answered, when the caller has read it)."""
    agency = actor.agency_id
    return await readable_referrals(
        actor,
        await Referral.raw(
            _WAITING_SQL, *OPEN, agency, actor.agency_type, agency, agency, agency, agency, agency, int(limit)
        ),
        ctx,
        withheld,
    )


RAISED_FROM_CASE_SQL = "SELECT * FROM cf_referral WHERE from_case = {} ORDER BY id DESC"


async def raised_from_case(
    case_id: int,
    reader: Actor | None = None,
    ctx: Context | None = None,
    access: Access | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The referrals raised from a case, newest first (the case page's list): one fixed statement, read on every
    view of the case (tests/core/test_case_reads.py holds it to the ORM's). For a ``reader``, their words (and
    whom each is for, ``target_label``) name no other case the reader may not see, and none is listed that a rule
    raised on an answer above what they may see of the case (``access``, read if not given: :func:`told_of_case`).
    ``rows``: the case's ``cf_referral`` rows when the caller read them already (core/cases/page_reads.py)."""
    if rows is None:
        rows = await Referral.raw(RAISED_FROM_CASE_SQL, int(case_id))
    if reader is None:
        return rows
    return await readable_referrals(reader, await told_of_case(ctx, reader, case_id, rows, access), ctx)


async def told_of_case(
    ctx: Context | None,
    reader: Actor,
    case_id: int,
    rows: list[dict[str, Any]],
    access: Access | None = None,
    cache: dict[int | None, Access | None] | None = None,
) -> list[dict[str, Any]]:
    """Of referrals raised from a case, those a reader of the case is told of: all, to its owner; to a partner, none
    a rule raised on an answer above what it may see (``explain.tells_hidden``: that the rule fired, whom it
    referred to and why would say the answer). The addressee reads its referrals in its own inbox. ``access`` is
    read (``explain.facts_access``, into ``cache``) when the caller does not give it."""
    from caseframe.core.referrals.explain import facts_access, tells_hidden

    if access is None:
        access = await facts_access(reader, case_id, {} if cache is None else cache)
    if access is None:
        return []
    return [r for r in rows if not tells_hidden(ctx, r.get("rule_id"), access)]


async def referral_targets(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """Where the actor's agency may refer a case, grouped for a choice list: panels, other agencies, business
    areas another agency works and kinds of agency.

    A list to choose from, kept for a few seconds (``caseframe.core.cache.DIRECTORY``): raising the referral checks
    the target again."""
    from caseframe.core.cache import DIRECTORY

    key = ("referral targets", actor.agency_id)
    cached = DIRECTORY.get(key)
    if cached is None:
        cached = DIRECTORY.put(key, await _read_referral_targets(ctx, actor))
    return await _readable_targets(actor, cached)


async def _readable_targets(actor: Actor, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The choice list as this actor may read it (copies: the cached list is the agency's, and who may see a case
    is decided per reader): a panel's name is what its chair typed and may name a case the actor may not see
    (core/sharing/redaction.py); one batch for the list."""
    from caseframe.core.sharing.redaction import redactor_for

    words = await redactor_for(actor, [label for g in groups for _, label in g["options"]])
    return [{**g, "options": [(value, words.text(label)) for value, label in g["options"]]} for g in groups]


async def _read_referral_targets(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    import asyncio

    from caseframe.core.agencies.tables import Agency, AgencyArea
    from caseframe.core.panels.tables import Panel

    agencies, panels, enabled = await asyncio.gather(
        Agency.select(Agency.slug, Agency.name, Agency.agency_type)
        .where((Agency.active == True) & (Agency.id != actor.agency_id))
        .order_by(Agency.name),  # noqa: E712
        Panel.select(Panel.id, Panel.name).where(Panel.active == True).order_by(Panel.name),  # noqa: E712
        AgencyArea.select(AgencyArea.area)
        .where((AgencyArea.agency != actor.agency_id) & (AgencyArea.agency.active == True))
        .distinct(),
    )  # noqa: E712
    other_areas = {r["area"] for r in enabled}
    other_kinds = {a["agency_type"] for a in agencies}
    return [
        # a panel by its number: its slug was made from the name it first had, which may name a case
        {"label": "Panels", "options": [(f"panel:#{p['id']}", p["name"]) for p in panels]},
        {"label": "Agencies", "options": [(f"agency:{a['slug']}", a["name"]) for a in agencies]},
        {
            "label": "Business areas",
            "options": [(f"area:{a.slug}", a.title) for a in ctx.areas if a.slug in other_areas],
        },
        {
            "label": "Any agency of a kind",
            "options": sorted(
                (
                    (f"agency_type:{k}", v.capitalize())
                    for k, v in ctx.areas.agency_types.items()
                    if k in other_kinds
                ),
                key=lambda o: o[1],
            ),
        },
    ]


async def referrals_of_case(ctx: Context, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The referrals raised from a case (oldest first) as the API shows them, each with its rule firings and the
    facts each saw, only as far as the actor may see the case they came from. The caller has read the case
    through ``cases.get_case`` (which refuses what the actor may not see, and audits the view)."""
    from caseframe.core.referrals.explain import facts_access, filter_facts, tells_hidden
    from caseframe.core.referrals.tables import RuleFiring

    # what the actor may see of each case the facts come from, this one first (read once, also for its firings)
    seen: dict[int | None, Any] = {}
    rows = await readable_referrals(
        actor,
        await told_of_case(
            ctx,
            actor,
            case_id,
            await Referral.select().where(Referral.from_case == case_id).order_by(Referral.id),
            cache=seen,
        ),
    )
    out: list[dict[str, Any]] = []
    for r in rows:
        firings = []
        for f in (
            await RuleFiring.select()
            .where(RuleFiring.referral == r["id"])
            .order_by(RuleFiring.id)
            .output(load_json=True)
        ):
            # the facts a rule saw hold a case's answers: only as far as the actor may see that case, and
            # nothing of another case gathered into the same referral that the actor may not see
            access = await facts_access(actor, f["case"], seen)
            if access is None or tells_hidden(ctx, f["rule_id"], access):
                continue  # nor a rule gathered into it that fired on an answer above what the actor may see
            facts = filter_facts(ctx, f["facts"], access)
            firings.append(
                {
                    "rule_id": f["rule_id"],
                    "event": f["event"],
                    "facts": facts,
                    "reason": f["reason"],
                    "fired_at": f["fired_at"].isoformat(),
                }
            )
        out.append(
            {
                "id": r["id"],
                "target_kind": r["target_kind"],
                "target": r["target"],
                "reason": r["reason"],
                "rule_id": r["rule_id"],
                "status": r["status"],
                "person_id": r["person"],
                "created_at": r["created_at"].isoformat(),
                "firings": firings,
            }
        )
    return out
