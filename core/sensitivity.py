"""How sensitive an answer is (a form's ``x-sensitivity`` hint, a plugin fact's declared level): the levels, least
to most sensitive, and their words. Below everything that compares them: the area loader checks plugins' levels
against these, and the sharing policy (core/sharing/policy.py) decides who may see which."""

from __future__ import annotations

#: x-sensitivity levels, least to most sensitive
SENSITIVITY = ("official", "sensitive", "special_category")
SENSITIVITY_LABELS = {
    "official": "Official",
    "sensitive": "Sensitive",
    "special_category": "Special category (health, ethnicity, religion, sexuality)",
}


def sensitivity_rank(level: str | None) -> int:
    return SENSITIVITY.index(level) if level in SENSITIVITY else 0
