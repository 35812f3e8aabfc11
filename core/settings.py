"""Settings, read from CASEFRAME_* environment variables; one object passed to create_app."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else default


def _megabytes(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    value = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 4096 else default
    return value * 1024 * 1024


@dataclass
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_DATABASE_URL") or "sqlite:///caseframe.sqlite"
    )
    #: comma-separated plugin names to load; empty loads every built-in and installed plugin
    plugins: str | None = field(default_factory=lambda: os.environ.get("CASEFRAME_PLUGINS"))
    #: plain-HTTP cookies, allowed only for a local demo on localhost
    local_demo: bool = field(default_factory=lambda: os.environ.get("CASEFRAME_LOCAL_DEMO", "") == "1")
    #: the site's address as users reach it, for links in e-mails
    base_url: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_BASE_URL", "http://localhost:8000")
    )
    #: notification e-mails: off unless a mail server is named
    smtp_host: str = field(default_factory=lambda: os.environ.get("CASEFRAME_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _int_env("CASEFRAME_SMTP_PORT", 587))
    smtp_from: str = field(
        default_factory=lambda: os.environ.get("CASEFRAME_SMTP_FROM", "caseframe@localhost")
    )
    #: STARTTLS before sending (on unless CASEFRAME_SMTP_STARTTLS=0)
    smtp_starttls: bool = field(default_factory=lambda: os.environ.get("CASEFRAME_SMTP_STARTTLS", "1") != "0")
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
        default_factory=lambda: os.environ.get("CASEFRAME_DOCUMENTS_REQUIRE_SCAN", "") == "1"
    )
    s3_bucket: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_BUCKET", ""))
    s3_prefix: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_PREFIX", ""))
    s3_endpoint_url: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_ENDPOINT_URL", ""))
    s3_region: str = field(default_factory=lambda: os.environ.get("CASEFRAME_S3_REGION", ""))
    debug: bool = False
    migrate_on_start: bool = True

    @property
    def session_cookie(self) -> str:
        return "caseframe_session" if self.local_demo else "__Host-caseframe_session"
