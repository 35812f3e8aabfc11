"""The plugin manager: built-in areas and installed packages load through one code path."""
from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

import pluggy

from core import PROJECT, hookspecs
from core.errors import AreaError, Problem

#: Built-in business areas, registered exactly as an installed plugin would be.
DEFAULT_PLUGINS = [
    "plugins.asb",
    "plugins.iom",
    "plugins.hate_crime",
    "plugins.rough_sleepers",
    "plugins.licensing",
]

#: Entry-point group through which installed packages offer plugins (like pytest's ``pytest11``).
ENTRY_POINT_GROUP = "caseframe"


def _wanted(env: str | None) -> set[str] | None:
    if not env:
        return None
    return {name.strip() for name in env.split(",") if name.strip()}


def get_plugin_manager(only: str | None = None, *, builtins: bool = True,
                       entrypoints: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager with the built-in and installed plugins.

    ``only`` (default: the ``CASEFRAME_PLUGINS`` environment variable) is a comma-separated list of
    plugin names to load, e.g. ``plugins.asb,caseframe_fly_tipping``; names are module names for
    built-ins and entry-point names for installed plugins. A plugin that cannot be imported stops
    start-up with its name and the reason.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    wanted = _wanted(only if only is not None else os.environ.get("CASEFRAME_PLUGINS"))
    candidates: list[tuple[str, object]] = []
    if builtins:
        candidates += [(name, name) for name in DEFAULT_PLUGINS]
    if entrypoints:
        candidates += [(ep.name, ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    problems: list[Problem] = []
    for name, source in candidates:
        if wanted is not None and name not in wanted:
            continue
        try:
            module = importlib.import_module(source) if isinstance(source, str) else source.load()
        except Exception as exc:  # any import failure is a broken plugin, reported by name
            problems.append(Problem(f"plugin {name}", "", f"cannot be imported: {exc}"))
            continue
        if pm.is_registered(module):
            continue
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            problems.append(Problem(f"plugin {name}", "", str(exc)))
    if wanted is not None:
        missing = wanted - {name for name, _ in candidates}
        for name in sorted(missing):
            problems.append(Problem("CASEFRAME_PLUGINS", "", f"no plugin called {name!r} is installed"))
    if problems:
        raise AreaError(problems)
    return pm


def register_plugin(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    """Register one more plugin object or module (used by tests and core.testing)."""
    pm.register(plugin, name=name)
