"""Shared fixtures: one database per test run (SQLite file, or a PostgreSQL schema), emptied per test."""
from __future__ import annotations

import os
import tempfile

import pytest

from core.testing import drop_database, empty_tables, fresh_database

# the audit sealer's key for every test (and every server a test starts), never a key file in the checkout
os.environ.setdefault("CASEFRAME_AUDIT_KEY", "caseframe-tests-audit-key-not-a-secret-0123456789")
# documents uploaded by tests go to a throwaway folder, never the checkout's documents/
os.environ.setdefault("CASEFRAME_DOCUMENTS_DIR", tempfile.mkdtemp(prefix="caseframe-test-documents-"))


def pytest_collection_modifyitems(config, items):
    """Browser journeys run last, after every async test has finished with its event loop."""
    items.sort(key=lambda item: "tests/e2e/" in str(item.fspath).replace("\\", "/"))


def pytest_report_header(config):
    return f"caseframe test database: {_url() or 'a temporary SQLite file'}"


def _url() -> str | None:
    # tests never touch the named database's own tables: they work in a fresh schema or file
    return os.environ.get("CASEFRAME_TEST_DATABASE_URL") or os.environ.get("CASEFRAME_DATABASE_URL")


@pytest.fixture(scope="session")
async def database():
    url = _url()
    if url and url.startswith("sqlite"):
        url = None  # a SQLite URL means the embedded default: use a throwaway file, not the real one
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
