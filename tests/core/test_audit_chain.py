"""The audit trail's keyed hash chain: intact trails verify; a changed, removed, forged or recomputed row is
found, and so are removed newest rows (checkpoints and the anchor file); events not yet sealed are pending,
not broken; appending takes no lock shared by the whole system."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import caseframe.core.db.piccolo_conf as conf
from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.audit.key import AuditKeyError, load_key
from caseframe.core.audit.tables import AuditCheckpoint, AuditEvent
from caseframe.core.audit.verify import verify_chain
from caseframe.core.db.engine import is_sqlite
from caseframe.core.db.tx import transaction
from caseframe.core.testing import make_agency, make_context, make_user

ROOT = Path(__file__).resolve().parents[2]


async def _actor():
    agency = await make_agency(make_context(), "audit-council")
    return await make_user(agency, ("caseworker",))


async def _write(actor, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        async with transaction():
            await audit.record(
                "case.view", actor, object_type="case", object_id=i, purpose="safeguarding", detail={"n": i}
            )


async def _trail(n: int = 5) -> list[int]:
    """``n`` events by one user, sealed with a checkpoint of the head; their ids in order."""
    await _write(await _actor(), n)
    await audit.seal(checkpoint=True)
    return [
        r["id"]
        for r in await AuditEvent.select(AuditEvent.id)
        .where(AuditEvent.action == "case.view")
        .order_by(AuditEvent.id)
    ]


async def test_an_untouched_trail_verifies(db):
    await _trail()
    report = await verify_chain()
    total = await AuditEvent.count()
    assert report.ok and report.checked == total and report.pending == 0 and report.checkpoints >= 1


async def test_an_event_is_written_plain_and_sealed_later(db):
    """A page view only inserts its row; the sealer gives it a place and a hash afterwards."""
    actor = await _actor()
    await audit.seal()
    await _write(actor, 3)
    fresh = await AuditEvent.select().where(AuditEvent.seq.is_null())
    assert len(fresh) == 3 and all(r["hash"] == "" and r["prev_hash"] == "" for r in fresh)
    report = await verify_chain()
    assert report.ok and report.pending == 3 and report.oldest_pending is not None
    assert await audit.seal() == 3
    report = await verify_chain()
    assert report.ok and report.pending == 0
    seqs = [r["seq"] for r in await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_changed_row_is_found(db):
    ids = await _trail()
    await AuditEvent.update({AuditEvent.purpose: "early_intervention"}).where(AuditEvent.id == ids[3])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[3] and "changed" in report.reason


async def test_a_row_recomputed_with_plain_sha256_is_found(db):
    """Whoever can write the database can recompute an unkeyed hash; without the key the seal does not match."""
    ids = await _trail()
    row = await AuditEvent.select().where(AuditEvent.id == ids[2]).output(load_json=True).first()
    row["purpose"] = "early_intervention"
    forged = hashlib.sha256((row["prev_hash"] + audit.seal_body(row)).encode()).hexdigest()
    await AuditEvent.update({AuditEvent.purpose: "early_intervention", AuditEvent.hash: forged}).where(
        AuditEvent.id == ids[2]
    )
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[2] and "without the key" in report.reason


async def test_a_row_resealed_with_another_key_is_found(db):
    ids = await _trail()
    row = await AuditEvent.select().where(AuditEvent.id == ids[1]).output(load_json=True).first()
    forged = audit.row_hash(b"a-key-the-attacker-made-up-for-this-purpose", row["prev_hash"], row)
    await AuditEvent.update({AuditEvent.hash: forged}).where(AuditEvent.id == ids[1])
    assert (await verify_chain()).broken_id == ids[1]


async def test_a_removed_row_is_found_at_the_next_one(db):
    ids = await _trail()
    await AuditEvent.delete().where(AuditEvent.id == ids[2])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[3]


async def test_a_removed_first_row_is_found(db):
    await _trail()
    first, second = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.seq).limit(2)
    await AuditEvent.delete().where(AuditEvent.id == first["id"])
    report = await verify_chain()
    assert report.broken_id == second["id"] and "first sealed row" in report.reason


async def test_removing_the_newest_rows_is_found_naming_the_newest(db):
    ids = await _trail()
    await AuditEvent.delete().where(AuditEvent.id >= ids[-2])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[-1]
    assert "newest events were removed" in report.reason and f"now holds {report.checked}" in report.reason


async def test_removing_the_newest_rows_and_checkpoints_is_found_by_the_anchor_file(
    db, tmp_path, monkeypatch
):
    monkeypatch.setenv(audit.ANCHOR_FILE_ENV, str(tmp_path / "audit.anchor"))
    actor = await _actor()
    await _write(actor, 3)
    await audit.seal(checkpoint=True)
    before = await AuditCheckpoint.count()
    await _write(actor, 2, start=3)
    await audit.seal(checkpoint=True)
    newest = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.seq, ascending=False).first()
    assert json.loads((tmp_path / "audit.anchor").read_text())["event_id"] == newest["id"]
    assert (await verify_chain()).ok
    # remove the two newest events and every checkpoint written since: the database alone looks whole
    keep = await AuditCheckpoint.select(AuditCheckpoint.id).order_by(AuditCheckpoint.id).limit(before)
    await AuditCheckpoint.delete().where(AuditCheckpoint.id.not_in([k["id"] for k in keep]))
    await AuditEvent.delete().where(AuditEvent.id > newest["id"] - 2)
    monkeypatch.delenv(audit.ANCHOR_FILE_ENV)
    assert (await verify_chain()).ok
    monkeypatch.setenv(audit.ANCHOR_FILE_ENV, str(tmp_path / "audit.anchor"))
    report = await verify_chain()
    assert not report.ok and report.broken_id == newest["id"] and "anchor file" in report.reason


async def test_a_changed_or_forged_checkpoint_is_found(db):
    await _trail()
    cp = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    await AuditCheckpoint.update({AuditCheckpoint.seq: cp["seq"] + 5}).where(AuditCheckpoint.id == cp["id"])
    report = await verify_chain()
    assert not report.ok and f"checkpoint {cp['id']} was changed" in report.reason


async def test_a_seal_or_checkpoint_made_other_than_ascii_is_reported_as_changed_not_raised(db):
    """compare_digest raises on a character beyond ASCII: a seal overwritten with one stopped the command with a
    traceback, where it is the very tampering it exists to report."""
    ids = await _trail()
    await AuditEvent.update({AuditEvent.hash: "é" * 64}).where(AuditEvent.id == ids[1])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[1] and "changed" in report.reason
    await AuditEvent.update({AuditEvent.hash: ""}).where(AuditEvent.id == ids[1])
    assert not (await verify_chain()).ok


async def test_a_checkpoint_made_other_than_ascii_is_reported_as_changed_not_raised(db):
    await _trail()
    cp = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    await AuditCheckpoint.update({AuditCheckpoint.mac: "\u0417" * 64}).where(AuditCheckpoint.id == cp["id"])
    report = await verify_chain()
    assert not report.ok and f"checkpoint {cp['id']} was changed" in report.reason


async def test_another_key_is_named_as_such(db, monkeypatch):
    await _trail()
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY", "another-key-entirely-0123456789-0123456789")
    report = await verify_chain()
    assert not report.ok and "another audit key" in report.reason


async def test_sealing_with_a_key_the_trail_was_not_sealed_with_is_refused_and_seals_nothing(db, monkeypatch):
    actor = await _actor()
    await _write(actor, 5)
    await audit.seal(checkpoint=True)
    await _write(actor, 2, start=100)
    unsealed = await AuditEvent.count().where(AuditEvent.seq.is_null())
    with monkeypatch.context() as another:
        another.setenv("CASEFRAME_AUDIT_KEY", "another-key-entirely-0123456789-0123456789")
        with pytest.raises(AuditKeyError, match="is not the one the audit trail is sealed with .checkpoint"):
            await audit.seal()
    assert await AuditEvent.count().where(AuditEvent.seq.is_null()) == unsealed
    assert await audit.seal() == unsealed  # the right key again: the same events sealed as ever
    assert (await verify_chain()).ok


async def test_a_sealed_trail_without_its_key_gets_no_new_one(db, monkeypatch, tmp_path):
    actor = await _actor()
    await _write(actor, 5)
    await audit.seal(checkpoint=True)
    await _write(actor, 1, start=100)
    monkeypatch.delenv("CASEFRAME_AUDIT_KEY", raising=False)
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY_FILE", str(tmp_path / "elsewhere.key"))
    with pytest.raises(AuditKeyError, match="no audit key.*the audit trail is sealed already"):
        await audit.seal()
    assert not (tmp_path / "elsewhere.key").exists()


async def test_a_trail_never_sealed_gets_its_key_made(db, monkeypatch, tmp_path):
    monkeypatch.delenv("CASEFRAME_AUDIT_KEY", raising=False)
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY_FILE", str(tmp_path / "new.key"))
    await _write(await _actor(), 2)
    assert await audit.seal(checkpoint=True) >= 2
    assert (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    assert (await verify_chain()).ok


async def test_a_row_slipped_in_as_sealed_is_found(db):
    ids = await _trail()
    last = await AuditEvent.select().where(AuditEvent.id == ids[-1]).first()
    await AuditEvent.insert(
        AuditEvent(
            at=last["at"], action="case.view", seq=last["seq"] + 1, prev_hash=last["hash"], hash="0" * 64
        )
    )
    report = await verify_chain()
    assert not report.ok and report.broken_id > ids[-1]


async def test_an_event_committed_after_a_higher_id_was_sealed_takes_the_next_place(db):
    """PostgreSQL hands out ids before commit: a lower id may commit after a higher one was sealed. It is
    sealed then, after it, and the chain stays whole (here the late id is written by hand, on both databases)."""
    actor = await _actor()
    async with transaction():
        await audit.record("case.view", actor, object_type="case", object_id=99)
    late = await AuditEvent.select(AuditEvent.all_columns()).where(AuditEvent.object_id == 99).first()
    await _write(actor, 3)
    await AuditEvent.delete().where(AuditEvent.id == late["id"])  # its id was taken; it is not yet committed
    await audit.seal()
    async with transaction():
        await AuditEvent.insert(AuditEvent(**{**late, "detail": {}}))
    assert await audit.seal() == 1
    row = await AuditEvent.select(AuditEvent.id, AuditEvent.seq).where(AuditEvent.object_id == 99).first()
    assert row["id"] < max(r["id"] for r in await AuditEvent.select(AuditEvent.id))
    assert row["seq"] == await AuditEvent.count()
    assert (await verify_chain()).ok


async def test_appends_take_no_lock_shared_by_every_view(db):
    """Two transactions each recording a view must not wait for each other (they took turns at one global
    advisory lock, so every page view in the system was serialised)."""
    if is_sqlite(conf.DB):
        pytest.skip("SQLite runs one write transaction at a time by design")
    actor = await _actor()
    both_inside = asyncio.Barrier(2)

    async def view(i: int) -> None:
        async with conf.DB.transaction():
            await audit.record("case.view", actor, object_type="case", object_id=i)
            await asyncio.wait_for(both_inside.wait(), 5)  # the other has written too, before either commits

    await asyncio.gather(view(1), view(2))
    await audit.seal()
    assert (await verify_chain()).ok


async def test_sealing_beside_concurrent_writers_with_late_commits_keeps_the_chain_exact(db):
    if is_sqlite(conf.DB):
        pytest.skip("needs concurrent write transactions (PostgreSQL)")
    actor = await _actor()
    await audit.seal()
    held = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:  # takes its id first, commits last
        async with conf.DB.transaction():
            await audit.record("case.view", actor, object_type="case", object_id=-1)
            held.set()
            await asyncio.wait_for(release.wait(), 10)

    async def writer(w: int) -> None:
        for i in range(15):
            async with conf.DB.transaction():
                await audit.record("case.view", actor, object_type="case", object_id=w * 100 + i)

    writers_done = asyncio.Event()

    async def sealer() -> None:
        while not writers_done.is_set():
            await audit.seal()
            await asyncio.sleep(0.01)

    slow = asyncio.create_task(slow_writer())
    await held.wait()
    sealing = asyncio.create_task(sealer())
    await asyncio.gather(*(writer(w) for w in range(6)))
    writers_done.set()
    await sealing
    await audit.seal()
    before = await verify_chain()  # the one still in flight is not committed: nobody sees it yet
    assert before.ok and before.pending == 0 and before.checked == await AuditEvent.count()
    release.set()
    await slow
    await audit.seal(checkpoint=True)
    report = await verify_chain()
    assert report.ok and report.pending == 0 and report.checked == await AuditEvent.count()
    late = await AuditEvent.select(AuditEvent.id, AuditEvent.seq).where(AuditEvent.object_id == -1).first()
    assert late["seq"] == report.checked  # the lowest new id, sealed last


async def test_a_quiet_spell_still_gets_its_checkpoint(db, monkeypatch):
    actor = await _actor()
    await _write(actor, 2)
    await audit.seal(checkpoint=True)
    monkeypatch.setattr(audit, "CHECKPOINT_SECONDS", 3600.0)
    await _write(actor, 2, start=2)
    assert await audit.seal() == 2 and await AuditCheckpoint.count() == 1  # the last checkpoint is recent
    monkeypatch.setattr(audit, "CHECKPOINT_SECONDS", 0.0)
    assert await audit.seal() == 0  # nothing new, but the head has moved since the last checkpoint
    head = (
        await AuditEvent.select(AuditEvent.id, AuditEvent.seq)
        .order_by(AuditEvent.seq, ascending=False)
        .first()
    )
    newest = await AuditCheckpoint.select().order_by(AuditCheckpoint.id, ascending=False).first()
    assert (newest["seq"], newest["event_id"]) == (head["seq"], head["id"])
    assert await audit.seal() == 0 and await AuditCheckpoint.count() == 2  # one per head, not one per second


def test_the_key_file_is_made_once_readable_by_its_owner_and_verify_never_makes_one(tmp_path, monkeypatch):
    monkeypatch.delenv("CASEFRAME_AUDIT_KEY", raising=False)
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    with pytest.raises(AuditKeyError, match="no audit key"):
        load_key()
    key = load_key(create=True)
    assert len(key) == 64 and (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    assert load_key(create=True) == key == (tmp_path / "audit.key").read_text().strip().encode()
    monkeypatch.setenv("CASEFRAME_AUDIT_KEY", "short")
    with pytest.raises(AuditKeyError, match="at least 32"):
        load_key()


@pytest.mark.own_sqlite
def test_the_command_reports_an_intact_trail_a_changed_one_and_removed_newest_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEFRAME_AUDIT_KEY_FILE": str(tmp_path / "audit.key")}
    env.pop("CASEFRAME_DATABASE_URL", None)
    env.pop("CASEFRAME_AUDIT_KEY", None)

    def run(*command, environ=None, cwd=ROOT):
        return subprocess.run(
            [sys.executable, "-m", "caseframe", "--database", url, *(command or ("audit", "verify"))],
            capture_output=True,
            text=True,
            env=environ or env,
            cwd=cwd,
            timeout=120,
        )

    nowhere = run()  # a mistyped database: refused, not made empty and reported intact
    assert nowhere.returncode == 2 and "caseframe: no database at " in nowhere.stderr, nowhere.stderr
    assert not (tmp_path / "audit.sqlite").exists() and not (tmp_path / "audit.key").exists()
    assert run("db", "migrate").returncode == 0
    missing = run()
    assert (
        missing.returncode == 2 and "no audit key" in missing.stderr and not (tmp_path / "audit.key").exists()
    )
    subprocess.run(
        [sys.executable, "-m", "caseframe", "--database", url, "demo", "load"],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    # the nightly sweep run from another folder (as cron does), which finds no key file there, or given another
    # key: it refuses to seal, and writes no key, instead of sealing rows that verify would call broken for good
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    no_key = {**env}
    no_key.pop("CASEFRAME_AUDIT_KEY_FILE")
    swept = run("retention", "run", environ=no_key, cwd=elsewhere)
    assert swept.returncode == 2, swept.stdout + swept.stderr
    assert "no audit key" in swept.stderr and "the audit trail is sealed already" in swept.stderr
    assert list(elsewhere.iterdir()) == []
    other = run(
        "retention", "run", environ={**env, "CASEFRAME_AUDIT_KEY": "another key, thirty-two characters"}
    )
    assert other.returncode == 2
    assert "is not the one the audit trail is sealed with" in other.stderr, other.stderr
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    assert (
        con.execute("SELECT count(*) FROM cf_case_retention WHERE flagged_at IS NOT NULL").fetchone()[0] == 0
    )
    con.close()  # neither flagged a case: the key is found before any change
    dry = run("retention", "run", "--dry-run")  # which they would have: the demo has cases due for review
    assert dry.returncode == 0 and ": would flag for review." in dry.stdout, dry.stdout + dry.stderr
    ok = run()
    assert ok.returncode == 0 and ok.stdout.startswith("Audit trail intact:"), ok.stderr
    assert "not yet sealed" not in ok.stdout and "checkpoint" in ok.stdout
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    newest = con.execute("SELECT id FROM cf_audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
    con.execute("DELETE FROM cf_audit WHERE id >= ?", (newest - 1,))
    con.commit()
    removed = run()
    assert removed.returncode == 1
    assert removed.stderr.startswith(
        f"caseframe: audit trail broken at event {newest}: the newest events were removed"
    )
    con.execute("UPDATE cf_audit SET action = 'case.view' WHERE id = 3")
    con.commit()
    con.close()
    broken = run()
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "caseframe: audit trail broken at event 3: its content was changed after it "
        "was sealed (or its seal was made without the key) "
        "(2 event(s) before it are intact)"
    )


async def test_the_sealer_reads_the_unsealed_events_through_their_own_index_never_the_sealed_trail(db):
    """Statistics taken while the events were unsealed (after a bulk load, or with autovacuum behind) once led
    PostgreSQL to walk the primary key through every sealed event each second to find the few new ones."""
    actor = await _actor()
    views = [
        AuditEvent(
            at=clock.now(),
            actor_id=actor.id,
            agency_id=actor.agency_id,
            action="case.view",
            object_type="case",
            object_id=i,
            purpose="",
            detail={},
            prev_hash="",
            hash="",
        )
        for i in range(2000)
    ]
    await AuditEvent.insert(*views)
    if is_sqlite(AuditEvent._meta.db):
        plan_sql = "EXPLAIN QUERY PLAN "
    else:
        await AuditEvent.raw("ANALYZE cf_audit")  # statistics of an unsealed trail, kept as it is sealed
        plan_sql = "EXPLAIN "
    assert await audit.seal() >= 2000
    await _write(actor, 3)
    plan = " ".join(
        str(list(r.values())) for r in await AuditEvent.raw(plan_sql + str(audit.unsealed_query()))
    )
    if is_sqlite(AuditEvent._meta.db):  # planned from the schema: the seq index searched for the empty ones
        assert "SEARCH cf_audit USING INDEX cf_audit_seq_unique (seq=?)" in plan, plan
    else:
        assert "cf_audit_unsealed" in plan and "pkey" not in plan, plan
    assert await audit.seal() == 3
