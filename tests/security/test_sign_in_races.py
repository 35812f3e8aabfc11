"""Sign-in under parallel load: guesses sent all at once cannot get past the lockout, and a flood of sign-ins
neither stalls signed-in users nor is hashed beyond what the pool can take.

Every request here really runs at the same time (asyncio.gather over the whole app); on PostgreSQL each
one has its own connection, so the throttle's row lock is what keeps the count.
"""

from __future__ import annotations

import asyncio
import time

import pyotp
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import mfa, passwords
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import User
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_user,
    sign_in,
    web_client,
)
from tests.security.test_sign_in_sources import _address_failures

WRONG = "wrong password 123"


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def user(db, ctx):
    return await make_user(await make_agency(ctx, "ashdown-council"), ("caseworker",), name="Casey Morgan")


async def _page_posts(client, email: str, passwords_tried: list[str]):
    page = await client.get("/sign-in")
    token = csrf_token_of(page.text)
    return await asyncio.gather(
        *[
            client.post("/sign-in", data={"email": email, "password": p, "csrf_token": token})
            for p in passwords_tried
        ]
    )


async def _api_posts(client, email: str, passwords_tried: list[str]):
    return await asyncio.gather(
        *[client.post("/api/v1/session", json={"email": email, "password": p}) for p in passwords_tried]
    )


@pytest.mark.parametrize("post", [_page_posts, _api_posts], ids=["page", "api"])
async def test_thirty_guesses_at_once_are_held_to_the_lockout_and_all_counted(user, ctx, db, post):
    tries = [WRONG] * 29 + [TEST_PASSWORD]
    async with web_client(ctx, db) as client:
        responses = await post(client, user.email, tries)
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert statuses[-1] == 429, "the right password got in after the limit was reached"
    assert sorted(statuses) == [401] * (auth.FREE_FAILURES - 1) + [429] * (30 - auth.FREE_FAILURES + 1)
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    # no more passwords were checked than the lockout allows, and each wrong one is counted and audited once
    failed = await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed")
    assert await _address_failures(user.email) == failed == auth.FREE_FAILURES
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in") == 0


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
            responses = await asyncio.gather(
                *[
                    client.post("/sign-in/mfa", data={"code": c, "csrf_token": token})
                    for c in wrongs + [right]
                ]
            )
            statuses = [r.status_code for r in responses]
            assert all(s < 500 for s in statuses), statuses
            assert statuses[-1] == 429, "the right code got in after the limit was reached"
            assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
            assert (await client.get("/")).status_code == 303  # still at the code step
    failed = await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_failed")
    assert await _address_failures(user.email) == failed == auth.FREE_FAILURES


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
