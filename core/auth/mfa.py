"""Two-step verification with an authenticator app (TOTP): set up, check codes at sign-in, and the roles that must use it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import secrets
from typing import Any

import pyotp
import segno

from caseframe.core import clock, permissions
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import RecoveryCode, Session, User
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Forbidden, ValidationFailed
from caseframe.core.permissions import ROLES

ISSUER = "Caseframe"
#: a code is accepted for its own 30-second step and one step either side (clocks drift)
VALID_WINDOW = 1
ENTER_CODE = "Enter the 6-digit code from your authenticator app"
WRONG_CODE = (
    "The code is not correct or has already been used. Enter the newest code from your authenticator app"
)
ENTER_RECOVERY_CODE = "Enter one of your recovery codes"
WRONG_RECOVERY_CODE = "The recovery code is not correct or has already been used"
#: how many one-time recovery codes a user holds; letters and digits that cannot be mistaken for one another
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_SHAPE = re.compile(r"[a-z0-9]{10}")


def setting_key(agency_id: int) -> str:
    return f"mfa_required_roles:{agency_id}"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _code_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": "/code", "message": message}])


def _clean(code: str | None) -> str:
    """Apps show codes as "123 456"; people paste them with spaces or dashes."""
    return re.sub(r"[\s-]", "", code or "")


def _recovery_hash(user_id: int, code: str) -> str:
    # random codes of about 49 bits: a fast hash is enough, salted by the user so one table cannot serve all
    return hashlib.sha256(f"caseframe-recovery:{user_id}:{code}".encode()).hexdigest()


def _clean_recovery(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


async def _new_recovery_codes(user_id: int) -> list[str]:
    """Ten new codes in place of any old ones (inside the caller's transaction), shown once as ``xxxxx-xxxxx``
    (about 49 bits each); only their hashes are kept."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    now = clock.now()
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await RecoveryCode.insert(
        *[RecoveryCode(user=user_id, code_hash=_recovery_hash(user_id, c), created_at=now) for c in codes]
    )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def matching_step(secret: str, code: str | None, last_step: int) -> int | None:
    """The time step ``code`` belongs to if it is right now (within the window) and newer than ``last_step``.

    Remembering the step accepted last means a code seen over a shoulder or replayed cannot be used again.
    """
    code = _clean(code)
    if not secret or not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now()
    current = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def claim_step(user_id: int, step: int) -> bool:
    """Record ``step`` as used; False if another request used it (or a later one) first.

    The condition is in the UPDATE itself, so two requests racing with the same code cannot both win.
    """
    claimed = (
        await User.update({User.totp_last_step: step})
        .where((User.id == user_id) & (User.totp_last_step < step))
        .returning(User.id)
    )
    return bool(claimed)


async def required_roles(agency_id: int) -> set[str]:
    """The roles of ``agency_id`` whose users must use two-step verification (none by default)."""
    from caseframe.core.sharing.tables import Setting

    row = await Setting.select(Setting.value).where(Setting.key == setting_key(agency_id)).first()
    value = _json(row["value"]) if row else None
    return set(value.get("roles", [])) if isinstance(value, dict) else set()


async def must_use_mfa(user_roles: Any, agency_id: int) -> bool:
    roles = set(_json(user_roles) or [])
    return bool(roles & await required_roles(agency_id))


async def configurable_agencies(actor: Actor) -> list[dict[str, Any]]:
    """The agencies (id, name, by name) whose two-step verification rules the actor may set: a local admin's
    own, every agency for a system admin."""
    from caseframe.core.agencies.tables import Agency

    return await permissions.restrict(
        Agency.select(Agency.id, Agency.name).order_by(Agency.name), actor, "mfa.configure", Agency.id
    )


async def set_required_roles(actor: Actor, agency_id: int, roles: list[str]) -> set[str]:
    """Set which roles of an agency must use two-step verification: its local admin, or a system admin."""
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.sharing.tables import Setting

    if not permissions.can(actor, "mfa.configure", agency_id):
        raise Forbidden(
            "Only a local admin of the agency, or a system admin, can change who must use two-step "
            "verification"
        )
    if not await Agency.exists().where(Agency.id == agency_id):
        raise Forbidden("There is no such agency")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationFailed(
            "Choose roles from the list",
            errors=[{"field": "/roles", "message": "Choose roles from the list"}],
        )
    new = sorted(set(roles))
    async with transaction():
        row = await Setting.select().where(Setting.key == setting_key(agency_id)).first()
        old = sorted((_json(row["value"]) or {}).get("roles", [])) if row else []
        value = {"roles": new}
        if row is None:
            await Setting.insert(Setting(key=setting_key(agency_id), value=value, updated_at=clock.now()))
        else:
            await Setting.update({Setting.value: value, Setting.updated_at: clock.now()}).where(
                Setting.key == setting_key(agency_id)
            )
        await audit.record(
            "settings.mfa_required_roles",
            actor,
            object_type="agency",
            object_id=agency_id,
            detail={"old": old, "new": new},
        )
    return set(new)


async def mfa_state(user_id: int) -> dict[str, Any]:
    row = await User.select(User.mfa_enabled, User.totp_secret).where(User.id == user_id).first()
    left = await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())
    return {
        "enabled": bool(row and row["mfa_enabled"]),
        "pending_secret": bool(row and row["totp_secret"]),
        "recovery_codes_left": left,
    }


async def pending_secret(actor: Actor) -> str | None:
    """The secret :func:`begin_setup` made and the user has not confirmed yet, or None (reading only)."""
    row = await User.select(User.mfa_enabled, User.totp_secret).where(User.id == actor.id).first()
    return row["totp_secret"] if row and not row["mfa_enabled"] and row["totp_secret"] else None


async def begin_setup(actor: Actor) -> str:
    """A new secret for the user to add to their app; not in force until they confirm it with a code.

    The secret stays on the server (the page shows it once, with its QR code); an unconfirmed secret is kept
    so reloading the page does not invalidate what the user has just scanned.
    """
    async with transaction():
        row = await User.select(User.mfa_enabled, User.totp_secret).where(User.id == actor.id).first()
        if row["mfa_enabled"]:
            raise ValidationFailed(
                "Two-step verification is already on",
                errors=[{"field": "/code", "message": "Two-step verification is already on"}],
            )
        if row["totp_secret"]:
            return row["totp_secret"]
        secret = pyotp.random_base32()
        await User.update({User.totp_secret: secret, User.totp_last_step: 0}).where(User.id == actor.id)
        await audit.record("mfa.setup_started", actor, object_type="user", object_id=actor.id)
    return secret


def provisioning(actor: Actor, secret: str) -> dict[str, str]:
    """What the set-up page shows: the QR code as an inline SVG data URI, and the key grouped for typing."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.email, issuer_name=ISSUER)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=5, border=2, dark="#0b0c0c", light="#ffffff", xmldecl=False
    )
    qr = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"qr": qr, "key": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))}


async def _after_mfa(session_id: int | None, user_id: int, done: str) -> None:
    """The session moves on from the code (``done="mfa"``) or the set-up (``"mfa_setup"``) to its next step."""
    from caseframe.core.auth import service as auth

    await auth.finish_step(session_id, user_id, done)


async def confirm_setup(actor: Actor, code: str, session_id: int | None = None) -> list[str]:
    """Turn two-step verification on once the user proves their app makes the right codes.

    Returns the user's new one-time recovery codes, to be shown once: only their hashes are kept. Unlike every
    other code check, a wrong code here is not counted toward a lockout: it is checked against the key this same
    session was just shown (the set-up page shows it again on request), so guessing it would learn nothing.
    """
    if not re.fullmatch(r"[0-9]{6}", _clean(code)):
        raise _code_error(ENTER_CODE)
    async with transaction():
        row = (
            await User.select(User.mfa_enabled, User.totp_secret, User.totp_last_step)
            .where(User.id == actor.id)
            .first()
        )
        if row["mfa_enabled"]:
            raise _code_error("Two-step verification is already on")
        step = matching_step(row["totp_secret"], code, row["totp_last_step"])
        if step is None or not await claim_step(actor.id, step):
            raise _code_error(WRONG_CODE)
        await User.update({User.mfa_enabled: True}).where(User.id == actor.id)
        codes = await _new_recovery_codes(actor.id)
        await _after_mfa(session_id, actor.id, "mfa_setup")
        await audit.record("mfa.enable", actor, object_type="user", object_id=actor.id)
    return codes


async def renew_recovery_codes(actor: Actor, code: str, *, source: str | None = None) -> list[str]:
    """New recovery codes in place of all the old ones; needs a current code from the app, like turning it off
    (a wrong one counts toward the address's lockout and the ``source`` network's limit)."""
    from caseframe.core.auth import service as auth

    if not re.fullmatch(r"[0-9]{6}", _clean(code)):
        raise _code_error(ENTER_CODE)
    attempt = await auth.begin_code_attempt(actor, source)
    async with transaction():
        row = (
            await User.select(User.mfa_enabled, User.totp_secret, User.totp_last_step)
            .where(User.id == actor.id)
            .first()
        )
        if not row["mfa_enabled"]:
            await auth.code_succeeded(attempt, forget=False)
            raise _code_error("Two-step verification is not on")
        step = matching_step(row["totp_secret"], code, row["totp_last_step"])
        if step is not None and await claim_step(actor.id, step):
            await auth.code_succeeded(attempt, forget=False)
            codes = await _new_recovery_codes(actor.id)
            await audit.record("mfa.recovery_codes_renewed", actor, object_type="user", object_id=actor.id)
            return codes
    await auth.code_failed(attempt, actor, _code_error(WRONG_CODE))


async def _use_recovery_code(user_id: int, code: str) -> int | None:
    """Spend one recovery code (inside the caller's transaction): how many are left, or None if it is not one."""
    code = _clean_recovery(code)
    if not RECOVERY_SHAPE.fullmatch(code):
        return None
    # the condition is in the UPDATE itself, so two requests racing with the same code cannot both sign in
    spent = (
        await RecoveryCode.update({RecoveryCode.used_at: clock.now()})
        .where(
            (RecoveryCode.user == user_id)
            & (RecoveryCode.code_hash == _recovery_hash(user_id, code))
            & RecoveryCode.used_at.is_null()
        )
        .returning(RecoveryCode.id)
    )
    if not spent:
        return None
    return await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())


async def disable(actor: Actor, code: str, *, source: str | None = None) -> None:
    """Turn two-step verification off: needs a current code, and is refused when the user's role requires it.
    A wrong code counts toward the address's lockout and the ``source`` network's limit."""
    row = await User.select(User.roles, User.agency).where(User.id == actor.id).first()
    if await must_use_mfa(row["roles"], row["agency"]):
        raise Forbidden("Your agency requires two-step verification for your role, so you cannot turn it off")
    from caseframe.core.auth import service as auth

    if not re.fullmatch(r"[0-9]{6}", _clean(code)):
        raise _code_error(ENTER_CODE)
    attempt = await auth.begin_code_attempt(actor, source)
    wrong = False
    async with transaction():
        row = (
            await User.select(User.mfa_enabled, User.totp_secret, User.totp_last_step)
            .where(User.id == actor.id)
            .first()
        )
        if not row["mfa_enabled"]:
            await auth.code_succeeded(attempt, forget=False)
            raise _code_error("Two-step verification is not on")
        wrong = matching_step(row["totp_secret"], code, row["totp_last_step"]) is None
        if not wrong:
            await auth.code_succeeded(attempt, forget=False)
            await User.update({User.mfa_enabled: False, User.totp_secret: "", User.totp_last_step: 0}).where(
                User.id == actor.id
            )
            await RecoveryCode.delete().where(RecoveryCode.user == actor.id)
            await audit.record("mfa.disable", actor, object_type="user", object_id=actor.id)
    if wrong:
        # a stolen session must not be able to guess its way to turning the second step off
        await auth.code_failed(attempt, actor, _code_error(WRONG_CODE))


async def verify_sign_in(
    actor: Actor, session_id: int, code: str, *, source: str | None = None
) -> int | None:
    """The second step of signing in: a code from the app, or one of the user's recovery codes.

    Returns None for an app code, or how many recovery codes are left when one was spent. Wrong codes count
    toward the address's lockout and the ``source`` network's limit, like wrong passwords.
    """
    from caseframe.core.auth import service as auth

    if not _clean(code):
        raise _code_error(ENTER_CODE)
    # counted before the code is checked; refused if the address or the network is locked
    attempt = await auth.begin_code_attempt(actor, source)
    async with transaction():
        row = (
            await User.select(User.totp_secret, User.totp_last_step, User.mfa_enabled)
            .where(User.id == actor.id)
            .first()
        )
        step = matching_step(row["totp_secret"], code, row["totp_last_step"]) if row["mfa_enabled"] else None
        if step is not None and await claim_step(actor.id, step):
            await _after_mfa(session_id, actor.id, "mfa")
            await auth.code_succeeded(attempt, forget=True)
            await audit.record("sign_in.mfa_passed", actor, object_type="user", object_id=actor.id)
            return None
        left = await _use_recovery_code(actor.id, code) if row["mfa_enabled"] and step is None else None
        if left is not None:
            await _after_mfa(session_id, actor.id, "mfa")
            await auth.code_succeeded(attempt, forget=True)
            await audit.record(
                "sign_in.mfa_recovery_code",
                actor,
                object_type="user",
                object_id=actor.id,
                detail={"codes_left": left},
            )
            return left
    await auth.code_failed(attempt, actor, _code_error(WRONG_CODE))


async def reset_for_user(actor: Actor, user_id: int) -> None:
    """A local admin turns off a user's two-step verification (a lost phone); the user's sessions end.

    If their role requires it they set it up again at their next sign-in.
    """
    from caseframe.core.errors import NotFound

    row = await User.select(User.agency).where(User.id == user_id).first()
    if row is None or not permissions.can(actor, "users.reset_credentials", row["agency"]):
        raise NotFound("No user with that number exists")
    if user_id == actor.id:
        raise Forbidden("Ask another local admin to reset your two-step verification")
    async with transaction():
        await User.update({User.mfa_enabled: False, User.totp_secret: "", User.totp_last_step: 0}).where(
            User.id == user_id
        )
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await Session.delete().where(Session.user == user_id)
        await audit.record("mfa.reset", actor, object_type="user", object_id=user_id)
