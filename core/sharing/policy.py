"""Who may see and change a case: the owning agency, partners it shared with under a live ISA, panel members.

Every read of a case goes through :func:`case_access`; it answers with an :class:`Access` saying why
the actor may see the case (for the audit), for what purpose, and how sensitive an answer they may
see. ``None`` means "no access", which callers turn into the same answer as "no such case".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.auth.actor import Actor

# the x-sensitivity levels live in core/sensitivity.py (below the area loader); named here too, as before
from caseframe.core.sensitivity import SENSITIVITY, SENSITIVITY_LABELS, sensitivity_rank  # noqa: F401

#: kept for old imports: the roles are named in core/permissions.py
CASEWORKING_ROLES = permissions.CASEWORKING

#: the lawful purposes personal information is shared for (DOMAIN.md), code -> words
PURPOSES: dict[str, str] = {
    "early_intervention": "Early intervention and support",
    "crime_prevention": "Preventing crime and disorder",
    "safeguarding": "Safeguarding adults and children at risk",
    "public_protection": "Wider public protection",
}


@dataclass(frozen=True)
class Access:
    #: owner, share or panel
    kind: str
    purpose: str = ""
    isa_id: int | None = None
    share_id: int | None = None
    meeting_id: int | None = None
    #: the most sensitive x-sensitivity level of answers the actor may see
    max_sensitivity: str = "special_category"

    @property
    def is_owner(self) -> bool:
        return self.kind == "owner"

    def may_see(self, level: str | None) -> bool:
        """Whether an answer (or document) of ``level`` is this access's to read. No level is official; a level
        the core does not know is read as the most sensitive, and an access of no known level (a reference-only
        listing) reads none: an unknown word never counts as official."""
        if self.max_sensitivity not in SENSITIVITY:
            return False
        if level is not None and level not in SENSITIVITY:
            level = SENSITIVITY[-1]
        return sensitivity_rank(level) <= sensitivity_rank(self.max_sensitivity)

    @classmethod
    def owner(cls) -> Access:
        """The owning agency's access (everything): said explicitly, e.g. for a case the actor just opened or
        the case hooks are given; never assumed when an access is missing."""
        return OWNER

    @classmethod
    def reference_only(cls) -> Access:
        """Enough to list a case by its reference, area and state, with none of its answers (a list of cases
        shared with the agency, whose answers each need their own case_access)."""
        return REFERENCE_ONLY


OWNER = Access(kind="owner")
#: see Access.reference_only
REFERENCE_ONLY = Access(kind="reference", max_sensitivity="")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def isa_is_live(isa: dict[str, Any], today: dt.date | None = None) -> bool:
    """Live from its start date to the end of its end date; an expired ISA stops access the day after."""
    today = today or clock.today()
    starts, ends = isa["starts_on"], isa["ends_on"]
    if isinstance(starts, str):
        starts = dt.date.fromisoformat(starts)
    if isinstance(ends, str):
        ends = dt.date.fromisoformat(ends)
    return starts <= today <= ends


def isa_covers(isa: dict[str, Any], agency_a: int, agency_b: int, area: str) -> bool:
    parties = set(_json(isa["parties"]) or [])
    return agency_a in parties and agency_b in parties and area in (_json(isa["areas"]) or [])


async def live_isas_between(agency_a: int, agency_b: int, area: str | None = None) -> list[dict[str, Any]]:
    """Live ISAs both agencies are party to (covering ``area`` if given), newest first."""
    from caseframe.core.sharing.tables import SharingAgreement

    today = clock.today()
    rows = (
        await SharingAgreement.select()
        .where((SharingAgreement.starts_on <= today) & (SharingAgreement.ends_on >= today))
        .order_by(SharingAgreement.id, ascending=False)
        .output(load_json=True)
    )
    out = []
    for isa in rows:
        parties = set(isa["parties"] or [])
        if agency_a in parties and agency_b in parties and (area is None or area in (isa["areas"] or [])):
            out.append(isa)
    return out


async def case_access(actor: Actor, case_row: dict[str, Any]) -> Access | None:
    """Why ``actor`` may see the case, or None: also None when retention withholds it from them (erased; or
    restricted and they are not a local admin of its owning agency)."""
    access = await sharing_access(actor, case_row)
    if access is None:
        return None
    from caseframe.core.retention.service import withholds

    return None if await withholds(actor, case_row) else access


async def sharing_access(actor: Actor, case_row: dict[str, Any]) -> Access | None:
    """Why ``actor`` may see the case by ownership, share or panel, regardless of retention (the case page asks
    retention next, to say *why* it refuses). Owners first (no query), then live shares, then panels."""
    if case_row["owning_agency"] == actor.agency_id:
        return OWNER
    from caseframe.core.sharing.tables import CaseShare

    today = clock.today()
    shares = (
        await CaseShare.select(
            CaseShare.id,
            CaseShare.purpose,
            CaseShare.isa,
            CaseShare.isa.max_sensitivity.as_alias("max_sensitivity"),
            CaseShare.isa.parties.as_alias("parties"),
            CaseShare.isa.areas.as_alias("areas"),
        )
        .where(
            (CaseShare.case == case_row["id"])
            & (CaseShare.agency == actor.agency_id)
            & CaseShare.revoked_at.is_null()
            & (CaseShare.isa.starts_on <= today)
            & (CaseShare.isa.ends_on >= today)
        )
        .order_by(CaseShare.id, ascending=False)
    )
    best: Access | None = None
    for share in shares:
        parties = set(_json(share["parties"]) or [])
        if actor.agency_id not in parties or case_row["owning_agency"] not in parties:
            continue
        if case_row["area"] not in (_json(share["areas"]) or []):
            continue
        access = Access(
            kind="share",
            purpose=share["purpose"],
            isa_id=share["isa"],
            share_id=share["id"],
            max_sensitivity=share["max_sensitivity"],
        )
        if best is None or sensitivity_rank(access.max_sensitivity) > sensitivity_rank(best.max_sensitivity):
            best = access
    if best is not None:
        return best
    return await _panel_access(actor, case_row)


async def _panel_access(actor: Actor, case_row: dict[str, Any]) -> Access | None:
    """A member agency sees a case on the agenda of a published or running meeting, as far as an ISA allows."""
    from caseframe.core.panels.tables import AgendaItem

    items = await AgendaItem.select(
        AgendaItem.meeting,
        AgendaItem.meeting.panel.member_agencies.as_alias("members"),
        AgendaItem.meeting.panel.chair_agency.as_alias("chair"),
    ).where(
        (AgendaItem.case == case_row["id"]) & AgendaItem.meeting.status.is_in(["published", "in_progress"])
    )
    for item in items:
        members = set(_json(item["members"]) or []) | {item["chair"]}
        if actor.agency_id not in members:
            continue
        isas = await live_isas_between(actor.agency_id, case_row["owning_agency"], case_row["area"])
        if not isas:
            continue
        isa = max(isas, key=lambda i: sensitivity_rank(i["max_sensitivity"]))
        purposes = isa["purposes"] or ["crime_prevention"]
        return Access(
            kind="panel",
            purpose=purposes[0],
            isa_id=isa["id"],
            meeting_id=item["meeting"],
            max_sensitivity=isa["max_sensitivity"],
        )
    # an agency carrying out an open panel action on the case keeps reading it until the action is done
    from caseframe.core.tasks.tables import Task

    action = (
        await Task.select(Task.meeting_id)
        .where(
            (Task.case == case_row["id"])
            & (Task.owner_agency == actor.agency_id)
            & (Task.source == "panel")
            & (Task.status == "open")
        )
        .first()
    )
    if action is not None:
        isas = await live_isas_between(actor.agency_id, case_row["owning_agency"], case_row["area"])
        if isas:
            isa = max(isas, key=lambda i: sensitivity_rank(i["max_sensitivity"]))
            return Access(
                kind="panel",
                purpose=(isa["purposes"] or ["crime_prevention"])[0],
                isa_id=isa["id"],
                meeting_id=action["meeting_id"],
                max_sensitivity=isa["max_sensitivity"],
            )
    return None


def can_work_case(actor: Actor, access: Access | None) -> bool:
    """Only the owning agency's caseworkers change a case; partners read (and panels add actions)."""
    return access is not None and access.is_owner and permissions.role_allows(actor.roles, "case.edit")


async def shared_case_ids(agency_id: int) -> list[int]:
    """Cases other agencies have shared with ``agency_id`` under an ISA that is live today."""
    from caseframe.core.sharing.tables import CaseShare

    today = clock.today()
    rows = await CaseShare.select(CaseShare.case).where(
        (CaseShare.agency == agency_id)
        & CaseShare.revoked_at.is_null()
        & (CaseShare.isa.starts_on <= today)
        & (CaseShare.isa.ends_on >= today)
    )
    return sorted({r["case"] for r in rows})


def filter_answers(answers: dict[str, Any], schema: dict[str, Any], access: Access) -> dict[str, Any]:
    """A copy of one form's answers without the questions (at any depth) the access may not see."""
    if access.is_owner or not isinstance(answers, dict):
        return answers
    if not access.may_see(schema.get("x-sensitivity")):
        return {}  # a form marked as a whole: none of its answers, however its questions are marked
    return _readable(answers, schema, access)


def _readable(value: Any, node: Any, access: Access) -> Any:
    """``value``, an answer the schema ``node`` describes, without what (at any depth) ``access`` may not see:
    an object's questions each at their own level (one the schema does not describe at the object's level), a
    list's items at the items' level, lists of lists and objects in lists alike."""
    if not isinstance(node, dict):
        node = {}
    if isinstance(value, dict):
        props = node.get("properties") or {}
        out: dict[str, Any] = {}
        for key, sub in value.items():
            described = props.get(key)
            if not isinstance(described, dict):
                # an answer the form does not describe: treat as the form's own level
                if access.may_see(node.get("x-sensitivity")):
                    out[key] = sub
                continue
            if access.may_see(described.get("x-sensitivity")):
                out[key] = _readable(sub, described, access)
        return out
    if isinstance(value, list):
        items = node.get("items")
        if not isinstance(items, dict):
            return value
        if not access.may_see(items.get("x-sensitivity")):
            return []
        return [_readable(v, items, access) for v in value]
    return value


def readable_change(access: Access, schema: dict[str, Any], change: Any) -> dict[str, Any] | None:
    """A timeline's "changed from X to Y" (``{"field": pointer, "from", "to"}``) as ``access`` may read it: None
    when the question at the pointer (or one it sits in) is above its level, else the change with the old and new
    values filtered as the case's own answers are. A change is recorded for a whole object or list where it was
    added or removed, so a list of people or an object holding a more sensitive question is filtered too, not
    only the question the pointer names."""
    if not isinstance(change, dict):
        return None
    pointer = change.get("field", "")
    if not isinstance(pointer, str):
        return None
    if access.is_owner:
        return change
    if not may_see_field(access, schema, pointer):
        return None
    node = _node_at(schema, pointer)
    return {
        **change,
        "from": _readable(change.get("from"), node, access),
        "to": _readable(change.get("to"), node, access),
    }


def readable_changes(access: Access, schema: dict[str, Any] | None, changes: Any) -> list[dict[str, Any]]:
    """:func:`readable_change` of each change a form's timeline entry holds (none if the form is unknown)."""
    if not isinstance(changes, list):
        return []
    if access.is_owner:
        return changes
    if schema is None:
        return []
    return [c for c in (readable_change(access, schema, c) for c in changes) if c is not None]


def _node_at(schema: dict[str, Any], pointer: str) -> dict[str, Any] | None:
    """The schema of the answer at ``pointer``, or None where the schema does not describe it."""
    node: Any = schema
    for part in [p for p in pointer.strip("/").split("/") if p]:
        if not isinstance(node, dict):
            return None
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
            continue
        node = (node.get("properties") or {}).get(part)
    return node if isinstance(node, dict) else None


def may_see_field(access: Access, schema: dict[str, Any], pointer: str) -> bool:
    """Whether ``access`` may see the answer at ``pointer`` (e.g. "/people/0/name"): every question on the way
    down, and a list's items, must be at or below the level the access allows."""
    if access.is_owner:
        return True
    if not access.may_see(schema.get("x-sensitivity")):
        return False
    node: Any = schema
    for part in [p for p in pointer.strip("/").split("/") if p]:
        if not isinstance(node, dict):
            break
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            node = (node.get("properties") or {}).get(part)
        if not isinstance(node, dict):
            break
        if not access.may_see(node.get("x-sensitivity")):
            return False
    return True


async def visible_case_ids(
    actor: Actor, rows: list[dict[str, Any]], hidden: frozenset[int] | None = None
) -> set[int]:
    """Of ``rows`` (each with id, owning_agency and area), the cases ``actor`` may see now: the same answer
    :func:`case_access` gives one case at a time, in a fixed number of queries, for lists and counts. Retention
    applies here too: an erased case, or a restricted one (but for its own local admin), is never among them
    (``hidden``: what ``retention.withheld_from(actor).hidden`` answered, when the caller has read it already)."""
    from caseframe.core.retention.service import withheld_from

    if not rows:
        return set()
    if hidden is None:
        hidden = (await withheld_from(actor)).hidden
    return await _visible_ignoring_retention(actor, [r for r in rows if r["id"] not in hidden])


async def _visible_ignoring_retention(actor: Actor, rows: list[dict[str, Any]]) -> set[int]:
    from caseframe.core.panels.tables import AgendaItem
    from caseframe.core.sharing.tables import CaseShare
    from caseframe.core.tasks.tables import Task

    visible = {r["id"] for r in rows if r["owning_agency"] == actor.agency_id}
    others = {r["id"]: r for r in rows if r["owning_agency"] != actor.agency_id}
    if not others:
        return visible
    today = clock.today()
    shares = await CaseShare.select(
        CaseShare.case,
        CaseShare.isa.parties.as_alias("parties"),
        CaseShare.isa.areas.as_alias("areas"),
    ).where(
        (CaseShare.agency == actor.agency_id)
        & CaseShare.revoked_at.is_null()
        & (CaseShare.isa.starts_on <= today)
        & (CaseShare.isa.ends_on >= today)
    )
    for share in shares:
        row = others.get(share["case"])
        if row is None:
            continue
        parties = set(_json(share["parties"]) or [])
        if {actor.agency_id, row["owning_agency"]} <= parties and row["area"] in (
            _json(share["areas"]) or []
        ):
            visible.add(row["id"])
    # panel access: on the agenda of a published or running meeting of a panel the agency sits on, or an
    # open panel action the agency carries out; either way only under a live ISA covering the case's area
    candidates: set[int] = set()
    items = await AgendaItem.select(
        AgendaItem.case,
        AgendaItem.meeting.panel.member_agencies.as_alias("members"),
        AgendaItem.meeting.panel.chair_agency.as_alias("chair"),
    ).where(AgendaItem.meeting.status.is_in(["published", "in_progress"]) & AgendaItem.case.is_not_null())
    for item in items:
        if item["case"] in others and actor.agency_id in set(_json(item["members"]) or []) | {item["chair"]}:
            candidates.add(item["case"])
    actions = await Task.select(Task.case).where(
        (Task.owner_agency == actor.agency_id)
        & (Task.source == "panel")
        & (Task.status == "open")
        & Task.case.is_not_null()
    )
    candidates |= {a["case"] for a in actions if a["case"] in others}
    candidates -= visible
    if candidates:
        isas = await _live_isas_of(actor.agency_id)
        for case_id in candidates:
            row = others[case_id]
            if any(
                row["owning_agency"] in set(isa["parties"] or []) and row["area"] in (isa["areas"] or [])
                for isa in isas
            ):
                visible.add(case_id)
    return visible


async def visible_among(actor: Actor, case_ids: Iterable[int | None]) -> set[int]:
    """Of some case ids (``None`` and repeats allowed), those ``actor`` may see now: :func:`visible_case_ids`
    for callers holding only ids, e.g. of the cases some tasks or notifications are about."""
    from caseframe.core.cases.tables import Case

    wanted = sorted({i for i in case_ids if i})
    if not wanted:
        return set()
    rows = await Case.select(Case.id, Case.owning_agency, Case.area).where(Case.id.is_in(wanted))
    return await visible_case_ids(actor, rows)


async def _live_isas_of(agency_id: int) -> list[dict[str, Any]]:
    from caseframe.core.sharing.tables import SharingAgreement

    today = clock.today()
    rows = (
        await SharingAgreement.select()
        .where((SharingAgreement.starts_on <= today) & (SharingAgreement.ends_on >= today))
        .output(load_json=True)
    )
    return [isa for isa in rows if agency_id in set(isa["parties"] or [])]


class FlagReader:
    """Which of a person's warning markers (flags) one reader may see. The agency that recorded the person holds
    the record (only it changes it) and reads every marker; another agency reads those at or below the level of
    the best sharing agreement live today between it and the holder, and official markers (say, a risk to
    staff) whether or not there is one, as it reads the person's name. A marker no area declares (``levels``
    names none) is read as the most sensitive: an unknown word never counts as official. The agreements are
    read once, and only for a record of another agency that carries a marker above official."""

    __slots__ = ("agency_id", "levels", "_agreed")

    def __init__(self, actor: Actor, levels: dict[str, str] | None) -> None:
        self.agency_id = actor.agency_id
        self.levels = levels or {}
        self._agreed: dict[int, str] | None = None

    def level(self, flag: str) -> str:
        level = self.levels.get(flag)
        return level if level in SENSITIVITY else SENSITIVITY[-1]

    async def visible(self, row: dict[str, Any]) -> list[str]:
        """The markers of a person row (``flags`` and ``created_by_agency``) this reader may see, in order."""
        flags = [f for f in (_json(row.get("flags")) or []) if isinstance(f, str)]
        if not flags or row.get("created_by_agency") == self.agency_id:
            return flags
        if all(self.level(f) == SENSITIVITY[0] for f in flags):
            return flags
        if self._agreed is None:
            self._agreed = {}
            for isa in await _live_isas_of(self.agency_id):
                for party in set(isa["parties"] or []) - {self.agency_id}:
                    if sensitivity_rank(isa["max_sensitivity"]) >= sensitivity_rank(self._agreed.get(party)):
                        self._agreed[party] = isa["max_sensitivity"]
        agreed = Access(
            kind="share", max_sensitivity=self._agreed.get(row.get("created_by_agency"), SENSITIVITY[0])
        )
        return [f for f in flags if agreed.may_see(self.level(f))]
