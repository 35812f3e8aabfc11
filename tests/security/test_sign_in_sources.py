"""Password spraying from one network: one client trying a guess at many addresses (one each, so no address's
lockout is ever reached) is refused once its network has used up its window's failed tries, before any password
is hashed and without counting against the address. The network is the client's IPv4 address or IPv6 /64, read
from X-Forwarded-For only when the direct peer is a trusted proxy (core/web/client_address.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json

import httpx
import pyotp
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import mfa, passwords
from caseframe.core.auth import service as auth
from caseframe.core.auth.tables import SignInThrottle, User
from caseframe.core.cli import main
from caseframe.core.settings import Settings, SettingsError
from caseframe.core.testing import TEST_PASSWORD, csrf_token_of, make_agency, make_context, make_user, sign_in
from caseframe.core.web.app import create_app
from caseframe.core.web.client_address import UNKNOWN_SOURCE, client_address, source_of

WRONG = "wrong password 123"
NETWORK_WORDS = "Too many attempts to sign in from your network. Try again in"


@pytest.fixture
def ctx():
    return make_context()


@pytest.fixture
async def user(db, ctx):
    return await make_user(await make_agency(ctx, "ashdown-council"), ("caseworker",), name="Casey Morgan")


@pytest.fixture(autouse=True)
def limits(monkeypatch):
    """Each test's apps set the limit (create_app configures it); the default object comes back afterwards."""
    monkeypatch.setattr(auth, "SOURCE_LIMIT", auth.SourceLimit())


@pytest.fixture
def checked(monkeypatch):
    """How many passwords were really checked (argon2 verifications run)."""
    calls = []
    real = passwords._verify

    def counting(stored, password):
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    return calls


def _without_client(app):
    """The app as an ASGI server on a Unix socket runs it: the scope names no client."""

    async def on_socket(scope, receive, send):
        await app({**scope, "client": None}, receive, send)

    return on_socket


@contextlib.asynccontextmanager
async def client_from(ctx, db, peer: str | None, *, failures: int = 30, trusted: str = ""):
    """A client of the whole app whose connection comes from ``peer`` (None: a Unix socket, no address), with
    the per-source limit ``failures``."""
    names = [t.strip() for t in trusted.split(",") if t.strip()]
    settings = Settings(
        local_demo=True,
        database_url="sqlite:///unused.sqlite",
        sign_in_source_failures=failures,
        trusted_proxies=tuple(ipaddress.ip_network(t) for t in names if t != "unix"),
        trust_unix_socket="unix" in names,
    )
    app = create_app(settings, ctx=ctx, engine=db)
    transport = (
        httpx.ASGITransport(app=app, client=(peer, 40000))
        if peer is not None
        else httpx.ASGITransport(app=_without_client(app))
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def _api(client, email: str, password: str = WRONG, **headers):
    return await client.post("/api/v1/session", json={"email": email, "password": password}, headers=headers)


async def _failures_under(key: str) -> int:
    row = await SignInThrottle.select(SignInThrottle.failures).where(SignInThrottle.key == key).first()
    return row["failures"] if row else 0


async def _source_failures(source: str) -> int:
    return await _failures_under(auth._source_key(source))


async def _address_failures(email: str) -> int:
    """The failures counted against an address (``test_sign_in_races`` reads them the same way)."""
    return await _failures_under(auth._throttle_key(email))


def _refused(response) -> bool:
    return (
        response.status_code == 429
        and int(response.headers["retry-after"]) > 0
        and NETWORK_WORDS in response.text
    )


async def test_spraying_31_addresses_from_one_address_is_refused_at_the_31st_before_hashing(
    user, ctx, db, checked
):
    async with client_from(ctx, db, "203.0.113.7") as sprayer, client_from(ctx, db, "198.51.100.9") as other:
        for n in range(30):
            assert (await _api(sprayer, f"person{n}@ashdown-council.example")).status_code == 401
        assert len(checked) == 30
        refused = await _api(sprayer, "person30@ashdown-council.example")
        assert _refused(refused), refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 14 * 60 < int(refused.headers["retry-after"]) <= 15 * 60 + 1
        assert refused.json()["detail"] == f"{NETWORK_WORDS} 15 minutes."
        # not hashed, and not counted against the address either
        assert len(checked) == 30
        assert await _address_failures("person30@ashdown-council.example") == 0
        # even the right password is refused from that network, and not checked
        assert _refused(await _api(sprayer, user.email, TEST_PASSWORD))
        assert len(checked) == 30 and await _address_failures(user.email) == 0
        # another network is not affected
        assert (await _api(other, "person30@ashdown-council.example")).status_code == 401
        assert (await _api(other, user.email, TEST_PASSWORD)).status_code == 201
    assert await _source_failures("203.0.113.7") == 30
    assert await _source_failures("198.51.100.9") == 1


async def test_the_sign_in_page_says_so_with_429_and_retry_after(ctx, db, checked):
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        token = csrf_token_of((await client.get("/sign-in")).text)
        responses = [
            await client.post(
                "/sign-in",
                data={"email": f"person{n}@ashdown-council.example", "password": WRONG, "csrf_token": token},
            )
            for n in range(4)
        ]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    page = responses[-1]
    assert _refused(page) and "govuk-error-summary" in page.text
    assert f"{NETWORK_WORDS} 15 minutes." in page.text
    assert len(checked) == 3


async def test_addresses_in_one_ipv6_64_share_a_count(ctx, db):
    async with contextlib.AsyncExitStack() as stack:
        same = [
            await stack.enter_async_context(client_from(ctx, db, peer, failures=3))
            for peer in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa:bbbb:cccc:dddd")
        ]
        for n, client in enumerate(same):
            assert (await _api(client, f"person{n}@ashdown-council.example")).status_code == 401
        neighbour = await stack.enter_async_context(client_from(ctx, db, "2001:db8:1:2:ffff::9", failures=3))
        assert _refused(await _api(neighbour, "person9@ashdown-council.example"))
        next_network = await stack.enter_async_context(client_from(ctx, db, "2001:db8:1:3::1", failures=3))
        assert (await _api(next_network, "person9@ashdown-council.example")).status_code == 401
    assert await _source_failures("2001:db8:1:2::/64") == 3


async def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(ctx, db, checked):
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        for n in range(3):
            spoofed = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
            assert (await _api(client, f"person{n}@ashdown-council.example", **spoofed)).status_code == 401
        assert _refused(
            await _api(client, "person9@ashdown-council.example", **{"X-Forwarded-For": "192.0.2.99"})
        )
    assert len(checked) == 3
    assert await _source_failures("203.0.113.7") == 3
    assert await _source_failures("192.0.2.1") == 0


async def test_behind_a_trusted_proxy_the_forwarded_client_counts(ctx, db):
    async with client_from(ctx, db, "10.0.0.5", failures=3, trusted="10.0.0.0/8") as proxy:
        for n in range(3):
            # the client wrote the left-most entry itself: only the right-most untrusted one is believed
            forwarded = {"X-Forwarded-For": f"192.0.2.{n + 1}, 203.0.113.50, 10.0.0.7"}
            assert (await _api(proxy, f"person{n}@ashdown-council.example", **forwarded)).status_code == 401
        assert _refused(
            await _api(proxy, "person9@ashdown-council.example", **{"X-Forwarded-For": "203.0.113.50"})
        )
        # someone else behind the same proxy is not affected
        other = {"X-Forwarded-For": "198.51.100.3"}
        assert (await _api(proxy, "person9@ashdown-council.example", **other)).status_code == 401
    assert await _source_failures("203.0.113.50") == 3
    assert await _source_failures("10.0.0.5") == 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "source"),
    [
        ("203.0.113.7", ["192.0.2.1"], [], "203.0.113.7"),
        ("10.0.0.5", ["192.0.2.1, 203.0.113.50"], ["10.0.0.0/8"], "203.0.113.50"),
        ("10.0.0.5", ["192.0.2.1", "203.0.113.50, 10.0.0.6"], ["10.0.0.0/8"], "203.0.113.50"),
        ("10.0.0.5", ["10.0.0.9"], ["10.0.0.0/8"], "10.0.0.9"),  # every hop trusted: the first
        ("10.0.0.5", ["not an address, [2001:db8::7]:443"], ["10.0.0.0/8"], "2001:db8::/64"),
        ("10.0.0.5", ["192.0.2.1, rubbish"], ["10.0.0.0/8"], "10.0.0.5"),
        ("10.0.0.5", [], ["10.0.0.0/8"], "10.0.0.5"),
        ("::ffff:203.0.113.7", [], [], "203.0.113.7"),
    ],
)
def test_the_client_address(peer, forwarded, trusted, source):
    networks = [ipaddress.ip_network(t) for t in trusted]
    assert source_of(client_address(peer, forwarded, networks)) == source


def test_a_peer_without_an_ip_address_has_no_address_unless_its_socket_is_trusted():
    everything = [ipaddress.ip_network("0.0.0.0/0")]
    assert client_address(None, ["203.0.113.7"], everything) is None
    assert client_address(None, [], everything, trust_unix_socket=True) is None
    assert client_address(
        None, ["192.0.2.1, 203.0.113.7"], [], trust_unix_socket=True
    ) == ipaddress.ip_address("203.0.113.7")
    # behind the socket's proxy, further trusted proxies are passed over as with any trusted peer
    chain = ["192.0.2.1, 203.0.113.7, 10.0.0.7"]
    assert client_address(
        None, chain, [ipaddress.ip_network("10.0.0.0/8")], trust_unix_socket=True
    ) == ipaddress.ip_address("203.0.113.7")


async def test_requests_without_an_ip_address_are_one_network_and_limited(user, ctx, db, checked):
    """A server on a Unix socket (or any ASGI server giving no client) must not be a way round the limit."""
    async with client_from(ctx, db, None, failures=3) as socket:
        for n in range(3):
            assert (await _api(socket, f"person{n}@ashdown-council.example")).status_code == 401
        # X-Forwarded-For from an untrusted socket is ignored like any other untrusted peer's
        spoofed = {"X-Forwarded-For": "192.0.2.44"}
        assert _refused(await _api(socket, "person9@ashdown-council.example", **spoofed))
        token = csrf_token_of((await socket.get("/sign-in")).text)
        page = await socket.post(
            "/sign-in", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
        )
        assert _refused(page) and "govuk-error-summary" in page.text
    assert len(checked) == 3
    assert await _source_failures(UNKNOWN_SOURCE) == 3
    events = await AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action == "auth.sign_in_source_locked"
    )
    assert len(events) == 1
    detail = events[0]["detail"]
    assert (detail if isinstance(detail, dict) else json.loads(detail))["network"] == UNKNOWN_SOURCE


async def test_a_proxy_on_a_trusted_unix_socket_forwards_its_clients(ctx, db):
    async with client_from(ctx, db, None, failures=3, trusted="unix") as proxy:
        for n in range(3):
            forwarded = {"X-Forwarded-For": f"192.0.2.{n + 1}, 203.0.113.50"}
            assert (await _api(proxy, f"person{n}@ashdown-council.example", **forwarded)).status_code == 401
        assert _refused(
            await _api(proxy, "person9@ashdown-council.example", **{"X-Forwarded-For": "203.0.113.50"})
        )
        other = {"X-Forwarded-For": "198.51.100.3"}
        assert (await _api(proxy, "person9@ashdown-council.example", **other)).status_code == 401
        # a request the proxy forwarded without the header is still limited, as the unknown network
        assert (await _api(proxy, "person9@ashdown-council.example")).status_code == 401
    assert await _source_failures("203.0.113.50") == 3
    assert await _source_failures(UNKNOWN_SOURCE) == 1


async def test_tries_at_once_never_pass_the_limit(ctx, db, checked, monkeypatch):
    monkeypatch.setattr(passwords, "HASH_QUEUE", 100)  # all of them reach the count, none is shed as busy
    async with client_from(ctx, db, "203.0.113.7", failures=10) as client:
        responses = await asyncio.gather(
            *[_api(client, f"person{n}@ashdown-council.example") for n in range(24)]
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 10 + [429] * 14, statuses
    assert all(_refused(r) for r in responses if r.status_code == 429)
    assert len(checked) == 10
    assert await _source_failures("203.0.113.7") == 10
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_source_locked") == 1


async def test_a_right_password_is_not_a_failure_and_clears_nothing(user, ctx, db):
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        for n in range(2):
            assert (await _api(client, f"person{n}@ashdown-council.example")).status_code == 401
        assert (await _api(client, user.email, TEST_PASSWORD)).status_code == 201
        assert await _source_failures("203.0.113.7") == 2
        assert (await _api(client, "person2@ashdown-council.example")).status_code == 401
        assert _refused(await _api(client, user.email, TEST_PASSWORD))


async def test_the_window_ends_and_old_windows_are_deleted(ctx, db):
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        for n in range(3):
            await _api(client, f"person{n}@ashdown-council.example")
        with clock.travel(14 / 1440):
            assert _refused(await _api(client, "person9@ashdown-council.example"))
        with clock.travel(15.1 / 1440):
            assert (await _api(client, "person9@ashdown-council.example")).status_code == 401
            assert await _source_failures("203.0.113.7") == 1
    async with client_from(ctx, db, "198.51.100.9", failures=3) as other:
        with clock.travel(31 / 1440):
            assert (await _api(other, "person9@ashdown-council.example")).status_code == 401
    # the first network's window is over: starting the second's deleted its row; addresses' rows stay
    sources = await SignInThrottle.select(SignInThrottle.key).where(SignInThrottle.kind == "source")
    assert [r["key"] for r in sources] == [auth._source_key("198.51.100.9")]
    assert await _address_failures("person0@ashdown-council.example") == 1


async def test_the_lock_is_audited_once_without_the_address(ctx, db):
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        for n in range(8):
            await _api(client, f"person{n}@ashdown-council.example")
    events = await AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action == "auth.sign_in_source_locked"
    )
    assert len(events) == 1
    detail = events[0]["detail"]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail["network"] == "203.0.113.0/24" and detail["failures"] == 3
    assert detail["source_hash"] == auth._source_key("203.0.113.7")[:16]
    assert "203.0.113.7" not in str(detail)
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_failed") == 3


async def test_two_step_codes_count_for_the_network(user, ctx, db):
    seconds = clock.now().timestamp() % 30
    with clock.travel((1 - seconds) / 86400):  # a second into a time step, so the right code stays right
        secret = await mfa.begin_setup(user)
        totp = pyotp.TOTP(secret)
        await mfa.confirm_setup(user, totp.generate_otp(totp.timecode(clock.now())))
        right = totp.generate_otp(totp.timecode(clock.now()) + 1)
        async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
            page = await client.get("/sign-in")
            signed = await client.post(
                "/sign-in",
                data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_of(page.text)},
            )
            assert signed.status_code == 303
            token = csrf_token_of((await client.get("/sign-in/mfa")).text)
            wrongs = [c for c in ("000000", "111111", "222222", "333333") if c != right][:3]
            for code in wrongs:
                wrong = await client.post("/sign-in/mfa", data={"code": code, "csrf_token": token})
                assert wrong.status_code == 400
            refused = await client.post("/sign-in/mfa", data={"code": right, "csrf_token": token})
            assert _refused(refused) and "govuk-error-summary" in refused.text
    # the password's try was taken back; the three codes count, below the address's own lockout
    assert await _source_failures("203.0.113.7") == 3
    assert await _address_failures(user.email) == 3


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (
            "CASEFRAME_SIGN_IN_SOURCE_FAILURES",
            "lots",
            "CASEFRAME_SIGN_IN_SOURCE_FAILURES must be a whole number",
        ),
        ("CASEFRAME_SIGN_IN_SOURCE_FAILURES", "0", "from 1 to 100000, not '0'"),
        ("CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES", "-5", "CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES must be"),
        ("CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES", "2000", "from 1 to 1440"),
        ("CASEFRAME_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal", "'proxy.internal' is neither"),
        ("CASEFRAME_HASH_THREADS", "lots", "CASEFRAME_HASH_THREADS must be a whole number from 1 to 64"),
        ("CASEFRAME_HASH_THREADS", "0", "from 1 to 64, not '0'"),
        ("CASEFRAME_HASH_QUEUE", "-1", "CASEFRAME_HASH_QUEUE must be a whole number from 0 to 10000"),
        # a security setting typed another way quietly meant off (uploads stored unscanned): it stops start-up now
        ("CASEFRAME_DOCUMENTS_REQUIRE_SCAN", "enabled", "CASEFRAME_DOCUMENTS_REQUIRE_SCAN must be 1 or 0"),
        ("CASEFRAME_LOCAL_DEMO", "please", "CASEFRAME_LOCAL_DEMO must be 1 or 0"),
        ("CASEFRAME_SMTP_STARTTLS", "maybe", "CASEFRAME_SMTP_STARTTLS must be 1 or 0"),
        # these quietly became their defaults
        (
            "CASEFRAME_DOCUMENTS_MAX_MB",
            "abc",
            "CASEFRAME_DOCUMENTS_MAX_MB must be a whole number from 1 to 4096",
        ),
        ("CASEFRAME_DOCUMENTS_MAX_MB", "5000", "from 1 to 4096, not '5000'"),
        ("CASEFRAME_SMTP_PORT", "99999", "CASEFRAME_SMTP_PORT must be a whole number from 1 to 65535"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(monkeypatch, capsys, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words):
        Settings()
    assert main(["serve", "--port", "8765"]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes", "on"])
def test_a_flag_is_on_whichever_way_it_is_written(monkeypatch, value):
    """CASEFRAME_DOCUMENTS_REQUIRE_SCAN=true stored uploads unscanned: only 1 meant on."""
    monkeypatch.setenv("CASEFRAME_DOCUMENTS_REQUIRE_SCAN", value)
    assert Settings().documents_require_scan is True
    monkeypatch.setenv(
        "CASEFRAME_DOCUMENTS_REQUIRE_SCAN",
        value.replace("1", "0")
        .replace("true", "false")
        .replace("TRUE", "FALSE")
        .replace("yes", "no")
        .replace("on", "off"),
    )
    assert Settings().documents_require_scan is False


def test_the_settings_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CASEFRAME_SIGN_IN_SOURCE_FAILURES", "50")
    monkeypatch.setenv("CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES", "60")
    monkeypatch.setenv("CASEFRAME_TRUSTED_PROXIES", " 10.0.0.0/8 ,2001:db8::1,")
    settings = Settings()
    assert (settings.sign_in_source_failures, settings.sign_in_source_window_minutes) == (50, 60)
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::1"),
    )
    assert not settings.trust_unix_socket
    monkeypatch.setenv("CASEFRAME_TRUSTED_PROXIES", "unix, 10.0.0.0/8")
    assert Settings().trust_unix_socket and Settings().trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
    )
    monkeypatch.delenv("CASEFRAME_SIGN_IN_SOURCE_FAILURES")
    monkeypatch.delenv("CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES")
    monkeypatch.delenv("CASEFRAME_TRUSTED_PROXIES")
    assert (Settings().sign_in_source_failures, Settings().sign_in_source_window_minutes) == (30, 15)
    assert Settings().trusted_proxies == ()


async def _signed_in_with_two_steps(client, user) -> str:
    """Sign ``client`` in as ``user``, then turn two-step verification on for them; the session's CSRF token."""
    token = await sign_in(client, user)
    secret = await mfa.begin_setup(user)
    totp = pyotp.TOTP(secret)
    await mfa.confirm_setup(user, totp.generate_otp(totp.timecode(clock.now())))
    return token


SECRET_TRIES = {
    "password": (
        "/account/password",
        lambda n: {
            "current_password": f"{WRONG} {n}",
            "new_password": "lantern orchard pebble 7",
            "confirm_password": "lantern orchard pebble 7",
        },
    ),
    "disable": ("/account/security/disable", lambda n: {"code": f"{n:06d}"}),
    "renew": ("/account/security/recovery-codes", lambda n: {"code": f"{n:06d}"}),
}


@pytest.mark.parametrize("secret", list(SECRET_TRIES))
async def test_signed_in_secret_tries_at_once_count_for_the_network(
    user, ctx, db, checked, monkeypatch, secret
):
    """A current password (changing it) or a two-step code (turning it off, new recovery codes) guessed in
    parallel through a signed-in session: the network's limit holds, each try decided under the row lock before
    it is checked, and the network is then refused everywhere, sign-in included."""
    monkeypatch.setattr(passwords, "HASH_QUEUE", 100)  # all of them reach the count, none is shed as busy
    other = await make_user(await make_agency(ctx, "borough-police"), ("caseworker",), name="Robin Other")
    url, form = SECRET_TRIES[secret]
    async with client_from(ctx, db, "203.0.113.7", failures=3) as client:
        token = await (
            sign_in(client, user) if secret == "password" else _signed_in_with_two_steps(client, user)
        )
        before = len(checked)
        totp = (await User.select(User.totp_secret).where(User.id == user.id).first())["totp_secret"]
        wrong = [
            n for n in range(40) if secret == "password" or mfa.matching_step(totp, f"{n:06d}", 0) is None
        ]
        responses = await asyncio.gather(
            *[client.post(url, data={**form(n), "csrf_token": token}) for n in wrong[:12]]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [400] * 3 + [429] * 9, statuses
        refused = [r for r in responses if r.status_code == 429]
        assert all(_refused(r) and "govuk-error-summary" in r.text for r in refused)
        assert len(checked) - before == (3 if secret == "password" else 0)
        # the network is refused at sign-in too, for another account, before its password is hashed
        assert _refused(await _api(client, other.email, TEST_PASSWORD))
    assert await _source_failures("203.0.113.7") == 3
    assert await _address_failures(user.email) == 3  # below the address's own lockout
    assert await AuditEvent.count().where(AuditEvent.action == "auth.sign_in_source_locked") == 1
    row = await User.select(User.mfa_enabled, User.password_hash).where(User.id == user.id).first()
    assert row["mfa_enabled"] == (secret != "password")
    assert await passwords.verify_password(row["password_hash"], TEST_PASSWORD)


def test_the_hashing_pool_is_sized_by_its_settings(monkeypatch):
    """create_app configures the pool through auth.configure, as for the per-source limit."""
    for name in ("HASH_THREADS", "HASH_QUEUE", "_pool"):
        monkeypatch.setattr(passwords, name, getattr(passwords, name))  # put back after the test
    default = (passwords.HASH_THREADS, passwords.HASH_QUEUE)
    assert (Settings().hash_threads, Settings().hash_queue) == (None, None)
    auth.configure(Settings())
    assert default == (passwords.HASH_THREADS, passwords.HASH_QUEUE)  # unset: the defaults stand
    monkeypatch.setenv("CASEFRAME_HASH_THREADS", "3")
    monkeypatch.setenv("CASEFRAME_HASH_QUEUE", "5")
    auth.configure(Settings())
    assert (passwords.HASH_THREADS, passwords.HASH_QUEUE, passwords._pool._max_workers) == (3, 5, 3)
