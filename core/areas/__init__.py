"""Business areas: loaded from the directories plugins register, checked, and held in a registry."""

from caseframe.core.areas.loader import Area, load_area
from caseframe.core.areas.registry import AreaRegistry, build_registry, check_paths

__all__ = ["Area", "AreaRegistry", "build_registry", "check_paths", "load_area"]
