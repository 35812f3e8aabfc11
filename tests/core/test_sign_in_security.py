"""Sign-in defences: lockout with back-off that reveals nothing, password strength, signing out everywhere."""

from __future__ import annotations

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import Session, SignInThrottle
from caseframe.core.errors import ValidationFailed
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_user,
    sign_in,
    web_client,
)


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def user(db, ctx):
    return await make_user(await make_agency(ctx, "ashdown-council"), ("caseworker",), name="Casey Morgan")


async def _fail(email: str, times: int) -> list[str]:
    messages = []
    for _ in range(times):
        with pytest.raises(auth.SignInFailed) as exc:
            await auth.sign_in(email, "wrong password 123")
        messages.append(exc.value.message)
    return messages


async def test_five_failures_lock_the_address_and_the_wait_doubles(user):
    messages = await _fail(user.email, 5)
    assert messages[:4] == ["Enter a correct email address and password"] * 4
    assert messages[4] == "Too many attempts to sign in with this email address. Try again in 1 minute."
    # locked: even the right password is refused, without being checked
    with pytest.raises(auth.SignInLocked):
        await auth.sign_in(user.email, TEST_PASSWORD)
    with clock.travel(61 / 86400):
        assert (await _fail(user.email, 1))[0].endswith("Try again in 2 minutes.")
    with clock.travel(200 / 86400):
        token, actor = await auth.sign_in(user.email, TEST_PASSWORD)
        assert actor.id == user.id
        # success forgets the failures
        assert (await _fail(user.email, 1))[0] == "Enter a correct email address and password"
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed") >= 6
    # each lock is audited once, when it is set (the fifth failure, then the sixth), not each try it refuses
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_locked") == 2


async def test_failures_are_forgotten_after_twelve_quiet_hours_and_their_rows_deleted(user):
    """A password mistyped now and then never adds up to a lockout; a lock in force is never cut short by it; the
    rows of addresses tried long ago (known or not) are deleted, so a spray of made-up addresses leaves nothing."""
    assert await _fail(user.email, 4)  # one short of the lockout
    with clock.travel(12.1 / 24):
        messages = await _fail(user.email, 5)
        assert "Too many" not in " ".join(messages[:4]) and "Too many" in messages[4]  # counted from 1 again
        # the lock the fifth failure set still holds, however long ago the failures before it were
        with pytest.raises(auth.SignInLocked):
            await auth.sign_in(user.email, TEST_PASSWORD)
    for n in range(3):
        await _fail(f"made-up-{n}@nowhere.example", 1)
    keys = {row["key"] for row in await SignInThrottle.select(SignInThrottle.key)}
    assert {auth._throttle_key(f"made-up-{n}@nowhere.example") for n in range(3)} <= keys
    with clock.travel(25 / 24):
        # a new network window is when old rows go: any sign-in from a network starts one
        await auth.sign_in(user.email, TEST_PASSWORD, source="192.0.2.7")
        left = {row["key"] for row in await SignInThrottle.select(SignInThrottle.key)}
    assert not {auth._throttle_key(f"made-up-{n}@nowhere.example") for n in range(3)} & left
    assert auth._throttle_key(user.email) not in left


async def test_the_wait_never_exceeds_an_hour():
    assert auth._lock_seconds(4) == 0 and auth._lock_seconds(5) == 60 and auth._lock_seconds(6) == 120
    assert auth._lock_seconds(40) == 3600


async def test_an_unknown_address_gets_exactly_the_same_answers(user):
    known = await _fail(user.email, 6)
    unknown = await _fail("nobody@ashdown-council.example", 6)
    assert known == unknown


async def test_a_locked_sign_in_page_says_so_without_a_500(user, ctx, db):
    await _fail(user.email, 5)
    async with web_client(ctx, db) as client:
        page = await client.get("/sign-in")
        r = await client.post(
            "/sign-in",
            data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_of(page.text)},
        )
    assert r.status_code == 429 and "Try again in 1 minute" in r.text and "govuk-error-summary" in r.text


async def test_weak_and_common_passwords_are_refused(db, ctx):
    from caseframe.core.agencies import service as agencies

    agency = await make_agency(ctx, "weak-council")
    for password, words in (
        ("short", "12 characters or more"),
        ("Password12345", "harder to guess"),
        ("qwertyuiop123", "harder to guess"),
        ("x" * 257, "256 characters or fewer"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await agencies.create_user(
                None,
                email="new.user@weak.example",
                name="New User",
                agency_id=agency["id"],
                roles=["caseworker"],
                password=password,
            )
        assert words in exc.value.errors[0]["message"]


async def test_sign_out_everywhere_ends_every_session_of_the_user(user, ctx, db):
    async with web_client(ctx, db) as laptop, web_client(ctx, db) as phone:
        await sign_in(phone, user)
        token = await sign_in(laptop, user)
        assert (await phone.get("/")).status_code == 200
        account = await laptop.get("/account")
        assert "Sign out everywhere" in account.text
        forged = await laptop.post("/account/sign-out-everywhere")
        assert forged.status_code == 403 and await Session.count() == 2
        r = await laptop.post("/account/sign-out-everywhere", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
        assert await Session.count() == 0
        assert (await phone.get("/")).status_code == 303
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_out_everywhere") == 1


async def test_sessions_use_host_prefixed_secure_cookies_rotated_at_every_sign_in(user, ctx, db):
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    app = create_app(Settings(local_demo=False, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://caseframe.test"
    ) as client:
        planted = "attacker-chosen-session-id"
        client.cookies.set("__Host-caseframe_session", planted, domain="caseframe.test")
        tokens = []
        for _ in range(2):
            page = await client.get("/sign-in")
            r = await client.post(
                "/sign-in",
                data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_of(page.text)},
            )
            cookie = next(
                h for h in r.headers.get_list("set-cookie") if h.startswith("__Host-caseframe_session=")
            )
            attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
            assert {"httponly", "secure", "path=/", "samesite=lax"} <= attributes
            assert not any(a.startswith("domain") for a in attributes)
            tokens.append(cookie.split(";")[0].split("=", 1)[1])
        assert planted not in tokens and tokens[0] != tokens[1]
        client.cookies.set("__Host-caseframe_session", "x" * 43, domain="caseframe.test")
        unknown = await client.get("/")
        assert unknown.status_code == 303 and unknown.headers["location"].startswith("/sign-in")


async def test_idle_and_absolute_timeouts_end_a_session(user, ctx, db):
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    with clock.travel(31 / (24 * 60)):
        assert await auth.actor_for_token(token) is None
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    for minutes in range(25, 13 * 60, 25):  # active all day: still ends after 12 hours
        with clock.travel(minutes / (24 * 60)):
            alive = await auth.actor_for_token(token)
        if minutes < 12 * 60:
            assert alive is not None, minutes
    with clock.travel((12 * 60 + 1) / (24 * 60)):
        assert await auth.actor_for_token(token) is None


async def test_the_session_touch_is_a_queued_write_not_a_bare_one_on_the_read_connection(user, db):
    """A session is touched (last seen) once a minute. Under load (bench_http, 16 connections) that touch gave
    500s on SQLite: a read still open on the shared read connection holds a snapshot, and once another writer
    commits, a bare write on that connection fails at once ("database is locked") instead of waiting. The
    touch must go through a write transaction, which queues."""
    import datetime as dt

    import caseframe.core.db.piccolo_conf as conf
    from caseframe.core.db.engine import is_sqlite
    from caseframe.core.db.tx import transaction

    if not is_sqlite(conf.DB):
        pytest.skip("SQLite's read connection and its snapshot")
    for _ in range(3):
        await auth.sign_in(user.email, TEST_PASSWORD)
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    await Session.update({Session.last_seen: clock.now() - dt.timedelta(minutes=2)}).where(
        Session.user == user.id
    )
    reader = await conf.DB._shared_connection()
    cursor = await reader.execute("SELECT id FROM cf_session")
    await cursor.fetchone()  # a page still reading: the read connection keeps its snapshot
    try:
        async with transaction():  # another page's write commits meanwhile
            await Session.update({Session.csrf_token: "other"}).where(Session.token_hash == "no such session")
            await AuditEvent.insert(
                AuditEvent(action="test.write", object_type="", purpose="", detail={}, at=clock.now())
            )
        found = await auth.session_for_token(token)
    finally:
        await cursor.close()
    assert found is not None and found[0].id == user.id
    assert (
        await Session.select(Session.last_seen)
        .where(Session.user == user.id)
        .order_by(Session.last_seen, ascending=False)
        .first()
    )["last_seen"] > clock.now() - dt.timedelta(seconds=30)


async def test_an_address_without_an_account_costs_and_answers_the_same(user, ctx, db, monkeypatch):
    """Nothing a guesser can measure tells which addresses have accounts: an unknown address, a wrong password, a
    deactivated user and a user of a deactivated agency each get one argon2 check with the same parameters, the
    same answer and the same audit event (timing by structure: the same work, not a stopwatch)."""
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.auth import passwords
    from caseframe.core.auth.tables import User

    checks = []
    real = passwords._verify

    def recording(stored, given):
        used = stored or passwords._DUMMY
        checks.append(used.rsplit("$", 2)[0])  # "$argon2id$v=19$m=...,t=...,p=..." without salt and hash
        return real(stored, given)

    monkeypatch.setattr(passwords, "_verify", recording)
    gone = await make_user(await make_agency(ctx, "closed-council"), ("caseworker",), name="Gale Gone")
    left = await make_user(await make_agency(ctx, "borough-police"), ("caseworker",), name="Lee Left")
    await Agency.update({Agency.active: False}).where(Agency.id == gone.agency_id)
    await User.update({User.active: False}).where(User.id == left.id)
    tries = [
        ("nobody@ashdown-council.example", "wrong password 123"),
        (user.email, "wrong password 123"),
        (left.email, TEST_PASSWORD),
        (gone.email, TEST_PASSWORD),
    ]
    answers = []
    async with web_client(ctx, db) as client:
        token = csrf_token_of((await client.get("/sign-in")).text)
        for email, password in tries:
            page = await client.post(
                "/sign-in", data={"email": email, "password": password, "csrf_token": token}
            )
            api = await client.post("/api/v1/session", json={"email": email, "password": password})
            answers.append((page.status_code, "Enter a correct email address and password" in page.text))
            answers.append((api.status_code, api.json()["detail"]))
    assert len(checks) == 2 * len(tries) and len(set(checks)) == 1, checks
    assert set(answers[0::2]) == {(401, True)}
    assert set(answers[1::2]) == {(401, "Enter a correct email address and password")}
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed") == 2 * len(tries)


def test_a_deployment_hashes_with_the_recommended_parameters_only_tests_hash_cheaply():
    """The pytest plugin's cheap argon2id is for test suites: a process that does not load it (a server, the
    command line) hashes with argon2-cffi's recommended parameters, and the tests' hashes are still argon2id."""
    import subprocess
    import sys

    from caseframe.core.auth import passwords

    probe = (
        "from argon2 import PasswordHasher\n"
        "from caseframe.core.auth import passwords\n"
        "h, d = passwords._hasher, PasswordHasher()\n"
        "assert h is passwords.RECOMMENDED\n"
        "assert (h.time_cost, h.memory_cost, h.parallelism) == (d.time_cost, d.memory_cost, d.parallelism)\n"
        "assert passwords.hash_password_now('x' * 12).startswith(f'$argon2id$v=19$m={d.memory_cost},t={d.time_cost},')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert passwords.RECOMMENDED.memory_cost >= 65536
    assert passwords.hash_password_now("x" * 12).startswith("$argon2id$")
