"""Settings, read from CASEFRAME_* environment variables; one object passed to create_app."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A CASEFRAME_* setting cannot be used; the message names it and says what it must be, in one line."""


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


def _flag_env(name: str, default: bool) -> bool:
    """On or off: 1, true, yes or on; 0, false, no or off (any case); unset or empty is ``default``. Anything else
    stops start-up naming the setting: a security setting typed "enabled" must not quietly mean off."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise SettingsError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), not {raw[:40]!r}")


def _bounded_env(name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; anything else stops start-up naming the setting."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {raw[:40]!r}")
    return int(raw)


def _networks(name: str) -> tuple[IPNetwork, ...]:
    """Comma-separated IP addresses or CIDR ranges (``10.0.0.0/8``); a bad one stops start-up naming it. The word
    ``unix`` (a proxy on a Unix socket) is allowed too, and read by ``_names_unix``."""
    found = []
    for part in os.environ.get(name, "").split(","):
        if part.strip() and part.strip().lower() != "unix":
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise SettingsError(
                    f"{name} must list IP addresses or ranges like 10.0.0.0/8 (or unix), separated by commas; "
                    f"{part.strip()[:60]!r} is neither"
                ) from None
    return tuple(found)


def _names_unix(name: str) -> bool:
    return any(part.strip().lower() == "unix" for part in os.environ.get(name, "").split(","))


def _optional_bounded_env(name: str, low: int, high: int) -> int | None:
    """``_bounded_env``, or None when the setting is not given (the code's own default applies)."""
    return _bounded_env(name, 0, low, high) if os.environ.get(name, "").strip() else None


def _megabytes(name: str, default: int) -> int:
    return _bounded_env(name, default, 1, 4096) * 1024 * 1024


@dataclass
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_DATABASE_URL") or "sqlite:///caseframe.sqlite"
    )
    #: comma-separated plugin names to load; empty loads every built-in and installed plugin
    plugins: str | None = field(default_factory=lambda: os.environ.get("CASEFRAME_PLUGINS"))
    #: plain-HTTP cookies, allowed only for a local demo on localhost
    local_demo: bool = field(default_factory=lambda: _flag_env("CASEFRAME_LOCAL_DEMO", False))
    #: the site's address as users reach it, for links in e-mails
    base_url: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_BASE_URL", "http://localhost:8000")
    )
    #: notification e-mails: off unless a mail server is named
    smtp_host: str = field(default_factory=lambda: os.environ.get("CASEFRAME_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _bounded_env("CASEFRAME_SMTP_PORT", 587, 1, 65535))
    smtp_from: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_SMTP_FROM", "caseframe@localhost")
    )
    #: STARTTLS before sending (on unless CASEFRAME_SMTP_STARTTLS=0)
    smtp_starttls: bool = field(default_factory=lambda: _flag_env("CASEFRAME_SMTP_STARTTLS", True))
    smtp_username: str = field(default_factory=lambda: os.environ.get("CASEFRAME_SMTP_USERNAME", ""))
    smtp_password: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_SMTP_PASSWORD", ""), repr=False
    )
    #: documents on cases: the largest upload, where content is kept (local or s3), and whether a scanner must pass
    documents_max_bytes: int = field(default_factory=lambda: _megabytes("CASEFRAME_DOCUMENTS_MAX_MB", 20))
    documents_store: str = field(default_factory=lambda: os.environ.get("CASEFRAME_DOCUMENTS_STORE", "local"))
    documents_dir: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_DOCUMENTS_DIR") or "documents"
    )
    documents_require_scan: bool = field(
        default_factory=lambda: _flag_env("CASEFRAME_DOCUMENTS_REQUIRE_SCAN", False)
    )
    s3_bucket: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_BUCKET", ""))
    s3_prefix: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_PREFIX", ""))
    s3_endpoint_url: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_ENDPOINT_URL", ""))
    s3_region: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_REGION", ""))
    #: failed sign-ins (passwords and two-step codes, any addresses) one network may make in a window before it
    #: is turned away, and the window's length
    sign_in_source_failures: int = field(
        default_factory=lambda: _bounded_env("CASEFRAME_SIGN_IN_SOURCE_FAILURES", 30, 1, 100_000)
    )
    sign_in_source_window_minutes: int = field(
        default_factory=lambda: _bounded_env("CASEFRAME_SIGN_IN_SOURCE_WINDOW_MINUTES", 15, 1, 1440)
    )
    #: threads hashing passwords, and sign-ins allowed to wait for them before the rest get 429 (core/auth/passwords.py;
    #: None: its defaults, from the cores)
    hash_threads: int | None = field(
        default_factory=lambda: _optional_bounded_env("CASEFRAME_HASH_THREADS", 1, 64)
    )
    hash_queue: int | None = field(
        default_factory=lambda: _optional_bounded_env("CASEFRAME_HASH_QUEUE", 0, 10_000)
    )
    #: reverse proxies whose X-Forwarded-For is believed (core/web/client_address.py); none by default
    trusted_proxies: tuple[IPNetwork, ...] = field(
        default_factory=lambda: _networks("CASEFRAME_TRUSTED_PROXIES")
    )
    #: whether a proxy reaching the server over a Unix socket is one of them ("unix" in the same list)
    trust_unix_socket: bool = field(default_factory=lambda: _names_unix("CASEFRAME_TRUSTED_PROXIES"))
    debug: bool = False
    migrate_on_start: bool = True

    @property
    def session_cookie(self) -> str:
        return "caseframe_session" if self.local_demo else "__Host-caseframe_session"
