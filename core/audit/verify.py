"""Check the audit trail: the sealed chain, its checkpoints and anchor file; count what waits to be sealed.

- every sealed row's hash must follow, under the key, from the row before it (by ``seq``) and its own
  content, and the places must run 1, 2, 3... with none missing;
- every checkpoint must carry a valid keyed MAC following from the one before it, and the chain must still
  hold, at each checkpoint's place, the event and hash the checkpoint recorded: removing the newest events
  leaves a checkpoint pointing past the end;
- the anchor file (``CASEFRAME_AUDIT_ANCHOR_FILE``), if set, is checked the same way, so removing the newest
  checkpoints with the newest events still shows;
- events not yet sealed are reported as pending, not as tampering.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass
from typing import Any

from caseframe.core.audit.key import key_id, load_key
from caseframe.core.audit.service import anchor_file, checkpoint_mac, row_hash
from caseframe.core.audit.tables import AuditCheckpoint, AuditEvent

BATCH = 2000


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""
    pending: int = 0
    oldest_pending: dt.datetime | None = None
    checkpoints: int = 0
    last_checkpoint: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.reason


def _same(expected: str, stored: Any) -> bool:
    """``stored`` is ``expected``, compared in constant time; a stored value someone made other than ASCII text is
    simply not it (``compare_digest`` raises on a character beyond ASCII, and on anything but text)."""
    return isinstance(stored, str) and hmac.compare_digest(
        expected.encode("utf-8"), stored.encode("utf-8", "surrogatepass")
    )


def _checkpoint_problem(key: bytes, checkpoints: list[dict[str, Any]]) -> tuple[int | None, str]:
    own = key_id(key)
    prev_mac = ""
    for cp in checkpoints:
        if cp["key_id"] != own:
            return None, (
                f"checkpoint {cp['id']} was sealed with another audit key: is this the key the server "
                "uses (CASEFRAME_AUDIT_KEY or CASEFRAME_AUDIT_KEY_FILE)?"
            )
        expected = checkpoint_mac(key, prev_mac, cp["seq"], cp["event_id"], cp["hash"], cp["at"])
        if cp["prev_mac"] != prev_mac or not _same(expected, cp["mac"]):
            return cp["event_id"], (
                f"checkpoint {cp['id']} was changed, forged or a checkpoint before it was removed"
            )
        prev_mac = cp["mac"]
    return None, ""


def _read_anchor(key: bytes) -> tuple[dict[str, Any] | None, str]:
    path = anchor_file()
    if path is None:
        return None, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        anchor = {k: data[k] for k in ("seq", "event_id", "hash", "key_id", "prev_mac", "mac")}
        anchor["at"] = dt.datetime.fromisoformat(data["at"])
    except FileNotFoundError:
        return None, ""  # nothing sealed yet with the file set: the next checkpoint writes it
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"the anchor file {path} cannot be read as a checkpoint: it was damaged or replaced"
    expected = checkpoint_mac(
        key, anchor["prev_mac"], anchor["seq"], anchor["event_id"], anchor["hash"], anchor["at"]
    )
    if anchor["key_id"] != key_id(key) or not _same(expected, anchor["mac"]):
        return None, f"the anchor file {path} was changed or forged, or the audit key is not the server's"
    return {**anchor, "id": f"in the anchor file {path}"}, ""


async def verify_chain() -> ChainReport:
    """Walk the sealed chain in order, in batches; stop at the first row or checkpoint that does not hold."""
    key = load_key()
    checkpoints = await AuditCheckpoint.select().order_by(AuditCheckpoint.id)
    report = ChainReport(
        0, checkpoints=len(checkpoints), last_checkpoint=checkpoints[-1]["at"] if checkpoints else None
    )
    broken_id, reason = _checkpoint_problem(key, checkpoints)
    anchor, anchor_problem = _read_anchor(key)
    if reason or anchor_problem:
        report.broken_id, report.reason = broken_id, reason or anchor_problem
        return report
    marks: dict[int, list[dict[str, Any]]] = {}
    for cp in [*checkpoints, *([anchor] if anchor else [])]:
        marks.setdefault(cp["seq"], []).append(cp)
    prev, seq = "", 0
    while True:
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.seq > seq)
            .order_by(AuditEvent.seq)
            .limit(BATCH)
            .output(load_json=True)
        )
        if not rows:
            break
        for row in rows:
            if row["seq"] != seq + 1 or row["prev_hash"] != prev:
                report.broken_id = row["id"]
                report.reason = (
                    "the first sealed row does not start the chain (rows were removed)"
                    if not seq
                    else "the row before it was changed, removed or this row was inserted"
                )
                return report
            if not _same(row_hash(key, prev, row), row["hash"]):
                report.broken_id = row["id"]
                report.reason = (
                    "its content was changed after it was sealed (or its seal was made without the key)"
                )
                return report
            for cp in marks.get(row["seq"], ()):
                if cp["event_id"] != row["id"] or cp["hash"] != row["hash"]:
                    report.broken_id = row["id"]
                    report.reason = (
                        f"it is not the event checkpoint {cp['id']} recorded at this place "
                        f"(event {cp['event_id']}): events were removed or replaced"
                    )
                    return report
            prev, seq = row["hash"], row["seq"]
            report.checked += 1
    beyond = [cp for cp in [*checkpoints, *([anchor] if anchor else [])] if cp["seq"] > seq]
    if beyond:
        cp = max(beyond, key=lambda c: c["seq"])
        report.broken_id = cp["event_id"]
        report.reason = (
            f"the newest events were removed: checkpoint {cp['id']} of "
            f"{cp['at'].astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC recorded {cp['seq']} sealed "
            f"event(s) ending with this one, the trail now holds {seq}"
        )
        return report
    report.pending = await AuditEvent.count().where(AuditEvent.seq.is_null())
    if report.pending:
        oldest = (
            await AuditEvent.select(AuditEvent.at)
            .where(AuditEvent.seq.is_null())
            .order_by(AuditEvent.id)
            .first()
        )
        report.oldest_pending = oldest["at"] if oldest else None
    return report
