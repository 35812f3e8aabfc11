"""The plugin manager: built-in areas and installed packages load through one code path."""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import os
import re
import sys
import warnings
from collections.abc import Mapping
from importlib.metadata import Distribution, EntryPoint, entry_points, packages_distributions

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from caseframe.core import PROJECT, __version__, hookspecs
from caseframe.core.errors import AreaError, Problem

#: Built-in business areas, registered exactly as an installed plugin would be.
DEFAULT_PLUGINS = [
    "caseframe.areas.asb",
    "caseframe.areas.iom",
    "caseframe.areas.hate_crime",
    "caseframe.areas.rough_sleepers",
    "caseframe.areas.licensing",
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


#: A plugin module (or object) may set this to the Caseframe versions it supports (``">=0.1,<1"``); otherwise
#: its distribution's ``Requires-Dist: caseframe ...`` says, if it is an installed package.
REQUIRES_ATTRIBUTE = "CASEFRAME_REQUIRES"

#: What a plugin imports from the framework: these two modules (and what is under them); the rest of
#: ``caseframe`` (``caseframe.core``, ``caseframe.areas``, and their old names ``core`` and ``plugins``) is the
#: framework's inside.
PUBLIC_MODULES = ("caseframe.api", "caseframe.testing")
INTERNAL_PACKAGES = ("caseframe", "core", "plugins")
#: the framework's own modules, which may register hook implementations of their own without a warning
FRAMEWORK_PACKAGES = ("caseframe.core", "core")


def _is_public(module: str) -> bool:
    return any(module == public or module.startswith(public + ".") for public in PUBLIC_MODULES)


def internal_imports(source: str) -> list[str]:
    """The framework modules a plugin's ``source`` imports other than :data:`PUBLIC_MODULES`, in order.

    Absolute imports only: a plugin package importing its own modules (``from . import rules``) is its business.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from caseframe import api`` imports caseframe.api (public), ``from caseframe import _x`` imports
            # caseframe._x; ``from core import hookimpl`` imports core
            names = [
                f"{node.module}.{alias.name}" if node.module == "caseframe" else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name.split(".")[0] in INTERNAL_PACKAGES and not _is_public(name) and name not in found:
                found.append(name)
    return sorted(found, key=found.index)


@functools.lru_cache(maxsize=256)
def _internal_imports_of_file(path: str, mtime: float) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8") as f:
            return tuple(internal_imports(f.read()))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ()


def warn_about_internal_imports(plugin: object) -> None:
    """Warn (DeprecationWarning) for each module of a plugin package that imports the framework's inside.

    Such imports still work for now; the warning names the module, what it imports and the replacement.
    """
    name = getattr(plugin, "__name__", None)
    if (
        not isinstance(plugin, type(os))
        or not isinstance(name, str)
        or any(name == own or name.startswith(own + ".") for own in FRAMEWORK_PACKAGES)
    ):
        return
    modules = [plugin] + [
        module
        for key, module in list(sys.modules.items())
        if key.startswith(name + ".") and hasattr(plugin, "__path__")
    ]
    for module in modules:
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        imported = _internal_imports_of_file(path, mtime)
        if imported:
            warnings.warn(
                f"plugin module {module.__name__} imports {', '.join(imported)}: the framework's inside, "
                f"which may change in any release. Import from caseframe.api instead (caseframe.testing "
                f"in tests); see docs/api.md",
                DeprecationWarning,
                stacklevel=3,
            )


@functools.lru_cache(maxsize=1)
def _distributions_by_package() -> Mapping[str, list[str]]:
    return packages_distributions()


def _distribution_of(plugin: object) -> Distribution | None:
    """The installed distribution a plugin module comes from, if any (not the framework's own)."""
    name = getattr(plugin, "__name__", None)
    if not isinstance(plugin, type(os)) or not isinstance(name, str):
        return None
    for dist_name in _distributions_by_package().get(name.split(".")[0], []):
        if canonicalize_name(dist_name) != PROJECT:
            try:
                return Distribution.from_name(dist_name)
            except Exception:  # metadata that cannot be read says nothing about the range
                return None
    return None


def required_range(plugin: object, dist: Distribution | None = None) -> tuple[str, str] | None:
    """The Caseframe versions a plugin supports and where it says so, or None if it does not say.

    Its ``CASEFRAME_REQUIRES`` attribute if it sets one, else its distribution's ``Requires-Dist`` on caseframe
    (``dist``, or the one its module is installed from).
    """
    declared = getattr(plugin, REQUIRES_ATTRIBUTE, None)
    if declared is not None:
        text = str(declared).strip()
        return (
            text[len(PROJECT) :].strip() if text.lower().startswith(PROJECT) else text
        ), REQUIRES_ATTRIBUTE
    dist = dist or _distribution_of(plugin)
    if dist is None:
        return None
    for line in dist.requires or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == PROJECT and (
            requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        ):
            # the range as the plugin wrote it (a SpecifierSet prints its parts in no particular order)
            written = re.match(r"^\s*[A-Za-z0-9._-]+\s*(?:\[[^\]]*\])?\s*\(?([^;)]*)", line)
            return (written.group(1).strip() if written else str(requirement.specifier)).replace(
                " ", ""
            ), f"Requires-Dist of {dist.metadata['Name']} {dist.version}"
    return None


def check_compatible(plugin: object, name: str, dist: Distribution | None = None) -> None:
    """Refuse a plugin whose declared Caseframe range does not hold the running version (AreaError)."""
    declared = required_range(plugin, dist)
    if declared is None or not declared[0]:
        return
    wanted, where = declared
    try:
        compatible = SpecifierSet(wanted).contains(Version(__version__), prereleases=True)
    except InvalidSpecifier:
        raise AreaError(
            [
                Problem(
                    f"plugin {name}",
                    "",
                    f"its {where} {wanted!r} is not a version range (write e.g. '>=0.1,<1')",
                )
            ]
        ) from None
    if not compatible:
        raise AreaError(
            [
                Problem(
                    f"plugin {name}",
                    "",
                    f"requires caseframe{wanted} ({where}), but this is Caseframe "
                    f"{__version__}: install a release of the plugin made for {__version__}, or a "
                    f"Caseframe in that range",
                )
            ]
        )


def hookimpl_problems(pm: pluggy.PluginManager, plugin: object, name: str) -> list[Problem]:
    """What is wrong with a plugin's ``@hookimpl`` functions, in words, before pluggy sees them.

    A function marked ``@hookimpl`` whose name is no hook would never be called (a typo such as
    ``validate_cases``): refused, with the closest hook's name, unless it says ``optionalhook=True`` (a hook of
    a later Caseframe). One naming an argument its hook does not give is refused with the arguments it is given.
    """
    hooks = {
        hook: caller.spec.argnames
        for hook, caller in vars(pm.hook).items()
        if isinstance(caller, pluggy.HookCaller) and caller.spec is not None
    }
    problems: list[Problem] = []
    for attr in dir(plugin):
        try:
            opts = pm.parse_hookimpl_opts(plugin, attr)
        except Exception:  # an attribute that cannot be read is not a hook implementation
            continue
        if opts is None:
            continue
        if attr not in hooks:
            if opts.get("optionalhook"):
                continue
            close = difflib.get_close_matches(attr, list(hooks), n=1)
            problems.append(
                Problem(
                    f"plugin {name}",
                    "",
                    f"{attr}() is marked @hookimpl, but Caseframe has no hook called {attr!r}"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                    + " (every hook is in docs/hooks.md); it would never be called",
                )
            )
            continue
        try:
            parameters = inspect.signature(getattr(plugin, attr)).parameters.values()
        except (TypeError, ValueError):
            continue
        unknown = [
            p.name
            for p in parameters
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in hooks[attr]
        ]
        if unknown:
            problems.append(
                Problem(
                    f"plugin {name}",
                    "",
                    f"{attr}() takes {', '.join(repr(u) for u in unknown)}, which the hook does not give; "
                    f"it is given {', '.join(hooks[attr]) or 'nothing'} (name those you need, spelt so)",
                )
            )
    return problems


def register(
    pm: pluggy.PluginManager, plugin: object, name: str | None = None, *, dist: Distribution | None = None
) -> None:
    """Register a plugin under its :func:`plugin_key` (or ``name``), once.

    A plugin whose Caseframe range (:func:`required_range`) leaves out the running version, or whose hook
    implementations are misnamed (:func:`hookimpl_problems`), is refused with AreaError; a plugin module importing the framework's inside is registered, with a DeprecationWarning.
    """
    if pm.is_registered(plugin):
        return
    name = name or plugin_key(plugin)
    check_compatible(plugin, name, dist)
    problems = hookimpl_problems(pm, plugin, name)
    if problems:
        raise AreaError(problems)
    warn_about_internal_imports(plugin)
    if (
        pm.get_plugin(name) is not None
        and not isinstance(plugin, type(os))
        and not getattr(plugin, NAME_ATTRIBUTE, None)
    ):
        # a second object of one class (tests do this): number it rather than refuse it
        name += f"#{sum(1 for n, _ in pm.list_name_plugin() if n.startswith(name)) + 1}"
    pm.register(plugin, name=name)


def _wanted(env: str | None) -> set[str] | None:
    """The plugins named, or None for all of them: an unset, empty or blank setting (" " or "," named none, and
    loaded no area at all, where the README says empty means all)."""
    names = {name.strip() for name in (env or "").split(",") if name.strip()}
    return names or None


def get_plugin_manager(
    only: str | None = None, *, builtins: bool = True, entrypoints: bool = True
) -> pluggy.PluginManager:
    """Build a plugin manager with the built-in and installed plugins.

    ``only`` (default: the ``CASEFRAME_PLUGINS`` environment variable) is a comma-separated list of
    plugin names to load, e.g. ``caseframe.areas.asb,caseframe_fly_tipping``; names are module names for
    built-ins and entry-point names for installed plugins. A plugin that cannot be imported stops
    start-up with its name and the reason.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    wanted = _wanted(only if only is not None else os.environ.get("CASEFRAME_PLUGINS"))
    candidates: list[tuple[str, str | EntryPoint]] = []
    if builtins:
        candidates += [(name, name) for name in DEFAULT_PLUGINS]
    if entrypoints:
        candidates += [(ep.name, ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    problems: list[Problem] = []
    for name, source in candidates:
        if wanted is None or name in wanted:
            problems += _load_plugin(pm, name, source)
    if wanted is not None:
        missing = wanted - {name for name, _ in candidates}
        for name in sorted(missing):
            problems.append(Problem("CASEFRAME_PLUGINS", "", f"no plugin called {name!r} is installed"))
    if problems:
        raise AreaError(problems)
    return pm


def _load_plugin(pm: pluggy.PluginManager, name: str, source: str | EntryPoint) -> list[Problem]:
    """Import one plugin (a module name or an entry point) and register it; what stops it, by name."""
    try:
        module = importlib.import_module(source) if isinstance(source, str) else source.load()
    except Exception as exc:  # any import failure is a broken plugin, reported by name
        return [Problem(f"plugin {name}", "", f"cannot be imported: {exc}")]
    if pm.is_registered(module):
        return []
    try:
        register(pm, module, dist=getattr(source, "dist", None))
    except AreaError as exc:
        return list(exc.problems)
    except pluggy.PluginValidationError as exc:
        return [Problem(f"plugin {name}", "", str(exc))]
    except ValueError:  # two plugins that name themselves alike: their facts would overwrite each other's
        return [
            Problem(
                f"plugin {name}",
                "",
                f"is called {plugin_key(module)!r}, like another "
                f"plugin already loaded; set {NAME_ATTRIBUTE} to a name of its own",
            )
        ]
    return []


def register_plugin(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    """Register one more plugin object or module (used by tests and core.testing)."""
    register(pm, plugin, name)


def hook_lists(
    pm: pluggy.PluginManager, hook: str, what: str, problems: list[Problem]
) -> list[tuple[str, list]]:
    """Each plugin's answer to a hook that returns a list (``register_routes``, ``template_directories``), called
    one plugin at a time in the order pluggy calls them, as ``("plugin NAME", items)``: a hook that fails, or
    returns anything but a list (``what`` says of what), is added to ``problems`` naming the plugin, and the other
    plugins' answers still come back."""
    out: list[tuple[str, list]] = []
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        where = f"plugin {impl.plugin_name}"
        try:
            result = impl.function()
        except Exception as exc:
            problems.append(Problem(where, "", f"{hook}() failed: {type(exc).__name__}: {exc}"))
            continue
        if result is None:
            continue
        if not isinstance(result, (list, tuple)):
            problems.append(
                Problem(where, "", f"{hook}() must return a list of {what}, not {type(result).__name__}")
            )
            continue
        out.append((where, list(result)))
    return out
