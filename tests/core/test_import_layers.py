"""The import layers hold (import-linter's contracts in pyproject.toml, run here so `./dev test` and .ci/run
enforce them): the core never imports the built-in areas, the built-in areas import only caseframe.api, no
domain module imports the web layer or Litestar, no web module imports a table, and the domain services form
layers (no import ring between them). Every module of the core is placed in a layer, and no
exception (ignore_imports) is added."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from caseframe._packages import mirror

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract for contract in CONFIG["contracts"]}

#: the modules of the core above the domain layer: the web layer (core.web, a domain's web.py or *_web.py) and
#: the tools that drive the whole (command line, demo data, generated docs, scaffold, test helpers, assets)
ABOVE_THE_DOMAIN = [
    r"caseframe\.core\.web(\..+)?",
    r"caseframe\.core\.\w+\.web",
    r"caseframe\.core\.\w+\.\w+_web",
    r"caseframe\.core\.cli",
    r"caseframe\.core\.demo",
    r"caseframe\.core\.docs",
    r"caseframe\.core\.scaffold",
    r"caseframe\.core\.testing",
    r"caseframe\.core\.assets",
]

#: exceptions to the contracts (ignore_imports entries) accepted until their code moves to its layer: none left
#: (the three sharing controllers that lived in service modules moved to *_web.py). Adding one is not the way.
KNOWN_BREACHES: set[str] = set()


def test_the_import_contracts_hold(tmp_path):
    # import-linter finds modules by walking the package's directories: it reads them laid out as a wheel
    # installs them (core/ as caseframe/core), in a tree of links
    mirror(tmp_path)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        },
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in run.stdout


def test_known_breaches_only_shrink():
    ignored = {entry for contract in CONTRACTS.values() for entry in contract.get("ignore_imports", [])}
    new = ignored - KNOWN_BREACHES
    assert not new, (
        f"new exceptions to the import layers: {sorted(new)}. Move the code to its layer instead "
        "(docs/architecture.md says which is which)"
    )


def _pattern(expression: str) -> re.Pattern[str]:
    """An import-linter module expression as a regular expression (a package stands for its submodules too)."""
    return re.compile(re.escape(expression).replace(r"\*", r"[^.]+") + r"(\..+)?")


def core_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            continue  # a package's own module: what is in it is placed with its modules
        modules.append(".".join(("caseframe", *parts)))
    return modules


def test_every_core_module_is_in_a_layer():
    """A new module lands in the domain contract or is named as part of the web layer or the tools; a module
    no contract looks at could import anything."""
    domain = [_pattern(e) for e in CONTRACTS["domain-without-web"]["source_modules"]]
    above = [re.compile(p) for p in ABOVE_THE_DOMAIN]
    unplaced = [
        m
        for m in core_modules()
        if not any(p.fullmatch(m) for p in domain) and not any(p.fullmatch(m) for p in above)
    ]
    assert not unplaced, (
        f"not in any layer: {unplaced}. Add it to the domain-without-web contract in "
        "pyproject.toml, or name it a web module (web.py, *_web.py under its domain)"
    )
    assert len(core_modules()) > 80


def test_every_web_module_is_kept_from_the_tables():
    """A handler module reads and writes through services: each web module (core.web, a domain's web.py, any
    *_web.py) is a source of the web-without-tables contract, so a new *_web.py cannot slip past it."""
    sources = [_pattern(e) for e in CONTRACTS["web-without-tables"]["source_modules"]]
    web = [
        re.compile(p)
        for p in (
            r"caseframe\.core\.web(\..+)?",
            r"caseframe\.core\.\w+\.web",
            r"caseframe\.core\.\w+\.\w+_web",
        )
    ]
    unchecked = [
        m
        for m in core_modules()
        if any(p.fullmatch(m) for p in web) and not any(p.fullmatch(m) for p in sources)
    ]
    assert not unchecked, f"web modules not in the web-without-tables contract: {unchecked}"
    assert not CONTRACTS["web-without-tables"].get("ignore_imports")


def test_every_domain_service_has_its_place_in_the_layers():
    """Each domain's service module is placed in the domain-layers order, so a new one cannot import its way
    into a ring unnoticed (a module left out of the layers is checked only through the ones it sits between)."""
    layers = CONTRACTS["domain-layers"]["layers"]
    placed = {name.strip() for layer in layers for name in layer.split(":")}
    services = [m for m in core_modules() if re.fullmatch(r"caseframe\.core\.\w+\.service", m)]
    assert set(services) - placed == set(), (
        f"domain services missing from domain-layers: {sorted(set(services) - placed)}"
    )
    assert len(services) >= 14
    assert not CONTRACTS["domain-layers"].get("ignore_imports")
