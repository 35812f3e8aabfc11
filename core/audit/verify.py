"""Check the audit trail's hash chain: every row's hash must follow from the row before it and its own content."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.audit.service import _digest
from core.audit.tables import AuditEvent

BATCH = 2000


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _row_body(row: dict[str, Any]) -> dict[str, Any]:
    # the same fields, in the same form, as core.audit.service.record hashes
    return {"at": row["at"].isoformat(), "actor_id": row["actor_id"], "agency_id": row["agency_id"],
            "action": row["action"], "object_type": row["object_type"], "object_id": row["object_id"],
            "purpose": row["purpose"], "detail": row["detail"] or {}}


async def verify_chain() -> ChainReport:
    """Walk the trail in id order, in batches; stop at the first row that does not follow."""
    prev = ""
    checked = 0
    last_id = 0
    while True:
        rows = await AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(
            BATCH).output(load_json=True)
        if not rows:
            return ChainReport(checked)
        for row in rows:
            if row["prev_hash"] != prev:
                reason = ("the row before it was changed, removed or this row was inserted"
                          if checked else "the first row does not start the chain (rows were removed)")
                return ChainReport(checked, row["id"], reason)
            if _digest(prev, _row_body(row)) != row["hash"]:
                return ChainReport(checked, row["id"], "its content was changed after it was written")
            prev = row["hash"]
            checked += 1
            last_id = row["id"]
