"""The core knows no business area: words that belong to areas never appear anywhere under core/.

If this fails, the core has grown something an area should bring through area.toml, a form or a
hook. Move it into the area (or add a hook so areas can supply it) rather than adding an exception.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
SUFFIXES = {".py", ".html", ".json", ".toml", ".md", ".txt", ".css", ".js"}

#: whole words (case-insensitive) that belong to business areas. Not "victim": victim_service is a
#: core kind of agency, and a victim is a role many areas share.
AREA_WORDS = [
    r"asb",
    r"anti-social",
    r"antisocial",
    r"offender",
    r"offending",
    r"iom",
    r"licence",
    r"license",
    r"licensing",
    r"taxi",
    r"hackney",
    r"hate",
    r"rough[ -]?sleep\w*",
    r"sleeper",
    r"homeless\w*",
    r"fly-?tip\w*",
    r"flytip\w*",
    r"encampment\w*",
    r"caravan\w*",
    r"perpetrator",
]

#: The one allowed mention: core/plugins.py names the built-in plugin modules ("caseframe.areas.asb").
PATTERN = re.compile(r"(?<!areas\.)\b(?:" + "|".join(AREA_WORDS) + r")\b", re.IGNORECASE)


def core_files() -> list[Path]:
    return sorted(
        p for p in CORE.rglob("*") if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
    )


def hits_in(text: str) -> list[tuple[int, str, str]]:
    return [
        (number, match.group(0), line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        for match in PATTERN.finditer(line)
    ]


def test_the_pattern_finds_area_words_and_spares_core_words():
    for text in [
        "An ASB case",
        "anti-social behaviour",
        "Integrated Offender Management",
        "the IOM team",
        "taxi licence",
        "Hackney carriage",
        "hate crime",
        "Rough sleepers",
        "rough sleeping",
        "a homelessness service",
        "fly-tipping",
        "flytipped waste",
        "Unauthorised encampments",
        "a caravan",
        "the perpetrator",
        "licensing",
    ]:
        assert hits_in(text), f"the pattern misses {text!r}"
    for text in [
        "victim_service",
        "Harbour Victim Support",
        "caseframe.areas.asb",
        "caseframe.areas.iom",
        "caseframe.areas.licensing",
        "caseframe_fly_tipping",
        "whatever",
        "hated_by",
        "chasb",
        "licensed_to",
        "sleep",
    ]:
        assert not hits_in(text), f"the pattern wrongly matches {text!r}"


def test_the_scan_covers_the_core():
    files = {p.relative_to(ROOT).as_posix() for p in core_files()}
    assert {"core/hookspecs.py", "core/areas/loader.py"} <= files
    assert any(f.endswith(".html") for f in files), "no templates found under core/: has the layout changed?"


def test_no_area_word_appears_in_the_core():
    hits = []
    for path in core_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, word, line in hits_in(text):
            hits.append(f"{path.relative_to(ROOT)}:{number}: {word!r} in: {line[:120]}")
    assert not hits, (
        "area words in core/ (the core must not know any business area; move this into an area "
        "or a hook):\n" + "\n".join(hits)
    )
