"""Where ``caseframe.core`` and ``caseframe.areas`` are found, and the old names ``core`` and ``plugins``.

The project keeps its source tree as the product brief lays it out: the core in ``core/``, the built-in areas
in ``plugins/<area>/``, the meta-schemas in ``schemas/``, beside this package. A built wheel installs them
where their names say (``caseframe/core``, ``caseframe/areas``, ``caseframe/core/_schemas``; pyproject.toml's
``package-dir``), so nothing of Caseframe's is a top-level ``core`` or ``plugins`` that could collide with
another project's. In a source checkout (an editable install, a worktree on ``PYTHONPATH``, ``python -m
caseframe`` from the checkout) :class:`SourceLayout` finds the two packages in their directories beside this
one: the checkout whose ``caseframe`` was imported is the one whose core runs.

Until the next release the old import names keep working, with a :class:`DeprecationWarning`:
``import core.cases.service`` and ``from plugins.asb import ...`` give the very module objects of
``caseframe.core.cases.service`` and ``caseframe.areas.asb`` (one module, two names), so a plugin written
against the old names keeps its registrations, its tables and its plugin key.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

#: the package each directory of a source checkout is
SOURCE_DIRECTORIES = {"caseframe.core": "core", "caseframe.areas": "plugins"}

#: the old import names, kept for one release: old top-level package -> its name now
OLD_NAMES = {"core": "caseframe.core", "plugins": "caseframe.areas"}

#: a file only Caseframe's own source checkout has beside the ``caseframe`` package
_CHECKOUT_MARK = "caseframe_build.py"


def new_name(old: str) -> str | None:
    """The current name of a module imported by its old name (``core.cli`` -> ``caseframe.core.cli``), or None."""
    top, _, rest = old.partition(".")
    new = OLD_NAMES.get(top)
    if new is None:
        return None
    return f"{new}.{rest}" if rest else new


class SourceLayout(importlib.abc.MetaPathFinder):
    """Finds ``caseframe.core`` and ``caseframe.areas`` in ``core/`` and ``plugins/`` of a source checkout.

    Only when this ``caseframe`` package sits in the checkout (the checkout's own build script beside it) and
    has no ``core`` of its own, as an installed wheel does: an unrelated ``core`` package next to an installed
    Caseframe is never taken for Caseframe's.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001 - the finder protocol
        directory = SOURCE_DIRECTORIES.get(fullname)
        if directory is None:
            return None
        package = self.root / directory
        init = package / "__init__.py"
        if not init.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(package)]
        )


def _ours(init: Path) -> bool:
    """Whether a package found by the path finder is a Caseframe checkout's ``core`` or ``plugins`` directory."""
    return (init.resolve().parent.parent / _CHECKOUT_MARK).is_file()


def _importer() -> tuple[int, tuple[str, int] | None]:
    """The stack level (as warnings.warn counts it) and the place of the first frame that is neither the import
    system's nor this module's: the line that imported an old name."""
    frame, level = sys._getframe(2), 2
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_code.co_filename == __file__
    ):
        if not frame.f_code.co_filename.startswith("<frozen importlib"):
            level += 1  # warnings.warn counts no frame of the import system's (it skips them itself)
        frame = frame.f_back
    return level, (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None


#: the lines warned about: ``from core.web.auth import x`` imports core, core.web and core.web.auth, and is told once
_warned: set[tuple[str, int]] = set()


def _warn(old: str, new: str) -> None:
    level, place = _importer()
    if place is not None:
        if place in _warned:
            return
        _warned.add(place)
    warnings.warn(
        f"the module name {old!r} is deprecated and goes in the next release: import {new!r} "
        f"(a plugin imports caseframe.api)",
        DeprecationWarning,
        stacklevel=level,
    )


class OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``core.*`` and ``plugins.*`` as aliases of ``caseframe.core.*`` and ``caseframe.areas.*``."""

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001 - the finder protocol
        new = new_name(fullname)
        if new is None:
            return None
        top = fullname.partition(".")[0]
        if top == fullname:
            found = importlib.machinery.PathFinder.find_spec(fullname)
            if found is not None and found.origin and not _ours(Path(found.origin)):
                return None  # another project's own top-level core or plugins: it keeps its name
        elif sys.modules.get(top) is not sys.modules.get(OLD_NAMES[top]):
            return None  # under a top-level package that is not ours
        try:
            module = importlib.import_module(new)
        except ModuleNotFoundError as exc:
            if exc.name == new:
                return None  # no such module under either name: the usual ModuleNotFoundError follows
            raise
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=hasattr(module, "__path__"))
        spec.loader_state = new
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _warn(spec.name, spec.loader_state)
        return sys.modules[spec.loader_state]

    def exec_module(self, module: ModuleType) -> None:
        """The module ran under its own name already."""

    def get_code(self, fullname: str):  # noqa: ANN201 - for ``python -m core.cli``: run the module's own code
        new = new_name(fullname)
        _warn(fullname, new)
        spec = importlib.util.find_spec(new)
        return spec.loader.get_code(new)


def become(old: str) -> None:
    """Called by ``core/__init__.py`` (or ``plugins/__init__.py``) when a source checkout's directory was imported
    under its old top-level name before ``caseframe`` was: the old name becomes the new package."""
    new = new_name(old)
    _warn(old, new)
    sys.modules[old] = importlib.import_module(new)


def install() -> None:
    """Put both finders first on ``sys.meta_path`` (once): ahead of the path finder, so the checkout whose
    ``caseframe`` this is wins over another copy on ``sys.path`` or an editable install's mapping."""
    if any(isinstance(finder, (SourceLayout, OldNames)) for finder in sys.meta_path):
        return
    package = Path(__file__).resolve().parent
    finders: list[importlib.abc.MetaPathFinder] = [OldNames()]
    if (package.parent / _CHECKOUT_MARK).is_file() and not (package / "core").exists():
        finders.insert(0, SourceLayout(package.parent))
    sys.meta_path[:0] = finders


def mirror(target: Path) -> Path:
    """Lay a source checkout out as a wheel installs it, in ``target``: ``target/caseframe`` with ``core`` and
    ``areas`` inside, every file a symbolic link to the checkout's own. Static tools that find modules by walking
    directories (mypy, import-linter) read the package there under its real names; ``./dev lint`` makes it in
    build/layout. Made afresh each time, so a new or deleted module is never missed or left behind."""
    import shutil

    checkout = Path(__file__).resolve().parent.parent
    package = target / "caseframe"
    if package.exists():
        shutil.rmtree(package)
    sources = {
        package: checkout / "caseframe",
        package / "core": checkout / "core",
        package / "areas": checkout / "plugins",
    }
    for destination, source in sources.items():
        for path in sorted(source.rglob("*.py")):
            relative = path.relative_to(source)
            if "__pycache__" in relative.parts or (
                source.name == "caseframe" and relative.parts[0] in ("core", "areas")
            ):
                continue
            link = destination / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    return package
