"""A password an admin set (a new user, a reset) is temporary: the user must choose their own at the next
sign-in before anything else works, the API refuses it until then, and changing it signs out everywhere else."""

from __future__ import annotations

import time

import pyotp
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import mfa
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import Session, User
from caseframe.core.sharing.mou import publish_mou
from caseframe.core.testing import (
    TEST_PASSWORD,
    csrf_token_of,
    make_agency,
    make_context,
    make_user,
    sign_in,
    web_client,
)

GIVEN = "violet kettle harbour 41"
CHOSEN = "lantern orchard pebble 7"


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def agency(db, ctx):
    return await make_agency(ctx, "ashdown-council")


@pytest.fixture
async def admin(agency):
    return await make_user(agency, ("local_admin", "caseworker"), name="Alex Admin")


async def _password_step(client, email: str, password: str):
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token_of(page.text)}
    )


async def _admin_adds(ctx, db, admin, email: str) -> None:
    async with web_client(ctx, db) as client:
        token = await sign_in(client, admin)
        r = await client.post(
            "/admin/users",
            data={
                "name": "Robin New",
                "email": email,
                "password": GIVEN,
                "roles": "caseworker",
                "csrf_token": token,
            },
        )
        assert r.status_code == 303


async def test_a_new_user_must_choose_their_own_password_before_anything_works(admin, ctx, db):
    await _admin_adds(ctx, db, admin, "robin.new@ashdown-council.example")
    await publish_mou(
        await make_user(await make_agency(ctx, "county"), ("system_admin",)), "We share only what we must."
    )
    async with web_client(ctx, db) as client:
        r = await _password_step(client, "robin.new@ashdown-council.example", GIVEN)
        assert r.status_code == 303
        # every page leads to the password page; htmx is told where to go; nothing is saved elsewhere
        home = await client.get("/persons?q=x")
        assert (
            home.status_code == 303 and home.headers["location"] == "/account/password?next=/persons%3Fq%3Dx"
        )
        hx = await client.get("/", headers={"HX-Request": "true"})
        assert hx.status_code == 403 and hx.headers["hx-redirect"].startswith("/account/password")
        assert (await client.get("/mou")).headers["location"].startswith("/account/password")
        page = await client.get("/account/password?next=/persons")
        assert page.status_code == 200 and "Choose your own password" in page.text
        assert "Your password was set by an administrator" in page.text and 'href="/persons"' not in page.text
        token = csrf_token_of(page.text)
        other = await client.post("/persons/new", data={"given_name": "X", "csrf_token": token})
        assert other.status_code == 303 and other.headers["location"] == "/account/password"
        # clear messages; nothing changes
        for data, words in (
            (
                {"current_password": GIVEN, "new_password": GIVEN, "confirm_password": GIVEN},
                "must be different",
            ),
            ({"current_password": GIVEN, "new_password": CHOSEN, "confirm_password": "x"}, "do not match"),
            (
                {"current_password": GIVEN, "new_password": "password123", "confirm_password": "password123"},
                "12 characters or more",
            ),
            (
                {"current_password": "wrong password 1", "new_password": CHOSEN, "confirm_password": CHOSEN},
                "current password is not right",
            ),
        ):
            r = await client.post("/account/password", data={**data, "next": "/persons", "csrf_token": token})
            assert r.status_code == 400 and words in r.text and "govuk-error-summary" in r.text, words
        assert (
            await User.select(User.must_change_password)
            .where(User.email == "robin.new@ashdown-council.example")
            .first()
        )["must_change_password"]
        r = await client.post(
            "/account/password",
            data={
                "current_password": GIVEN,
                "new_password": CHOSEN,
                "confirm_password": CHOSEN,
                "next": "/persons",
                "csrf_token": token,
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/persons"
        # then the memorandum of understanding, as for anyone
        assert (await client.get("/persons")).headers["location"].startswith("/mou")
    assert await AuditEvent.count().where(AuditEvent.action == "auth.password_change") == 1
    # the wrong current password counted toward the lockout, like any wrong password
    assert await AuditEvent.count().where(AuditEvent.action == "auth.password_change_failed") == 1
    with pytest.raises(auth.SignInFailed):
        await auth.sign_in("robin.new@ashdown-council.example", GIVEN)
    await auth.sign_in("robin.new@ashdown-council.example", CHOSEN, browser=False)


async def test_the_api_refuses_a_temporary_password_in_words(admin, ctx, db):
    await _admin_adds(ctx, db, admin, "robin.new@ashdown-council.example")
    async with web_client(ctx, db) as client:
        r = await client.post(
            "/api/v1/session", json={"email": "robin.new@ashdown-council.example", "password": GIVEN}
        )
        assert r.status_code == 403 and "must be changed" in r.json()["detail"] and "token" not in r.json()
        # a wrong password still gets the one message for every failure
        r = await client.post(
            "/api/v1/session",
            json={"email": "robin.new@ashdown-council.example", "password": "wrong password 1"},
        )
        assert r.status_code == 401
    robin = await User.select(User.id).where(User.email == "robin.new@ashdown-council.example").first()
    assert await Session.count().where(Session.user == robin["id"]) == 0


async def test_an_admin_reset_signs_the_user_out_and_the_next_sign_in_must_change_it(admin, agency, ctx, db):
    user = await make_user(agency, ("caseworker",), name="Casey Morgan")
    async with web_client(ctx, db) as theirs, web_client(ctx, db) as admins:
        await sign_in(theirs, user)
        token = await sign_in(admins, admin)
        form = await admins.get(f"/admin/users/{user.id}/password")
        assert form.status_code == 200 and "Casey Morgan" in form.text
        weak = await admins.post(
            f"/admin/users/{user.id}/password", data={"password": "short", "csrf_token": token}
        )
        assert weak.status_code == 400 and "12 characters or more" in weak.text
        r = await admins.post(
            f"/admin/users/{user.id}/password", data={"password": GIVEN, "csrf_token": token}
        )
        assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=password-reset"
        assert "Temporary password set" in (await admins.get(r.headers["location"])).text
        assert (await theirs.get("/")).headers["location"].startswith("/sign-in")  # signed out
        # not for oneself, nor for another agency's user
        assert (await admins.get(f"/admin/users/{admin.id}/password")).status_code == 404
        stranger = await make_user(await make_agency(ctx, "other-council"), ("caseworker",))
        r = await admins.post(
            f"/admin/users/{stranger.id}/password", data={"password": GIVEN, "csrf_token": token}
        )
        assert r.status_code == 404
    async with web_client(ctx, db) as client:
        await _password_step(client, user.email, GIVEN)
        assert (await client.get("/")).headers["location"].startswith("/account/password")
    assert await AuditEvent.count().where(AuditEvent.action == "admin.user_password_reset") == 1


async def test_with_two_step_verification_the_code_comes_first_then_the_password(admin, agency, ctx, db):
    user = await make_user(agency, ("caseworker",), name="Casey Morgan")
    seconds = clock.now().timestamp() % 30
    with clock.travel((1 - seconds) / 86400):
        secret = await mfa.begin_setup(user)
        totp = pyotp.TOTP(secret)
        await mfa.confirm_setup(user, totp.generate_otp(totp.timecode(clock.now())))
        await auth.set_temporary_password(admin, user.id, GIVEN)
        async with web_client(ctx, db) as client:
            await _password_step(client, user.email, GIVEN)
            assert (await client.get("/")).headers["location"].startswith("/sign-in/mfa")
            assert (await client.get("/account/password")).headers["location"].startswith("/sign-in/mfa")
            page = await client.get("/sign-in/mfa")
            r = await client.post(
                "/sign-in/mfa",
                data={
                    "code": totp.generate_otp(totp.timecode(clock.now()) + 1),
                    "csrf_token": csrf_token_of(page.text),
                },
            )
            assert r.status_code == 303
            assert (await client.get("/")).headers["location"].startswith("/account/password")
            page = await client.get("/account/password")
            r = await client.post(
                "/account/password",
                data={
                    "current_password": GIVEN,
                    "new_password": CHOSEN,
                    "confirm_password": CHOSEN,
                    "csrf_token": csrf_token_of(page.text),
                },
            )
            assert r.status_code == 303 and (await client.get("/")).status_code == 200


async def test_changing_ones_own_password_signs_out_everywhere_else(agency, ctx, db):
    user = await make_user(agency, ("caseworker",), name="Casey Morgan")
    async with web_client(ctx, db) as here, web_client(ctx, db) as elsewhere:
        token = await sign_in(here, user)
        await sign_in(elsewhere, user)
        api_token, _ = await auth.sign_in(user.email, TEST_PASSWORD, browser=False)
        assert "/account/password" in (await here.get("/account")).text
        r = await here.post(
            "/account/password",
            data={
                "current_password": TEST_PASSWORD,
                "new_password": CHOSEN,
                "confirm_password": CHOSEN,
                "csrf_token": token,
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/account/password?changed=yes"
        assert "Your password has been changed" in (await here.get(r.headers["location"])).text
        assert (await elsewhere.get("/")).headers["location"].startswith("/sign-in")
        api = await here.get("/api/v1/areas", headers={"Authorization": f"Bearer {api_token}"})
        assert api.status_code == 401


LONG = "velvet-quarry-" * 6 + "x9"  # 86 characters: longer than the strength checker reads


async def test_a_long_new_password_is_taken_on_every_page_that_sets_one(ctx, db, admin, agency):
    """Passwords of up to 256 characters are allowed; the strength checker refuses more than 72 itself, which
    gave a 500 for a long passphrase when changing one's own, adding a user or resetting one."""
    user = await make_user(agency, ("caseworker",), name="Casey Morgan")
    async with web_client(ctx, db) as mine, web_client(ctx, db) as admins:
        token = await sign_in(mine, user)
        changed = await mine.post(
            "/account/password",
            data={
                "current_password": TEST_PASSWORD,
                "new_password": LONG,
                "confirm_password": LONG,
                "csrf_token": token,
            },
        )
        assert changed.status_code == 303, changed.text[:300]
        admin_token = await sign_in(admins, admin)
        added = await admins.post(
            "/admin/users",
            data={
                "name": "Robin New",
                "email": "robin@ashdown-council.example",
                "password": LONG[::-1],
                "roles": "caseworker",
                "csrf_token": admin_token,
            },
        )
        assert added.status_code == 303, added.text[:300]
        reset = await admins.post(
            f"/admin/users/{user.id}/password", data={"password": LONG + "q", "csrf_token": admin_token}
        )
        assert reset.status_code == 303, reset.text[:300]
        # a weak long one is still refused clearly, and one over 256 characters too
        weak = await admins.post(
            f"/admin/users/{user.id}/password", data={"password": "ab" * 60, "csrf_token": admin_token}
        )
        assert weak.status_code == 400 and "harder to guess" in weak.text
        too_long = await admins.post(
            f"/admin/users/{user.id}/password", data={"password": LONG * 3 + "zz", "csrf_token": admin_token}
        )
        assert too_long.status_code == 400 and "256 characters or fewer" in too_long.text
    assert await auth.sign_in(user.email, LONG + "q")


def test_the_strength_check_reads_a_bounded_part_of_the_password():
    """zxcvbn's time grows faster than the length (120 characters of "ab" took half a second): only the first
    PASSWORD_CHECKED_CHARACTERS are read, so no password keeps a thread long."""
    from caseframe.core.auth import passwords

    assert passwords.PASSWORD_CHECKED_CHARACTERS <= 72
    started = time.perf_counter()
    assert passwords.password_problem("ab" * 128) is not None
    assert time.perf_counter() - started < 2
