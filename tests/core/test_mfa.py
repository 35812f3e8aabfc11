"""Two-step verification (TOTP): setting it up, signing in with a code, replay and lockout, roles that must use it."""

from __future__ import annotations

import re

import pyotp
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import mfa
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import Session, User
from caseframe.core.errors import ValidationFailed
from caseframe.core.sharing.tables import Setting
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


@pytest.fixture(autouse=True)
def start_of_a_time_step():
    """Each test starts a second into a 30-second step, so the codes it computes stay in the step it means."""
    seconds = clock.now().timestamp() % 30
    with clock.travel((1 - seconds) / 86400):
        yield


@pytest.fixture
async def agency(db, ctx):
    return await make_agency(ctx, "ashdown-council")


@pytest.fixture
async def user(agency):
    return await make_user(agency, ("caseworker",), name="Casey Morgan")


def _key_on(html: str) -> str:
    """The key the set-up page shows for typing into an app (grouped in fours)."""
    return re.search(r'id="totp-key">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def _codes_on(html: str) -> list[str]:
    """The recovery codes a page shows."""
    return re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", html)


async def _secret(user) -> str:
    return (await User.select(User.totp_secret).where(User.id == user.id).first())["totp_secret"]


def _code(secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now()) + steps_ahead)


async def _with_mfa(user, codes: list[str] | None = None) -> str:
    """Turn MFA on for ``user`` through the services; returns the secret (and fills ``codes`` with the
    recovery codes, when given)."""
    secret = await mfa.begin_setup(user)
    made = await mfa.confirm_setup(user, _code(secret))
    if codes is not None:
        codes.extend(made)
    return secret


async def _password_step(client, user, password: str = TEST_PASSWORD):
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in", data={"email": user.email, "password": password, "csrf_token": csrf_token_of(page.text)}
    )


async def _code_page(client, user):
    """The password step, then the code page it leads to."""
    await _password_step(client, user)
    return await client.get("/sign-in/mfa")


async def test_set_up_shows_a_qr_code_and_key_and_needs_a_code_before_it_is_on(user, ctx, db):
    async with web_client(ctx, db) as client:
        await sign_in(client, user)
        account = await client.get("/account")
        assert 'href="/account/security"' in account.text
        # the security page starts it with a POST: a GET of the set-up page makes no key
        security = await client.get("/account/security")
        assert 'action="/account/security/setup/start"' in security.text
        before = await client.get("/account/security/setup")
        assert before.status_code == 200 and 'action="/account/security/setup/start"' in before.text
        assert "totp-key" not in before.text and await _secret(user) == ""
        assert (
            await client.post("/account/security/setup/start", data={})
        ).status_code == 403  # no CSRF token
        assert await _secret(user) == ""
        started = await client.post(
            "/account/security/setup/start", data={"csrf_token": csrf_token_of(security.text)}
        )
        assert started.status_code == 303 and started.headers["location"].startswith(
            "/account/security/setup?"
        )
        setup = await client.get(started.headers["location"])
        assert setup.status_code == 200
        assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', setup.text)
        key = _key_on(setup.text)
        assert key == await _secret(user) and len(key) >= 16
        # reloading keeps the key the user may already have scanned
        assert _key_on((await client.get("/account/security/setup")).text) == key
        token = csrf_token_of(setup.text)
        wrong = await client.post("/account/security/setup", data={"code": "000000", "csrf_token": token})
        assert (
            wrong.status_code == 400 and "govuk-error-summary" in wrong.text and 'href="#code"' in wrong.text
        )
        assert not (await User.select(User.mfa_enabled).where(User.id == user.id).first())["mfa_enabled"]
        forged = await client.post("/account/security/setup", data={"code": _code(key)})
        assert forged.status_code == 403
        ok = await client.post("/account/security/setup", data={"code": _code(key), "csrf_token": token})
        # the recovery codes are shown once, on the answer to turning it on, never cached
        assert ok.status_code == 200 and "Two-step verification is on" in ok.text
        assert "no-store" in ok.headers["cache-control"]
        assert len(_codes_on(ok.text)) == 10 and 'href="/account/security"' in ok.text
        assert "You have 10 recovery codes left" in (await client.get("/account/security")).text
    row = await User.select(User.mfa_enabled).where(User.id == user.id).first()
    assert row["mfa_enabled"]
    assert await AuditEvent.count().where(AuditEvent.action == "mfa.enable") == 1
    # the secret is never written to the audit trail
    details = await AuditEvent.select(AuditEvent.detail)
    assert key not in str(details)


async def test_sign_in_with_a_code_after_the_password(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        r = await _password_step(client, user)
        assert r.status_code == 303
        # only the code page and sign-out work until the code is right
        for path in ("/", "/account", "/persons", "/account/security"):
            blocked = await client.get(path)
            assert blocked.status_code == 303 and blocked.headers["location"].startswith("/sign-in/mfa"), path
        assert (await Session.select(Session.pending).first())["pending"] == "mfa"
        page = await client.get("/sign-in/mfa")
        assert page.status_code == 200 and "Enter your code" in page.text
        with clock.travel(31 / 86400):  # the code of the next step, as a phone a little ahead would show
            r = await client.post(
                "/sign-in/mfa",
                data={"code": _code(secret), "next": "/persons", "csrf_token": csrf_token_of(page.text)},
            )
        assert r.status_code == 303 and r.headers["location"] == "/persons"
        assert (await client.get("/")).status_code == 200
        # nothing more to do: the code page sends you on
        assert (await client.get("/sign-in/mfa")).status_code == 303
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_passed") == 1


async def test_sign_out_works_before_the_code(user, ctx, db):
    await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        r = await client.post("/sign-out", data={"csrf_token": csrf_token_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    assert await Session.count() == 0


async def test_a_wrong_code_is_refused_clearly_and_audited(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        token = csrf_token_of(page.text)
        for wrong in ("123456" if _code(secret) != "123456" else "654321", "12ab56", ""):
            r = await client.post("/sign-in/mfa", data={"code": wrong, "csrf_token": token})
            assert r.status_code == 400 and "govuk-error-summary" in r.text and 'href="#code"' in r.text
        assert (await client.get("/")).headers["location"].startswith("/sign-in/mfa")
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_failed") == 2


async def test_a_code_cannot_be_used_twice(user, ctx, db):
    secret = await _with_mfa(user)
    # the set-up used this step's code: the same code is refused at sign-in
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        r = await client.post(
            "/sign-in/mfa", data={"code": _code(secret), "csrf_token": csrf_token_of(page.text)}
        )
        assert r.status_code == 400 and "already been used" in r.text
        with clock.travel(30 / 86400):
            code = _code(secret)
            r = await client.post("/sign-in/mfa", data={"code": code, "csrf_token": csrf_token_of(page.text)})
            assert r.status_code == 303
            # a second browser replaying the code it saw is refused
            async with web_client(ctx, db) as other:
                await _password_step(other, user)
                page = await other.get("/sign-in/mfa")
                replay = await other.post(
                    "/sign-in/mfa", data={"code": code, "csrf_token": csrf_token_of(page.text)}
                )
                assert replay.status_code == 400 and (await other.get("/")).status_code == 303
        # nor is a code older than the window
        with clock.travel(120 / 86400):
            assert mfa.matching_step(secret, _code(secret, -3), 0) is None
            assert mfa.matching_step(secret, _code(secret, -1), 0) is not None


async def test_wrong_codes_lock_the_account_like_wrong_passwords(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        token = csrf_token_of(page.text)
        right = _code(secret, 1)
        wrong = next(c for c in ("111111", "222222", "333333") if c != right)
        statuses = [
            (await client.post("/sign-in/mfa", data={"code": wrong, "csrf_token": token})).status_code
            for _ in range(5)
        ]
        assert statuses == [400, 400, 400, 400, 429]
        with clock.travel(30 / 86400):
            # locked: even the right code is refused, and so is the password
            r = await client.post("/sign-in/mfa", data={"code": right, "csrf_token": token})
            assert r.status_code == 429 and "Try again in 1 minute" in r.text
        with pytest.raises(auth.SignInLocked):
            await auth.sign_in(user.email, TEST_PASSWORD)
        with clock.travel(90 / 86400):
            r = await client.post("/sign-in/mfa", data={"code": _code(secret), "csrf_token": token})
            assert r.status_code == 303
            # success forgets the failures
            assert (await client.get("/")).status_code == 200
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_failed") == 5


async def test_a_role_that_must_use_mfa_is_sent_to_set_it_up(agency, ctx, db):
    admin = await make_user(agency, ("local_admin",), name="Lee Admin")
    worker = await make_user(agency, ("caseworker",), name="Casey Morgan")
    await mfa.set_required_roles(admin, agency["id"], ["caseworker"])
    async with web_client(ctx, db) as client:
        r = await _password_step(client, worker)
        assert r.status_code == 303
        for path in ("/", "/persons", "/sign-in/mfa", "/account"):
            blocked = await client.get(path)
            assert blocked.headers["location"].startswith("/account/security/setup"), path
        start = await client.get("/account/security/setup")
        assert start.status_code == 200 and "requires two-step verification for your role" in start.text
        started = await client.post(
            "/account/security/setup/start", data={"csrf_token": csrf_token_of(start.text), "next": "/"}
        )
        assert started.status_code == 303
        setup = await client.get(started.headers["location"])
        assert setup.status_code == 200 and "requires two-step verification for your role" in setup.text
        key = _key_on(setup.text)
        r = await client.post(
            "/account/security/setup",
            data={"code": _code(key), "next": "/", "csrf_token": csrf_token_of(setup.text)},
        )
        # the recovery codes, then on to where the user was going
        assert r.status_code == 200 and len(_codes_on(r.text)) == 10 and 'href="/"' in r.text
        assert (await client.get("/")).status_code == 200
        # required: it cannot be turned off
        security = await client.get("/account/security")
        assert "cannot be turned off" in security.text
        with clock.travel(30 / 86400):
            r = await client.post(
                "/account/security/disable",
                data={"code": _code(key), "csrf_token": csrf_token_of(security.text)},
            )
        assert r.status_code == 403 and "govuk-error-summary" in r.text
    assert (await User.select(User.mfa_enabled).where(User.id == worker.id).first())["mfa_enabled"]
    # the local admin's role is not required: they still sign in with just the password
    async with web_client(ctx, db) as client:
        await sign_in(client, admin)
        assert (await client.get("/")).status_code == 200


async def test_turning_mfa_off_needs_a_current_code(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        with clock.travel(30 / 86400):
            await client.post(
                "/sign-in/mfa", data={"code": _code(secret), "csrf_token": csrf_token_of(page.text)}
            )
        security = await client.get("/account/security")
        token = csrf_token_of(security.text)
        r = await client.post("/account/security/disable", data={"code": "", "csrf_token": token})
        assert r.status_code == 400 and "govuk-error-summary" in r.text
        with clock.travel(60 / 86400):
            r = await client.post(
                "/account/security/disable", data={"code": _code(secret), "csrf_token": token}
            )
        assert r.status_code == 303
    row = await User.select(User.mfa_enabled, User.totp_secret).where(User.id == user.id).first()
    assert not row["mfa_enabled"] and row["totp_secret"] == ""
    assert await AuditEvent.count().where(AuditEvent.action == "mfa.disable") == 1
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    assert (await Session.select(Session.pending).where(Session.user == user.id).first())["pending"] == ""


async def test_admin_setting_page_needs_csrf_and_keeps_to_the_admins_agency(agency, ctx, db):
    other = await make_agency(ctx, "brookfield-police", agency_type="police")
    admin = await make_user(agency, ("local_admin",), name="Lee Admin")
    worker = await make_user(agency, ("caseworker",))
    system = await make_user(other, ("system_admin",), name="Sam System")
    async with web_client(ctx, db) as client:
        token = await sign_in(client, admin)
        page = await client.get("/admin/mfa")
        assert (
            page.status_code == 200
            and 'value="caseworker"' in page.text
            and "brookfield" not in page.text.lower()
        )
        forged = await client.post(
            "/admin/mfa", data={"agency_id": str(agency["id"]), "roles": ["caseworker"]}
        )
        assert forged.status_code == 403
        assert await mfa.required_roles(agency["id"]) == set()
        r = await client.post(
            "/admin/mfa",
            data={"agency_id": str(agency["id"]), "roles": ["caseworker", "supervisor"], "csrf_token": token},
        )
        assert r.status_code == 303
        assert await mfa.required_roles(agency["id"]) == {"caseworker", "supervisor"}
        # another agency's rule: refused, nothing changed
        r = await client.post(
            "/admin/mfa", data={"agency_id": str(other["id"]), "roles": ["caseworker"], "csrf_token": token}
        )
        assert r.status_code == 403
        assert (await client.get(f"/admin/mfa?agency={other['id']}")).status_code == 403
        assert await mfa.required_roles(other["id"]) == set()
        bad = await client.post(
            "/admin/mfa", data={"agency_id": str(agency["id"]), "roles": ["emperor"], "csrf_token": token}
        )
        assert bad.status_code == 400 and "govuk-error-summary" in bad.text
        assert await mfa.required_roles(agency["id"]) == {"caseworker", "supervisor"}
    async with web_client(ctx, db) as client:
        token = await sign_in(client, system)
        page = await client.get("/admin/mfa")
        assert page.status_code == 200 and "Ashdown Council" in page.text
        r = await client.post(
            "/admin/mfa", data={"agency_id": str(agency["id"]), "roles": ["panel_chair"], "csrf_token": token}
        )
        assert r.status_code == 303
    assert await mfa.required_roles(agency["id"]) == {"panel_chair"}
    async with web_client(ctx, db) as client:
        token = await sign_in(client, worker)
        assert (await client.get("/admin/mfa")).status_code == 403
    assert await Setting.count() == 1
    changes = (
        await AuditEvent.select(AuditEvent.detail)
        .where(AuditEvent.action == "settings.mfa_required_roles")
        .order_by(AuditEvent.id)
        .output(load_json=True)
    )
    assert [c["detail"]["new"] for c in changes] == [["caseworker", "supervisor"], ["panel_chair"]]
    assert changes[1]["detail"]["old"] == ["caseworker", "supervisor"]


async def test_api_sign_in_needs_the_code_too(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        r = await client.post("/api/v1/session", json={"email": user.email, "password": TEST_PASSWORD})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "/totp"
        r = await client.post(
            "/api/v1/session",
            json={
                "email": user.email,
                "password": TEST_PASSWORD,
                "totp": "000000" if _code(secret, 1) != "000000" else "999999",
            },
        )
        assert r.status_code == 401 and "code" in r.json()["detail"]
        # a wrong password says nothing about the code
        r = await client.post(
            "/api/v1/session", json={"email": user.email, "password": "wrong password 123", "totp": "000000"}
        )
        assert r.status_code == 401 and r.json()["detail"] == "Enter a correct email address and password"
        with clock.travel(30 / 86400):
            code = _code(secret)
            r = await client.post(
                "/api/v1/session", json={"email": user.email, "password": TEST_PASSWORD, "totp": code}
            )
            assert r.status_code == 201
            token = r.json()["token"]
            assert (
                await client.get("/api/v1/areas", headers={"authorization": f"Bearer {token}"})
            ).status_code == 200
            replay = await client.post(
                "/api/v1/session", json={"email": user.email, "password": TEST_PASSWORD, "totp": code}
            )
            assert replay.status_code == 401
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_failed") == 2


async def test_api_sign_in_refused_for_a_required_role_without_mfa(agency, user, ctx, db):
    admin = await make_user(agency, ("local_admin",))
    await mfa.set_required_roles(admin, agency["id"], ["caseworker"])
    async with web_client(ctx, db) as client:
        r = await client.post("/api/v1/session", json={"email": user.email, "password": TEST_PASSWORD})
        assert r.status_code == 403 and "two-step verification" in r.json()["detail"]


async def test_a_browser_session_waiting_for_its_code_cannot_drive_the_api(user, ctx, db):
    await _with_mfa(user)
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    async with web_client(ctx, db) as client:
        # a browser session's token is no API credential at all, code or not (tests/security/test_leaks.py)
        r = await client.get("/api/v1/areas", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 401


async def test_the_code_page_waits_only_ten_minutes_after_the_password(user, ctx, db):
    await _with_mfa(user)
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    assert await auth.session_for_token(token) is not None
    with clock.travel(11 / (24 * 60)):
        assert await auth.session_for_token(token) is None
    assert await Session.count() == 0


async def test_a_local_admin_resets_a_lost_phone_in_their_own_agency_only(agency, user, ctx, db):
    other = await make_agency(ctx, "brookfield-police", agency_type="police")
    stranger = await make_user(other, ("caseworker",))
    admin = await make_user(agency, ("local_admin",), name="Lee Admin")
    await _with_mfa(user)
    await _with_mfa(stranger)
    async with web_client(ctx, db) as client:
        token = await sign_in(client, admin)
        users = await client.get("/admin/users")
        assert f'action="/admin/users/{user.id}/mfa-reset"' in users.text
        assert (await client.post(f"/admin/users/{user.id}/mfa-reset")).status_code == 403
        r = await client.post(f"/admin/users/{stranger.id}/mfa-reset", data={"csrf_token": token})
        assert r.status_code == 404
        r = await client.post(f"/admin/users/{user.id}/mfa-reset", data={"csrf_token": token})
        assert r.status_code == 303
    rows = {r["id"]: r for r in await User.select(User.id, User.mfa_enabled, User.totp_secret)}
    assert not rows[user.id]["mfa_enabled"] and rows[user.id]["totp_secret"] == ""
    assert rows[stranger.id]["mfa_enabled"]
    assert await AuditEvent.count().where(AuditEvent.action == "mfa.reset") == 1
    # the user signs in with the password alone again
    token, _ = await auth.sign_in(user.email, TEST_PASSWORD)
    assert (await Session.select(Session.pending).where(Session.user == user.id).first())["pending"] == ""


async def test_the_mou_follows_the_code(user, ctx, db):
    from caseframe.core.sharing.mou import publish_mou

    system = await make_user(await make_agency(ctx, "county-hq"), ("system_admin",))
    await publish_mou(system, "Partners share information only for the purposes agreed in each ISA.")
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        await _password_step(client, user)
        assert (await client.get("/mou")).headers["location"].startswith("/sign-in/mfa")
        page = await client.get("/sign-in/mfa")
        with clock.travel(30 / 86400):
            r = await client.post(
                "/sign-in/mfa",
                data={"code": _code(secret), "next": "/persons", "csrf_token": csrf_token_of(page.text)},
            )
        assert r.status_code == 303
        r = await client.get(r.headers["location"])
        assert r.status_code == 303 and r.headers["location"].startswith("/mou")
        assert (await client.get("/mou")).status_code == 200


async def test_the_code_page_needs_the_sessions_csrf_token(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        await _password_step(client, user)
        with clock.travel(30 / 86400):
            forged = await client.post("/sign-in/mfa", data={"code": _code(secret)})
        assert forged.status_code == 403
        assert (await Session.select(Session.pending).first())["pending"] == "mfa"


async def test_guessing_the_code_to_turn_mfa_off_locks_too(user, ctx, db):
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        with clock.travel(30 / 86400):
            await client.post(
                "/sign-in/mfa", data={"code": _code(secret), "csrf_token": csrf_token_of(page.text)}
            )
        token = csrf_token_of((await client.get("/account/security")).text)
        wrong = next(
            c for c in ("111111", "222222", "333333") if c not in (_code(secret, 1), _code(secret, 2))
        )
        statuses = [
            (
                await client.post("/account/security/disable", data={"code": wrong, "csrf_token": token})
            ).status_code
            for _ in range(5)
        ]
        assert statuses == [400, 400, 400, 400, 429]
        with clock.travel(45 / 86400):  # still locked: a fresh, right code is refused unchecked
            r = await client.post(
                "/account/security/disable", data={"code": _code(secret, 1), "csrf_token": token}
            )
            assert r.status_code == 429 and "Try again" in r.text
    assert (await User.select(User.mfa_enabled).where(User.id == user.id).first())["mfa_enabled"]


async def test_a_recovery_code_signs_in_once_when_the_phone_is_lost(user, ctx, db):
    from caseframe.core.auth.tables import RecoveryCode

    codes: list[str] = []
    await _with_mfa(user, codes)
    assert len(codes) == 10 and len(set(codes)) == 10
    # only hashes are kept, salted by the user
    stored = [r["code_hash"] for r in await RecoveryCode.select(RecoveryCode.code_hash)]
    assert len(stored) == 10 and not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        assert "I cannot use my authenticator app" in page.text and 'name="recovery_code"' in page.text
        token = csrf_token_of(page.text)
        wrong = await client.post("/sign-in/mfa", data={"recovery_code": "abcde-fghjk", "csrf_token": token})
        assert wrong.status_code == 400 and "The recovery code is not correct" in wrong.text
        assert 'href="#recovery_code"' in wrong.text and '<details class="govuk-details" open' in wrong.text
        empty = await client.post("/sign-in/mfa", data={"recovery_code": " ", "csrf_token": token})
        assert empty.status_code == 400 and "Enter one of your recovery codes" in empty.text
        # typed as people type: upper case, spaces instead of the dash
        typed = codes[0].upper().replace("-", " ")
        ok = await client.post(
            "/sign-in/mfa", data={"recovery_code": typed, "next": "/persons", "csrf_token": token}
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/account/security?changed=recovery-used"
        security = await client.get(ok.headers["location"])
        assert (
            "You signed in with a recovery code" in security.text
            and "You have 9 recovery codes left" in security.text
        )
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in.mfa_recovery_code") == 1
    # the same code never works twice
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        again = await client.post(
            "/sign-in/mfa", data={"recovery_code": codes[0], "csrf_token": csrf_token_of(page.text)}
        )
        assert again.status_code == 400
        # a wrong recovery code counts toward the lockout like a wrong app code
        assert await AuditEvent.count().where(AuditEvent.action.like("%failed%")) >= 2


async def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(user, ctx, db):
    from caseframe.core.auth.tables import RecoveryCode

    codes: list[str] = []
    secret = await _with_mfa(user, codes)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        with clock.travel(30 / 86400):
            await client.post(
                "/sign-in/mfa", data={"code": _code(secret), "csrf_token": csrf_token_of(page.text)}
            )
        security = await client.get("/account/security")
        assert "You have 10 recovery codes left" in security.text
        token = csrf_token_of(security.text)
        assert (
            await client.post("/account/security/recovery-codes", data={"code": _code(secret)})
        ).status_code == 403
        wrong = await client.post(
            "/account/security/recovery-codes", data={"code": "000000", "csrf_token": token}
        )
        assert wrong.status_code == 400 and 'href="#renew-code"' in wrong.text
        assert 'id="renew-code-error"' in wrong.text and 'id="code-error"' not in wrong.text
        with clock.travel(60 / 86400):
            made = await client.post(
                "/account/security/recovery-codes", data={"code": _code(secret), "csrf_token": token}
            )
        assert made.status_code == 200 and "Your old recovery codes no longer work" in made.text
        assert "no-store" in made.headers["cache-control"]
        fresh = _codes_on(made.text)
        assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert await RecoveryCode.count() == 10
    assert await AuditEvent.count().where(AuditEvent.action == "mfa.recovery_codes_renewed") == 1
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        old = await client.post(
            "/sign-in/mfa", data={"recovery_code": codes[1], "csrf_token": csrf_token_of(page.text)}
        )
        assert old.status_code == 400
        new = await client.post(
            "/sign-in/mfa", data={"recovery_code": fresh[1], "csrf_token": csrf_token_of(page.text)}
        )
        assert new.status_code == 303


async def test_turning_off_or_a_reset_removes_the_recovery_codes(agency, user, ctx, db):
    from caseframe.core.auth.tables import RecoveryCode

    await _with_mfa(user)
    admin = await make_user(agency, ("local_admin",), name="Lee Admin")
    assert await RecoveryCode.count().where(RecoveryCode.user == user.id) == 10
    await mfa.reset_for_user(admin, user.id)
    assert await RecoveryCode.count().where(RecoveryCode.user == user.id) == 0
    # set up again: a recovery code of another user does not sign this one in
    other = await make_user(agency, ("caseworker",), name="Other Person")
    theirs: list[str] = []
    await _with_mfa(other, theirs)
    await _with_mfa(user)
    token, actor = await auth.sign_in(user.email, TEST_PASSWORD)
    session_id = await auth.session_id_for_token(token)
    with pytest.raises(ValidationFailed):
        await mfa.verify_sign_in(actor, session_id, theirs[0])


#: six digits as other scripts write them: Python's ``\d`` takes them, ``compare_digest`` raised on them (a 500)
NOT_ASCII_CODES = ("١٢٣٤٥٦", "１２３４５６", "۱۲۳۴۵۶")


async def test_a_code_in_digits_of_another_script_is_refused_at_every_step_not_a_server_error(user, ctx, db):
    """Set-up, the sign-in code page, the API sign-in and turning it off each refuse the code as they refuse a
    wrong one, and nothing changes; found by a hostile-input sweep (each was a 500 with an unhandled TypeError)."""
    async with web_client(ctx, db) as client:
        await sign_in(client, user)
        security = await client.get("/account/security")
        started = await client.post(
            "/account/security/setup/start", data={"csrf_token": csrf_token_of(security.text)}
        )
        setup = await client.get(started.headers["location"])
        for code in NOT_ASCII_CODES:
            r = await client.post(
                "/account/security/setup", data={"code": code, "csrf_token": csrf_token_of(setup.text)}
            )
            assert r.status_code == 400 and 'href="#code"' in r.text, code
        assert not (await User.select(User.mfa_enabled).where(User.id == user.id).first())["mfa_enabled"]
    secret = await _with_mfa(user)
    async with web_client(ctx, db) as client:
        page = await _code_page(client, user)
        # fewer tries than the lockout allows: each is a failed attempt, as a wrong code is
        for code in NOT_ASCII_CODES[:2]:
            r = await client.post("/sign-in/mfa", data={"code": code, "csrf_token": csrf_token_of(page.text)})
            assert r.status_code == 400 and 'href="#code"' in r.text, code
        api = await client.post(
            "/api/v1/session",
            json={"email": user.email, "password": TEST_PASSWORD, "totp": NOT_ASCII_CODES[2]},
        )
        assert api.status_code in (401, 422) and "token" not in api.json()
        assert (await client.get("/")).headers["location"].startswith("/sign-in/mfa")
        with clock.travel(30 / 86400):
            await client.post(
                "/sign-in/mfa", data={"code": _code(secret), "csrf_token": csrf_token_of(page.text)}
            )
        token = csrf_token_of((await client.get("/account/security")).text)
        for code in NOT_ASCII_CODES:
            for path in ("/account/security/disable", "/account/security/recovery-codes"):
                r = await client.post(path, data={"code": code, "csrf_token": token})
                assert r.status_code == 400 and "govuk-error-summary" in r.text, (path, code)
    assert (await User.select(User.mfa_enabled).where(User.id == user.id).first())["mfa_enabled"]
