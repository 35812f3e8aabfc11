"""Sign in and out with server-side sessions; only a hash of each session token is stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import ipaddress
import json
import secrets
from typing import Any, NoReturn

from piccolo.columns import Column

import caseframe.core.db.piccolo_conf as conf
from caseframe.core import clock, permissions
from caseframe.core.agencies.service import actor_for
from caseframe.core.audit import service as audit
from caseframe.core.auth import passwords
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import Session, SignInThrottle, User
from caseframe.core.db.engine import is_sqlite
from caseframe.core.db.tx import transaction
from caseframe.core.errors import ServiceError

IDLE_MINUTES = 30
ABSOLUTE_HOURS = 12
#: how long a session that has had the password but not yet the two-step code may wait for it
MFA_STEP_MINUTES = 10


class SignInFailed(ServiceError):
    status = 401


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_hash(token: str, api: bool) -> str:
    """What is stored for a session token. A browser session and an API token are different credentials:
    each is looked up only as its own kind, so an API token set as the cookie (which would skip the
    memorandum of understanding, accepted only on pages) or a cookie sent as a bearer token finds nothing."""
    return _hash("api:" + token) if api else _hash(token)


#: failures allowed before a lockout; each failure after that doubles the wait, up to an hour
FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
#: an address's failures are forgotten after this long without one (and no lock in force): a mistyped password
#: each week never adds up to a lockout, and the rows of addresses tried once (known or not) do not pile up
FAILURES_FORGOTTEN_AFTER = dt.timedelta(hours=12)


class SignInLocked(SignInFailed):
    status = 429


class SignInSourceLocked(SignInLocked):
    """Too many failed tries from the client's network in the window: refused before any secret is checked,
    and not counted against the address."""


class SignInBusy(SignInFailed):
    """Too many sign-ins are being checked at once: turned away before hashing, nothing counted."""

    status = 429


@dataclasses.dataclass
class SourceLimit:
    """Failed tries (any addresses) one source network may make per window: one client spraying a guess at many
    addresses is stopped, which the per-address lockout alone never does. Set from Settings by ``configure``."""

    failures: int = 30
    window_minutes: int = 15


SOURCE_LIMIT = SourceLimit()


def configure(settings: Any) -> None:
    """Use the per-source limit and the hashing pool ``settings`` name (CASEFRAME_SIGN_IN_SOURCE_*,
    CASEFRAME_HASH_*; called by create_app)."""
    SOURCE_LIMIT.failures = settings.sign_in_source_failures
    SOURCE_LIMIT.window_minutes = settings.sign_in_source_window_minutes
    passwords.configure(settings.hash_threads, settings.hash_queue)


def _lock_seconds(failures: int) -> int:
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_SECONDS)


@dataclasses.dataclass
class _Attempt:
    """One try at a secret (a password or a code), counted as a failure before the secret is checked."""

    key: str
    email_hash: str
    #: the address tried, as the audit trail shows it (core.audit.service.address_tried)
    email: str
    #: failures of the address counting this attempt
    failures: int
    #: the lock this attempt put in place by reaching the limit (kept if it fails, lifted if it succeeds)
    locked_until: dt.datetime | None
    #: the source network tried from (None: not counted per source), its failures in the window counting this
    #: attempt, and the window's end
    source: str | None = None
    source_failures: int = 0
    source_window_ends: dt.datetime | None = None


def _lock_query(key: str):
    query = SignInThrottle.select(
        SignInThrottle.failures, SignInThrottle.locked_until, SignInThrottle.last_failure_at
    ).where(SignInThrottle.key == key)
    # SQLite's immediate transaction already holds the database's write lock; PostgreSQL locks the row
    return query if is_sqlite(conf.DB) else query.lock_rows("UPDATE")


async def _held_row(key: str, kind: str) -> dict[str, Any]:
    """The throttle row of ``key`` (made if missing), held until the transaction ends."""
    await SignInThrottle.insert(SignInThrottle(key=key, kind=kind, failures=0)).on_conflict(
        target=SignInThrottle.key, action="DO NOTHING"
    )
    return await _lock_query(key).first()


def _seconds_until(when: dt.datetime, now: dt.datetime) -> int:
    return int((when - now).total_seconds()) + 1


def _forgotten(row: dict[str, Any], now: dt.datetime) -> bool:
    """Whether an address's failures are old enough to be forgotten: none for FAILURES_FORGOTTEN_AFTER, no lock."""
    last, locked_until = row["last_failure_at"], row["locked_until"]
    return (
        last is not None
        and last <= now - FAILURES_FORGOTTEN_AFTER
        and (locked_until is None or locked_until <= now)
    )


def _window_open(row: dict[str, Any] | None, now: dt.datetime) -> bool:
    return row is not None and row["locked_until"] is not None and row["locked_until"] > now


async def _begin_attempt(email: str, source: str | None = None) -> _Attempt:
    """Decide, atomically, whether the address may try a secret now from ``source`` (a network, from
    core.web.client_address; None for no limit per source), and count the try as a failure of both.

    The decision and the count are one transaction holding the source's row, then the address's (a row lock on
    PostgreSQL, the write lock on SQLite; always in that order, so tries never wait on each other in a circle),
    taken before any secret is checked: however many tries arrive at once, each sees the ones before it, so no
    more of them are checked than the limits allow. A try that then succeeds takes its counts back
    (``_attempt_succeeded``). A source over its limit, or a locked address, is refused without counting or
    auditing anything: each lock is audited once, by the failure that set it (``_attempt_failed``), so a flood of
    tries at a locked address or from a locked network writes nothing that lasts.
    """
    key, email_hash = _throttle_key(email), _hash(email)[:16]
    source_key = _source_key(source) if source else None
    now = clock.now()
    async with transaction():
        window = await _held_row(source_key, "source") if source_key else None
        if window is not None and _window_open(window, now) and window["failures"] >= SOURCE_LIMIT.failures:
            wait = _seconds_until(window["locked_until"], now)
            raise SignInSourceLocked(_source_message(wait), retry_after=wait)
        row = await _held_row(key, "address")
        locked_until = row["locked_until"]
        if locked_until is not None and locked_until > now:
            wait = _seconds_until(locked_until, now)
        else:
            failures = (0 if _forgotten(row, now) else row["failures"]) + 1
            lock = _lock_seconds(failures)
            # the try that reaches the limit locks the address at once, before its own secret is checked
            locked_until = now + dt.timedelta(seconds=lock) if lock else None
            await SignInThrottle.update(
                {
                    SignInThrottle.failures: failures,
                    SignInThrottle.last_failure_at: now,
                    SignInThrottle.locked_until: locked_until,
                }
            ).where(SignInThrottle.key == key)
            attempt = _Attempt(key, email_hash, audit.address_tried(email), failures, locked_until)
            if source:
                await _count_source(attempt, source, window, now)
            return attempt
    raise SignInLocked(_locked_message(wait), retry_after=wait)


async def _count_source(
    attempt: _Attempt, source: str, window: dict[str, Any] | None, now: dt.datetime
) -> None:
    """Count the attempt against its source's window (held by the caller's transaction), starting a new window
    when the last is over; a new window is also when finished throttle rows are deleted (``_forget_finished_rows``)."""
    if _window_open(window, now):
        assert window is not None
        failures, ends = window["failures"] + 1, window["locked_until"]
    else:
        failures, ends = 1, now + dt.timedelta(minutes=SOURCE_LIMIT.window_minutes)
    await SignInThrottle.update(
        {
            SignInThrottle.failures: failures,
            SignInThrottle.last_failure_at: now,
            SignInThrottle.locked_until: ends,
        }
    ).where(SignInThrottle.key == _source_key(source))
    if failures == 1:
        await _forget_finished_rows(now)
    attempt.source, attempt.source_failures, attempt.source_window_ends = source, failures, ends


async def _forget_finished_rows(now: dt.datetime) -> None:
    """Delete source rows whose windows are over, and address rows whose failures are forgotten
    (``_forgotten``), a few hundred at a time, so neither piles up. Rows another try holds are skipped, not
    waited for: this never blocks a sign-in."""
    forgotten = now - FAILURES_FORGOTTEN_AFTER
    query = (
        SignInThrottle.select(SignInThrottle.id)
        .where(
            ((SignInThrottle.kind == "source") & (SignInThrottle.locked_until <= now))
            | (
                (SignInThrottle.kind == "address")
                & (SignInThrottle.last_failure_at <= forgotten)
                & (SignInThrottle.locked_until.is_null() | (SignInThrottle.locked_until <= now))
            )
        )
        .limit(500)
    )
    if not is_sqlite(conf.DB):
        query = query.lock_rows("UPDATE", skip_locked=True)
    old = [row["id"] for row in await query]
    if old:
        await SignInThrottle.delete().where(SignInThrottle.id.is_in(old))


async def _attempt_failed(
    attempt: _Attempt, refusal: Exception, *, action: str = "auth.sign_in_failed", actor: Actor | None = None
) -> NoReturn:
    """The secret was wrong: the failure is already counted; audit it and refuse (locked if it reached the limit)."""
    wait = _lock_seconds(attempt.failures) if attempt.locked_until else 0
    detail = {
        "email_hash": attempt.email_hash,
        "email": attempt.email,
        "failures": attempt.failures,
        "locked_seconds": wait,
    }
    async with transaction():
        await audit.record(action, actor, detail=detail)
        if wait:
            # the failure that locks the address: audited once, not each try refused while the lock lasts
            await audit.record("auth.sign_in_locked", actor, detail=detail)
        if attempt.source and attempt.source_failures == SOURCE_LIMIT.failures:
            # the failure that uses the source's last try: audited once, not each refusal after it
            await audit.record(
                "auth.sign_in_source_locked",
                None,
                detail={
                    "source_hash": _source_key(attempt.source)[:16],
                    "network": _network_shown(attempt.source),
                    "failures": attempt.source_failures,
                    "window_minutes": SOURCE_LIMIT.window_minutes,
                },
            )
    if wait:
        raise SignInLocked(_locked_message(wait), retry_after=wait)
    raise refusal


async def _attempt_succeeded(attempt: _Attempt, *, forget: bool) -> None:
    """The secret was right: forget the address's failures (a complete sign-in), or take back this attempt's
    count and any lock it set (a step that leaves earlier failures standing). Either way its count against the
    source is taken back, never the source's other failures (an attacker with one account of their own could
    otherwise clear the count between guesses at others). Call inside a transaction."""
    if attempt.source:  # the source's row first, as in _begin_attempt
        key = _source_key(attempt.source)
        window = await _lock_query(key).first()
        if window is not None and window["locked_until"] == attempt.source_window_ends:
            await SignInThrottle.update({SignInThrottle.failures: max(0, window["failures"] - 1)}).where(
                SignInThrottle.key == key
            )
    if forget:
        await SignInThrottle.delete().where(SignInThrottle.key == attempt.key)
        return
    row = await _lock_query(attempt.key).first()
    if row is None:
        return
    values: dict[Column | str, Any] = {SignInThrottle.failures: max(0, row["failures"] - 1)}
    if attempt.locked_until is not None and row["locked_until"] == attempt.locked_until:
        values[SignInThrottle.locked_until] = None
    await SignInThrottle.update(values).where(SignInThrottle.key == attempt.key)


def _wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _throttle_key(email: str) -> str:
    return _hash("sign-in:" + (email or "").strip().lower())


def _locked_message(wait: int) -> str:
    return f"Too many attempts to sign in with this email address. Try again in {_wait_words(wait)}."


def _source_key(source: str) -> str:
    return _hash("source:" + source)


def _source_message(wait: int) -> str:
    return f"Too many attempts to sign in from your network. Try again in {_wait_words(wait)}."


def _network_shown(source: str) -> str:
    """A source as the audit trail shows it: its /24 (IPv4) or /48 (IPv6), enough to tell networks apart
    without keeping a person's address; ``source_hash`` matches the exact source."""
    try:
        network = ipaddress.ip_network(source, strict=False)
    except ValueError:  # UNKNOWN_SOURCE: requests with no IP address
        return source
    return str(network.supernet(new_prefix=24 if network.version == 4 else 48))


async def begin_code_attempt(actor: Actor, source: str | None = None) -> _Attempt:
    """Before a two-step or recovery code is checked: refused if the user's address or ``source`` network is
    locked, else counted (atomically, like a password try), so codes cannot be guessed in parallel either."""
    return await _begin_attempt(actor.email.strip().lower(), source)


async def code_failed(attempt: _Attempt, actor: Actor, refusal: Exception) -> NoReturn:
    """A wrong code: it counts toward the same lockout as a wrong password."""
    await _attempt_failed(attempt, refusal, action="sign_in.mfa_failed", actor=actor)


async def code_succeeded(attempt: _Attempt, *, forget: bool) -> None:
    """A right code: ``forget`` the address's failures when it completes a sign-in, else take back its count.
    Call inside the transaction that acts on the code."""
    await _attempt_succeeded(attempt, forget=forget)


class MfaCodeNeeded(SignInFailed):
    """An API sign-in for a user with two-step verification sent no code."""

    status = 422


class PasswordChangeFirst(SignInFailed):
    """An API sign-in with a temporary password an admin set: it must be changed on a web page first."""

    status = 403


#: the steps a browser session takes after the password, in order; each applies only to some users
STEPS = ("mfa", "password", "mfa_setup", "mou")


async def next_step(user_id: int, done: str = "") -> str:
    """The step a browser session of the user goes on to once ``done`` is done ("" for the first after the
    password): the two-step code, then changing a temporary password, then setting up two-step verification
    if the role requires it, then the memorandum of understanding; "" when none is left."""
    from caseframe.core.auth import mfa
    from caseframe.core.sharing.tables import Mou

    row = (
        await User.select(User.mfa_enabled, User.must_change_password, User.roles, User.agency)
        .where(User.id == user_id)
        .first()
    )
    assert row is not None  # the user of a session being signed in; users are never deleted
    for step in STEPS[STEPS.index(done) + 1 :] if done else STEPS:
        if (
            (step == "mfa" and row["mfa_enabled"])
            or (step == "password" and row["must_change_password"])
            or (
                step == "mfa_setup"
                and not row["mfa_enabled"]
                and await mfa.must_use_mfa(row["roles"], row["agency"])
            )
            or (step == "mou" and await Mou.exists())
        ):
            return step
    return ""


async def finish_step(session_id: int | None, user_id: int, done: str) -> None:
    """Move a session that was at step ``done`` on to the next (inside the caller's transaction)."""
    if session_id is not None:
        await Session.update({Session.pending: await next_step(user_id, done)}).where(
            (Session.id == session_id) & (Session.pending == done)
        )


class MfaSetUpFirst(SignInFailed):
    """An API sign-in for a user whose role needs two-step verification they have not set up."""

    status = 403


async def sign_in(
    email: str, password: str, *, browser: bool = True, totp: str | None = None, source: str | None = None
) -> tuple[str, Actor]:
    """Check the password; return a new session token and the actor. One message for every failure.

    Failures are counted per email address (hashed), known or not, so a lockout says nothing about
    which accounts exist; a locked address is refused before its password is checked. They are counted per
    ``source`` network too (``core.web.client_address.request_source``), so one client spraying a guess at
    many addresses is refused, before any hashing, once its network has used up its window's tries.

    A browser session of a user with two-step verification starts with ``pending="mfa"`` (the code page
    is all that works); one whose role requires it but who has not set it up starts with
    ``pending="mfa_setup"``. An API client sends the code as ``totp`` with the password.
    """
    email = (email or "").strip().lower()
    try:
        with passwords.hashing_slot():  # turned away at once when too many are already being checked
            return await _sign_in(email, password, browser=browser, totp=totp, source=source)
    except passwords.HashingBusy as exc:
        raise SignInBusy(exc.message, retry_after=exc.retry_after) from None


async def _sign_in(
    email: str, password: str, *, browser: bool, totp: str | None, source: str | None
) -> tuple[str, Actor]:
    from caseframe.core.auth import mfa

    attempt = await _begin_attempt(email, source)  # counted before the password is checked; refused if locked
    row = (
        await User.select(
            User.id,
            User.password_hash,
            User.active,
            User.mfa_enabled,
            User.totp_secret,
            User.totp_last_step,
            User.roles,
            User.agency,
            User.must_change_password,
            User.agency.active.as_alias("agency_active"),
        )
        .where(User.email == email)
        .first()
    )
    ok = await passwords.verify_password(row["password_hash"] if row else "", password or "")
    # a user of a deactivated agency gets the same answer as any other failure
    if not row or not ok or not row["active"] or not row["agency_active"]:
        await _attempt_failed(attempt, SignInFailed("Enter a correct email address and password"))
    step = None
    if not browser and row["mfa_enabled"]:
        if not (totp or "").strip():
            async with transaction():
                await _attempt_succeeded(attempt, forget=False)
            raise MfaCodeNeeded(
                "This account uses two-step verification: send the current code as totp",
                errors=[{"field": "/totp", "message": mfa.ENTER_CODE}],
            )
        step = mfa.matching_step(row["totp_secret"], str(totp), row["totp_last_step"])
        if step is None or not await mfa.claim_step(row["id"], step):
            await code_failed(attempt, await actor_for(row["id"]), SignInFailed(mfa.WRONG_CODE))
    must_set_up = not row["mfa_enabled"] and await mfa.must_use_mfa(row["roles"], row["agency"])
    if (must_set_up or row["must_change_password"]) and not browser:
        async with transaction():
            await _attempt_succeeded(attempt, forget=False)
        if row["must_change_password"]:
            raise PasswordChangeFirst(
                "Your password was set by an administrator and must be changed: sign in on "
                "a web page to choose your own first"
            )
        raise MfaSetUpFirst(
            "Your role must use two-step verification: sign in on a web page to set it up first"
        )
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with transaction():
        pending = await next_step(row["id"]) if browser else ""
        # the failures are forgotten once the code is right, not before
        await _attempt_succeeded(attempt, forget=pending != "mfa")
        await Session.insert(
            Session(
                token_hash=_session_hash(token, not browser),
                csrf_token=secrets.token_urlsafe(32),
                user=row["id"],
                created_at=now,
                last_seen=now,
                pending=pending,
            )
        )
        await User.update({User.last_sign_in: now}).where(User.id == row["id"])
        actor = await actor_for(row["id"])
        await audit.record(
            "auth.sign_in", actor, detail={"next_step": pending} if pending.startswith("mfa") else None
        )
    return token, actor


async def sign_out_everywhere(actor: Actor) -> int:
    """End every session of the actor (all browsers and API clients); returns how many were ended."""
    async with transaction():
        ended = await Session.delete().where(Session.user == actor.id).returning(Session.id)
        await audit.record("auth.sign_out_everywhere", actor, detail={"sessions": len(ended)})
    return len(ended)


async def actor_for_token(token: str | None, *, api: bool = False) -> Actor | None:
    """The actor of a live session (a browser's, or with ``api`` an API client's), or None; expired
    sessions are removed."""
    found = await session_for_token(token, api=api)
    return found[0] if found else None


async def session_id_for_token(token: str | None, *, api: bool = False) -> int | None:
    if not token:
        return None
    row = await Session.select(Session.id).where(Session.token_hash == _session_hash(token, api)).first()
    return row["id"] if row else None


async def session_for_token(
    token: str | None, *, api: bool = False, touch: bool = True
) -> tuple[Actor, str, str] | None:
    """The actor, CSRF token and what the session must still do ("mou" or ""), or None if not live;
    expired sessions are removed. ``touch=False`` checks without counting as use (a live stream's
    re-checks must not keep an idle session alive)."""
    if not token or len(token) > 100:
        return None
    # one query for the session, its user and the user's agency: this runs on every request, so it is
    # written out rather than built by the ORM (its join building cost more than the query)
    rows = await Session.raw(
        'SELECT s.id, s.created_at, s.last_seen, s.csrf_token, s.pending, s."user", u.email, u.name, u.roles, u.active, '
        "u.agency AS agency_id, a.name AS agency_name, a.agency_type, a.active AS agency_active FROM cf_session s "
        'JOIN cf_user u ON u.id = s."user" JOIN cf_agency a ON a.id = u.agency WHERE s.token_hash = {}',
        _session_hash(token, api),
    )
    row = rows[0] if rows else None
    if row is None:
        return None
    now = clock.now()
    idle = (now - row["last_seen"]).total_seconds() > IDLE_MINUTES * 60
    old = (now - row["created_at"]).total_seconds() > ABSOLUTE_HOURS * 3600
    if row["pending"] == "mfa":
        # the password alone opens the code page for a few minutes only
        old = old or (now - row["created_at"]).total_seconds() > MFA_STEP_MINUTES * 60
    # writes go through a write transaction: on SQLite an autocommit write on the shared read connection
    # fails at once with "database is locked" when another writer got in first (16 requests of one
    # session touching it together gave 500s), where a write transaction queues
    if idle or old or not row["active"] or not row["agency_active"]:
        async with transaction():
            await Session.delete().where(Session.id == row["id"])
        return None
    if touch and (now - row["last_seen"]).total_seconds() > 60:
        async with transaction():
            await Session.update({Session.last_seen: now}).where(
                (Session.id == row["id"]) & (Session.last_seen < now - dt.timedelta(seconds=60))
            )
    actor = Actor(
        id=row["user"],
        email=row["email"],
        name=row["name"],
        agency_id=row["agency_id"],
        agency_name=row["agency_name"],
        agency_type=row["agency_type"],
        roles=frozenset(_json(row["roles"]) or []),
    )
    return actor, row["csrf_token"], row["pending"] or ""


async def sign_out(token: str | None, actor: Actor | None, *, api: bool = False) -> None:
    if token:
        async with transaction():
            await Session.delete().where(Session.token_hash == _session_hash(token, api))
            if actor:
                await audit.record("auth.sign_out", actor)


CURRENT_WRONG = "Your current password is not right"


async def change_password(
    actor: Actor,
    session_id: int | None,
    current: str,
    new: str,
    confirm: str,
    *,
    source: str | None = None,
) -> None:
    """The user chooses a new password, proving they know the current one (a wrong one counts toward the
    address's lockout and the ``source`` network's limit, like a wrong password at sign-in, so a borrowed
    session cannot guess it, nor one client guess through many borrowed sessions). Every other session of the
    user ends, and a session at the temporary-password step moves on."""
    from caseframe.core.errors import ValidationFailed

    current, new, confirm = current or "", new or "", confirm or ""
    errors = []
    if not current:
        errors.append({"field": "/current_password", "message": "Enter your current password"})
    problem = (
        await passwords.new_password_problem(new, user_inputs=[actor.email, *actor.name.split()])
        if new
        else "Enter a new password"
    )
    if problem:
        errors.append({"field": "/new_password", "message": problem})
    elif current and new == current:
        errors.append(
            {"field": "/new_password", "message": "Your new password must be different from your current one"}
        )
    elif new != confirm:
        errors.append(
            {
                "field": "/confirm_password",
                "message": "The new passwords do not match: type it the same twice",
            }
        )
    if errors:
        raise ValidationFailed("There is a problem with the new password", errors=errors)
    with passwords.hashing_slot():
        attempt = await _begin_attempt(actor.email.strip().lower(), source)
        row = await User.select(User.password_hash).where(User.id == actor.id).first()
        if not await passwords.verify_password(row["password_hash"] if row else "", current):
            await _attempt_failed(
                attempt,
                ValidationFailed(
                    CURRENT_WRONG, errors=[{"field": "/current_password", "message": CURRENT_WRONG}]
                ),
                action="auth.password_change_failed",
                actor=actor,
            )
        new_hash = await passwords.hash_password(new)
    async with transaction():
        await _attempt_succeeded(attempt, forget=False)
        await User.update({User.password_hash: new_hash, User.must_change_password: False}).where(
            User.id == actor.id
        )
        # whoever knew the old password is signed out everywhere else
        others = Session.user == actor.id
        await Session.delete().where(
            others & (Session.id != session_id) if session_id is not None else others
        )
        await finish_step(session_id, actor.id, "password")
        await audit.record("auth.password_change", actor, object_type="user", object_id=actor.id)


async def user_for_password_reset(actor: Actor, user_id: int) -> dict[str, Any]:
    """The user of the actor's own agency whose password a local admin is about to reset (id, name, email);
    nobody else's, and not the actor's own (that is changed under Your account): ``NotFound`` otherwise."""
    from caseframe.core.errors import NotFound

    user = (
        await User.select(User.id, User.name, User.email)
        .where((User.id == user_id) & (User.agency == actor.agency_id))
        .first()
    )
    if user is None or user_id == actor.id:
        raise NotFound("No user with that number exists")
    return user


async def recent_sign_ins(actor: Actor, limit: int = 10) -> list[dict[str, Any]]:
    """When the actor last signed in (newest first), read from the audit trail for their account page."""
    from caseframe.core.audit.tables import AuditEvent

    return (
        await AuditEvent.select(AuditEvent.at)
        .where((AuditEvent.actor_id == actor.id) & (AuditEvent.action == "auth.sign_in"))
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit)
    )


async def set_temporary_password(actor: Actor, user_id: int, password: str) -> None:
    """A local admin gives a user of their agency a new password (a forgotten one): a temporary one, which the
    user must change at their next sign-in. Their sessions end, and their address's failures are forgotten."""
    from caseframe.core.errors import Forbidden, NotFound, ValidationFailed

    row = await User.select(User.agency, User.email, User.name).where(User.id == user_id).first()
    if row is None or not permissions.can(actor, "users.reset_credentials", row["agency"]):
        raise NotFound("No user with that number exists")
    if user_id == actor.id:
        raise Forbidden("Change your own password under Your account")
    problem = await passwords.new_password_problem(
        password or "", user_inputs=[row["email"], *row["name"].split()]
    )
    if problem:
        raise ValidationFailed(
            "There is a problem with the password", errors=[{"field": "/password", "message": problem}]
        )
    with passwords.hashing_slot():
        new_hash = await passwords.hash_password(password)
    async with transaction():
        await User.update({User.password_hash: new_hash, User.must_change_password: True}).where(
            User.id == user_id
        )
        await Session.delete().where(Session.user == user_id)
        await SignInThrottle.delete().where(SignInThrottle.key == _throttle_key(row["email"]))
        await audit.record("admin.user_password_reset", actor, object_type="user", object_id=user_id)
