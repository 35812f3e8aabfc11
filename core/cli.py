"""The ``caseframe`` command: serve the app, migrate, load demo data, list and check areas."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from caseframe.core.errors import AreaError, DemoDataError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line instead of usage plus error
        self.exit(2, f"caseframe: {message} (see 'caseframe --help')\n")


def _fail(message: str, code: int = 1) -> int:
    print(f"caseframe: {message}", file=sys.stderr)
    return code


def _bounded_int(
    what: str, low: int, high: int, *, number: str = "a number", say_value: bool = False
) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, or one clear line saying what is wrong."""

    def parse(value: str) -> int:
        try:
            if not value.strip().isascii():  # int() reads Arabic-Indic and other digits: 12 in any script
                raise ValueError
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be {number}, not {value[:40]!r}") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(
                f"{what} must be between {low} and {high}" + (f", not {n}" if say_value else "")
            )
        return n

    parse.__name__ = what
    return parse


_port = _bounded_int("port", 1, 65535, say_value=True)


def _host(value: str) -> str:
    """An argparse type: the address to listen on, never empty (uvicorn took "" as every address, on the quiet)."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "host must name an address to listen on, e.g. 127.0.0.1 (or 0.0.0.0 for every address)"
        )
    return value.strip()


def _given(what: str, example: str) -> Callable[[str], str]:
    """An argparse type: a value that is not empty (an empty variable in a script, ``--agency "$AGENCY"``, once
    meant "not given": every agency swept, or the default database used)."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(
                f"{what} is empty: give one, e.g. {example}, or leave the option out"
            )
        return value.strip()

    parse.__name__ = what
    return parse


_workers = _bounded_int("workers", 1, 64)
_limit = _bounded_int("limit", 1, 1_000_000, number="a whole number")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="caseframe", description="Caseframe: multi-agency case management.")
    parser.add_argument(
        "--database",
        type=_given("the database URL", "sqlite:///caseframe.sqlite"),
        metavar="URL",
        help="database URL (default: $CASEFRAME_DATABASE_URL or sqlite:///caseframe.sqlite)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the web app")
    serve.add_argument("--host", type=_host, default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes (default 1; one a CPU core serves the most)",
    )
    serve.add_argument(
        "--demo", action="store_true", help="load fictional demo data if the database is empty"
    )

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", parser_class=_Parser)
    db_sub.add_parser("migrate", help="create or upgrade the database tables")

    demo = sub.add_parser("demo", help="demo data")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="COMMAND", parser_class=_Parser)
    demo_sub.add_parser("load", help="load fictional demo data into an empty database")

    areas = sub.add_parser("areas", help="list installed areas, or check area directories")
    areas_sub = areas.add_subparsers(dest="areas_command", metavar="COMMAND", parser_class=_Parser)
    check = areas_sub.add_parser("check", help="run every start-up check on area directories")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    scaffold = sub.add_parser("new-area", help="write a working plugin package for a new business area")
    scaffold.add_argument("slug", metavar="SLUG", help="the area's name, e.g. noise_nuisance")
    scaffold.add_argument(
        "--path", type=Path, default=Path("."), help="folder to create it in (default: here)"
    )

    audit = sub.add_parser("audit", help="audit trail commands")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", parser_class=_Parser)
    audit_sub.add_parser("verify", help="check that no sealed audit row was changed, removed or slipped in")

    notes = sub.add_parser("notifications", help="notification commands")
    notes_sub = notes.add_subparsers(dest="notifications_command", metavar="COMMAND", parser_class=_Parser)
    run = notes_sub.add_parser(
        "run", help="tell owners of tasks due today or overdue (once each), send waiting e-mails"
    )
    run.add_argument("--date", help="the day to sweep for, as YYYY-MM-DD (default: today)")

    documents = sub.add_parser("documents", help="document store commands")
    documents_sub = documents.add_subparsers(
        dest="documents_command", metavar="COMMAND", parser_class=_Parser
    )
    documents_sub.add_parser(
        "check", help="check that every document's content is in the store, and every removed one's is gone"
    )

    retention = sub.add_parser("retention", help="retention commands")
    retention_sub = retention.add_subparsers(
        dest="retention_command", metavar="COMMAND", parser_class=_Parser
    )
    run = retention_sub.add_parser(
        "run",
        help="the nightly sweep: flag every case due for review under its "
        "agency's retention policy (nothing is erased without a local admin)",
    )
    run.add_argument("--dry-run", action="store_true", help="say what would be flagged; change nothing")
    run.add_argument(
        "--agency",
        type=_given("the agency", "ashdown-council"),
        metavar="SLUG",
        help="only this agency (its slug, e.g. ashdown-council)",
    )
    run.add_argument("--limit", type=_limit, metavar="N", help="stop after N due cases")

    assets = sub.add_parser(
        "assets",
        help="install the front-end assets (GOV.UK Frontend, MOJ Frontend, htmx) "
        "from the npm registry, checksums checked",
    )
    assets.add_argument(
        "--dir",
        metavar="DIR",
        help="where to put them (default: $CASEFRAME_ASSETS_DIR, else inside the installed package)",
    )
    assets.add_argument(
        "--from-node-modules",
        metavar="DIR",
        help="copy them from an npm install's node_modules instead of downloading",
    )
    assets.add_argument(
        "--check", action="store_true", help="only say whether they are installed (exit 1 if not)"
    )

    docs = sub.add_parser("docs", help="write the generated reference pages in docs/")
    docs.add_argument("--check", action="store_true", help="fail if docs/ differs from what would be written")
    return parser


def _database_url(args) -> str:
    return args.database or os.environ.get("CASEFRAME_DATABASE_URL") or "sqlite:///caseframe.sqlite"


def _existing_database_url(args) -> str:
    """The database of a command that works on the server's data (a check, a nightly job): a SQLite file that is
    not there is refused, not made (an empty database would pass every check and hold nothing to work on)."""
    from caseframe.core.db.engine import DatabaseURLError, sqlite_file

    url = _database_url(args)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseURLError(
            f"no database at {path.resolve()}: run this command in the server's folder, or name the server's "
            "database with --database or CASEFRAME_DATABASE_URL; nothing was created"
        )
    return url


async def _prepare(url: str, *, demo: bool, quiet: bool = False, key: bool = False) -> None:
    """Make or migrate the database; with ``key``, find the audit key the trail is sealed with (or make one for a
    new trail); with ``demo``, load the demo data into an empty database."""
    from caseframe.core.context import build_context
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate

    engine = engine_from_url(url)
    applied = await migrate(engine)
    if applied and not quiet:
        print(f"Database ready: applied {len(applied)} migration(s)")
    if demo or key:
        from caseframe.core.audit.service import trail_key

        if not is_sqlite(engine):
            await engine.start_connection_pool()
        previous = bind(engine)
        try:
            if key:
                await trail_key()
            if demo:
                await _load_demo_if_empty(build_context(), quiet)
        finally:
            if not is_sqlite(engine):
                await engine.close_connection_pool()
            await close(engine)
            previous.restore()  # run in a process that goes on (a test's), the tables point where they did


async def _load_demo_if_empty(ctx, quiet: bool) -> None:
    from caseframe.core import demo as demo_data
    from caseframe.core.audit.service import seal

    if await demo_data.is_empty():
        print("Loading demo data...", flush=True)
        counts = await demo_data.load_demo(ctx, progress=lambda s: print(f"  {s}", flush=True))
        await seal(checkpoint=True)
        print("Demo data loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    elif not quiet:
        print("The database already holds data: demo data not loaded")


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host``:``port`` (in use, not an address of this machine, not allowed),
    in one line; None if it can. Bound as uvicorn binds it, then let go for the server to take."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        import errno

        reason = exc.strerror or str(exc)
        hint = {
            errno.EADDRINUSE: "another server is using the port: stop it, or choose another port with --port",
            errno.EACCES: "ports below 1024 need privileges: choose another port with --port",
        }.get(
            exc.errno or 0,
            "give an address of this machine with --host, e.g. 127.0.0.1 (0.0.0.0 for every one)",
        )
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return f"cannot listen on {where}: {reason[:1].lower() + reason[1:]}; {hint}. Nothing was started or written"
    return None


def _cmd_serve(args) -> int:
    from caseframe.core.context import build_context

    url = _database_url(args)
    from caseframe.core.documents import storage
    from caseframe.core.settings import Settings

    # a bad CASEFRAME_* setting stops here, naming it (SettingsError), before any worker starts; so does a document
    # store that cannot be used (StoreError), before the database is made or "running" is printed
    storage.store_from_settings(Settings())
    ctx = build_context()  # a broken area stops here, with its file and reason
    from caseframe.core import assets

    assets.require()  # so do missing front-end assets, saying how to install them
    from caseframe.core.web.app import check_app

    check_app(Settings(), ctx)  # and a plugin's routes or templates that cannot be mounted, naming the plugin
    taken = _cannot_listen(args.host, args.port)
    if taken:  # before the key file is written and the database made, migrated or filled with the demo
        return _fail(taken, 2)
    # the database is made or migrated, and the audit key found (or made, for a trail never sealed) before the
    # workers start, so they all find the same key; a key the trail was not sealed with stops here (AuditKeyError)
    asyncio.run(_prepare(url, demo=args.demo, key=True))
    os.environ["CASEFRAME_DATABASE_URL"] = url
    if args.host in ("127.0.0.1", "localhost", "::1"):
        # browsers keep Secure cookies off plain http; only a local demo may use them so
        os.environ.setdefault("CASEFRAME_LOCAL_DEMO", "1")
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Caseframe is running at http://{host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    if args.demo:
        from caseframe.core.demo import DEMO_PASSWORD, DEMO_USERS, demo_email

        a, local, name, _ = DEMO_USERS[0]
        print(f"Sign in as {demo_email(a, local)} with password {DEMO_PASSWORD} (other demo users: README)")
    from caseframe.core.web.serving import serve

    serve(args.host, args.port, args.workers)
    return 0


def _cmd_assets(args) -> int:
    from caseframe.core import assets

    if args.check:
        if args.dir:
            wrong = assets.problems(Path(args.dir))
            if wrong:
                return _fail(f"the front-end assets are not complete in {args.dir}: {wrong[0]}", 1)
            found = Path(args.dir)
        else:
            found = assets.require()
        print(f"Front-end assets ({assets.describe()}) are installed in {found}")
        return 0
    node_modules = Path(args.from_node_modules) if args.from_node_modules else None
    target = assets.install(
        Path(args.dir) if args.dir else None,
        node_modules=node_modules,
        progress=lambda s: print(f"  {s}", flush=True),
    )
    print(f"Front-end assets ({assets.describe()}) installed in {target}")
    if args.dir and Path(args.dir).resolve() != assets.default_target().resolve():
        print(f"Set CASEFRAME_ASSETS_DIR={Path(args.dir).resolve()} where Caseframe runs")
    return 0


def _cmd_areas(args) -> int:
    from caseframe.core.areas import build_registry, check_paths
    from caseframe.core.plugins import get_plugin_manager

    if args.areas_command == "check":
        try:
            pm = get_plugin_manager()
        except AreaError:
            pm = None
        problems = check_paths(args.paths, pm)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return 1
        print("All areas are valid")
        return 0
    registry = build_registry(get_plugin_manager())
    rows = [(a.slug, a.version, a.title, a.source, str(a.path)) for a in registry]
    width = max((len(r[0]) for r in rows), default=4)
    print(f"{'AREA'.ljust(width)}  VERSION  FROM")
    for slug, version, title, source, _path in rows:
        print(f"{slug.ljust(width)}  {version.ljust(7)}  {source} ({title})")
    return 0


def _cmd_docs(args) -> int:
    from caseframe.core import docs

    pages = docs.pages()
    if args.check:
        stale = [
            name
            for name, text in pages.items()
            if not (docs.DOCS / name).is_file() or (docs.DOCS / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            return _fail(f"docs/{', docs/'.join(stale)} out of date: run 'caseframe docs'")
        print("Generated docs are up to date")
        return 0
    for path in docs.write_all():
        print(f"Wrote {path}")
    return 0


async def _cmd_audit_verify(url: str) -> int:
    from caseframe.core.audit.key import AuditKeyError
    from caseframe.core.audit.verify import verify_chain
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate

    engine = engine_from_url(url)
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool()
    previous = bind(engine)
    try:
        report = await verify_chain()
    except AuditKeyError as exc:
        return _fail(str(exc), 2)
    finally:
        if not is_sqlite(engine):
            await engine.close_connection_pool()
        await close(engine)
        previous.restore()
    if not report.ok:
        where = f" at event {report.broken_id}" if report.broken_id is not None else ""
        return _fail(
            f"audit trail broken{where}: {report.reason} ({report.checked} event(s) before it are intact)"
        )
    line = f"Audit trail intact: {report.checked} sealed event(s) checked"
    if report.last_checkpoint is not None:
        line += f", {report.checkpoints} checkpoint(s), the newest of {report.last_checkpoint:%Y-%m-%d %H:%M:%S} UTC"
    if report.pending:
        line += (
            f"; {report.pending} event(s) not yet sealed (the running server seals them within seconds; "
            f"the oldest was written {report.oldest_pending:%Y-%m-%d %H:%M:%S} UTC)"
        )
    print(line)
    return 0


def _sweep_day(day: str | None) -> tuple[dt.date | None, str]:
    """``notifications run --date``: the day, or what is wrong with it (checked before anything is opened)."""
    if not day:
        return None, ""
    try:
        when = dt.date.fromisoformat(day) if day.isascii() and len(day) == 10 else None
    except ValueError:
        when = None
    if when is None:
        return None, f"--date must be a date like 2026-12-04, not {day[:20]!r}"
    from caseframe.core import clock

    latest = clock.today() + dt.timedelta(days=1)
    if when > latest:  # each task is told once for its due date: a day ahead would spend that on a guess
        return None, (
            f"--date may be {latest.isoformat()} (tomorrow) at the latest, not {when.isoformat()}: owners are "
            "told once of each task, so a later day would tell them early and never on the day; nothing was done"
        )
    return when, ""


def _cmd_notifications(args) -> int:
    when, problem = _sweep_day(args.date)
    if problem:
        return _fail(problem, 2)
    return asyncio.run(_cmd_notifications_run(_existing_database_url(args), when))


async def _cmd_notifications_run(url: str, when: dt.date | None) -> int:
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate
    from caseframe.core.notifications import email
    from caseframe.core.notifications.service import sweep_due_tasks
    from caseframe.core.settings import Settings

    email.configure(email.config_from_settings(Settings()))  # a bad setting stops here, before the database
    engine = engine_from_url(url)
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool()
    previous = bind(engine)
    try:
        new = await sweep_due_tasks(when)
        sent, failed = await email.send_pending(limit=1000)
    finally:
        if not is_sqlite(engine):
            await engine.close_connection_pool()
        await close(engine)
        previous.restore()
    line = f"Notifications: {new} new for tasks due"
    if email.enabled():
        line += f"; e-mails sent: {sent}, failed (tried again later): {failed}"
    print(line)
    return 0


async def _cmd_documents_check(url: str) -> int:
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate
    from caseframe.core.documents import service as documents
    from caseframe.core.documents import storage
    from caseframe.core.settings import Settings

    storage.configure(Settings())
    engine = engine_from_url(url)
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool()
    previous = bind(engine)
    try:
        report = await documents.check_store()
    finally:
        if not is_sqlite(engine):
            await engine.close_connection_pool()
        await close(engine)
        previous.restore()
    root = _local_store_folder(storage.store())
    # a folder that is not there is a new install's as long as no document was stored; a file in its place never is
    if root is not None and not root.is_dir() and (report["checked"] or root.exists()):
        what = "is not a folder" if root.exists() else "does not exist"
        return _fail(
            f"the documents folder {root} {what}, so none of the {report['checked']} document(s) could be checked: "
            "run this command in the server's folder, or set CASEFRAME_DOCUMENTS_DIR to the server's documents folder",
            2,
        )
    print(f"Document store: {storage.store().description}")
    print(f"{report['checked']} document(s) checked")
    for document_id in report["missing"]:
        print(f"document {document_id}: its content is missing from the store", file=sys.stderr)
    for document_id in report["left_behind"]:
        print(f"document {document_id}: removed, but its content is still in the store", file=sys.stderr)
    return 1 if report["missing"] or report["left_behind"] else 0


def _local_store_folder(store) -> Path | None:
    """A local store's folder, resolved (run from another folder, a relative CASEFRAME_DOCUMENTS_DIR is not the
    server's, and every document reads as missing); None for another kind of store."""
    from caseframe.core.documents.storage import LocalStore

    return store.root.resolve() if isinstance(store, LocalStore) else None


def _progress_bar(done: int, total: int, name: str) -> None:
    """Plain text, one line per agency: readable in a nightly job's log, where there is no terminal."""
    width = 20
    filled = width * done // max(total, 1)
    print(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} agencies  {name}", flush=True)


async def _cmd_retention_run(url: str, args) -> int:
    from caseframe.core.context import build_context
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate
    from caseframe.core.errors import NotFound
    from caseframe.core.retention.service import sweep

    ctx = build_context()
    engine = engine_from_url(url)
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool()
    previous = bind(engine)
    try:
        # the key its flags are sealed with, found before any is set: a wrong one changes nothing
        if not args.dry_run:
            from caseframe.core.audit.service import trail_key

            await trail_key()
        report = await sweep(
            ctx, agency_slug=args.agency, limit=args.limit, dry_run=args.dry_run, progress=_progress_bar
        )
        if not args.dry_run and report.newly_flagged:
            from caseframe.core.audit.service import seal

            await seal()
    except NotFound as exc:
        return _fail(exc.message, 2)
    finally:
        if not is_sqlite(engine):
            await engine.close_connection_pool()
        await close(engine)
        previous.restore()
    verb = "would flag" if args.dry_run else "flagged"
    for d in report.due:
        if d.legal_hold:
            action = f"on legal hold, left alone ({d.hold_reason})"
        elif d.flagged_at is not None:
            action = f"already flagged on {d.flagged_at:%Y-%m-%d}, waiting for review"
        else:
            action = f"{verb} for review"
        print(f"{d.reference}  {d.area_title}  due {d.due_on.isoformat()}: {action}. {d.reason}")
    prefix = "Dry run, nothing changed: " if args.dry_run else ""
    print(
        f"{prefix}{len(report.due)} case(s) due for review in {report.checked} agency(ies); "
        f"{report.newly_flagged} {verb}, {report.on_hold} on legal hold. Nothing is erased by this command: "
        "a local admin reviews each case under Admin > Retention."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from caseframe.core.assets import AssetsError
    from caseframe.core.audit.key import AuditKeyError
    from caseframe.core.db.engine import DatabaseURLError, MigrationError
    from caseframe.core.documents.storage import StoreError
    from caseframe.core.settings import SettingsError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        command = _command(args)
        if command is None:
            parser.print_help()
            return 2
        return command(args)
    except (DatabaseURLError, AuditKeyError, AssetsError, StoreError, SettingsError) as exc:
        # a database URL, audit key, asset build or CASEFRAME_* setting that is wrong, or a document store
        # misconfigured or out of reach
        return _fail(str(exc), 2)
    except MigrationError as exc:  # the failed migration was rolled back; the ones before it stay applied
        return _fail(str(exc), 1)
    except AreaError as exc:
        for problem in exc.problems:
            print(f"caseframe: {problem}", file=sys.stderr)
        return _fail("start-up stopped: fix the plugin and area problems above", 1)
    except DemoDataError as exc:
        for problem in exc.problems:
            print(f"caseframe: {problem}", file=sys.stderr)
        return _fail("demo data not loaded, nothing written: fix the plugin's demo_data above", 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: one line, never a traceback
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """What went wrong that no command foresaw, in one line: a SQLite file that cannot be written or is locked too
    long, a folder or file that cannot be read or written, a full disk; else the error's kind and words
    (``CASEFRAME_DEBUG=1`` raises it instead, with its traceback)."""
    if os.environ.get("CASEFRAME_DEBUG") == "1":
        raise exc
    if isinstance(exc, sqlite3.Error):
        return _fail(f"the database could not be used: {exc}; nothing more was done", 1)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc.__class__.__name__}{where}; nothing more was done", 1)
    return _fail(
        f"stopped by an unexpected {exc.__class__.__name__}: {str(exc)[:200]} "
        "(run again with CASEFRAME_DEBUG=1 to see where)",
        1,
    )


def _command(args) -> Callable[[argparse.Namespace], int] | None:
    """The function that runs the command (and subcommand) asked for; None if none is named."""
    if args.command in _COMMANDS:
        return _COMMANDS[args.command]
    dest = f"{args.command}_command"
    return _SUBCOMMANDS.get((args.command, getattr(args, dest, None)))


def _cmd_db_migrate(args) -> int:
    asyncio.run(_prepare(_database_url(args), demo=False))
    print("Database is up to date")
    return 0


def _cmd_demo_load(args) -> int:
    asyncio.run(_prepare(_database_url(args), demo=True))
    return 0


def _installed_area(slug: str) -> str:
    """Where the installed area called ``slug`` is defined, or "" (also when the installed plugins do not load:
    the scaffold is still worth writing, and start-up names their problem)."""
    from caseframe.core.areas import build_registry
    from caseframe.core.plugins import get_plugin_manager

    try:
        installed = {area.slug: area for area in build_registry(get_plugin_manager())}
    except AreaError:
        return ""
    return str(installed[slug].path / "area.toml") if slug in installed else ""


def _cmd_new_area(args) -> int:
    from caseframe.core.scaffold import ScaffoldError, new_area

    taken = _installed_area(args.slug)
    if taken:  # start-up would refuse the package this writes
        return _fail(f"an area called {args.slug!r} is already installed ({taken}): choose another name", 2)
    try:
        root = new_area(args.slug, args.path)
    except ScaffoldError as exc:
        return _fail(str(exc), 2)
    print(f"Created {root}\nNext: cd {root} && pip install -e '.[test]' && pytest")
    return 0


#: commands without a subcommand (``areas`` reads its own)
_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _cmd_serve,
    "areas": _cmd_areas,
    "new-area": _cmd_new_area,
    "docs": _cmd_docs,
    "assets": _cmd_assets,
}

#: (command, subcommand) -> what runs it
_SUBCOMMANDS: dict[tuple[str, str | None], Callable[[argparse.Namespace], int]] = {
    ("db", "migrate"): _cmd_db_migrate,
    ("demo", "load"): _cmd_demo_load,
    ("documents", "check"): lambda args: asyncio.run(_cmd_documents_check(_existing_database_url(args))),
    ("retention", "run"): lambda args: asyncio.run(_cmd_retention_run(_existing_database_url(args), args)),
    ("audit", "verify"): lambda args: asyncio.run(_cmd_audit_verify(_existing_database_url(args))),
    ("notifications", "run"): _cmd_notifications,
}

if __name__ == "__main__":
    sys.exit(main())
