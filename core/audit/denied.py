"""A refused guess at an id is recorded: every 403 or 404 answered to a signed-in user on an address naming a
record (a case, person, referral, meeting...) writes an ``access.denied`` event, whichever route, core or
plugin, refused it. It runs as each response starts (``before_send``), outside the refused request's own
transaction, which was rolled back."""

from __future__ import annotations

import logging
import re
from typing import Any

from caseframe.core.audit.service import record_read
from caseframe.core.db import MAX_ID

log = logging.getLogger("caseframe.audit")

#: path parameters naming a record, and the record's kind as the audit trail names it
ID_PARAMS = {
    "case_id": "case",
    "person_id": "person",
    "referral_id": "referral",
    "meeting_id": "meeting",
    "panel_id": "panel",
    "task_id": "task",
    "request_id": "access_request",
    "isa_id": "isa",
    "user_id": "user",
    "agency_id": "agency",
    "share_id": "share",
    "subject_id": "subject",
    "item_id": "agenda_item",
    "panel_case_id": "panel_case",
    "document_id": "document",
    "other_id": "person",
    "merge_id": "person_merge",
    "notification_id": "notification",
    "sar_id": "subject_access_request",
}


async def record_denied(message: Any, scope: Any) -> None:
    if message["type"] != "http.response.start" or message.get("status") not in (403, 404):
        return
    state = scope.get("state") or {}
    actor = state.get("actor")
    # not signed in, or sent to a sign-in step: no guess at a record
    if actor is None or state.get("pending"):
        return
    template = scope.get("path_template") or ""
    params = scope.get("path_params") or {}
    named = [
        n
        for n in re.findall(r"\{(\w+)(?::\w+)?\}", template)
        if n in ID_PARAMS and isinstance(params.get(n), int)
    ]
    if not named:
        return
    first = params[named[0]]
    try:
        await record_read(
            "access.denied",
            actor,
            ID_PARAMS[named[0]],
            first if 0 < first <= MAX_ID else None,
            detail={
                "status": message["status"],
                "method": scope.get("method", ""),
                "route": template,
                "ids": {n: params[n] for n in named},
            },
        )
    except Exception as exc:  # the refusal itself must still reach the user
        log.warning("could not record a denied access: %s", exc.__class__.__name__)
