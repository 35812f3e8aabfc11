"""Caseframe's test fixtures as a pytest plugin, for a plugin's tests (and Caseframe's own).

Load it from the ``conftest.py`` at the top of your project, and name the plugins your tests load::

    pytest_plugins = ["caseframe.testing.pytest_plugin"]

    @pytest.fixture
    def caseframe_plugins():
        import caseframe_noise_nuisance
        return [caseframe_noise_nuisance]

Fixtures (the async ones need pytest-asyncio, ``asyncio_mode = "auto"``; ``caseframe new-area`` sets it):

``database`` (session)
    A throwaway database with every table: ``CASEFRAME_TEST_DATABASE_URL`` (else ``CASEFRAME_DATABASE_URL``)
    if it names a PostgreSQL server, in a schema of its own; otherwise a new SQLite file. Dropped at the end.
``db``
    ``database``, emptied before the test (every row, and the caches of them), the tables pointed at it again if
    an earlier test left them on another.
``caseframe_plugins``
    The plugin modules or objects ``ctx`` loads; none unless you override it.
``caseframe_builtins``
    Whether ``ctx`` also loads Caseframe's built-in areas; False unless you override it. Return True when a rule
    of yours refers into a built-in area (``then = { area = "hate_crime" }``) or a count counts its cases.
``ctx``
    ``make_context(*caseframe_plugins, builtins=caseframe_builtins)``: the plugins loaded and their areas
    checked.
``client``
    An HTTP client (``httpx.AsyncClient``) for the whole web app on ``ctx`` and ``db``; sign it in with
    ``caseframe.testing.sign_in``.

Loading it also gives the tests an audit key and a throwaway documents folder (unless the environment
sets ``CASEFRAME_AUDIT_KEY`` or ``CASEFRAME_DOCUMENTS_DIR``), so nothing is written into the checkout, and hashes
passwords with argon2id at its cheapest (one pass over 8 KiB), not the recommended parameters a deployment uses:
those take a third of a second a hash, and every user a test makes or signs in is one. A server a test starts
in a process of its own hashes as a deployment does.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
from argon2 import PasswordHasher

from caseframe.core.auth import passwords
from caseframe.core.testing import drop_database, empty_tables, fresh_database, make_context, web_client

# argon2id at its cheapest for the tests' own users and sign-ins (see above); still argon2id, still checked
passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

# the audit sealer's key for every test (and every server a test starts), never a key file in the checkout
os.environ.setdefault("CASEFRAME_AUDIT_KEY", "caseframe-tests-audit-key-not-a-secret-0123456789")
# documents uploaded by tests go to a throwaway folder, never the checkout's documents/
# (one per process: pytest-xdist's workers inherit the folder their controller made, and two workers' databases
# number their documents alike, so each worker makes its own)
if os.environ.get("CASEFRAME_DOCUMENTS_DIR", "") == os.environ.get("CASEFRAME_TEST_DOCUMENTS_DIR_MADE", ""):
    os.environ["CASEFRAME_DOCUMENTS_DIR"] = tempfile.mkdtemp(prefix="caseframe-test-documents-")
    os.environ["CASEFRAME_TEST_DOCUMENTS_DIR_MADE"] = os.environ["CASEFRAME_DOCUMENTS_DIR"]


def database_url() -> str | None:
    """The server the tests' database is made on, or None for a SQLite file of their own."""
    url = os.environ.get("CASEFRAME_TEST_DATABASE_URL") or os.environ.get("CASEFRAME_DATABASE_URL")
    if url and url.startswith("sqlite"):
        return None  # a SQLite URL means the embedded default: a throwaway file, never the real one
    return url


def pytest_report_header(config: pytest.Config) -> str:
    return f"caseframe test database: {database_url() or 'a temporary SQLite file'}"


@pytest.fixture(scope="session")
async def database():
    url = database_url()
    try:
        engine = await fresh_database(url)
    except Exception as exc:
        pytest.exit(f"cannot prepare the test database {url or '(SQLite)'}: {exc}", returncode=3)
    yield engine
    await drop_database(engine)


@pytest.fixture
async def db(database):
    import caseframe.core.db.piccolo_conf as conf
    from caseframe.core.db.engine import bind

    if conf.DB is not database:
        # an earlier test pointed the tables at another database and left them there (an app or a command on a
        # database of its own puts back what it replaced when it ends; a test that bind()s one itself may not):
        # the PostgreSQL suite then ran later tests on a SQLite file, skipping or passing as SQLite would,
        # depending on which tests a worker happened to take first
        bind(database)
    await empty_tables()
    yield database


@pytest.fixture
def caseframe_plugins() -> list[Any]:
    return []


@pytest.fixture
def caseframe_builtins() -> bool:
    return False


@pytest.fixture
def ctx(caseframe_plugins, caseframe_builtins):
    return make_context(*caseframe_plugins, builtins=caseframe_builtins)


@pytest.fixture
async def client(db, ctx):
    async with web_client(ctx, db) as c:
        yield c
