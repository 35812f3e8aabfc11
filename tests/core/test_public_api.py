"""caseframe.api is the one surface plugins import: the built-in areas, the example packages and a freshly
scaffolded plugin import nothing else of the framework; a plugin module that does still loads, warned; and a
plugin declaring a Caseframe range that leaves out the running version is refused, saying why."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

import caseframe.testing
from caseframe import api
from caseframe.core import __version__, testing
from caseframe.core.errors import AreaError
from caseframe.core.plugins import get_plugin_manager, internal_imports
from caseframe.core.scaffold import new_area
from caseframe.core.testing import make_context
from tests.fixtures.areas import noise_plugin

ROOT = Path(__file__).resolve().parents[2]


def python_files(*folders: Path) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def framework_imports(path: Path) -> list[str]:
    return internal_imports(path.read_text(encoding="utf-8"))


def test_the_import_scan_catches_every_way_of_reaching_inside():
    source = textwrap.dedent("""
        import core
        import caseframe.core.cases.service as cases
        from caseframe.core import hookimpl
        from caseframe.core.errors import Forbidden
        from caseframe.areas.asb import CASES
        from plugins.iom import AREA
        from caseframe import testing, api
        from caseframe.testing.pytest_plugin import db
        import caseframe.api
        from caseframe import _private
        from . import own_module
        import litestar
    """)
    assert internal_imports(source) == [
        "core",
        "caseframe.core.cases.service",
        "caseframe.core",
        "caseframe.core.errors",
        "caseframe.areas.asb",
        "plugins.iom",
        "caseframe._private",
    ]


@pytest.mark.parametrize("where", ["plugins", "examples"])  # plugins/ is caseframe.areas
def test_built_in_areas_and_example_packages_import_only_the_public_api(where):
    # plugins/__init__.py is the package caseframe.areas itself (it hands its old name over), not an area
    files = [path for path in python_files(ROOT / where) if path != ROOT / "plugins" / "__init__.py"]
    assert len(files) >= 5
    offenders = {str(path.relative_to(ROOT)): found for path in files if (found := framework_imports(path))}
    assert not offenders, f"import only caseframe.api and caseframe.testing: {offenders}"


def test_a_freshly_scaffolded_plugin_imports_only_the_public_api(tmp_path):
    root = new_area("noise_nuisance", tmp_path)
    files = python_files(root)
    assert {p.name for p in files} >= {"__init__.py", "conftest.py", "test_noise_nuisance.py"}
    offenders = {p.name: found for p in files if (found := framework_imports(p))}
    assert not offenders, f"the scaffold's templates import the framework's inside: {offenders}"


def test_the_public_api_lists_and_documents_every_name():
    sectioned = [name for names in api.SECTIONS.values() for name in names]
    assert sectioned == api.__all__, (
        "caseframe.api: SECTIONS and __all__ must list the same names in one order"
    )
    for name in api.__all__:
        obj = getattr(api, name)
        described = api.DESCRIPTIONS.get(name) or (None if isinstance(obj, str) else inspect.getdoc(obj))
        assert described, f"caseframe.api.{name} says nothing about itself"
    with pytest.raises(AttributeError):
        api.no_such_name  # noqa: B018
    assert caseframe.testing.__all__ == testing.__all__
    assert all(getattr(caseframe.testing, name) is getattr(testing, name) for name in testing.__all__)


def test_service_calls_load_on_first_use():
    """A plugin importing caseframe.api to declare its areas does not pull in the database layer."""
    code = (
        "import sys, caseframe.api; assert 'caseframe.core.cases.service' not in sys.modules, 'loaded early'; "
        "from caseframe.api import open_case; assert open_case.__module__ == 'caseframe.core.cases.service'"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def module(name: str, source: str, tmp_path: Path, monkeypatch) -> types.ModuleType:
    """A plugin module written to a file (the loader reads a module's source to see what it imports)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return __import__(name)


def test_a_plugin_module_importing_the_core_loads_with_a_warning_naming_it_and_the_replacement(
    tmp_path, monkeypatch
):
    old = module(
        "caseframe_old_style",
        """
        from caseframe.core import hookimpl
        from caseframe.core.cases import service as cases

        @hookimpl
        def case_created(case, actor):
            pass
    """,
        tmp_path,
        monkeypatch,
    )
    with pytest.warns(DeprecationWarning) as caught:
        ctx = make_context(old)
    assert ctx.pm.is_registered(old)
    messages = [str(w.message) for w in caught if "caseframe_old_style" in str(w.message)]
    assert messages == [
        "plugin module caseframe_old_style imports caseframe.core, caseframe.core.cases: the "
        "framework's inside, which "
        "may change in any release. Import from caseframe.api instead (caseframe.testing in tests); "
        "see docs/api.md"
    ]


def test_a_plugin_package_is_warned_about_its_submodules_too(tmp_path, monkeypatch):
    package = tmp_path / "caseframe_split"
    package.mkdir()
    (package / "__init__.py").write_text("from caseframe.api import hookimpl\nfrom . import routes\n")
    (package / "routes.py").write_text("from core.web.auth import require_user\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import caseframe_split

    with pytest.warns(
        DeprecationWarning, match=r"plugin module caseframe_split\.routes imports core\.web\.auth"
    ):
        make_context(caseframe_split)


def test_plugins_using_only_the_public_api_load_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        make_context(noise_plugin)
        get_plugin_manager("", builtins=True, entrypoints=False)


def test_a_plugin_requiring_another_caseframe_is_refused_naming_it_its_range_and_the_running_version(
    tmp_path, monkeypatch
):
    future = module(
        "caseframe_future",
        """
        from caseframe.api import hookimpl
        CASEFRAME_REQUIRES = ">=99.0,<100"
    """,
        tmp_path,
        monkeypatch,
    )
    with pytest.raises(AreaError) as refused:
        make_context(future)
    assert str(refused.value) == (
        f"plugin caseframe_future: requires caseframe>=99.0,<100 (CASEFRAME_REQUIRES), but "
        f"this is Caseframe {__version__}: install a release of the plugin made for "
        f"{__version__}, or a Caseframe in that range"
    )
    future.CASEFRAME_REQUIRES = f"caseframe>={__version__},<99"  # a requirement with the name also reads
    assert make_context(future).pm.is_registered(future)
    future.CASEFRAME_REQUIRES = "soon"
    with pytest.raises(AreaError, match="its CASEFRAME_REQUIRES 'soon' is not a version range"):
        make_context(future)


def test_an_installed_plugin_s_requires_dist_is_checked_at_start_up(tmp_path):
    """What `pip install` of a plugin written for another Caseframe leaves behind: its Requires-Dist says so."""
    site = tmp_path / "site"
    (site / "caseframe_later").mkdir(parents=True)
    (site / "caseframe_later" / "__init__.py").write_text("from caseframe.api import hookimpl\n")
    dist = site / "caseframe_later-2.0.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[caseframe]\nlater = caseframe_later\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    env.pop("CASEFRAME_DATABASE_URL", None)

    def areas(requires: str) -> subprocess.CompletedProcess:
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: caseframe-later\nVersion: 2.0.0\nRequires-Dist: {requires}\n"
        )
        return subprocess.run(
            [sys.executable, "-m", "caseframe", "areas"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )

    refused = areas("caseframe>=2.0,<3")
    assert refused.returncode != 0
    assert (
        f"plugin caseframe_later: requires caseframe>=2.0,<3 (Requires-Dist of caseframe-later 2.0.0), but this is "
        f"Caseframe {__version__}"
    ) in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert areas("caseframe>=0.1,<1").returncode == 0
    assert areas('caseframe>=2.0; extra == "docs"').returncode == 0  # only for an extra: not a requirement
