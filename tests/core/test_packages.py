"""One import package, ``caseframe``: the core is ``caseframe.core`` and the built-in areas ``caseframe.areas``
(their directories keep their places in the source tree, caseframe/_packages.py). The old names ``core`` and
``plugins`` work for one more release, as the very same modules, with a DeprecationWarning naming the new one.
(The built wheel's layout is tested in test_assets.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import caseframe
import caseframe.areas.asb
import caseframe.core.cases.service
from caseframe import _packages
from caseframe.core.plugins import plugin_key

ROOT = Path(__file__).resolve().parents[2]


def python(
    code: str, cwd: Path, *, path: list[Path] | None = None, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in path or [])}
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_the_core_and_the_areas_are_inside_the_caseframe_package():
    assert caseframe.core.cases.service.__name__ == "caseframe.core.cases.service"
    assert Path(caseframe.core.__file__).resolve() == ROOT / "core" / "__init__.py"
    assert Path(caseframe.areas.asb.__file__).resolve() == ROOT / "plugins" / "asb" / "__init__.py"
    # the built-in areas are known by their import name, however they were loaded
    assert plugin_key(caseframe.areas.asb) == "caseframe.areas.asb"


def test_the_old_names_are_the_same_modules_with_a_warning_naming_the_new_one():
    for old in [name for name in sys.modules if name == "core" or name.startswith(("core.", "plugins"))]:
        del sys.modules[old]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import core.cases.service as old_service
        from plugins.asb import __name__ as asb_name
    assert old_service is caseframe.core.cases.service
    assert asb_name == "caseframe.areas.asb"
    # once per importing line (core, core.cases and core.cases.service are three imports of one statement)
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert messages == [
        "the module name 'core' is deprecated and goes in the next release: import "
        "'caseframe.core' (a plugin imports caseframe.api)",
        "the module name 'plugins' is deprecated and goes in the next release: import "
        "'caseframe.areas' (a plugin imports caseframe.api)",
    ]
    # the warning points at the line that imported the old name, not at the import system
    assert {Path(w.filename).name for w in caught if w.category is DeprecationWarning} == {"test_packages.py"}


def test_a_missing_module_is_missing_under_either_name():
    import pytest

    with pytest.raises(ModuleNotFoundError):
        import core.no_such_module  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        import caseframe.core.no_such_module  # noqa: F401


def test_another_projects_top_level_core_keeps_its_name(tmp_path):
    """Caseframe no longer owns the top-level names: a project's own ``core`` package is that project's."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("MINE = True\n")
    ran = python(
        "import caseframe, core; print(getattr(core, 'MINE', False), core.__file__)",
        tmp_path,
        path=[tmp_path, ROOT],
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["True", str(tmp_path / "core" / "__init__.py")]


def test_the_old_top_level_name_imported_first_from_a_checkout_becomes_the_new_package():
    """From the checkout, ``import core`` (before anything imported caseframe) finds the core/ directory itself:
    it hands over to caseframe.core, so there is never a second copy of the core's modules and tables."""
    ran = python(
        "import warnings; warnings.simplefilter('always')\n"
        "import core.cases.service, caseframe.core.cases.service as new\n"
        "print(core.cases.service is new, sorted(n for n in __import__('sys').modules if n.startswith('core.')"
        " and __import__('sys').modules[n] is not __import__('sys').modules['caseframe.' + n]))",
        ROOT,
        path=[ROOT],
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True []"
    assert "DeprecationWarning: the module name 'core' is deprecated" in ran.stderr


def test_the_command_runs_under_its_new_name_and_its_old_one(tmp_path):
    new = python("", tmp_path, path=[ROOT], args=("-m", "caseframe", "--help"))
    assert new.returncode == 0, new.stderr
    assert "usage: caseframe" in new.stdout
    old = python("", ROOT, path=[ROOT], args=("-W", "always::DeprecationWarning", "-m", "core.cli", "--help"))
    assert old.returncode == 0, old.stderr
    assert old.stdout == new.stdout
    assert "the module name 'core.cli' is deprecated" in old.stderr


def test_a_worktree_runs_its_own_core(tmp_path):
    """A second checkout on PYTHONPATH (a git worktree using another checkout's virtualenv, as bench/_server.py
    and the tests do) runs its own core, not the one the virtualenv was installed from."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "caseframe", checkout / "caseframe", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("core", "plugins"):
        (checkout / name).symlink_to(ROOT / name)
    (checkout / "caseframe_build.py").write_text("")
    ran = python(
        "import caseframe.core, caseframe.areas; print(caseframe.core.__file__); print(caseframe.areas.__file__)",
        tmp_path,
        path=[checkout],
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [
        str(checkout / "core" / "__init__.py"),
        str(checkout / "plugins" / "__init__.py"),
    ]


def test_the_mirror_lays_the_checkout_out_as_a_wheel_installs_it(tmp_path):
    package = _packages.mirror(tmp_path)
    assert (package / "core" / "cases" / "service.py").resolve() == ROOT / "core" / "cases" / "service.py"
    assert (package / "areas" / "asb" / "__init__.py").resolve() == ROOT / "plugins" / "asb" / "__init__.py"
    assert (package / "api.py").resolve() == ROOT / "caseframe" / "api.py"
    _packages.mirror(tmp_path)  # again: made afresh
    assert not list(package.rglob("__pycache__"))
