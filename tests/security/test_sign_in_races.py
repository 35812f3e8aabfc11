"""Sign-in under parallel load: guesses sent all at once cannot get past the lockout, and a flood of sign-ins
neither stalls signed-in users nor is hashed beyond what the pool can take.

Every request here really runs at the same time (asyncio.gather over the whole app); on PostgreSQL each
one has its own connection, so the throttle's row lock is what keeps the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import httpx
import pyotp
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import mfa, passwords
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import User
from caseframe.core.settings import Settings
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_user,
    sign_in,
    web_client,
)
from caseframe.core.web.app import create_app
from tests.security.test_sign_in_sources import _address_failures

WRONG = "wrong password 123"


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def user(db, ctx):
    return await make_user(await make_agency(ctx, "ashdown-council"), ("caseworker",), name="Casey Morgan")


async def _page_sender(client):
    """A function that posts one email and password to the sign-in page, as the page's form does."""
    token = csrf_token_of((await client.get("/sign-in")).text)
    return lambda email, p: client.post("/sign-in", data={"email": email, "password": p, "csrf_token": token})


async def _api_sender(client):
    """A function that posts one email and password to the API's sign-in."""
    return lambda email, p: client.post("/api/v1/session", json={"email": email, "password": p})


async def _page_posts(client, email: str, passwords_tried: list[str]):
    send = await _page_sender(client)
    return await asyncio.gather(*[send(email, p) for p in passwords_tried])


async def _right_one_once_locked(email: str, wrongs: list, right):
    """The wrong tries all at once, and the right one (a coroutine function) sent as soon as they have locked the
    address, while they may still be in flight: the responses in the order wrongs, then right.

    Requests sent together reach the throttle's row in no fixed order (on PostgreSQL each waits on a connection
    of its own), so the right one sent last of thirty could be counted among the tries the lockout allows and
    rightly get in; waiting for the lock makes "after the limit was reached" hold in every run."""
    sent = [asyncio.ensure_future(w) for w in wrongs]
    async with asyncio.timeout(30):
        while await _address_failures(email) < auth.FREE_FAILURES:
            await asyncio.sleep(0.002)
        last = await right()
    return [*(await asyncio.gather(*sent)), last]


@pytest.mark.parametrize("sender", [_page_sender, _api_sender], ids=["page", "api"])
async def test_thirty_guesses_at_once_are_held_to_the_lockout_and_all_counted(user, ctx, db, sender):
    async with web_client(ctx, db) as client:
        send = await sender(client)
        responses = await _right_one_once_locked(
            user.email, [send(user.email, WRONG) for _ in range(29)], lambda: send(user.email, TEST_PASSWORD)
        )
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert statuses[-1] == 429, "the right password got in after the limit was reached"
    assert sorted(statuses) == [401] * (auth.FREE_FAILURES - 1) + [429] * (30 - auth.FREE_FAILURES + 1)
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    # no more passwords were checked than the lockout allows, and each wrong one is counted and audited once
    failed = await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed")
    assert await _address_failures(user.email) == failed == auth.FREE_FAILURES
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in") == 0
    # the lock is audited once, not once for each of the 25 tries it refused
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_locked") == 1


async def test_once_the_lock_ends_parallel_tries_get_one_check_only(user, ctx, db):
    for _ in range(auth.FREE_FAILURES):
        with pytest.raises(auth.SignInFailed):
            await auth.sign_in(user.email, WRONG)
    with clock.travel(61 / 86400):
        async with web_client(ctx, db) as client:
            responses = await _page_posts(client, user.email, [WRONG] * 15 + [TEST_PASSWORD] + [WRONG] * 14)
    statuses = [r.status_code for r in responses]
    assert all(s == 429 for s in statuses), statuses
    assert await _address_failures(user.email) == auth.FREE_FAILURES + 1
    assert (
        await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed") == auth.FREE_FAILURES + 1
    )


async def test_a_right_password_takes_its_count_back(user):
    for _ in range(3):
        with pytest.raises(auth.SignInFailed):
            await auth.sign_in(user.email, WRONG)
    await auth.sign_in(user.email, TEST_PASSWORD)
    assert await _address_failures(user.email) == 0


async def test_thirty_two_step_codes_at_once_are_held_to_the_lockout(user, ctx, db):
    seconds = clock.now().timestamp() % 30
    with clock.travel((1 - seconds) / 86400):  # a second into a time step, so the right code stays right
        secret = await mfa.begin_setup(user)
        totp = pyotp.TOTP(secret)
        await mfa.confirm_setup(user, totp.generate_otp(totp.timecode(clock.now())))
        right = totp.generate_otp(totp.timecode(clock.now()) + 1)
        wrongs = [c for c in (f"{n:06d}" for n in range(100)) if c != right][:29]
        async with web_client(ctx, db) as client:
            page = await client.get("/sign-in")
            await client.post(
                "/sign-in",
                data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_of(page.text)},
            )
            code_page = await client.get("/sign-in/mfa")
            token = csrf_token_of(code_page.text)
            responses = await _right_one_once_locked(
                user.email,
                [client.post("/sign-in/mfa", data={"code": c, "csrf_token": token}) for c in wrongs],
                lambda: client.post("/sign-in/mfa", data={"code": right, "csrf_token": token}),
            )
            statuses = [r.status_code for r in responses]
            assert all(s < 500 for s in statuses), statuses
            assert statuses[-1] == 429, "the right code got in after the limit was reached"
            assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
            assert (await client.get("/")).status_code == 303  # still at the code step
    failed = await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_failed")
    assert await _address_failures(user.email) == failed == auth.FREE_FAILURES
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_locked") == 1


async def _timed_get(client, url: str) -> float:
    started = time.perf_counter()
    response = await client.get(url)
    assert response.status_code == 200
    return time.perf_counter() - started


async def test_a_flood_of_sign_ins_does_not_stall_signed_in_users(user, ctx, db):
    async with web_client(ctx, db) as reader, web_client(ctx, db) as flood:
        await sign_in(reader, user)
        await _timed_get(reader, "/account")  # warm
        quiet = min([await _timed_get(reader, "/account") for _ in range(3)])
        page = await flood.get("/sign-in")
        token = csrf_token_of(page.text)

        async def flood_posts():
            started = time.perf_counter()
            await asyncio.gather(
                *[
                    flood.post(
                        "/sign-in",
                        data={"email": f"nobody{n}@example.org", "password": WRONG, "csrf_token": token},
                    )
                    for n in range(24)
                ]
            )
            return time.perf_counter() - started

        async def reads():
            await asyncio.sleep(0.01)  # the flood has started hashing
            return max([await _timed_get(reader, "/account") for _ in range(3)])

        flooded, busy = await asyncio.gather(flood_posts(), reads())
    # before hashing left the event loop, each read waited for most of the flood (3 ms became over a second)
    assert busy < max(flooded / 3, quiet * 20), (quiet, busy, flooded)


async def test_sign_ins_beyond_the_hashing_queue_get_429_with_retry_after(user, ctx, db, monkeypatch):
    monkeypatch.setattr(passwords, "HASH_QUEUE", 2)
    slots = passwords.HASH_THREADS + passwords.HASH_QUEUE
    async with web_client(ctx, db) as client:
        pages = await _page_posts(client, "nobody@example.org", [WRONG] * 24)
        api = await asyncio.gather(
            *[
                client.post("/api/v1/session", json={"email": f"n{n}@example.org", "password": WRONG})
                for n in range(24)
            ]
        )
    shed = [r for r in pages if r.status_code == 429 and "Too many people are signing in" in r.text]
    assert len(shed) >= 24 - slots - auth.FREE_FAILURES, [r.status_code for r in pages]
    assert all(r.headers["retry-after"] == str(passwords.BUSY_RETRY_SECONDS) for r in shed)
    assert all("govuk-error-summary" in r.text for r in shed)
    api_shed = [r for r in api if r.status_code == 429]
    assert len(api_shed) >= 24 - slots
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        and r.headers["retry-after"] == str(passwords.BUSY_RETRY_SECONDS)
        and "Too many people are signing in" in r.json()["detail"]
        for r in api_shed
    )
    # a sign-in turned away was never checked, so it is not counted against the address
    assert await _address_failures("nobody@example.org") <= slots
    assert all(r.status_code in (401, 429) for r in pages + api)


@pytest.mark.parametrize("action", ["disable", "renew_recovery_codes"])
async def test_codes_guessed_at_once_on_the_security_page_are_held_to_the_lockout(user, action):
    """A borrowed session guessing codes to turn two-step verification off (or to get new recovery codes)."""
    secret = await mfa.begin_setup(user)
    totp = pyotp.TOTP(secret)
    await mfa.confirm_setup(user, totp.generate_otp(totp.timecode(clock.now())))
    wrongs = [c for c in (f"{n:06d}" for n in range(40)) if mfa.matching_step(secret, c, 0) is None][:30]
    results = await asyncio.gather(*[getattr(mfa, action)(user, c) for c in wrongs], return_exceptions=True)
    locked = [r for r in results if isinstance(r, auth.SignInLocked)]
    assert len(locked) == 30 - auth.FREE_FAILURES + 1, results
    assert await _address_failures(user.email) == auth.FREE_FAILURES
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_locked") == 1
    assert (await User.select(User.mfa_enabled).where(User.id == user.id).first())["mfa_enabled"]


async def test_every_page_that_hashes_turns_work_away_when_the_queue_is_full(user, ctx, db, monkeypatch):
    admin = await make_user(await make_agency(ctx, "busy-council"), ("local_admin",), name="Alex Admin")
    async with web_client(ctx, db) as mine, web_client(ctx, db) as admins, web_client(ctx, db) as anonymous:
        token = await sign_in(mine, user)
        admin_token = await sign_in(admins, admin)
        presession = csrf_token_of((await anonymous.get("/sign-in")).text)
        monkeypatch.setattr(passwords, "_admitted", passwords.HASH_THREADS + passwords.HASH_QUEUE)
        responses = [
            await mine.post(
                "/account/password",
                data={
                    "current_password": TEST_PASSWORD,
                    "csrf_token": token,
                    "new_password": "lantern orchard pebble 7",
                    "confirm_password": "lantern orchard pebble 7",
                },
            ),
            await admins.post(
                "/admin/users",
                data={
                    "name": "Robin New",
                    "email": "robin@busy-council.example",
                    "password": "violet kettle harbour 41",
                    "roles": "caseworker",
                    "csrf_token": admin_token,
                },
            ),
            await anonymous.post(
                "/sign-in", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": presession}
            ),
        ]
    for r in responses:
        assert r.status_code == 429 and r.headers["retry-after"] == str(passwords.BUSY_RETRY_SECONDS), (
            r.request.url
        )
        assert "Too many people are signing in or changing passwords" in r.text
    assert await User.count().where(User.email == "robin@busy-council.example") == 0
    assert await _address_failures(user.email) == 0


async def test_thirty_current_passwords_at_once_are_held_to_the_lockout(user, ctx, db, monkeypatch):
    """A borrowed session guessing the current password (to change it and keep the account) in parallel: no more
    are hashed than the address's lockout allows, and the rest are told to wait."""
    monkeypatch.setattr(passwords, "HASH_QUEUE", 100)  # all of them reach the count, none is shed as busy
    checked = []
    real = passwords._verify
    monkeypatch.setattr(
        passwords, "_verify", lambda stored, given: checked.append(given) or real(stored, given)
    )
    new = "lantern orchard pebble 7"
    async with web_client(ctx, db) as client:
        token = await sign_in(client, user)

        def change(current: str):
            form = {
                "current_password": current,
                "new_password": new,
                "confirm_password": new,
                "csrf_token": token,
            }
            return client.post("/account/password", data=form)

        checked.clear()
        responses = await _right_one_once_locked(
            user.email, [change(f"{WRONG} {n}") for n in range(29)], lambda: change(TEST_PASSWORD)
        )
    statuses = [r.status_code for r in responses]
    assert statuses[-1] == 429, "the right password got through after the limit was reached"
    assert sorted(statuses) == [400] * (auth.FREE_FAILURES - 1) + [429] * (30 - auth.FREE_FAILURES + 1)
    locked = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) > 0 for r in locked)
    assert all("Too many attempts" in r.text and "govuk-error-summary" in r.text for r in locked)
    assert len(checked) == auth.FREE_FAILURES
    failed = await AuditEvent.count().where(AuditEvent.action == "auth.password_change_failed")
    assert await _address_failures(user.email) == failed == auth.FREE_FAILURES
    assert await AuditEvent.count().where(AuditEvent.action == "auth.password_change") == 0
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_locked") == 1
    row = await User.select(User.password_hash).where(User.id == user.id).first()
    assert await passwords.verify_password(row["password_hash"], TEST_PASSWORD)


def _peer_from_header(app):
    """The app as a server sees each request's peer: the test names it in X-Test-Peer, so one client can send
    sign-ins from many addresses and networks."""

    async def with_peer(scope, receive, send):
        if scope["type"] == "http":
            peer = dict(scope["headers"]).get(b"x-test-peer")
            if peer:
                scope = {**scope, "client": (peer.decode(), 40000)}
        await app(scope, receive, send)

    return with_peer


@contextlib.asynccontextmanager
async def _client_of_many_peers(ctx, db):
    settings = Settings(local_demo=True, database_url="sqlite:///unused.sqlite")
    app = _peer_from_header(create_app(settings, ctx=ctx, engine=db))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        yield client


async def test_while_every_hashing_slot_is_taken_pages_answer_and_more_sign_ins_are_turned_away(
    user, ctx, db, monkeypatch
):
    """By structure, not by timing: sign-ins from many networks hold every hashing thread (blocked here until the
    test lets them go) and every place in the queue. A signed-in user's pages still answer, since neither the event
    loop nor the database driver's threads wait for hashing; and the next sign-in is turned away at once with 429,
    never queued behind the others."""
    release = threading.Event()
    release.set()  # open until the flood: the reader's own sign-in below must not wait for it
    started = []
    real = passwords._verify

    def held(stored, given):
        started.append(given)
        release.wait(30)  # a hashing thread, kept busy until the test is done looking
        return real(stored, given)

    monkeypatch.setattr(passwords, "_verify", held)
    slots = passwords.HASH_THREADS + passwords.HASH_QUEUE
    try:
        async with _client_of_many_peers(ctx, db) as flood, web_client(ctx, db) as reader:
            await sign_in(reader, user)  # before the pool is blocked
            release.clear()
            started.clear()
            token = csrf_token_of((await flood.get("/sign-in")).text)

            def attempt(n: int):
                return flood.post(
                    "/sign-in",
                    data={"email": f"nobody{n}@example.org", "password": WRONG, "csrf_token": token},
                    headers={
                        "X-Test-Peer": f"198.51.{n // 200}.{n % 200 + 1}" if n % 2 else f"2001:db8:{n}::1"
                    },
                )

            in_flight = [asyncio.ensure_future(attempt(n)) for n in range(slots)]
            for _ in range(500):  # each has taken its slot and reached the pool (or its queue)
                if passwords._admitted == slots and len(started) == passwords.HASH_THREADS:
                    break
                await asyncio.sleep(0.01)
            assert passwords._admitted == slots
            assert len(started) == passwords.HASH_THREADS  # the pool is busy, the rest queue for it
            for url in ("/account", "/"):
                page = await asyncio.wait_for(reader.get(url), timeout=10)
                assert page.status_code == 200, url
            turned_away = await asyncio.wait_for(attempt(slots), timeout=10)
            assert turned_away.status_code == 429
            assert turned_away.headers["retry-after"] == str(passwords.BUSY_RETRY_SECONDS)
            assert "Too many people are signing in" in turned_away.text
            assert len(started) == passwords.HASH_THREADS and not any(f.done() for f in in_flight)
            release.set()
            finished = await asyncio.wait_for(asyncio.gather(*in_flight), timeout=60)
    finally:
        release.set()
    assert [r.status_code for r in finished] == [401] * slots
    assert passwords._admitted == 0
    assert await _address_failures(f"nobody{slots}@example.org") == 0  # turned away, so never counted


def _bad_sign_in_bodies(token: str) -> list[tuple[dict, bytes]]:
    """What a flood of junk at /sign-in might send: each a (headers, body) pair, none of which is a sign-in."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    csrf = f"csrf_token={token}&".encode()
    return [
        (form, csrf + b"email=" + b"a" * 3_000_000),  # far past what is read from anyone
        (form, csrf + b"password=" + b"p" * 20_000),
        (form, csrf + b"email=%zz%&password=%"),  # broken escapes
        (form, csrf + b"email=%ff%fe&password=x"),  # not UTF-8
        (form, csrf + b"email=a%00b&password=x"),  # a null
        (form, csrf + b"email=\xe9t\xe9&password=x"),  # raw Latin-1
        (form, csrf + b"&".join(b"email=x%d" % n for n in range(1500))),  # one field many times
        (form, b"email=a@example.org&password=x"),  # no CSRF token
        ({"Content-Type": "application/json"}, b'{"email": "a@example.org", "password": "x"}'),
        ({"Content-Type": "application/json"}, b"[" * 100_000),
        ({"Content-Type": "multipart/form-data; boundary=xyz"}, b"--xyz\r\nContent-Disposition: form-da"),
        ({"Content-Type": "multipart/form-data"}, b"no boundary at all"),
        ({"Content-Type": "text/plain"}, b"\x00\xff" * 100),
        ({}, b""),
    ]


async def test_a_flood_of_junk_at_the_sign_in_page_gets_4xx_never_500(user, ctx, db):
    async with web_client(ctx, db) as client:
        token = csrf_token_of((await client.get("/sign-in")).text)
        bodies = _bad_sign_in_bodies(token) * 3
        responses = await asyncio.gather(
            *[client.post("/sign-in", content=body, headers=headers) for headers, body in bodies]
        )
        for (_headers, body), response in zip(bodies, responses, strict=True):
            assert 400 <= response.status_code < 500, (body[:60], response.status_code)
        assert responses[0].status_code == responses[1].status_code == 413
        # a long password within the limit is checked like any other, and the page still works after all that
        long_one = await client.post(
            "/sign-in", data={"email": user.email, "password": "x" * 15_000, "csrf_token": token}
        )
        assert long_one.status_code == 401
        assert (await client.get("/sign-in")).status_code == 200
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in") == 0
