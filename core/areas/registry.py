"""Every area the loaded plugins register, checked against each other, compiled once at start-up."""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from caseframe.core.agencies.types import (
    CORE_AGENCY_TYPES,
    CORE_IDENTIFIER_TYPES,
    CORE_PERSON_FLAGS,
    PersonFlag,
)
from caseframe.core.areas.loader import Area, load_area
from caseframe.core.errors import AreaError, Problem
from caseframe.core.referrals.engine import RuleIndex
from caseframe.core.sensitivity import sensitivity_rank

#: the level of a plugin's fact whose level it did not declare: withheld from all who cannot see everything
UNDECLARED_FACT_LEVEL = "special_category"


@dataclass
class AreaRegistry:
    areas: dict[str, Area]
    agency_types: dict[str, str]
    #: plugin name -> fact -> x-sensitivity level, from extra_referral_facts_sensitivity ("*": the rest)
    fact_levels: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: RuleIndex = field(init=False)
    identifier_types: dict[str, str] = field(init=False)
    #: the warning markers a person's record may carry: the core's and every area's, by name
    person_flags: dict[str, PersonFlag] = field(init=False)
    #: each marker's level, by name (one on a record but declared by none is read as the most sensitive)
    flag_levels: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.rules = RuleIndex([r for a in self.areas.values() for r in a.rules])
        self.identifier_types = dict(CORE_IDENTIFIER_TYPES)
        self.person_flags = dict(CORE_PERSON_FLAGS)
        for area in self.areas.values():
            for name, label in area.identifier_types.items():
                self.identifier_types.setdefault(name, label)
            for name, flag in area.person_flags.items():
                known = self.person_flags.setdefault(name, flag)
                if sensitivity_rank(flag.sensitivity) > sensitivity_rank(known.sensitivity):
                    # two areas (or an area and the core) rate one marker differently: the stricter level holds
                    self.person_flags[name] = known._replace(sensitivity=flag.sensitivity)
        self.flag_levels = {name: flag.sensitivity for name, flag in self.person_flags.items()}

    def flag_label(self, name: str) -> str:
        """What a marker is called; one no area declares any more is named from its stored name."""
        flag = self.person_flags.get(name)
        return flag.label if flag else name.replace("_", " ").replace("-", " ").strip().capitalize()

    def flag_level(self, name: str) -> str:
        """How sensitive a marker is; one no area declares is the most sensitive."""
        return self.flag_levels.get(name, UNDECLARED_FACT_LEVEL)

    def fact_level(self, plugin: str, fact: str) -> str:
        """How sensitive a fact a plugin added to the referral facts is (its declaration, else the most)."""
        levels = self.fact_levels.get(plugin, {})
        return levels.get(fact) or levels.get("*") or UNDECLARED_FACT_LEVEL

    def get(self, slug: str) -> Area | None:
        return self.areas.get(slug)

    def __iter__(self):
        return iter(self.areas.values())

    def __len__(self) -> int:
        return len(self.areas)


@dataclass
class _Refs:
    """What the checks across areas read of one area: its names and what its counts and rules point at."""

    slug: str
    prefix: str
    path: Path
    count_areas: list[tuple[int, str]]
    #: (rule index, target kind, target name, where in the rule: "then", or "then/notify" for a notice)
    targets: list[tuple[int, str, str, str]]
    agency_types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_area(cls, area: Area) -> _Refs:
        raw_rules = area.raw.get("rules", [])
        index = {r.get("id"): i for i, r in enumerate(raw_rules) if isinstance(r, dict)}
        return cls(
            area.slug,
            area.reference_prefix,
            area.path,
            [(i, c.area) for i, c in enumerate(area.counts)],
            [
                (
                    index.get(r.id, i),
                    r.target.kind,
                    r.target.name,
                    "then/notify" if r.action == "notify" else "then",
                )
                for i, r in enumerate(area.rules)
            ],
        )

    @classmethod
    def of_broken(cls, directory: Path) -> _Refs | None:
        """Read what can be read of an area that failed its own checks, so one run still reports the problems
        only a look across areas finds (an unknown target, a reused slug); None if not even that can be read."""
        try:
            raw = tomllib.loads((directory / "area.toml").read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return None
        slug = raw.get("slug")
        if not isinstance(slug, str):
            return None
        counts = [
            (i, c.get("area", slug))
            for i, c in enumerate(_list(raw.get("counts")))
            if isinstance(c, dict) and isinstance(c.get("area", slug), str)
        ]
        targets = []
        for i, rule in enumerate(_list(raw.get("rules"))):
            then = rule.get("then") if isinstance(rule, dict) else None
            for kind in ("area", "agency_type", "panel"):
                if isinstance(then, dict) and isinstance(then.get(kind), str):
                    targets.append((i, kind, then[kind], "then"))
            notify = then.get("notify") if isinstance(then, dict) else None
            for kind in ("agency_type", "agency", "panel"):
                if isinstance(notify, dict) and isinstance(notify.get(kind), str):
                    targets.append((i, kind, notify[kind], "then/notify"))
        prefix = raw.get("reference_prefix")
        types = {
            t["name"]: t["label"]
            for t in _list(raw.get("agency_types"))
            if isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("label"), str)
        }
        return cls(slug, prefix if isinstance(prefix, str) else "", directory, counts, targets, types)


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _cross_check(
    areas: list[Area | _Refs], agency_types: dict[str, str], known_areas: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    by_slug: dict[str, _Refs] = {}
    prefixes: dict[str, _Refs] = {}
    refs = [a if isinstance(a, _Refs) else _Refs.of_area(a) for a in areas]
    for area in refs:
        toml = str(area.path / "area.toml")
        if area.slug in by_slug:
            problems.append(
                Problem(
                    toml,
                    "/slug",
                    f"area {area.slug!r} is also defined in {by_slug[area.slug].path / 'area.toml'}",
                )
            )
        by_slug[area.slug] = area
        if area.prefix and area.prefix in prefixes and prefixes[area.prefix].slug != area.slug:
            problems.append(
                Problem(
                    toml,
                    "/reference_prefix",
                    f"{area.prefix!r} is already used by area {prefixes[area.prefix].slug!r}",
                )
            )
        if area.prefix:
            prefixes[area.prefix] = area
    for area in refs:
        toml = str(area.path / "area.toml")
        for i, count_area in area.count_areas:
            if count_area not in known_areas:
                problems.append(
                    Problem(toml, f"/counts/{i}/area", f"{count_area!r} is not an installed area")
                )
        for i, kind, name, then in area.targets:
            if kind == "area" and name not in known_areas:
                problems.append(
                    Problem(toml, f"/rules/{i}/{then}/area", f"{name!r} is not an installed area")
                )
            if kind == "agency_type" and name not in agency_types:
                problems.append(
                    Problem(
                        toml,
                        f"/rules/{i}/{then}/agency_type",
                        f"{name!r} is not a known agency type; add it with the agency_types "
                        "hook or use one of " + ", ".join(sorted(agency_types)),
                    )
                )
    return problems


def collect_agency_types(
    pm: pluggy.PluginManager | None, areas: list[Area | _Refs] = (), problems: list[Problem] | None = None
) -> dict[str, str]:
    """The core's kinds of agency, those areas declare, and those plugins add by hook.

    A plugin's ``agency_types()`` that fails or returns something other than a list of ``{"name", "label"}``
    is added to ``problems`` (when given) by the plugin's name; what it got right still counts.
    """
    types = dict(CORE_AGENCY_TYPES)
    for area in areas:
        for name, label in area.agency_types.items():
            types.setdefault(name, label)
    if pm is None:
        return types
    for impl in pm.hook.agency_types.get_hookimpls():
        try:
            result = impl.function()
        except Exception as exc:
            _note(problems, impl.plugin_name, f"agency_types() failed: {exc}")
            continue
        if result is None:
            continue
        if not isinstance(result, (list, tuple)):
            _note(
                problems,
                impl.plugin_name,
                'agency_types() must return a list of {"name": ..., "label": ...}, '
                f"not {type(result).__name__}",
            )
            continue
        for i, entry in enumerate(result):
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("name"), str)
                and isinstance(entry.get("label"), str)
            ):
                types.setdefault(entry["name"], entry["label"])
            else:
                _note(
                    problems,
                    impl.plugin_name,
                    f'agency_types() item {i} must be {{"name": "...", "label": "..."}}, not {entry!r}',
                    f"/{i}",
                )
    return types


def _note(problems: list[Problem] | None, plugin: str, reason: str, pointer: str = "") -> None:
    if problems is not None:
        problems.append(Problem(f"plugin {plugin}", pointer, reason))


def _directories(impl: pluggy.HookImpl, problems: list[Problem]) -> list[Path]:
    """The directories one plugin's ``register_areas()`` returns; what is wrong with them, by plugin name."""
    try:
        result = impl.function()
    except Exception as exc:
        problems.append(Problem(f"plugin {impl.plugin_name}", "", f"register_areas() failed: {exc}"))
        return []
    if result is None:
        return []
    if not isinstance(result, (list, tuple)):
        problems.append(
            Problem(
                f"plugin {impl.plugin_name}",
                "",
                "register_areas() must return a list of area directories "
                f'(e.g. [Path(__file__).parent / "area"]), not {type(result).__name__}',
            )
        )
        return []
    directories = []
    for i, entry in enumerate(result):
        if isinstance(entry, (str, Path)):
            directories.append(Path(entry))
        else:
            problems.append(
                Problem(
                    f"plugin {impl.plugin_name}",
                    f"/{i}",
                    f"register_areas() item {i} must be a directory (a Path), not {type(entry).__name__}",
                )
            )
    return directories


def build_registry(pm: pluggy.PluginManager) -> AreaRegistry:
    """Load every area the plugins register; raise AreaError listing every problem in all of them."""
    problems: list[Problem] = []
    areas: list[Area] = []
    broken: list[_Refs] = []
    for impl in pm.hook.register_areas.get_hookimpls():
        for directory in _directories(impl, problems):
            try:
                areas.append(load_area(directory, source=impl.plugin_name))
            except AreaError as exc:
                problems.extend(exc.problems)
                refs = _Refs.of_broken(directory) if directory.is_dir() else None
                if refs is not None:
                    broken.append(refs)
    types = collect_agency_types(pm, [*areas, *broken], problems)
    problems.extend(
        _cross_check([*areas, *broken], types, {a.slug for a in areas} | {r.slug for r in broken})
    )
    fact_levels = collect_fact_levels(pm, problems)
    from caseframe.core.payloads import warn_about_renamed_arguments

    warn_about_renamed_arguments(pm)
    if problems:
        raise AreaError(problems)
    return AreaRegistry({a.slug: a for a in areas}, types, fact_levels)


def collect_fact_levels(pm: pluggy.PluginManager, problems: list[Problem]) -> dict[str, dict[str, str]]:
    """Each plugin's declared sensitivity of the facts it adds; an unknown level is a problem at start-up."""
    from caseframe.core.plugins import plugin_key
    from caseframe.core.sensitivity import SENSITIVITY

    levels: dict[str, dict[str, str]] = {}
    for impl in pm.hook.extra_referral_facts_sensitivity.get_hookimpls():
        name = plugin_key(impl.plugin)
        try:
            declared = impl.function() or {}
        except Exception as exc:
            problems.append(
                Problem(f"plugin {name}", "", f"extra_referral_facts_sensitivity() failed: {exc}")
            )
            continue
        if not isinstance(declared, dict):
            problems.append(
                Problem(
                    f"plugin {name}",
                    "",
                    "extra_referral_facts_sensitivity() must return a dict of fact name to level",
                )
            )
            continue
        for fact, level in declared.items():
            if level not in SENSITIVITY:
                problems.append(
                    Problem(
                        f"plugin {name}",
                        f"/{fact}",
                        f"{level!r} is not a sensitivity level; use one of {', '.join(SENSITIVITY)}",
                    )
                )
        levels[name] = {str(f): v for f, v in declared.items() if v in SENSITIVITY}
    return levels


def check_paths(paths: list[Path], pm: pluggy.PluginManager | None = None) -> list[Problem]:
    """Run every start-up check on area directories (or folders of them); return the problems.

    Areas named by rules or counts may be the given ones or those the installed plugins provide.
    """
    problems: list[Problem] = []
    areas: list[Area] = []
    dirs: list[Path] = []
    for path in paths:
        path = Path(path)
        if (path / "area.toml").is_file() or not path.is_dir():
            dirs.append(path)
        else:
            found = sorted(p.parent for p in path.glob("*/area.toml"))
            if not found:
                problems.append(Problem(str(path), "", "holds no area.toml, nor folders with one"))
            dirs.extend(found)
    broken: list[_Refs] = []
    for directory in dirs:
        try:
            areas.append(load_area(directory))
        except AreaError as exc:
            problems.extend(exc.problems)
            refs = _Refs.of_broken(directory) if directory.is_dir() else None
            if refs is not None:
                broken.append(refs)
    known = {a.slug for a in areas} | {r.slug for r in broken}
    installed: list[Area] = []
    if pm is not None:
        with contextlib.suppress(AreaError):
            installed = list(build_registry(pm))
    known |= {a.slug for a in installed}
    problems.extend(
        _cross_check([*areas, *broken], collect_agency_types(pm, [*areas, *installed, *broken]), known)
    )
    problems.extend(_clashes_with_installed([*areas, *broken], installed))
    return problems


def _clashes_with_installed(checked: list[Area | _Refs], installed: list[Area]) -> list[Problem]:
    """A checked area whose slug or reference prefix an installed area (from another folder) already has: start-up
    would refuse the pair, so the check says so now (``caseframe new-area`` given an installed area's name made
    exactly that)."""
    problems: list[Problem] = []
    theirs = [_Refs.of_area(a) for a in installed]
    for area in (a if isinstance(a, _Refs) else _Refs.of_area(a) for a in checked):
        toml = str(area.path / "area.toml")
        for other in theirs:
            if other.path.resolve() == area.path.resolve():
                continue  # the installed area is this one
            if other.slug == area.slug:
                problems.append(
                    Problem(
                        toml,
                        "/slug",
                        f"area {area.slug!r} is already installed, from {other.path / 'area.toml'}: "
                        "choose another slug",
                    )
                )
            elif area.prefix and other.prefix == area.prefix:
                problems.append(
                    Problem(
                        toml,
                        "/reference_prefix",
                        f"{area.prefix!r} is already the reference prefix of the installed area {other.slug!r}: "
                        "choose another",
                    )
                )
    return problems
