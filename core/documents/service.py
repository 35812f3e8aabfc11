"""Documents on a case: add (type, size and virus checked), list and read as far as the reader's access allows,
remove with a reason, erase for retention; the only code that writes documents.

A document is seen exactly where its case is (owner, live share, panel, as core.sharing.policy decides) and only
by a reader whose access reaches the document's sensitivity level: for anyone else it does not exist (not
listed, not on the timeline, a download is "not found"). Content and row are written together or not at all:
the content is stored first under a random key, and removed again if the row's transaction fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.documents import storage, types
from caseframe.core.documents.erasure import erase_case_documents  # noqa: F401 (named here too, as before)
from caseframe.core.documents.tables import Document
from caseframe.core.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from caseframe.core.sharing.policy import SENSITIVITY, SENSITIVITY_LABELS, Access

log = logging.getLogger("caseframe.documents")

#: the level the upload form offers first: a document is more often sensitive than not, so a partner whose
#: agreement allows only official-level answers sees one only when the uploader says it may
DEFAULT_SENSITIVITY = "sensitive"
MAX_REASON = 500
SCAN_STATUS = {"clean": "Checked for viruses", "not_scanned": "Not checked for viruses"}
NOT_FOUND = "No document with that number exists on this case"


class TooLarge(ValidationFailed):
    """The upload is bigger than the limit (``CASEFRAME_DOCUMENTS_MAX_MB``)."""

    status = 413


class Unavailable(ServiceError):
    """The store or the virus scanner could not be reached; nothing was saved."""

    status = 503


def max_megabytes() -> int:
    return storage.CONFIG.max_bytes // (1024 * 1024)


def _field_error(
    field: str, message: str, cls: type[ValidationFailed] = ValidationFailed
) -> ValidationFailed:
    return cls(message, errors=[{"field": field, "message": message}])


def document_dict(row: dict[str, Any]) -> dict[str, Any]:
    kind = types.KINDS.get(row["kind"])
    return {
        "id": row["id"],
        "case_id": row["case"],
        "filename": row["filename"],
        "kind": row["kind"],
        "kind_label": kind.label if kind else row["kind"],
        "content_type": row["content_type"],
        "size": row["size"],
        "sha256": row["sha256"],
        "sensitivity": row["sensitivity"],
        "sensitivity_label": SENSITIVITY_LABELS.get(row["sensitivity"], row["sensitivity"]),
        "uploaded_by": row["uploaded_by"],
        "uploaded_by_name": row.get("uploaded_by_name") or "",
        "uploaded_at": row["uploaded_at"],
        "scan_status": row["scan_status"],
        "scan_label": SCAN_STATUS.get(row["scan_status"], row["scan_status"]),
    }


# -- adding ----------------------------------------------------------------------------------------------------


def _spool(source: BinaryIO, limit: int) -> tuple[Path, int, str]:
    """Copy the upload to a private temporary file, counting and hashing as it goes; never more than ``limit``."""
    handle, name = tempfile.mkstemp(prefix="caseframe-upload-")
    path = Path(name)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out:
            source.seek(0)
            while chunk := source.read(storage.CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _field_error(
                        "/file",
                        f"The file is too large. A document can be at most {max_megabytes()} MB.",
                        TooLarge,
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def _check_type(path: Path, filename: str) -> types.Kind:
    with open(path, "rb") as handle:
        kind = types.detect(handle)
    types.check_extension(kind, filename)
    return kind


def _scan(ctx: Context, path: Path, filename: str, kind: str) -> list[dict[str, str]]:
    results = ctx.pm.hook.scan_document(path=path, filename=filename, kind=kind)
    return [r for r in results if isinstance(r, dict)]


async def add_document(
    ctx: Context,
    actor: Actor,
    case_id: int,
    source: BinaryIO,
    filename: str,
    sensitivity: str = DEFAULT_SENSITIVITY,
) -> dict[str, Any]:
    """Attach the file ``source`` holds to a case the actor works. Refused, in words, if it is empty, too large,
    not a kind we accept, named as another kind, found infected, or cannot be scanned when a scan is required."""
    row = await cases.workable_row(actor, case_id)
    if row["closed_at"]:
        raise Forbidden("This case is closed. Its documents can be read but none can be added.")
    if sensitivity not in SENSITIVITY:
        raise _field_error("/sensitivity", "Select how sensitive the document is")
    name = types.clean_filename(filename)
    if not name:
        raise _field_error("/file", "Choose a file to upload")
    path, size, sha256 = await asyncio.to_thread(_spool, source, storage.CONFIG.max_bytes)
    key = None
    try:
        if size == 0:
            raise _field_error("/file", "The file is empty. Choose a file that has something in it.")
        try:
            kind = await asyncio.to_thread(_check_type, path, name)
        except types.NotAccepted as exc:
            raise _field_error("/file", str(exc)) from None
        verdicts = await asyncio.to_thread(_scan, ctx, path, name, kind.name)
        scanners = ", ".join(sorted({str(v.get("scanner", "")) for v in verdicts if v.get("scanner")}))
        infected = [v for v in verdicts if v.get("verdict") == "infected"]
        if infected:
            await audit.record_read(
                "document.refused",
                actor,
                "case",
                case_id,
                detail={
                    "filename": name,
                    "sha256": sha256,
                    "size": size,
                    "reason": "infected",
                    "scanner": scanners,
                    "finding": str(infected[0].get("detail", ""))[:200],
                },
            )
            raise _field_error(
                "/file",
                "The virus check found something harmful in this file, so it has not "
                "been saved. Do not open it; tell your IT team where it came from.",
            )
        if any(v.get("verdict") != "clean" for v in verdicts):
            raise Unavailable(
                "The file could not be checked for viruses just now, so it has not been saved. "
                "Try again in a few minutes.",
                errors=[{"field": "/file", "message": "The virus check could not be done"}],
            )
        if not verdicts and storage.CONFIG.require_scan:
            raise Unavailable(
                "No virus checker is working, and documents must be checked before they are "
                "kept, so it has not been saved. Tell your system administrator.",
                errors=[{"field": "/file", "message": "The virus check could not be done"}],
            )
        store = storage.store()
        key = storage.new_key()
        try:
            await store.put(key, path)
        except storage.StoreError as exc:
            log.error("a document could not be stored: %s", exc)
            key = None
            raise Unavailable(
                "The document could not be stored just now. Nothing has been saved: try again "
                "in a few minutes."
            ) from None
        now = clock.now()
        scan_status = "clean" if verdicts else "not_scanned"
        async with transaction():
            document = Document(
                case=case_id,
                filename=name,
                kind=kind.name,
                content_type=kind.content_type,
                size=size,
                sha256=sha256,
                sensitivity=sensitivity,
                uploaded_by=actor.id,
                uploaded_at=now,
                storage_key=key,
                scan_status=scan_status,
                scanner=scanners[:100],
            )
            await document.save()
            await CaseEvent.insert(
                CaseEvent(
                    case=case_id,
                    kind="document",
                    actor=actor.id,
                    at=now,
                    summary=f"Document added: {name}",
                    detail={"document_id": document.id, "sensitivity": sensitivity, "added": True},
                )
            )
            await audit.record(
                "document.upload",
                actor,
                object_type="case",
                object_id=case_id,
                detail={
                    "document_id": document.id,
                    "filename": name,
                    "kind": kind.name,
                    "size": size,
                    "sha256": sha256,
                    "sensitivity": sensitivity,
                    "scan_status": scan_status,
                    "scanner": scanners,
                },
            )
        key = None  # committed: the content is the row's now
        saved = await Document.select().where(Document.id == document.id).first()
        if saved is None:  # erased with its case in the moment since the commit
            raise NotFound(NOT_FOUND)
        return document_dict(saved)
    finally:
        path.unlink(missing_ok=True)
        if key is not None:  # stored, but the row was never committed: no content without its row
            with contextlib.suppress(Exception):
                await storage.store().delete(key)


# -- reading -----------------------------------------------------------------------------------------------------


# written out once: the case page reads it on every view (tests/core/test_case_reads.py holds it to the ORM's)
DOCUMENTS_OF_SQL = (
    "SELECT d.*, u.name AS uploaded_by_name FROM cf_document d LEFT JOIN cf_user u ON u.id = d.uploaded_by "
    'WHERE d."case" = {} AND d.removed_at IS NULL ORDER BY d.id DESC'
)


async def documents_of(
    case_id: int, access: Access, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The case's documents this access may see, newest first (the caller has checked the access and audits
    the view of the case). ``rows``: what ``DOCUMENTS_OF_SQL`` gives, when the caller read it already
    (core/cases/page_reads.py)."""
    if rows is None:
        rows = await Document.raw(DOCUMENTS_OF_SQL, int(case_id))
    # a document above the reader's level is not listed at all
    return [document_dict(r) for r in rows if access.may_see(r["sensitivity"])]


async def list_documents(actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The documents of a case the actor may see (not found if they may not see the case); the list is audited."""
    _, access = await cases.visible_case(actor, case_id)
    found = await documents_of(case_id, access)
    await audit.record_read(
        "document.list",
        actor,
        "case",
        case_id,
        detail={"ids": [d["id"] for d in found]},
        purpose=access.purpose,
    )
    return found


async def _visible_document(actor: Actor, case_id: int, document_id: int) -> tuple[dict[str, Any], Access]:
    _, access = await cases.visible_case(actor, case_id)
    row = (
        await Document.select()
        .where((Document.id == document_id) & (Document.case == case_id) & Document.removed_at.is_null())
        .first()
    )
    if row is None or not access.may_see(row["sensitivity"]):
        # the same answer as for no such document: a level above the reader's is not revealed to exist
        raise NotFound(NOT_FOUND)
    return row, access


async def read_document(
    actor: Actor, case_id: int, document_id: int
) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    """A document the actor may see and its content in chunks; the download is audited before anything is sent."""
    row, access = await _visible_document(actor, case_id, document_id)
    chunks = storage.store().read(row["storage_key"])
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = b""
    except FileNotFoundError:
        log.error("document %s has no content in the store", row["id"])
        raise Unavailable(
            "This document's content is missing from the document store. Tell your system "
            f"administrator: the document's number is {row['id']}."
        ) from None
    except storage.StoreError as exc:
        log.error("a document could not be read: %s", exc)
        raise Unavailable("The document could not be read just now. Try again in a few minutes.") from None
    await audit.record_read(
        "document.download",
        actor,
        "case",
        case_id,
        detail={
            "document_id": row["id"],
            "filename": row["filename"],
            "sensitivity": row["sensitivity"],
            "access": access.kind,
            "isa_id": access.isa_id,
            "meeting_id": access.meeting_id,
        },
        purpose=access.purpose,
    )

    async def content() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return document_dict(row), content()


# -- removing ------------------------------------------------------------------------------------------------------


async def remove_document(ctx: Context, actor: Actor, case_id: int, document_id: int, reason: str) -> None:
    """Remove a document from a case the actor works, saying why: its content is deleted, its record (name, who
    added and removed it, why) stays for the audit trail and the timeline."""
    await cases.workable_row(actor, case_id)
    row = (
        await Document.select()
        .where((Document.id == document_id) & (Document.case == case_id) & Document.removed_at.is_null())
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    reason = " ".join((reason or "").split())
    if not reason:
        raise _field_error("/reason", "Say why the document is being removed")
    if len(reason) > MAX_REASON:
        raise _field_error("/reason", f"The reason must be {MAX_REASON} characters or fewer")
    now = clock.now()
    async with transaction():
        updated = (
            await Document.update(
                {Document.removed_at: now, Document.removed_by: actor.id, Document.removal_reason: reason}
            )
            .where((Document.id == document_id) & Document.removed_at.is_null())
            .returning(Document.id)
        )
        if not updated:
            raise NotFound(NOT_FOUND)
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="document",
                actor=actor.id,
                at=now,
                summary=f"Document removed: {row['filename']}. Reason: {reason}",
                detail={"document_id": document_id, "sensitivity": row["sensitivity"], "added": False},
            )
        )
        await audit.record(
            "document.remove",
            actor,
            object_type="case",
            object_id=case_id,
            detail={
                "document_id": document_id,
                "filename": row["filename"],
                "sha256": row["sha256"],
                "reason": reason,
            },
        )
        # last, inside the transaction: if the store refuses, the removal is rolled back and can be tried again
        try:
            await storage.store().delete(row["storage_key"])
        except storage.StoreError as exc:
            log.error("a document's content could not be deleted: %s", exc)
            raise Unavailable(
                "The document could not be removed just now. Nothing has changed: try again in a few minutes."
            ) from None


async def check_store() -> dict[str, Any]:
    """Which documents' content is missing from the store, and which removed ones' content was left behind
    (``caseframe documents check``)."""
    store = storage.store()
    rows = await Document.select(Document.id, Document.storage_key, Document.removed_at).order_by(Document.id)
    missing, left_behind = [], []
    for row in rows:
        held = await store.exists(row["storage_key"])
        if row["removed_at"] is None and not held:
            missing.append(row["id"])
        elif row["removed_at"] is not None and held:
            left_behind.append(row["id"])
    return {"checked": len(rows), "missing": missing, "left_behind": left_behind}


__all__ = [
    "add_document",
    "check_store",
    "documents_of",
    "erase_case_documents",
    "list_documents",
    "read_document",
    "remove_document",
]


def form_context() -> dict[str, Any]:
    """What the upload form says: the levels to choose from, the default, the size limit and the kinds accepted."""
    return {
        "sensitivities": [(level, SENSITIVITY_LABELS[level]) for level in SENSITIVITY],
        "default": DEFAULT_SENSITIVITY,
        "max_mb": max_megabytes(),
        "accept": types.ACCEPT_ATTRIBUTE,
        "accepted_words": types.ACCEPTED_WORDS,
    }


def size_text(size: int) -> str:
    """A file size as people read it: 812 bytes, 34 KB, 2.5 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"
