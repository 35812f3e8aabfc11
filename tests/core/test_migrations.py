"""Migrations, as an operator meets them: the database they build is the one the table definitions
(core/*/tables.py) describe, on SQLite and PostgreSQL; a database the previous release migrated upgrades with its
rows intact; a migration that fails is named, rolled back and stops the command (never a hang)."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import caseframe.core.db.piccolo_app as piccolo_app
from caseframe.core.db.engine import MigrationError, bind, close, engine_from_url, is_sqlite, migrate
from caseframe.core.db.piccolo_app import TABLES
from caseframe.core.testing import use_new_schema

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "core/db/migrations"

#: the last migration of the release before this one: a database it built must upgrade cleanly
PREVIOUS_HEAD = "2026-12-05T06:10:00:000000"

#: what migrations make that a Piccolo table definition cannot say (each must exist, so the list cannot rot):
#: the full-text index of name words (SQLite's FTS5 table and its shadow tables, PostgreSQL's trigram index),
#: the person search's postings of name words by agency (kept by triggers), indexes on two columns, and the audit
#: sequence's unique index (SQLite cannot add a UNIQUE column)
MIGRATION_ONLY = {
    "sqlite": {
        "table cf_name_word_fts",
        "table cf_name_word_fts_config",
        "table cf_name_word_fts_content",
        "table cf_name_word_fts_data",
        "table cf_name_word_fts_docsize",
        "table cf_name_word_fts_idx",
        "table cf_name_vocabulary",
        "table cf_name_posting",
        # live minutes' news for the other server processes on the file (core/panels/live.py); PostgreSQL NOTIFYs
        "table cf_live_news",
        # partial indexes of case views (core/cases/service.py viewers_of, core/dashboards/my_work.py): SQLite's
        # index list does not say the condition, PostgreSQL's does
        "index cf_audit (actor_id, id)",
        "index cf_audit (object_id, id)",
    },
    "postgresql": {
        "index cf_name_word gin (word gin_trgm_ops)",
        "table cf_name_vocabulary",
        "table cf_name_posting",
        "index cf_audit (actor_id, id) WHERE ((action)::text = 'case.view'::text)",
        "index cf_audit (object_id, id) WHERE (((action)::text = 'case.view'::text) AND "
        "((object_type)::text = 'case'::text))",
        # the sealer's read of the events not sealed yet (core/audit/service.py unsealed_query), PostgreSQL only
        "index cf_audit (id) WHERE (seq IS NULL)",
    },
}
COMPOSITE_INDEXES = {
    "index cf_case (lead_officer, updated_at)",
    "index cf_case_event (case, id)",
    "index cf_referral (from_case, id)",
    "index cf_task (case, id)",
    "index cf_task (owner_agency, status, due_date)",
    "index cf_notification (agency, id)",
    "index cf_notification (recipient, id)",
    "index cf_notification_read (reader, notification)",
    "index cf_person_name_word (person, word)",
    "index cf_person_name_word (word, person)",
    "index cf_rule_firing (case, rule_id)",
    "unique index cf_audit (seq)",
}


def _postgres_url() -> str | None:
    url = os.environ.get("CASEFRAME_TEST_DATABASE_URL") or os.environ.get("CASEFRAME_DATABASE_URL") or ""
    return url if url.startswith(("postgres://", "postgresql://")) else None


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                _postgres_url() is None, reason="CASEFRAME_TEST_DATABASE_URL names no PostgreSQL server"
            ),
        ],
    ),
]


@pytest.fixture
async def scratch(database):
    """Makes empty databases of the backend asked for (a SQLite file, a PostgreSQL schema); drops them after and
    points the tables back at the test run's database."""
    made = []

    async def make(backend: str):
        if backend == "sqlite":
            engine = engine_from_url(
                f"sqlite:///{Path(tempfile.mkdtemp(prefix='cf-migrations-')) / 'db.sqlite'}"
            )
        else:
            engine = engine_from_url(_postgres_url())
            await use_new_schema(engine, "cf_mig")
        made.append(engine)
        return engine

    yield make
    for engine in made:
        await close(engine)
        if is_sqlite(engine):
            Path(engine.path).unlink(missing_ok=True)
        else:
            import asyncpg

            con = await asyncpg.connect(engine.config["dsn"], timeout=5)
            try:
                await con.execute(
                    f'DROP SCHEMA IF EXISTS "{engine.config["server_settings"]["search_path"]}" CASCADE'
                )
            finally:
                await con.close()
    bind(database)


async def _from_table_definitions(engine) -> None:
    bind(engine)
    for table in TABLES:
        await table.create_table()
    await close(engine)


def _sqlite_schema(path: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cf_%'")
        ]
        for table in tables:
            facts[f"table {table}"] = "exists"
            for _, name, kind, notnull, default, pk in con.execute(f"PRAGMA table_info('{table}')"):
                facts[f"column {table}.{name}"] = (
                    f"{kind} {'NOT NULL' if notnull else 'NULL'} default {default}"
                    f"{' primary key' if pk else ''}"
                )
            for _, name, unique, _origin, *_ in con.execute(f"PRAGMA index_list('{table}')"):
                columns = ", ".join(r[2] for r in con.execute(f"PRAGMA index_info('{name}')"))
                facts[f"{'unique ' if unique else ''}index {table} ({columns})"] = "exists"
            for _, _, parent, column, to, on_update, on_delete, _ in con.execute(
                f"PRAGMA foreign_key_list('{table}')"
            ):
                facts[f"foreign key {table}.{column}"] = (
                    f"{parent}({to}) on update {on_update} on delete {on_delete}"
                )
    finally:
        con.close()
    return facts


async def _postgres_schema(engine) -> dict[str, str]:
    import asyncpg

    schema = engine.config["server_settings"]["search_path"]
    con = await asyncpg.connect(engine.config["dsn"], timeout=5, server_settings={"search_path": schema})

    def bare(text: str | None) -> str:
        # names from our schema or the extensions' (public) as the tables' own search path shows them
        return str(text).replace(f'"{schema}".', "").replace(f"{schema}.", "").replace("public.", "")

    facts: dict[str, str] = {}
    try:
        for r in await con.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
            "AND table_name LIKE 'cf\\_%'",
            schema,
        ):
            facts[f"table {r['table_name']}"] = "exists"
        for r in await con.fetch(
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = $1 AND table_name LIKE 'cf\\_%'",
            schema,
        ):
            length = f"({r['character_maximum_length']})" if r["character_maximum_length"] else ""
            facts[f"column {r['table_name']}.{r['column_name']}"] = (
                f"{r['data_type']}{length} {'NULL' if r['is_nullable'] == 'YES' else 'NOT NULL'} "
                f"default {bare(r['column_default'])}"
            )
        for r in await con.fetch(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename LIKE 'cf\\_%'",
            schema,
        ):
            found = re.match(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ USING (\w+) \((.*)\)$", bare(r["indexdef"]))
            assert found, r["indexdef"]
            unique, method, columns = found.groups()
            method = "" if method == "btree" else f"{method} "
            facts[
                f"{'unique ' if unique else ''}index {r['tablename']} {method}({columns.replace(chr(34), '')})"
            ] = "exists"
        for r in await con.fetch(
            "SELECT c.conrelid::regclass::text AS tbl, a.attname, pg_get_constraintdef(c.oid) AS def "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.connamespace = $1::regnamespace",
            schema,
        ):
            facts[f"foreign key {bare(r['tbl'])}.{r['attname']}"] = bare(r["def"])
    finally:
        await con.close()
    return facts


async def _schema(engine) -> dict[str, str]:
    return _sqlite_schema(engine.path) if is_sqlite(engine) else await _postgres_schema(engine)


def _differences(migrated: dict[str, str], declared: dict[str, str], backend: str) -> list[str]:
    extras = MIGRATION_ONLY[backend] | COMPOSITE_INDEXES
    extra_tables = {key.split()[1] for key in extras if key.startswith("table ")}
    lines = []
    for key in sorted(set(migrated) | set(declared)):
        table = re.sub(r"^(unique )?(table|column|index|foreign key) ", "", key).split(".")[0].split(" ")[0]
        if key in extras or table in extra_tables:
            continue
        built, said = migrated.get(key, "missing"), declared.get(key, "missing")
        if built != said:
            lines.append(f"  {key}: the migrations build {built!r}, the table definitions say {said!r}")
    lines += [
        f"  {key}: listed as made by migrations only, but they do not make it"
        for key in sorted(extras - set(migrated))
    ]
    return lines


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_migrations_build_what_the_table_definitions_describe(scratch, backend):
    migrated, declared = await scratch(backend), await scratch(backend)
    await migrate(migrated)
    await _from_table_definitions(declared)
    differences = _differences(await _schema(migrated), await _schema(declared), backend)
    assert not differences, (
        "the database the migrations build differs from core/*/tables.py; write a migration "
        "(core/db/migrations) that brings them level:\n" + "\n".join(differences)
    )


def test_the_comparison_names_each_difference():
    migrated = {"column cf_x.a": "DATE NOT NULL default None", "index cf_x (a)": "exists"}
    declared = {
        "column cf_x.a": "DATE NOT NULL default CURRENT_DATE",
        "column cf_x.b": "TEXT NULL default None",
    }
    lines = _differences({**migrated, "unique index cf_audit (seq)": "exists"}, declared, "sqlite")
    assert lines[:3] == [
        "  column cf_x.a: the migrations build 'DATE NOT NULL default None', the table definitions say "
        "'DATE NOT NULL default CURRENT_DATE'",
        "  column cf_x.b: the migrations build 'missing', the table definitions say 'TEXT NULL default None'",
        "  index cf_x (a): the migrations build 'exists', the table definitions say 'missing'",
    ]
    assert (
        "  index cf_notification (agency, id): listed as made by migrations only, but they do not make it"
        in lines
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_database_of_the_previous_release_upgrades_with_its_rows_intact(scratch, backend):
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.cases.tables import Case
    from caseframe.core.documents.tables import Document
    from caseframe.core.retention.tables import CaseRetention, RetentionOverride
    from caseframe.core.sar.tables import SubjectAccessRequest

    engine = await scratch(backend)
    applied = await migrate(engine, upto=PREVIOUS_HEAD)
    assert applied[-1] == PREVIOUS_HEAD
    bind(engine)
    now = datetime.datetime(2026, 11, 30, 9, 15, tzinfo=datetime.UTC)
    agency = (
        await Agency.insert(
            Agency(slug="old-council", name="Old Council", agency_type="district_council", created_at=now)
        )
    )[0]["id"]
    case = (
        await Case.insert(
            Case(
                reference="NOI-2026-0001",
                area="noise",
                state="open",
                owning_agency=agency,
                opened_at=now,
                updated_at=now,
            )
        )
    )[0]["id"]
    await Document.insert(
        Document(
            case=case,
            filename="letter.pdf",
            kind="pdf",
            content_type="application/pdf",
            size=1234,
            sha256="a" * 64,
            uploaded_at=now,
            storage_key="k" * 40,
            scan_status="clean",
        )
    )
    await CaseRetention.insert(
        CaseRetention(case_id=case, legal_hold=True, hold_reason="court", updated_at=now)
    )
    await RetentionOverride.insert(
        RetentionOverride(agency_id=agency, area="noise", years=7, reason="policy", set_at=now)
    )
    await SubjectAccessRequest.insert(
        SubjectAccessRequest(
            reference="SAR-2026-0001",
            agency_id=agency,
            person_id=1,
            requester="the person",
            received_on=datetime.date(2026, 11, 30),
            due_on=datetime.date(2026, 12, 30),
            created_at=now,
        )
    )
    tables = [Agency, Case, Document, CaseRetention, RetentionOverride, SubjectAccessRequest]
    before = {t._meta.tablename: await t.select().order_by(t.id) for t in tables}
    await close(engine)

    applied = await migrate(engine)
    assert applied and applied[0] > PREVIOUS_HEAD
    bind(engine)
    try:
        after = {t._meta.tablename: await t.select().order_by(t.id) for t in tables}
        assert after == before
        # the rebuilt tables keep their constraints, and the dates now default in the database too
        with pytest.raises(Exception, match="(?i)unique"):
            await CaseRetention.raw("INSERT INTO cf_case_retention (case_id) VALUES ({})", case)
        await CaseRetention.raw("DELETE FROM cf_case_retention")
        await CaseRetention.raw("INSERT INTO cf_case_retention (case_id) VALUES ({})", case)
        assert (await CaseRetention.select(CaseRetention.updated_at).first())["updated_at"] is not None
    finally:
        await close(engine)


FAILING = """
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2099-01-01T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "A deliberately broken migration"


class CaseSubject(Table, tablename="cf_case_subject", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        await CaseSubject.raw("CREATE INDEX cf_half_done ON cf_case_subject (role)")
        await CaseSubject.raw("ALTER TABLE cf_no_such_table ADD COLUMN x INTEGER")

    manager.add_raw(run)
    return manager
"""


def _migrations_with_a_failing_one(folder: Path) -> Path:
    """The real migrations and, after them, one that makes an index and then fails (a module name of its own,
    as Piccolo imports migrations by file name)."""
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / f"caseframe_2099_01_01t00_00_00_{uuid.uuid4().hex[:8]}.py").write_text(FAILING)
    return folder


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_failing_migration_is_named_and_rolled_back(scratch, backend, tmp_path, monkeypatch):
    from piccolo.apps.migrations.tables import Migration

    monkeypatch.setattr(
        piccolo_app.APP_CONFIG,
        "migrations_folder_path",
        str(_migrations_with_a_failing_one(tmp_path / "migrations")),
    )
    engine = await scratch(backend)
    with pytest.raises(MigrationError) as failed:
        await migrate(engine)
    assert str(failed.value) == (
        "migration 2099-01-01T00:00:00:000000 (A deliberately broken migration) failed and "
        "was rolled back: "
        + (
            "OperationalError: no such table: cf_no_such_table"
            if backend == "sqlite"
            else 'UndefinedTableError: relation "cf_no_such_table" does not exist'
        )
    )
    bind(engine)
    try:
        ran = await Migration.get_migrations_which_ran(app_name="caseframe")
        assert "2099-01-01T00:00:00:000000" not in ran and PREVIOUS_HEAD in ran  # the ones before it stay
        schema = await _schema(engine)
        assert "index cf_case_subject (role)" not in schema and "table cf_case_subject" in schema
    finally:
        await close(engine)


def test_caseframe_db_migrate_stops_on_a_failing_migration_with_one_line(tmp_path):
    folder = _migrations_with_a_failing_one(tmp_path / "migrations")
    program = (
        "import sys, caseframe.core.db.piccolo_app as app; app.APP_CONFIG.migrations_folder_path = sys.argv[1]; "
        "from caseframe.core.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "CASEFRAME_DATABASE_URL"}
    with contextlib.suppress(KeyError):
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env['PYTHONPATH']}"
    env.setdefault("PYTHONPATH", str(ROOT))
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            program,
            str(folder),
            "--database",
            f"sqlite:///{tmp_path / 'cf.sqlite'}",
            "db",
            "migrate",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "caseframe: migration 2099-01-01T00:00:00:000000 (A deliberately broken migration) failed and was rolled "
        "back: OperationalError: no such table: cf_no_such_table"
    ]
    assert "Database is up to date" not in r.stdout
    con = sqlite3.connect(tmp_path / "cf.sqlite")
    try:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'cf_half_done'").fetchone() == (
            0,
        )
    finally:
        con.close()
