"""Every area the loaded plugins register, checked against each other, compiled once at start-up."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from core.agencies.types import CORE_AGENCY_TYPES, CORE_IDENTIFIER_TYPES
from core.areas.loader import Area, load_area
from core.errors import AreaError, Problem
from core.referrals.engine import RuleIndex


@dataclass
class AreaRegistry:
    areas: dict[str, Area]
    agency_types: dict[str, str]
    rules: RuleIndex = field(init=False)
    identifier_types: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.rules = RuleIndex([r for a in self.areas.values() for r in a.rules])
        self.identifier_types = dict(CORE_IDENTIFIER_TYPES)
        for area in self.areas.values():
            for name, label in area.identifier_types.items():
                self.identifier_types.setdefault(name, label)

    def get(self, slug: str) -> Area | None:
        return self.areas.get(slug)

    def __iter__(self):
        return iter(self.areas.values())

    def __len__(self) -> int:
        return len(self.areas)


def _cross_check(areas: list[Area], agency_types: dict[str, str], known_areas: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    by_slug: dict[str, Area] = {}
    prefixes: dict[str, Area] = {}
    for area in areas:
        toml = str(area.path / "area.toml")
        if area.slug in by_slug:
            problems.append(Problem(toml, "/slug", f"area {area.slug!r} is also defined in "
                                    f"{by_slug[area.slug].path / 'area.toml'}"))
        by_slug[area.slug] = area
        if area.reference_prefix in prefixes and prefixes[area.reference_prefix].slug != area.slug:
            problems.append(Problem(toml, "/reference_prefix", f"{area.reference_prefix!r} is already used "
                                    f"by area {prefixes[area.reference_prefix].slug!r}"))
        prefixes[area.reference_prefix] = area
    for area in areas:
        toml = str(area.path / "area.toml")
        for i, count in enumerate(area.counts):
            if count.area not in known_areas:
                problems.append(Problem(toml, f"/counts/{i}/area", f"{count.area!r} is not an installed area"))
        for i, rule in enumerate(area.rules):
            t = rule.target
            if t.kind == "area" and t.name not in known_areas:
                problems.append(Problem(toml, f"/rules/{i}/then/area", f"{t.name!r} is not an installed area"))
            if t.kind == "agency_type" and t.name not in agency_types:
                problems.append(Problem(toml, f"/rules/{i}/then/agency_type",
                                        f"{t.name!r} is not a known agency type; add it with the agency_types "
                                        "hook or use one of " + ", ".join(sorted(agency_types))))
    return problems


def collect_agency_types(pm: pluggy.PluginManager | None, areas: list[Area] = ()) -> dict[str, str]:
    """The core's kinds of agency, those areas declare, and those plugins add by hook."""
    types = dict(CORE_AGENCY_TYPES)
    for area in areas:
        for name, label in area.agency_types.items():
            types.setdefault(name, label)
    if pm is not None:
        for result in pm.hook.agency_types():
            for entry in result or []:
                types.setdefault(entry["name"], entry["label"])
    return types


def build_registry(pm: pluggy.PluginManager) -> AreaRegistry:
    """Load every area the plugins register; raise AreaError listing every problem in all of them."""
    problems: list[Problem] = []
    areas: list[Area] = []
    for impl in pm.hook.register_areas.get_hookimpls():
        try:
            directories = impl.function() or []
        except Exception as exc:
            problems.append(Problem(f"plugin {impl.plugin_name}", "", f"register_areas() failed: {exc}"))
            continue
        for directory in directories:
            try:
                areas.append(load_area(Path(directory), source=impl.plugin_name))
            except AreaError as exc:
                problems.extend(exc.problems)
    types = collect_agency_types(pm, areas)
    problems.extend(_cross_check(areas, types, {a.slug for a in areas}))
    if problems:
        raise AreaError(problems)
    return AreaRegistry({a.slug: a for a in areas}, types)


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
    for directory in dirs:
        try:
            areas.append(load_area(directory))
        except AreaError as exc:
            problems.extend(exc.problems)
    known = {a.slug for a in areas}
    installed: list[Area] = []
    if pm is not None:
        try:
            installed = list(build_registry(pm))
        except AreaError:
            pass
    known |= {a.slug for a in installed}
    problems.extend(_cross_check(areas, collect_agency_types(pm, [*areas, *installed]), known))
    return problems
