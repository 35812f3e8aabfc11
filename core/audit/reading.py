"""The audit viewer's events as their reader may read them: the words stored in an event name no case the reader may not see.

An event's detail keeps what was written (a case's reference, a retention decision's reason, a search's words), and
the trail is never edited. Who reads it (core/permissions.py: ``audit.read`` for a local admin, their own agency's
events; ``audit.read_all`` for a system admin, everyone's) reads every event in their reach, but its stored words
through core/sharing/redaction.py, as any other stored words: a case reference of a case the reader's agency may not
see becomes "[a case you cannot see]", and in an event about such a case (or naming it) its people's names become
"[a person]". The reader's own agency's cases are named as written whatever retention decided (its restricted and
erased cases appear in its own audit trail, as on its retention pages); another agency's case is named only while
the sharing policy lets the reader's agency see it. Which event happened, by whom, on which object number, stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.retention.service import Withheld, withheld_from
from caseframe.core.sharing.redaction import Redactor, redactor_for


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _read(words: Redactor, value: Any, case_id: int | None) -> Any:
    if isinstance(value, str):
        return words.text(value, case_id)
    if isinstance(value, dict):
        return {k: _read(words, v, case_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_read(words, v, case_id) for v in value]
    return value


def _case_of(row: dict[str, Any]) -> int | None:
    return row["object_id"] if row.get("object_type") == "case" and row.get("object_id") else None


async def _withheld_in_audit(actor: Actor) -> Withheld:
    """Retention's rule for the audit trail: the reader's own agency's cases are named whatever retention decided."""
    from caseframe.core.cases.tables import Case

    withheld = await withheld_from(actor)
    if not withheld.hidden:
        return withheld
    own = {
        r["id"]
        for r in await Case.select(Case.id).where(
            Case.id.is_in(sorted(withheld.hidden)) & (Case.owning_agency == actor.agency_id)
        )
    }
    return Withheld(withheld.hidden - own, withheld.marked | (withheld.hidden & own))


async def readable(actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (events) with their stored words as ``actor`` may read them, in a fixed number of queries."""
    texts = [s for r in rows for s in _strings(r.get("detail"))]
    words = await redactor_for(
        actor, texts, [_case_of(r) for r in rows], withheld=await _withheld_in_audit(actor)
    )
    for r in rows:
        if r.get("detail"):
            r["detail"] = _read(words, r["detail"], _case_of(r))
    return rows


async def list_events(actor: Actor, raw: Mapping[str, Any], page: Any = None) -> dict[str, Any]:
    """audit.list_events, its events' words read as the actor may read them."""
    found = await audit.list_events(actor, raw, page)
    found["events"] = await readable(actor, found["events"])
    return found


async def export_events(actor: Actor, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """audit.export_events, its events' words read as the actor may read them."""
    return await readable(actor, await audit.export_events(actor, raw))
