"""Write audit events, and seal them into a keyed hash chain so a changed, removed or forged row is detected.

Writing an event is a plain insert in the transaction of the change it records: no lock beyond the row's
own, so page views in the whole system never wait for one another. The sealer, run by the server about
once a second (one process at a time: a PostgreSQL advisory lock, or SQLite's write lock), takes the
committed events not yet sealed, in id order, and gives each the next place in the chain (``seq``) and an
HMAC-SHA256 of the row and the hash before it, keyed with a secret kept outside the database
(core.audit.key). An event committed late, after a higher id was sealed, simply takes a later place: the
chain's order is the order of sealing, so out-of-order commits never leave a gap. Every
``CHECKPOINT_SECONDS`` the sealer also records the chain's head (count, newest event, hash) in
``cf_audit_checkpoint``, and in the file ``CASEFRAME_AUDIT_ANCHOR_FILE`` names if set, so removing the newest
events shows too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from piccolo.utils.encoding import dump_json

import caseframe.core.db.piccolo_conf as conf
from caseframe.core import clock
from caseframe.core.audit.key import KEY_ENV, AuditKeyError, key_file, key_id, load_key
from caseframe.core.audit.tables import AuditCheckpoint, AuditEvent
from caseframe.core.auth.actor import Actor
from caseframe.core.db.engine import is_sqlite
from caseframe.core.db.tx import in_transaction, transaction

log = logging.getLogger("caseframe.audit")

#: the PostgreSQL advisory lock only the sealer takes (never a page view)
SEAL_LOCK = 7201
#: events sealed per transaction
BATCH = 200
SEAL_SECONDS = 1.0
CHECKPOINT_SECONDS = 10.0
ANCHOR_FILE_ENV = "CASEFRAME_AUDIT_ANCHOR_FILE"


async def record(
    action: str,
    actor: Actor | None,
    *,
    object_type: str = "",
    object_id: int | None = None,
    detail: dict[str, Any] | None = None,
    purpose: str = "",
) -> None:
    """Append one audit event; call inside the transaction of the change it records.

    Outside a transaction it refuses: the event would be stored even if the change it describes is not
    (or the change stored without its event), and the audit trail must say exactly what happened."""
    if not in_transaction():
        raise RuntimeError(
            f"audit.record({action!r}) must run inside the transaction of the change it records"
        )
    await _append(action, actor, object_type, object_id, detail, purpose)


async def record_read(
    action: str,
    actor: Actor | None,
    object_type: str,
    object_id: int | None = None,
    *,
    detail: dict[str, Any] | None = None,
    purpose: str = "",
) -> None:
    """Record a read (a view, a list): in the transaction already open, or else as one statement of its own
    (atomic by itself; on SQLite it takes its turn on the writer connection like any write)."""
    await _append(action, actor, object_type, object_id, detail, purpose)


# one event, unsealed (seq empty): written out once, since every page view appends one and building the ORM insert
# cost more than running it. The columns and values are those of AuditEvent(...) with its defaults.
_APPEND_SQL = (
    "INSERT INTO cf_audit (at, actor_id, agency_id, action, object_type, object_id, purpose, detail, "
    "prev_hash, hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, '', '')"
)


def read_statement(
    action: str,
    actor: Actor | None,
    object_type: str,
    object_id: int | None = None,
    *,
    detail: dict[str, Any] | None = None,
    purpose: str = "",
) -> tuple[str, list[Any]]:
    """:func:`record_read`'s insert as SQL (``{}`` placeholders) and its values, for a caller that sends it as part of
    one statement with its reads (the case page on PostgreSQL: a ``WITH`` of it, atomic with them). The row is
    the same unsealed event, sealed into the chain as every other."""
    return _APPEND_SQL, [
        clock.now(),
        actor.id if actor else None,
        actor.agency_id if actor else None,
        action,
        object_type,
        object_id,
        purpose,
        dump_json(detail or {}),
    ]


async def _append(
    action: str,
    actor: Actor | None,
    object_type: str,
    object_id: int | None,
    detail: dict[str, Any] | None,
    purpose: str,
) -> None:
    sql, values = read_statement(action, actor, object_type, object_id, detail=detail, purpose=purpose)
    await AuditEvent.raw(sql, *values)


def address_tried(email: str) -> str:
    """The address a failed sign-in tried, for the audit viewer; not kept if it cannot be an address, since
    people sometimes type their password into the address box."""
    text = (email or "").strip()[:254]
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        return "(not an email address)"
    return text.lower()


def seal_body(row: dict[str, Any]) -> str:
    """What a row's hash covers: its id, its place in the chain and everything it records."""
    return json.dumps(
        {
            "id": row["id"],
            "seq": row["seq"],
            "at": row["at"].isoformat(),
            "actor_id": row["actor_id"],
            "agency_id": row["agency_id"],
            "action": row["action"],
            "object_type": row["object_type"],
            "object_id": row["object_id"],
            "purpose": row["purpose"],
            "detail": row["detail"] or {},
        },
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )


def row_hash(key: bytes, prev: str, row: dict[str, Any]) -> str:
    return hmac.new(key, (prev + seal_body(row)).encode(), hashlib.sha256).hexdigest()


def checkpoint_mac(key: bytes, prev_mac: str, seq: int, event_id: int, head: str, at: dt.datetime) -> str:
    at_text = at.astimezone(dt.UTC).isoformat()
    return hmac.new(key, f"{prev_mac}|{seq}|{event_id}|{head}|{at_text}".encode(), hashlib.sha256).hexdigest()


def anchor_file() -> Path | None:
    name = os.environ.get(ANCHOR_FILE_ENV, "")
    return Path(name) if name else None


#: fingerprints of the keys found to be the ones the trail is sealed with, in this process
_trail_keys: set[str] = set()


async def trail_key() -> bytes:
    """The key to seal with: the one configured, if it is the key the trail's newest checkpoint was sealed with.

    A new key is written only for a trail never sealed. A process started elsewhere (a nightly command run from
    another folder, a server given another key file) that made or used another key would seal rows that
    ``caseframe audit verify`` then reports, for good, as sealed with another key: it is refused instead, saying
    which key to give it (AuditKeyError), and nothing is sealed."""
    try:
        key = load_key()
    except AuditKeyError as exc:
        sealed = await AuditEvent.exists().where(AuditEvent.seq.is_not_null())
        if sealed or await AuditCheckpoint.exists():
            raise AuditKeyError(
                f"{exc}; the audit trail is sealed already, and a new key would break it"
            ) from None
        return load_key(create=True)
    own = key_id(key)
    if own in _trail_keys:
        return key
    last = (
        await AuditCheckpoint.select(AuditCheckpoint.id, AuditCheckpoint.key_id)
        .order_by(AuditCheckpoint.id, ascending=False)
        .first()
    )
    if last is not None and last["key_id"] != own:
        where = KEY_ENV if os.environ.get(KEY_ENV) else f"the key file {key_file().resolve()}"
        raise AuditKeyError(
            f"the audit key in {where} is not the one the audit trail is sealed with (checkpoint {last['id']}): "
            f"give this command the server's key (its {KEY_ENV} or CASEFRAME_AUDIT_KEY_FILE); nothing was sealed"
        )
    _trail_keys.add(own)
    return key


async def seal(*, checkpoint: bool = False, wait: bool = True) -> int:
    """Seal every event committed before the call and not yet sealed; return how many. ``checkpoint``
    records the head even if the last checkpoint is recent (the server does so when it stops). Without
    ``wait``, return at once if another process is sealing (the server's loop: that one does the work).
    The key is :func:`trail_key`'s: a key the trail was not sealed with is refused (AuditKeyError)."""
    key = await trail_key()
    total = 0
    while True:
        count, written = await _seal_batch(key, checkpoint, wait)
        if written is not None:
            _write_anchor(written)
        total += count
        if count < BATCH:
            return total
        await asyncio.sleep(0)  # let requests run between batches of a long backlog


def unsealed_query() -> Any:
    """The oldest events not sealed yet, a batch of them: read through ``cf_audit_unsealed``, an index of those
    events alone (migration 2026-12-07T15:50 says why), never by walking the sealed ones."""
    return AuditEvent.select().where(AuditEvent.seq.is_null()).order_by(AuditEvent.id).limit(BATCH)


async def _seal_batch(key: bytes, force_checkpoint: bool, wait: bool) -> tuple[int, dict[str, Any] | None]:
    async with transaction():
        if not is_sqlite(conf.DB):
            # one sealer at a time per trail (a trail is a schema: several may share one database)
            if wait:
                await AuditEvent.raw(
                    "SELECT pg_advisory_xact_lock({}, hashtext(current_schema()))", SEAL_LOCK
                )
            else:
                got = await AuditEvent.raw(
                    "SELECT pg_try_advisory_xact_lock({}, hashtext(current_schema())) AS got", SEAL_LOCK
                )
                if not got[0]["got"]:
                    return 0, None
        head = (
            await AuditEvent.select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.seq.is_not_null())
            .order_by(AuditEvent.seq, ascending=False)
            .first()
        )
        rows = await unsealed_query().output(load_json=True)
        seq, prev, last_id = (head["seq"], head["hash"], head["id"]) if head else (0, "", 0)
        sealed = []
        for row in rows:
            seq += 1
            digest = row_hash(key, prev, {**row, "seq": seq})
            sealed.append((row["id"], seq, prev, digest))
            prev, last_id = digest, row["id"]
        if sealed:
            values = ", ".join(
                ["(CAST({} AS BIGINT), CAST({} AS BIGINT), CAST({} AS TEXT), CAST({} AS TEXT))"] * len(sealed)
            )
            await AuditEvent.raw(
                f"WITH v(id, seq, prev_hash, hash) AS (VALUES {values}) "
                "UPDATE cf_audit SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash FROM v "
                "WHERE cf_audit.id = v.id AND cf_audit.seq IS NULL",
                *[x for s in sealed for x in s],
            )
        # also when nothing new came: the last events sealed before a quiet spell get their checkpoint too
        written = await _checkpoint(key, seq, last_id, prev, force_checkpoint) if seq else None
    return len(sealed), written


async def _checkpoint(key: bytes, seq: int, event_id: int, head: str, force: bool) -> dict[str, Any] | None:
    last = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    now = clock.now()
    if last is not None and (
        last["seq"] == seq or (not force and (now - last["at"]).total_seconds() < CHECKPOINT_SECONDS)
    ):
        return None
    prev_mac = last["mac"] if last else ""
    row = {
        "at": now,
        "seq": seq,
        "event_id": event_id,
        "hash": head,
        "key_id": key_id(key),
        "prev_mac": prev_mac,
        "mac": checkpoint_mac(key, prev_mac, seq, event_id, head, now),
    }
    await AuditCheckpoint.insert(AuditCheckpoint.from_dict(row))
    return row


def _write_anchor(row: dict[str, Any]) -> None:
    """Copy the newest checkpoint to the anchor file (after it is committed), replacing the one before."""
    path = anchor_file()
    if path is None:
        return
    text = json.dumps({**row, "at": row["at"].astimezone(dt.UTC).isoformat()}, sort_keys=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temp.write_text(text + "\n", encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        log.warning("cannot write the audit anchor file %s: %s", path, exc.strerror)


async def run_sealer(interval: float = SEAL_SECONDS) -> None:
    """Seal for as long as the server runs; a failure is logged and tried again, never ends the loop."""
    while True:
        await asyncio.sleep(interval)
        try:
            await seal(wait=False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be away for a moment: the events wait, unharmed
            log.warning("audit sealing failed, will retry: %s: %s", exc.__class__.__name__, exc)


# -- the audit viewer: what an admin may read of the trail ----------------------------------------------------

#: the viewer's filters, as the page's query names them
FILTERS = ("action", "user", "object_type", "object_id", "purpose", "from", "to")
PAGE_SIZE = 50
EXPORT_LIMIT = 50000


def _event_filters(actor: Actor, raw: Mapping[str, Any]) -> tuple[Any, dict[str, str], list[dict[str, str]]]:
    """The filters asked for as a query within the actor's reach, their values, and what is wrong with them (in
    words, per field). Refuses an actor who may not read the trail."""
    from caseframe.core import permissions
    from caseframe.core.db import MAX_ID
    from caseframe.core.numbers import whole_number

    permissions.require(actor, "audit.read")
    values = {k: str(raw.get(k) or "").strip()[:100] for k in FILTERS}
    errors: list[dict[str, str]] = []
    where: Any = AuditEvent.id > 0
    if not permissions.can(actor, "audit.read_all"):  # a local admin: their own agency's events
        where &= AuditEvent.agency_id == actor.agency_id
    if values["action"]:
        where &= AuditEvent.action.like(values["action"].replace("%", "") + "%")
    for key, column, label in (
        ("user", AuditEvent.actor_id, "User number"),
        ("object_id", AuditEvent.object_id, "Object number"),
    ):
        if not values[key]:
            continue
        number = whole_number(values[key])
        if number is None:
            errors.append({"field": f"/audit-{key}", "message": f"{label} must be a whole number, like 42"})
        else:  # an id too large for the database names nothing: the filter then matches nothing
            where &= (column == number) if number <= MAX_ID else (AuditEvent.id < 0)
    if values["object_type"]:
        where &= AuditEvent.object_type == values["object_type"]
    if values["purpose"]:
        where &= AuditEvent.purpose == values["purpose"]
    days = _filter_days(values, errors)
    if "from" in days:
        where &= AuditEvent.at >= dt.datetime.combine(days["from"], dt.time(), tzinfo=dt.UTC)
    if "to" in days:
        where &= AuditEvent.at < dt.datetime.combine(
            days["to"] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
        )
    return where, values, errors


def _filter_days(values: dict[str, str], errors: list[dict[str, str]]) -> dict[str, dt.date]:
    """The From and To days asked for, each a real date written YYYY-MM-DD, To not before From; what is wrong
    with them is added to ``errors``."""
    days: dict[str, dt.date] = {}
    for key, word in (("from", "From"), ("to", "To")):
        if not values[key]:
            continue
        day: dt.date | None
        try:
            day = dt.date.fromisoformat(values[key]) if len(values[key]) == 10 else None
        except ValueError:
            day = None
        if day is None:
            errors.append(
                {
                    "field": f"/audit-{key}",
                    "message": f"{word} must be a real date written YYYY-MM-DD, like 2026-11-30",
                }
            )
        else:
            days[key] = day
    if "from" in days and "to" in days and days["to"] < days["from"]:
        errors.append({"field": "/audit-to", "message": "To must be the same day as From or later"})
    return days


async def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.auth.tables import User

    users = {
        u["id"]: u["name"]
        for u in await User.select(User.id, User.name).where(
            User.id.is_in(sorted({r["actor_id"] for r in rows if r["actor_id"]}) or [0])
        )
    }
    agencies = {
        a["id"]: a["name"]
        for a in await Agency.select(Agency.id, Agency.name).where(
            Agency.id.is_in(sorted({r["agency_id"] for r in rows if r["agency_id"]}) or [0])
        )
    }
    return [
        {
            **r,
            "user": users.get(r["actor_id"], "System" if not r["actor_id"] else "Unknown user"),
            "agency": agencies.get(r["agency_id"], ""),
            "tried": (r["detail"] or {}).get("email", "")
            if r["action"].startswith(("auth.", "sign_in."))
            else "",
        }
        for r in rows
    ]


#: what an event's detail says of a document that only the agency whose user wrote the event reads: its name, as
#: the uploader gave it, is as sensitive as the document (core/documents/service.py: above the reader's level a
#: document does not exist for them), and a virus scanner's finding may repeat it
DOCUMENT_WORDS = ("filename", "finding")
#: a referral rule's id names what it tests ("rough_sleepers:mental-health-need"), and whom it told says as much:
#: that it fired says the answer. The case a referral came from goes too: its addressee's later events on the referral
#: (declined, by a mental health trust) would say the same of that case
RULE_WORDS = ("rule", "agencies", "case_id")


def _rule_case(row: dict[str, Any]) -> int | None:
    """The case a rule's event is about: the event's object, or the case its detail names."""
    if row.get("object_type") == "case":
        return row.get("object_id")
    case_id = (row.get("detail") or {}).get("case_id")
    return case_id if isinstance(case_id, int) else None


async def _rule_case_owners(rows: list[dict[str, Any]]) -> dict[int, int]:
    """The owning agency of each case a rule's event among ``rows`` is about (one query)."""
    ids = {
        case_id
        for r in rows
        if isinstance(r.get("detail"), dict)
        and "rule" in r["detail"]
        and (case_id := _rule_case(r)) is not None
    }
    if not ids:
        return {}
    from caseframe.core.cases.tables import Case

    return {
        c["id"]: c["owning_agency"]
        for c in await Case.select(Case.id, Case.owning_agency).where(Case.id.is_in(sorted(ids)))
    }


async def _for_viewer(actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as ``actor`` may read them: a form change's old and new answers, and a document's name, only for the
    agency whose user made the event (the case's owner, or the reader of the document); any other reader (a
    system admin of another agency) sees which questions changed and which document (its number and level) was
    added, read or removed, never the answers nor the name, as the case's own filter would give it none of them;
    nor, but to the agency owning the case, which referral rule fired and whom it told (its id names the answer it
    tested; the system, not an agency, records that), only that one did."""
    owners = await _rule_case_owners(rows)
    for r in rows:
        detail = r.get("detail")
        if r["agency_id"] == actor.agency_id or not isinstance(detail, dict):
            continue
        if isinstance(detail.get("changes"), list):
            detail = {
                **detail,
                "changes": [{"field": c.get("field")} for c in detail["changes"] if isinstance(c, dict)],
            }
        if any(key in detail for key in DOCUMENT_WORDS):
            detail = {k: v for k, v in detail.items() if k not in DOCUMENT_WORDS}
        if "rule" in detail and owners.get(_rule_case(r) or 0) != actor.agency_id:
            detail = {k: v for k, v in detail.items() if k not in RULE_WORDS}
        r["detail"] = detail
    return rows


async def list_events(actor: Actor, raw: Mapping[str, Any], page: Any = None) -> dict[str, Any]:
    """One page of the audit trail for the viewer: the events the filters in ``raw`` match within the actor's
    reach (newest first, named, answers hidden from another agency), with the filters' values, the total, the
    page's number and count, and what is wrong with the filters (then no events: a filter that cannot be read
    matches nothing rather than being quietly dropped)."""
    from caseframe.core.numbers import page_number

    where, values, errors = _event_filters(actor, raw)
    if errors:
        return {"events": [], "values": values, "total": 0, "number": 1, "pages": 1, "errors": errors}
    total = await AuditEvent.count().where(where)
    pages = max(1, -(-total // PAGE_SIZE))
    number = page_number(page, pages)
    rows = (
        await AuditEvent.select()
        .where(where)
        .order_by(AuditEvent.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
        .output(load_json=True)
    )
    return {
        "events": await _named(await _for_viewer(actor, rows)),
        "values": values,
        "total": total,
        "number": number,
        "pages": pages,
        "errors": [],
    }


async def export_events(actor: Actor, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events the filters match (newest first, at most EXPORT_LIMIT), named and as the actor may read them,
    for a CSV export; the export itself is audited. ``ValidationFailed`` when a filter cannot be read."""
    from caseframe.core.errors import ValidationFailed

    where, values, errors = _event_filters(actor, raw)
    if errors:
        raise ValidationFailed("There is a problem", errors=errors)
    rows = (
        await AuditEvent.select()
        .where(where)
        .order_by(AuditEvent.id, ascending=False)
        .limit(EXPORT_LIMIT)
        .output(load_json=True)
    )
    async with transaction():
        await record("audit.export", actor, detail={"filters": values, "rows": len(rows)})
    return await _named(await _for_viewer(actor, rows))
