"""Agencies, their users and the areas they have enabled; the only code that writes them."""

from __future__ import annotations

import re
import time
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency, AgencyArea
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.passwords import hash_password, hashing_slot, new_password_problem
from caseframe.core.auth.tables import User
from caseframe.core.cache import DIRECTORY
from caseframe.core.cache import register as register_cache
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import NotFound, ValidationFailed
from caseframe.core.permissions import ROLES

MIN_PASSWORD_LENGTH = 12


# -- the areas an agency has enabled (read on every case opened and every menu) ------------------------------

_ENABLED_CACHE: dict[int, tuple[float, frozenset[str]]] = {}
ENABLED_CACHE_SECONDS = 10.0


async def enabled_areas(agency_id: int, *, cached: bool = False) -> frozenset[str]:
    """Areas the agency has enabled. ``cached`` (for menus only, never for permission checks) may
    be up to ten seconds old in another server process; this process forgets at once on a change."""
    now = time.monotonic()
    if cached:
        hit = _ENABLED_CACHE.get(agency_id)
        if hit and hit[0] > now:
            return hit[1]
    areas = frozenset(
        r["area"] for r in await AgencyArea.select(AgencyArea.area).where(AgencyArea.agency == agency_id)
    )
    _ENABLED_CACHE[agency_id] = (now + ENABLED_CACHE_SECONDS, areas)
    return areas


def _forget_all_enabled_areas() -> None:
    _ENABLED_CACHE.clear()


register_cache(_forget_all_enabled_areas)


def forget_enabled_areas(agency_id: int) -> None:
    _ENABLED_CACHE.pop(agency_id, None)
    DIRECTORY.clear()  # where a case can be referred depends on the areas other agencies enable


#: an agency's short name: lower-case letters, digits and single hyphens, as used in addresses and referrals
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _require_system_admin(actor: Actor | None) -> None:
    # no actor: the demo loader and tests, which run with no one signed in
    if actor is not None:
        permissions.require(actor, "agencies.manage")


def _name_and_email_errors(name: str, contact_email: str) -> list[dict[str, str]]:
    errors = []
    if not name:
        errors.append({"field": "/name", "message": "Enter the agency\u2019s name"})
    elif len(name) > 200:
        errors.append({"field": "/name", "message": "The agency\u2019s name must be 200 characters or fewer"})
    if not contact_email:
        errors.append({"field": "/contact_email", "message": "Enter a contact email address for the agency"})
    elif len(contact_email) > 200 or not EMAIL.match(contact_email):
        errors.append(
            {
                "field": "/contact_email",
                "message": "Enter a contact email address in the correct format, like team@example.org",
            }
        )
    return errors


async def create_agency(
    ctx: Context, actor: Actor | None, *, slug: str, name: str, agency_type: str, contact_email: str = ""
) -> dict[str, Any]:
    """A new agency (a system admin's job); it starts with no areas enabled and no users."""
    _require_system_admin(actor)
    slug, name, contact_email = (
        (slug or "").strip().lower(),
        (name or "").strip(),
        (contact_email or "").strip(),
    )
    errors = []
    if not slug:
        errors.append(
            {"field": "/slug", "message": "Enter a short name for the agency, like ashdown-council"}
        )
    elif len(slug) > 60 or not SLUG.match(slug):
        errors.append(
            {
                "field": "/slug",
                "message": "The short name must be 60 characters or fewer: lower-case "
                "letters, numbers and hyphens, like ashdown-council",
            }
        )
    elif await Agency.exists().where(Agency.slug == slug):
        errors.append({"field": "/slug", "message": "An agency with that short name already exists"})
    errors += _name_and_email_errors(name, contact_email)
    if agency_type not in ctx.areas.agency_types:
        errors.append({"field": "/agency_type", "message": "Select the kind of agency from the list"})
    if errors:
        raise ValidationFailed("There is a problem with the agency", errors=errors)
    async with transaction():
        agency = Agency(
            slug=slug, name=name, agency_type=agency_type, contact_email=contact_email, created_at=clock.now()
        )
        await agency.save()
        await audit.record(
            "admin.agency_create",
            actor,
            object_type="agency",
            object_id=agency.id,
            detail={"slug": slug, "name": name, "agency_type": agency_type, "contact_email": contact_email},
        )
    # a new agency has none, whatever a cache says (and a new referral target)
    forget_enabled_areas(agency.id)
    saved = await Agency.select().where(Agency.id == agency.id).first()
    assert saved is not None  # committed above; agencies are never deleted (one is deactivated)
    return saved


async def list_agencies() -> list[dict[str, Any]]:
    """Every agency, active first then by name, with how many active users it has."""
    rows = await Agency.select().order_by(Agency.name)
    users = await User.select(User.agency).where(User.active == True)  # noqa: E712
    counts: dict[int, int] = {}
    for u in users:
        counts[u["agency"]] = counts.get(u["agency"], 0) + 1
    for r in rows:
        r["users"] = counts.get(r["id"], 0)
    return sorted(rows, key=lambda r: (not r["active"], r["name"].lower()))


async def get_agency(agency_id: int) -> dict[str, Any]:
    row = await Agency.select().where(Agency.id == agency_id).first()
    if row is None:
        raise NotFound("No agency with that number exists")
    return row


async def update_agency(actor: Actor, agency_id: int, *, name: str, contact_email: str) -> None:
    """Rename an agency or change its contact address; the short name stays (addresses and referrals use it)."""
    _require_system_admin(actor)
    row = await Agency.select().where(Agency.id == agency_id).first()
    if row is None:
        raise NotFound("No agency with that number exists")
    name, contact_email = (name or "").strip(), (contact_email or "").strip()
    errors = _name_and_email_errors(name, contact_email)
    if errors:
        raise ValidationFailed("There is a problem with the agency", errors=errors)
    changes = {
        k: {"from": row[k], "to": v}
        for k, v in (("name", name), ("contact_email", contact_email))
        if row[k] != v
    }
    if not changes:
        return
    async with transaction():
        await Agency.update({Agency.name: name, Agency.contact_email: contact_email}).where(
            Agency.id == agency_id
        )
        await audit.record(
            "admin.agency_update", actor, object_type="agency", object_id=agency_id, detail=changes
        )
    DIRECTORY.clear()


async def set_agency_active(actor: Actor, agency_id: int, active: bool) -> None:
    """Deactivate an agency (its users can no longer sign in and are signed out now) or reactivate it.
    Its cases and records stay as they are."""
    from caseframe.core.auth.tables import Session

    _require_system_admin(actor)
    row = await Agency.select(Agency.id, Agency.active).where(Agency.id == agency_id).first()
    if row is None:
        raise NotFound("No agency with that number exists")
    if agency_id == actor.agency_id and not active:
        raise ValidationFailed(
            "You cannot deactivate your own agency",
            errors=[
                {
                    "field": "/active",
                    "message": "You cannot deactivate your own agency: ask another system admin",
                }
            ],
        )
    if bool(row["active"]) == active:
        return
    DIRECTORY.clear()
    async with transaction():
        await Agency.update({Agency.active: active}).where(Agency.id == agency_id)
        if not active:
            user_ids = [u["id"] for u in await User.select(User.id).where(User.agency == agency_id)]
            if user_ids:
                await Session.delete().where(Session.user.is_in(user_ids))
        await audit.record(
            "admin.agency_activate" if active else "admin.agency_deactivate",
            actor,
            object_type="agency",
            object_id=agency_id,
        )


def _require_user_admin(actor: Actor | None, agency_id: int) -> None:
    """A local admin manages the users of their own agency; a system admin those of any agency (the first
    user of a new one included). No actor: the demo loader and tests."""
    if actor is not None:
        permissions.require(actor, "users.manage", agency_id)


def assignable_roles(actor: Actor | None) -> list[str]:
    """The roles an admin may give: system admin only by a system admin (no one escalates themselves)."""
    return permissions.assignable_roles(actor)


def _role_errors(actor: Actor | None, roles: list[str]) -> list[dict[str, str]]:
    if not roles or any(r not in ROLES for r in roles):
        return [{"field": "/roles", "message": "Select at least one role from the list"}]
    if any(r not in assignable_roles(actor) for r in roles):
        return [{"field": "/roles", "message": "Only a system admin can make someone a system admin"}]
    return []


async def create_user(
    actor: Actor | None,
    *,
    email: str,
    name: str,
    agency_id: int,
    roles: list[str],
    password: str,
    temporary: bool = False,
) -> dict[str, Any]:
    """A new user; ``temporary``: the password was chosen by an admin, and the user must change it at their first
    sign-in (before any page works; the API refuses it until then)."""
    _require_user_admin(actor, agency_id)
    email = (email or "").strip().lower()
    errors = []
    if "@" not in email:
        errors.append(
            {
                "field": "/email",
                "message": "Enter an email address in the correct format, like name@example.org",
            }
        )
    elif len(email) > 254:
        errors.append({"field": "/email", "message": "The email address must be 254 characters or fewer"})
    elif await User.exists().where(User.email == email):
        errors.append({"field": "/email", "message": "A user with that email address already exists"})
    if not (name or "").strip():
        errors.append({"field": "/name", "message": "Enter the user\u2019s full name"})
    elif len(name.strip()) > 200:
        errors.append({"field": "/name", "message": "The name must be 200 characters or fewer"})
    errors += _role_errors(actor, roles)
    problem = await new_password_problem(password or "", user_inputs=[email, *(name or "").split()])
    if problem:
        errors.append({"field": "/password", "message": problem})
    if not await Agency.exists().where(Agency.id == agency_id):
        errors.append({"field": "/agency_id", "message": "Select an agency"})
    if errors:
        raise ValidationFailed("There is a problem with the user", errors=errors)
    with hashing_slot():
        password_hash = await hash_password(password)  # off the event loop, and outside the transaction
    async with transaction():
        user = User(
            email=email,
            name=name.strip(),
            agency=agency_id,
            roles=sorted(set(roles)),
            password_hash=password_hash,
            must_change_password=temporary,
            created_at=clock.now(),
        )
        await user.save()
        await audit.record("admin.user_create", actor, object_type="user", object_id=user.id)
    saved = (
        await User.select(User.id, User.email, User.name, User.agency, User.roles)
        .where(User.id == user.id)
        .output(load_json=True)
        .first()
    )
    assert saved is not None  # committed above; users are never deleted (one is deactivated)
    return saved


async def enable_area(ctx: Context, actor: Actor | None, agency_id: int, area: str) -> None:
    """Enable an installed area for an agency (idempotent)."""
    ctx.area(area)
    if not await Agency.exists().where(Agency.id == agency_id):
        raise NotFound("No agency with that number exists")
    async with transaction():
        if not await AgencyArea.exists().where((AgencyArea.agency == agency_id) & (AgencyArea.area == area)):
            await AgencyArea.insert(AgencyArea(agency=agency_id, area=area, enabled_at=clock.now()))
            await audit.record(
                "admin.area_enable", actor, object_type="agency", object_id=agency_id, detail={"area": area}
            )
    forget_enabled_areas(agency_id)


async def disable_area(ctx: Context, actor: Actor | None, agency_id: int, area: str) -> None:
    """Stop new work in an area for an agency; its cases stay readable (idempotent)."""
    async with transaction():
        if await AgencyArea.exists().where((AgencyArea.agency == agency_id) & (AgencyArea.area == area)):
            await AgencyArea.delete().where((AgencyArea.agency == agency_id) & (AgencyArea.area == area))
            await audit.record(
                "admin.area_disable", actor, object_type="agency", object_id=agency_id, detail={"area": area}
            )
    forget_enabled_areas(agency_id)


async def managed_user(actor: Actor, user_id: int) -> dict[str, Any]:
    """The user row if the actor may manage it (not found for another agency's user, to a local admin)."""
    row = (
        await User.select(User.id, User.name, User.agency, User.roles, User.active)
        .where(User.id == user_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("No user with that number exists")
    _require_user_admin(actor, row["agency"])
    return row


async def _other_local_admins(agency_id: int, user_id: int) -> int:
    rows = (
        await User.select(User.roles)
        .where((User.agency == agency_id) & (User.id != user_id) & (User.active == True))
        .output(load_json=True)
    )  # noqa: E712
    return sum(1 for r in rows if permissions.AGENCY_ADMIN_ROLE in (r["roles"] or []))


async def set_user_active(actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate (or reactivate) a user; their sessions end at once. A local admin for their own agency's
    users, a system admin for anyone's; never oneself, nor an agency's last local admin."""
    from caseframe.core.auth.tables import Session

    row = await managed_user(actor, user_id)
    if user_id == actor.id and not active:
        raise ValidationFailed(
            "You cannot deactivate yourself",
            errors=[{"field": "/user", "message": "Ask another local admin to deactivate your account"}],
        )
    if (
        not active
        and row["active"]
        and permissions.AGENCY_ADMIN_ROLE in (row["roles"] or [])
        and not await _other_local_admins(row["agency"], user_id)
    ):
        raise ValidationFailed(
            "The agency needs a local admin",
            errors=[
                {
                    "field": "/user",
                    "message": f"{row['name']} is the agency’s last local admin: make someone else a "
                    "local admin first",
                }
            ],
        )
    async with transaction():
        await User.update({User.active: active}).where(User.id == user_id)
        if not active:
            await Session.delete().where(Session.user == user_id)
        await audit.record(
            "admin.user_activate" if active else "admin.user_deactivate",
            actor,
            object_type="user",
            object_id=user_id,
        )


async def set_user_roles(actor: Actor, user_id: int, roles: list[str]) -> None:
    """Change a user's roles, audited with before and after. Only a system admin gives or takes system admin
    (a local admin's change keeps it as it was); an agency keeps at least one active local admin."""
    row = await managed_user(actor, user_id)
    roles = [r for r in roles if isinstance(r, str)]
    before = sorted(row["roles"] or [])
    errors = _role_errors(actor, roles)
    roles = [*roles, *permissions.kept_roles(actor, before)]
    if (
        not errors
        and user_id == actor.id
        and any(r in before and r not in roles for r in permissions.ADMIN_ROLES)
    ):
        errors = [{"field": "/roles", "message": "You cannot remove your own admin role: ask another admin"}]
    admin = permissions.AGENCY_ADMIN_ROLE
    if (
        not errors
        and admin in before
        and admin not in roles
        and row["active"]
        and not await _other_local_admins(row["agency"], user_id)
    ):
        errors = [
            {
                "field": "/roles",
                "message": f"{row['name']} is the agency’s last local admin: make someone "
                "else a local admin first",
            }
        ]
    if errors:
        raise ValidationFailed("There is a problem with the roles", errors=errors)
    after = sorted(set(roles))
    if after == before:
        return
    async with transaction():
        await User.update({User.roles: after}).where(User.id == user_id)
        await audit.record(
            "admin.user_roles",
            actor,
            object_type="user",
            object_id=user_id,
            detail={"roles": {"from": before, "to": after}},
        )


async def get_user(user_id: int) -> dict[str, Any]:
    row = (
        await User.select(
            User.id,
            User.email,
            User.name,
            User.roles,
            User.active,
            User.agency,
            User.agency.name.as_alias("agency_name"),
        )
        .where(User.id == user_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("No user with that number exists")
    return row


async def agency_users(agency_id: int) -> list[dict[str, Any]]:
    return (
        await User.select(
            User.id, User.email, User.name, User.roles, User.active, User.last_sign_in, User.mfa_enabled
        )
        .where(User.agency == agency_id)
        .order_by(User.name)
        .output(load_json=True)
    )


async def actor_for(user_id: int) -> Actor:
    row = (
        await User.select(
            User.id,
            User.email,
            User.name,
            User.roles,
            User.agency,
            User.agency.name.as_alias("agency_name"),
            User.agency.agency_type.as_alias("agency_type"),
            User.active,
        )
        .where(User.id == user_id)
        .output(load_json=True)
        .first()
    )
    if row is None or not row["active"]:
        raise NotFound("No such user")
    return Actor(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        agency_id=row["agency"],
        agency_name=row["agency_name"],
        agency_type=row["agency_type"],
        roles=frozenset(row["roles"] or []),
    )
