"""Erasing a case's documents, for retention: below the documents service (which reads cases), so retention can
erase them without depending on the case services."""

from __future__ import annotations

from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.db.tx import transaction
from caseframe.core.documents import storage
from caseframe.core.documents.tables import Document


async def erase_case_documents(case_id: int, actor: Actor | None = None, *, reason: str = "") -> int:
    """Erase every document of a case, content and rows, for retention; return how many there were.

    Call it inside the erasure's own transaction (it opens one if there is none) and before the case row is
    deleted. The store's deletions cannot be rolled back: if the erasure's transaction fails afterwards the rows
    remain and show their content as missing, which the next erasure run finishes. Audited as
    ``document.erase`` with the ids and the reason."""
    rows = await Document.select(Document.id, Document.storage_key).where(Document.case == case_id)
    if not rows:
        return 0
    async with transaction():
        for row in rows:
            await storage.store().delete(row["storage_key"])
        await Document.delete().where(Document.case == case_id)
        await audit.record(
            "document.erase",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"ids": [r["id"] for r in rows], "reason": reason},
        )
    return len(rows)
