"""The memorandum of understanding: a system admin publishes versions; every user accepts the current one at sign-in."""

from __future__ import annotations

from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import Session, User
from caseframe.core.db.tx import transaction
from caseframe.core.errors import ValidationFailed
from caseframe.core.sharing.tables import Mou, MouAcceptance


async def current_mou() -> dict[str, Any] | None:
    return await Mou.select().order_by(Mou.version, ascending=False).first()


async def acceptances(actor: Actor, limit: int = 100) -> dict[str, Any]:
    """For the admin who publishes the memorandum: the current version (None before the first), its latest
    acceptances (when, by whom, of which agency; newest first) and how many users are active."""
    permissions.require(actor, "mou.publish")
    latest = await current_mou()
    accepted = []
    if latest:
        accepted = (
            await MouAcceptance.select(
                MouAcceptance.accepted_at,
                MouAcceptance.user.name.as_alias("name"),
                MouAcceptance.user.agency.name.as_alias("agency"),
            )
            .where(MouAcceptance.mou_version == latest["version"])
            .order_by(MouAcceptance.id, ascending=False)
            .limit(limit)
        )
    users = await User.count().where(User.active == True)  # noqa: E712
    return {"mou": latest, "accepted": accepted, "users": users}


async def publish_mou(actor: Actor, text: str) -> dict[str, Any]:
    """A new version; everyone accepts it at their next sign-in."""
    permissions.require(actor, "mou.publish")
    text = (text or "").strip()
    if len(text) < 20 or len(text) > 50000:
        raise ValidationFailed(
            "Enter the memorandum's text",
            errors=[
                {"field": "/text", "message": "Enter the memorandum\u2019s text (20 to 50,000 characters)"}
            ],
        )
    async with transaction():
        latest = await current_mou()
        version = (latest["version"] if latest else 0) + 1
        await Mou.insert(
            Mou(version=version, text=text, published_by=actor.id or None, published_at=clock.now())
        )
        await audit.record("mou.publish", actor, object_type="mou", object_id=version)
    return await current_mou()


async def accept_mou(actor: Actor, session_id: int | None, version: int) -> None:
    """Record the acceptance of ``version`` (only the current one counts) and let the session through."""
    latest = await current_mou()
    if latest is None or latest["version"] != version:
        raise ValidationFailed(
            "The memorandum has changed",
            errors=[
                {
                    "field": "/version",
                    "message": "The memorandum has been updated since you opened it. Read it again.",
                }
            ],
        )
    async with transaction():
        await MouAcceptance.insert(
            MouAcceptance(user=actor.id, mou_version=version, session_id=session_id, accepted_at=clock.now())
        )
        if session_id is not None:
            await Session.update({Session.pending: ""}).where(Session.id == session_id)
        await audit.record("mou.accept", actor, object_type="mou", object_id=version)
