"""Write audit events, hash-chained so a changed or deleted row is detected."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import core.db.piccolo_conf as conf
from core import clock
from core.audit.tables import AuditEvent
from core.auth.actor import Actor
from core.db.engine import is_sqlite


def _digest(prev: str, row: dict[str, Any]) -> str:
    body = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode()).hexdigest()


async def record(action: str, actor: Actor | None, *, object_type: str = "", object_id: int | None = None,
                 detail: dict[str, Any] | None = None, purpose: str = "") -> None:
    """Append one audit event; call inside the transaction of the change it records."""
    if not is_sqlite(conf.DB):
        # one chain: writers take turns at its head (SQLite's immediate transactions already do)
        await AuditEvent.raw("SELECT pg_advisory_xact_lock(7201)")
    last = await AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id, ascending=False).first()
    prev = last["hash"] if last else ""
    at = clock.now()
    row = {"at": at.isoformat(), "actor_id": actor.id if actor else None,
           "agency_id": actor.agency_id if actor else None, "action": action, "object_type": object_type,
           "object_id": object_id, "purpose": purpose, "detail": detail or {}}
    await AuditEvent.insert(AuditEvent(**{**row, "at": at, "prev_hash": prev,
                                          "hash": _digest(prev, row)}))
