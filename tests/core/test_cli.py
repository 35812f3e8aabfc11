"""The caseframe command, run as a user runs it: clear one-line errors, checks, migrate, list."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOISE = ROOT / "tests/fixtures/areas/noise"


def caseframe(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop(
        "CASEFRAME_DATABASE_URL", None
    ) if env is None or "CASEFRAME_DATABASE_URL" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "caseframe", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_bad_flag_is_one_clear_line():
    r = caseframe("serve", "--port", "eighty")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "caseframe: argument --port: port must be a number, not 'eighty' (see 'caseframe --help')"
    ]
    r = caseframe("frobnicate")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    # an empty host listened on every address, and digits of another script named a port
    r = caseframe("serve", "--host", "")
    assert r.returncode == 2 and "host must name an address to listen on" in r.stderr
    r = caseframe("serve", "--port", "\u0661\u0662")
    assert r.returncode == 2 and "port must be a number" in r.stderr


@pytest.mark.parametrize(
    "url, words",
    [
        ("mysql://root@localhost/x", "unsupported database URL"),
        ("sqlite:///no/such/folder/x.sqlite", "folder for the SQLite database does not exist"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot connect to the database"),
        # these raised a traceback from urllib or pathlib
        ("postgresql://[::1/x", "the database URL cannot be read"),
        ("sqlite:///a%00b.sqlite", "holds a NUL character"),
        # a password is never repeated in a message
        ("mysql://root:s3cret@localhost/x", "'mysql://root:***@localhost/x'"),
    ],
)
def test_bad_database_url_is_one_line_not_a_traceback(url, words):
    r = caseframe("--database", url, "db", "migrate")
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_key_file_that_is_not_text_and_a_database_that_cannot_be_written_are_one_line(tmp_path):
    """A non-UTF-8 audit key file and a SQLite file that is a device both gave a traceback."""
    key = tmp_path / "key"
    key.write_bytes(bytes(range(128, 192)))
    # serve reads the key before any worker starts (and stops there, so no server is left running)
    r = caseframe(
        "--database",
        f"sqlite:///{tmp_path / 'x.sqlite'}",
        "serve",
        "--port",
        str(_free_port()),
        env={"CASEFRAME_AUDIT_KEY_FILE": str(key), "CASEFRAME_AUDIT_KEY": ""},  # the file, not the run's key
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"caseframe: the audit key file {key} is not text: it must hold the key as written by caseframe "
        "(64 hexadecimal characters)"
    ]
    r = caseframe("--database", "sqlite:////dev/null", "db", "migrate")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "the database could not be used" in r.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_on_an_address_it_cannot_listen_on_says_so_before_writing_anything(tmp_path):
    """A port another server holds, and a host that is no address here: one line saying what to change, and no
    database file, audit key file or demo data left behind (they were all made before uvicorn failed to bind)."""
    env = {"CASEFRAME_AUDIT_KEY_FILE": str(tmp_path / "audit.key"), "CASEFRAME_AUDIT_KEY": ""}
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        r = caseframe("--database", url, "serve", "--port", str(port), "--demo", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"caseframe: cannot listen on 127.0.0.1:{port}: address already in use; another server is using the port: "
        "stop it, or choose another port with --port. Nothing was started or written"
    ]
    r = caseframe("--database", url, "serve", "--host", "no-such-host.invalid", "--demo", env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cannot listen on no-such-host.invalid:8000" in r.stderr and "--host" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_migrate_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'cf.sqlite'}"
    first = caseframe("--database", url, "db", "migrate")
    assert first.returncode == 0 and "migration(s)" in first.stdout
    second = caseframe("--database", url, "db", "migrate")
    assert second.returncode == 0 and "applied" not in second.stdout


def test_areas_check_passes_a_good_area_and_reports_a_broken_one(tmp_path):
    assert caseframe("areas", "check", str(NOISE)).returncode == 0
    broken = tmp_path / "noise"
    shutil.copytree(NOISE, broken)
    toml = (broken / "area.toml").read_text().replace('to = "visited"', 'to = "vanished"')
    (broken / "area.toml").write_text(toml)
    r = caseframe("areas", "check", str(broken))
    assert r.returncode == 1
    assert f"{broken / 'area.toml'}#/workflow/transitions/0/to: 'vanished' is not a state" in r.stdout


def test_areas_check_lists_every_stage_s_problems_in_one_run(tmp_path):
    broken = tmp_path / "noise"
    shutil.copytree(NOISE, broken)
    toml = (broken / "area.toml").read_text()
    toml = toml.replace('version = "1.0.0"', 'version = "1.0.0"\ncolour = "red"')  # meta-schema
    toml = toml.replace('to = "visited"', 'to = "vanished"')  # workflow
    toml = toml.replace('agency_type = "police"', 'agency_type = "wizards"')  # across areas
    (broken / "area.toml").write_text(toml)
    form = (broken / "forms/report.schema.json").read_text().replace('"x-summary": true', '"x-colour": "red"')
    (broken / "forms/report.schema.json").write_text(form)  # a form
    r = caseframe("areas", "check", str(broken))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for line in (
        f"{broken / 'area.toml'}#/colour: unknown key 'colour'",
        f"{broken / 'area.toml'}#/workflow/transitions/0/to: 'vanished' is not a state",
        f"{broken / 'area.toml'}#/rules/2/then/agency_type: 'wizards' is not a known agency type",
        f"{broken / 'forms/report.schema.json'}#/properties/street/x-colour: unknown hint 'x-colour'",
    ):
        assert line in r.stdout, r.stdout
    assert "5 problem(s) found" in r.stderr  # and 'visited' can no longer be reached


def test_areas_check_on_a_missing_path(tmp_path):
    r = caseframe("areas", "check", str(tmp_path / "nothing"))
    assert r.returncode == 1 and "is not a directory" in r.stdout


def test_broken_plugin_stops_start_up_with_file_and_reason(tmp_path):
    r = caseframe("areas", env={"CASEFRAME_PLUGINS": "no_such_plugin"})
    assert r.returncode == 1
    assert "no plugin called 'no_such_plugin' is installed" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.own_sqlite
def test_new_area_scaffold_passes_its_own_test_at_once(tmp_path):
    r = caseframe("new-area", "noise_nuisance", "--path", str(tmp_path))
    assert r.returncode == 0, r.stderr
    root = tmp_path / "caseframe-noise-nuisance"
    assert caseframe("areas", "check", str(root / "caseframe_noise_nuisance/area")).returncode == 0
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{root}"}
    env.pop("CASEFRAME_DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    # its tests exercise each declaration it shows: a person's referral, the case's, the notice, the date guard
    assert "5 passed" in run.stdout, run.stdout[-2000:]
    again = caseframe("new-area", "noise_nuisance", "--path", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "pip install -e '.[test]' && pytest" in r.stdout


@pytest.mark.own_sqlite
def test_a_scaffolded_plugin_s_rule_may_refer_into_a_built_in_area(tmp_path):
    """The conftest's caseframe_builtins fixture loads the built-in areas into ctx beside the plugin's."""
    from caseframe.core.scaffold import new_area

    root = new_area("graffiti", tmp_path)
    area = root / "caseframe_graffiti/area/area.toml"
    toml = area.read_text(encoding="utf-8")
    toml = toml.replace(
        'then = { panel = "complex-case-panel", reason = "The review',
        'then = { area = "hate_crime", reason = "The review',
    )
    area.write_text(toml, encoding="utf-8")
    conftest = (root / "conftest.py").read_text(encoding="utf-8")
    assert "def caseframe_builtins():\n" in conftest
    (root / "conftest.py").write_text(
        conftest.replace("    return False", "    return True"), encoding="utf-8"
    )
    (root / "tests/test_graffiti.py").write_text(
        "async def test_the_built_in_areas_are_loaded(ctx):\n"
        "    assert {'graffiti', 'hate_crime'} <= set(ctx.areas.areas)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{root}"}
    env.pop("CASEFRAME_DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout[-2000:]


@pytest.mark.parametrize("slug", ["ab", "a_forty_letter_area_name_for_line_length"])
def test_a_scaffolded_plugin_is_ruff_formatted_and_passes_ruff_check(tmp_path, slug):
    """A plugin author who runs ruff on the new package meets no change and no complaint, whatever its name."""
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed (the lint extra: ./dev installs it)")
    from caseframe.core.scaffold import new_area

    root = new_area(slug, tmp_path)
    for command in (["format", "--check"], ["check", "--select", "E,F,I,B,UP,SIM,C90"]):
        run = subprocess.run([str(ruff), *command, "."], capture_output=True, text=True, cwd=root, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr


def test_a_scaffolded_plugin_pins_a_compatible_caseframe_and_the_core_s_warning_filters(tmp_path):
    import tomllib

    from caseframe.core import __version__
    from caseframe.core.scaffold import TEST_REQUIREMENTS, WARNING_FILTERS, compatible_range, new_area

    root = new_area("fly_posting", tmp_path)
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    major, minor = __version__.split(".")[:2]
    assert project["project"]["dependencies"] == [f"caseframe>={major}.{minor},<{int(major) + 1}"]
    assert compatible_range("2.3.1") == "caseframe>=2.3,<3"
    core = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert core["tool"]["pytest"]["ini_options"]["filterwarnings"] == WARNING_FILTERS, (
        "the core's warning filters changed: change core.scaffold.WARNING_FILTERS to match"
    )
    assert project["tool"]["pytest"]["ini_options"]["filterwarnings"] == WARNING_FILTERS
    # pip install -e '.[test]' brings what the scaffold's tests need, in the ranges the core's own tests use
    assert project["project"]["optional-dependencies"]["test"] == TEST_REQUIREMENTS
    assert set(TEST_REQUIREMENTS) <= set(core["project"]["optional-dependencies"]["test"])
    # the examples follow their own advice
    for example in sorted((ROOT / "examples").glob("*/pyproject.toml")):
        shown = tomllib.loads(example.read_text(encoding="utf-8"))
        assert shown["project"]["dependencies"] == [compatible_range(__version__)], example
        assert shown["tool"]["pytest"]["ini_options"]["filterwarnings"] == WARNING_FILTERS, example


def test_new_area_rejects_a_bad_name(tmp_path):
    r = caseframe("new-area", "Bad Name!", "--path", str(tmp_path))
    assert r.returncode == 2 and "is not a valid area name" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_area_refuses_the_name_of_an_installed_area(tmp_path):
    r = caseframe("new-area", "asb", "--path", str(tmp_path))
    assert r.returncode == 2 and "an area called 'asb' is already installed (" in r.stderr, r.stderr
    assert "choose another name" in r.stderr and list(tmp_path.iterdir()) == []


def _installed_plugin(where: Path, source: str) -> dict:
    """A plugin installed as pip would (a module and its dist-info with the entry point) on PYTHONPATH."""
    (where / "trial_plugin.py").write_text(source, encoding="utf-8")
    info = where / "trial_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: trial-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[caseframe]\ntrial = trial_plugin\n", encoding="utf-8")
    return {"PYTHONPATH": f"{ROOT}{os.pathsep}{where}", "CASEFRAME_PLUGINS": "trial"}


@pytest.mark.parametrize(
    "source, words",
    [
        (
            "from caseframe.api import hookimpl\n@hookimpl\ndef validate_cases(area, form, data, case):\n    pass\n",
            "plugin trial_plugin: validate_cases() is marked @hookimpl, but Caseframe has no hook called "
            "'validate_cases'; did you mean 'validate_case'?",
        ),
        (
            "from caseframe.api import hookimpl\n@hookimpl\ndef validate_case(area, form, answers, case):\n"
            "    pass\n",
            "plugin trial_plugin: validate_case() takes 'answers', which the hook does not give; "
            "it is given area, form, data, case",
        ),
        (
            "from caseframe.api import hookimpl\n@hookimpl\ndef agency_types():\n"
            "    return {'name': 'graffiti_team', 'label': 'Graffiti team'}\n",
            'plugin trial_plugin: agency_types() must return a list of {"name": ..., "label": ...}, not dict',
        ),
        (
            "from caseframe.api import hookimpl\n@hookimpl\ndef register_areas():\n    return '/srv/area'\n",
            "plugin trial_plugin: register_areas() must return a list of area directories",
        ),
    ],
    ids=["misspelt-hook", "wrong-argument", "agency-types-shape", "register-areas-shape"],
)
def test_a_mistake_in_an_installed_plugin_is_one_line_naming_it(tmp_path, source, words):
    r = caseframe("areas", env=_installed_plugin(tmp_path, source))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert words in r.stderr
    assert (
        r.stderr.strip().splitlines()[-1]
        == "caseframe: start-up stopped: fix the plugin and area problems above"
    )


ROUTES = """from litestar import get
from caseframe.api import hookimpl

@get("/health", opt={"public": True})
async def clash() -> str:
    return "mine"

def undecorated() -> str:
    return "x"

@hookimpl
def register_routes():
    return [clash, undecorated]

@hookimpl
def template_directories():
    return ["/no/such/templates"]
"""


@pytest.mark.own_sqlite
def test_serve_with_a_plugin_whose_routes_or_templates_cannot_be_mounted_names_it_and_makes_nothing(tmp_path):
    plugin, folder = tmp_path / "plugin", tmp_path / "run"
    plugin.mkdir()
    folder.mkdir()
    env = _installed_plugin(plugin, ROUTES)
    port = str(_free_port())
    expected = [
        # one start-up names every problem with the plugin's routes and templates
        (ROUTES, "plugin trial_plugin#/1: register_routes(): 'undecorated' is not a route handler"),
        (ROUTES, "plugin trial_plugin#/0: template_directories(): '/no/such/templates' is not a folder"),
        (
            ROUTES.replace('"/no/such/templates"', "").replace("clash, undecorated", "clash"),
            "plugin trial_plugin#/0: register_routes(): Handler already registered for path '/health' and http "
            "method GET",
        ),
    ]
    for source, words in expected:
        (plugin / "trial_plugin.py").write_text(source, encoding="utf-8")
        r = caseframe("serve", "--port", port, env=env, cwd=folder)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert words in r.stderr
        # stopped before the database, the audit key or "running"
        assert "running" not in r.stdout and list(folder.iterdir()) == []


def test_areas_check_on_a_form_with_an_unknown_type_is_no_traceback(tmp_path):
    broken = tmp_path / "noise"
    shutil.copytree(NOISE, broken)
    form = (broken / "forms/report.schema.json").read_text()
    form = form.replace('"type": "integer", "minimum": 0', '"type": "int", "minimum": 0')
    form = form.replace(
        '"x-hint": "Say what', '"x-show-when": {"field": "nights", "in": [7]}, "x-hint": "Say what'
    )
    (broken / "forms/report.schema.json").write_text(form)
    r = caseframe("areas", "check", str(broken))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert (
        f"{broken / 'forms/report.schema.json'}#/properties/nights/type: 'int' is not a JSON Schema type"
        in r.stdout
    )


@pytest.mark.own_sqlite
def test_serve_with_a_store_or_database_it_cannot_use_writes_nothing_and_never_says_running(tmp_path):
    """A document store it cannot use stops it before the database is made, the audit key written or "running"
    printed; a database it cannot reach stops it before the key is written."""
    env = {"CASEFRAME_AUDIT_KEY_FILE": str(tmp_path / "audit.key"), "CASEFRAME_AUDIT_KEY": ""}
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    port = str(_free_port())
    for store, words in [
        ({"CASEFRAME_DOCUMENTS_STORE": "ftp"}, "CASEFRAME_DOCUMENTS_STORE must be local or s3, not 'ftp'"),
        ({"CASEFRAME_DOCUMENTS_STORE": "s3", "CASEFRAME_S3_BUCKET": ""}, "needs CASEFRAME_S3_BUCKET"),
    ]:
        r = caseframe("--database", url, "serve", "--port", port, env={**env, **store})
        assert r.returncode == 2 and words in r.stderr and "running" not in r.stdout, r.stdout + r.stderr
    r = caseframe("--database", "postgresql://nobody@127.0.0.1:1/nowhere", "serve", "--port", port, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "running" not in r.stdout, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.own_sqlite
@pytest.mark.parametrize(
    "args, words",
    [
        (["--database", "", "audit", "verify"], "the database URL is empty"),
        (["retention", "run", "--agency", " "], "the agency is empty"),
    ],
    ids=["database", "agency"],
)
def test_an_empty_value_is_refused_not_taken_as_left_out(tmp_path, args, words):
    """A script's empty variable (``--agency "$AGENCY"``) once swept every agency, or used the default database."""
    r = caseframe(*args, cwd=tmp_path)
    assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.own_sqlite
def test_the_reminder_sweep_refuses_a_day_after_tomorrow_before_opening_anything(tmp_path):
    """Owners are told once of each task: a far day (a typo of the year) marked every task told, for good."""
    import datetime as dt

    from caseframe.core import clock
    from caseframe.core.cli import _sweep_day

    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    r = caseframe("--database", url, "notifications", "run", "--date", "9999-12-31", cwd=tmp_path)
    assert r.returncode == 2 and "(tomorrow) at the latest, not 9999-12-31" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []
    tomorrow = clock.today() + dt.timedelta(days=1)
    assert _sweep_day(tomorrow.isoformat()) == (tomorrow, "")
    assert _sweep_day("2020-01-01") == (dt.date(2020, 1, 1), "")  # a missed day is caught up
