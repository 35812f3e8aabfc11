"""Shared fixtures: one database per test run (SQLite file, or a PostgreSQL schema), emptied per test."""
from __future__ import annotations

import os

import pytest

from core.testing import drop_database, empty_tables, fresh_database


def pytest_report_header(config):
    url = os.environ.get("CASEFRAME_TEST_DATABASE_URL") or "a temporary SQLite file"
    return f"caseframe test database: {url}"


@pytest.fixture(scope="session")
async def database():
    url = os.environ.get("CASEFRAME_TEST_DATABASE_URL")
    try:
        engine = await fresh_database(url)
    except Exception as exc:
        pytest.exit(f"cannot prepare the test database {url or '(SQLite)'}: {exc}", returncode=3)
    yield engine
    await drop_database(engine)


@pytest.fixture
async def db(database):
    await empty_tables()
    yield database
