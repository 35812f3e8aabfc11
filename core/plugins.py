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


#: A plugin module (or object) may set this to name itself; otherwise its module's import name is used.
NAME_ATTRIBUTE = "CASEFRAME_PLUGIN_NAME"


def plugin_key(plugin: object) -> str:
    """The name a plugin is known by: its facts go under ``extra.<name>``, its areas say they come from it.

    The same however the plugin was loaded (an entry point, a module name in ``CASEFRAME_PLUGINS`` or
    ``DEFAULT_PLUGINS``, or the module or object handed to ``make_context``): the plugin's own
    ``CASEFRAME_PLUGIN_NAME`` if it sets one, else the import name of its module (``caseframe_fly_tipping``),
    else, for an object, its class's import path. An entry point's own name is only how it is chosen.
    """
    declared = getattr(plugin, NAME_ATTRIBUTE, None)
    if isinstance(declared, str) and declared:
        return declared
    name = getattr(plugin, "__name__", None)
    if isinstance(plugin, type(os)) and isinstance(name, str):
        return name
    kind = plugin if isinstance(plugin, type) else type(plugin)
    return f"{kind.__module__}.{kind.__qualname__}"


def register(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    """Register a plugin under its :func:`plugin_key` (or ``name``), once."""
    if pm.is_registered(plugin):
        return
    name = name or plugin_key(plugin)
    if pm.get_plugin(name) is not None and not isinstance(plugin, type(os)) \
            and not getattr(plugin, NAME_ATTRIBUTE, None):
        # a second object of one class (tests do this): number it rather than refuse it
        name += f"#{sum(1 for n, _ in pm.list_name_plugin() if n.startswith(name)) + 1}"
    pm.register(plugin, name=name)


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
            register(pm, module)
        except pluggy.PluginValidationError as exc:
            problems.append(Problem(f"plugin {name}", "", str(exc)))
        except ValueError:  # two plugins that name themselves alike: their facts would overwrite each other's
            problems.append(Problem(f"plugin {name}", "", f"is called {plugin_key(module)!r}, like another "
                                    f"plugin already loaded; set {NAME_ATTRIBUTE} to a name of its own"))
    if wanted is not None:
        missing = wanted - {name for name, _ in candidates}
        for name in sorted(missing):
            problems.append(Problem("CASEFRAME_PLUGINS", "", f"no plugin called {name!r} is installed"))
    if problems:
        raise AreaError(problems)
    return pm


def register_plugin(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    """Register one more plugin object or module (used by tests and core.testing)."""
    register(pm, plugin, name)
