"""Settings, read from CASEFRAME_* environment variables; one object passed to create_app."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("CASEFRAME_DATABASE_URL")
                              or "sqlite:///caseframe.sqlite")
    #: comma-separated plugin names to load; empty loads every built-in and installed plugin
    plugins: str | None = field(default_factory=lambda: os.environ.get("CASEFRAME_PLUGINS"))
    #: plain-HTTP cookies, allowed only for a local demo on localhost
    local_demo: bool = field(default_factory=lambda: os.environ.get("CASEFRAME_LOCAL_DEMO", "") == "1")
    debug: bool = False
    migrate_on_start: bool = True

    @property
    def session_cookie(self) -> str:
        return "caseframe_session" if self.local_demo else "__Host-caseframe_session"
