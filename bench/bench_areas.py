"""Area machinery throughput, each figure against a baseline measured in the same run.

    python bench/bench_areas.py [--check]

(a) start-up: build_registry over 50 copies of the noise test area (distinct slug and prefix),
    registered by one plugin: parse, meta-schema checks, cross-checks, compile. Median of 5 runs.
    Baseline: only reading the same files and parsing them (tomllib + json).      target < 1 s
(b) form validation: Form.errors() on a valid answer document, for the noise report and for the
    ASB report (the opening form of plugins/asb, if present). Baseline: a bare
    jsonschema Draft202012Validator(schema, format_checker=FormatChecker()).is_valid loop.
                                                                                    target >= 20,000/s
    The same on invalid answers (messages for people built) is reported against a bare
    list(validator.iter_errors(answers)); it has no target.
(c) rules: one event's facts document against an area of 100 generated rules (counts, subject,
    case facts and form answers), RuleIndex.evaluate. Baseline: 100 hand-written Python predicates
    doing the same comparisons with dict lookups (the firings are checked to be the same).
                                                                                    target < 1 ms per event

With --check the script exits 1 if a target is missed. The whole run takes about 15-30 s.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402

from caseframe.core import hookimpl  # noqa: E402
from caseframe.core.areas import build_registry, load_area  # noqa: E402
from caseframe.core.plugins import get_plugin_manager  # noqa: E402
from caseframe.core.referrals.engine import RuleIndex  # noqa: E402

NOISE = ROOT / "tests/fixtures/areas/noise"
ASB = ROOT / "plugins/asb"
REPEAT = 5


def median_time(fn: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    """Median and first wall-clock time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times[0]


def per_second(fn: Callable[[], Any], batch_seconds: float = 0.2, repeat: int = REPEAT) -> float:
    """Calls of ``fn`` per second: median over ``repeat`` batches of about ``batch_seconds`` each."""
    n, elapsed = 1, 0.0
    while elapsed < 0.02:  # calibrate the batch size
        n *= 4
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
    n = max(1, int(n * batch_seconds / elapsed))
    rates = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def copy_area(source: Path, target: Path, changes: list[tuple[str, str]]) -> Path:
    shutil.copytree(source, target)
    text = (target / "area.toml").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    (target / "area.toml").write_text(text, encoding="utf-8")
    return target


# -- (a) start-up ------------------------------------------------------------------------------


def startup(folder: Path) -> dict[str, float]:
    dirs = []
    for i in range(50):
        prefix = "N" + chr(65 + i // 26) + chr(65 + i % 26)
        dirs.append(
            copy_area(
                NOISE,
                folder / f"noise{i}",
                [
                    ('slug = "noise"', f'slug = "noise{i}"'),
                    ('reference_prefix = "NOI"', f'reference_prefix = "{prefix}"'),
                ],
            )
        )

    class FiftyAreas:
        @hookimpl
        def register_areas(self):
            return dirs

    def build():
        pm = get_plugin_manager("", builtins=False, entrypoints=False)
        pm.register(FiftyAreas())
        registry = build_registry(pm)
        assert len(registry) == 50

    def parse_only():
        for d in dirs:
            tomllib.loads((d / "area.toml").read_text(encoding="utf-8"))
            for f in sorted((d / "forms").glob("*.schema.json")):
                json.loads(f.read_text(encoding="utf-8"))

    ours, first = median_time(build)
    base, _ = median_time(parse_only)
    return {"ours": ours, "first": first, "base": base}


# -- (b) form validation -----------------------------------------------------------------------

NOISE_VALID = {
    "date_of_incident": "2026-03-14",
    "street": "Kestrel Way",
    "kind": "music",
    "nights": 4,
    "details": "Bass through the party wall from about 11pm until 3am, three nights running.",
}
NOISE_INVALID = {"date_of_incident": "2026-02-30", "street": "", "kind": "banjo", "nights": 9}

ASB_VALID = {
    "date_of_incident": "2026-03-14",
    "category": "nuisance",
    "kinds": ["noise", "street_drinking", "intimidation"],
    "location": "Outside 14 Kestrel Way, by the parade of shops",
    "description": "A group gathers most evenings from about 9pm, drinking and playing loud music until "
    "after midnight. Residents say they feel intimidated walking past to the shops.",
    "hate_element": False,
    "reported_by": "victim",
}
ASB_INVALID = {
    "date_of_incident": "soon",
    "category": "other",
    "kinds": [],
    "location": "",
    "reported_by": "victim",
}


def validation() -> list[dict[str, Any]]:
    cases = [("noise report", load_area(NOISE).forms["report"], NOISE_VALID, NOISE_INVALID)]
    if (ASB / "forms").is_dir():
        asb = load_area(ASB)
        cases.append(("ASB report", asb.forms[asb.opening_form], ASB_VALID, ASB_INVALID))
    results = []
    for name, form, valid, invalid in cases:
        assert form.errors(valid) == [], f"the benchmark's valid {name} is not valid: {form.errors(valid)}"
        assert len(form.errors(invalid)) >= 3, f"the benchmark's invalid {name} is not invalid enough"
        bare = Draft202012Validator(form.schema, format_checker=FormatChecker())
        results.append(
            {
                "name": name,
                "fields": len(form.schema.get("properties", {})),
                "ours": per_second(lambda f=form, d=valid: f.errors(d)),
                "base": per_second(lambda v=bare, d=valid: v.is_valid(d)),
                "ours_invalid": per_second(lambda f=form, d=invalid: f.errors(d)),
                "base_invalid": per_second(lambda v=bare, d=invalid: list(v.iter_errors(d))),
            }
        )
    return results


# -- (c) rules ---------------------------------------------------------------------------------

FACTS = {
    "event": "case_created",
    "area": "bench",
    "case": {
        "reference": "BEN-2026-000012",
        "state": "open",
        "risk_level": "high",
        "days_open": 3,
        "forms": {"report": {**NOISE_VALID}, "visit": {"risk_level": "high"}},
    },
    "subject": {"role": "subject", "age": 23, "gender": "female", "flags": ["mental_health"]},
    "counts": {"reports_180d": 4, "same_street_90d": 2},
    "extra": {},
}


def generated_rules(n: int = 100) -> list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]]:
    """(when, equivalent predicate) pairs over every part of the facts document, some firing, most not."""
    kinds = ["music", "dog", "shouting"]
    roles = ["subject", "complainant"]
    flags = ["mental_health", "substance_misuse", "learning_disability"]
    states = ["open", "visited", "closed"]
    out = []
    for i in range(n):
        k = i % 10
        if k == 0:
            m = 1 + i % 7
            out.append(
                (
                    {"properties": {"counts": {"properties": {"reports_180d": {"minimum": m}}}}},
                    lambda f, m=m: f["counts"]["reports_180d"] >= m,
                )
            )
        elif k == 1:
            role = roles[i % 2]
            out.append(
                (
                    {
                        "required": ["subject"],
                        "properties": {"subject": {"properties": {"role": {"const": role}}}},
                    },
                    lambda f, role=role: "subject" in f and f["subject"]["role"] == role,
                )
            )
        elif k == 2:
            allowed = [kinds[i % 3], kinds[(i + 1) % 3]]
            out.append(
                (
                    {
                        "properties": {
                            "case": {
                                "properties": {
                                    "forms": {
                                        "properties": {"report": {"properties": {"kind": {"enum": allowed}}}}
                                    }
                                }
                            }
                        }
                    },
                    lambda f, allowed=tuple(allowed): f["case"]["forms"]["report"]["kind"] in allowed,
                )
            )
        elif k == 3:
            age = 15 + i % 20
            out.append(
                (
                    {
                        "required": ["subject"],
                        "properties": {
                            "subject": {
                                "required": ["age"],
                                "properties": {"age": {"type": "integer", "maximum": age}},
                            }
                        },
                    },
                    lambda f, age=age: "subject" in f and f["subject"]["age"] <= age,
                )
            )
        elif k == 4:
            flag = flags[i % 3]
            out.append(
                (
                    {"properties": {"subject": {"properties": {"flags": {"contains": {"const": flag}}}}}},
                    lambda f, flag=flag: flag in f["subject"]["flags"],
                )
            )
        elif k == 5:
            out.append(
                (
                    {
                        "properties": {
                            "case": {
                                "properties": {
                                    "risk_level": {"const": "high"},
                                    "days_open": {"maximum": i % 5},
                                }
                            }
                        }
                    },
                    lambda f, d=i % 5: f["case"]["risk_level"] == "high" and f["case"]["days_open"] <= d,
                )
            )
        elif k == 6:
            state, m = states[i % 3], 1 + i % 3
            out.append(
                (
                    {
                        "properties": {
                            "case": {"properties": {"state": {"const": state}}},
                            "counts": {"properties": {"same_street_90d": {"minimum": m}}},
                        }
                    },
                    lambda f, state=state, m=m: f["case"]["state"] == state
                    and f["counts"]["same_street_90d"] >= m,
                )
            )
        elif k == 7:
            m = 1 + i % 7
            out.append(
                (
                    {
                        "properties": {
                            "case": {
                                "properties": {
                                    "forms": {
                                        "required": ["report"],
                                        "properties": {
                                            "report": {
                                                "required": ["nights"],
                                                "properties": {"nights": {"minimum": m}},
                                            }
                                        },
                                    }
                                }
                            }
                        }
                    },
                    lambda f, m=m: "nights" in f["case"]["forms"]["report"]
                    and f["case"]["forms"]["report"]["nights"] >= m,
                )
            )
        elif k == 8:
            age, m = 10 + i % 30, 5 + i % 4
            out.append(
                (
                    {
                        "anyOf": [
                            {"properties": {"subject": {"properties": {"age": {"maximum": age}}}}},
                            {"properties": {"counts": {"properties": {"reports_180d": {"minimum": m}}}}},
                        ]
                    },
                    lambda f, age=age, m=m: f["subject"]["age"] <= age or f["counts"]["reports_180d"] >= m,
                )
            )
        else:
            gender = ["female", "male"][i % 2]
            out.append(
                (
                    {
                        "required": ["subject"],
                        "properties": {
                            "subject": {
                                "properties": {
                                    "gender": {"not": {"const": gender}},
                                    "role": {"const": "subject"},
                                }
                            }
                        },
                    },
                    lambda f, gender=gender: f["subject"]["gender"] != gender
                    and f["subject"]["role"] == "subject",
                )
            )
    return out


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    items = ", ".join(
        f"{k if re.fullmatch(r'[A-Za-z0-9_-]+', k) else json.dumps(k)} = {toml_value(v)}"
        for k, v in value.items()
    )
    return "{ " + items + " }" if items else "{}"


def rules(folder: Path) -> dict[str, Any]:
    pairs = generated_rules(100)
    text = (NOISE / "area.toml").read_text(encoding="utf-8")
    head = text[: text.index("[[rules]]")]
    body = "".join(
        f'\n[[rules]]\nid = "rule-{i}"\non = ["case_created", "form_saved"]\nwhen = {toml_value(when)}\n'
        f'then = {{ panel = "panel-{i % 7}", reason = "Generated rule {i}" }}\n'
        for i, (when, _) in enumerate(pairs)
    )
    area_dir = folder / "bench"
    copy_area(NOISE, area_dir, [])
    (area_dir / "area.toml").write_text(
        head.replace('slug = "noise"', 'slug = "bench"').replace(
            'reference_prefix = "NOI"', 'reference_prefix = "BEN"'
        )
        + body,
        encoding="utf-8",
    )
    area = load_area(area_dir)  # every rule passes the loader's checks of what it tests
    index = RuleIndex(area.rules)
    assert len(index.rules_for("bench", "case_created")) == 100
    predicates = [(f"rule-{i}", p) for i, (_, p) in enumerate(pairs)]

    ours_fired = sorted(f.rule.id for f in index.evaluate("bench", "case_created", FACTS))
    base_fired = sorted(name for name, p in predicates if p(FACTS))
    assert ours_fired == base_fired, (
        f"rule engine and hand-written predicates disagree: {ours_fired} {base_fired}"
    )
    assert 0 < len(ours_fired) < 100

    ours = per_second(lambda: index.evaluate("bench", "case_created", FACTS))
    base = per_second(lambda: [name for name, p in predicates if p(FACTS)])
    return {
        "ours_ms": 1000 / ours,
        "base_ms": 1000 / base,
        "fired": len(ours_fired),
        "compiled": sum(1 for r in area.rules if getattr(r.check, "__self__", None) is not r.validator),
    }


# -- report ------------------------------------------------------------------------------------


def main(check: bool) -> int:
    t0 = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="caseframe-bench-areas-"))
    try:
        start = startup(folder / "fifty")
        forms = validation()
        rule = rules(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    # name, ours, baseline, ratio (ours/baseline; >1 means slower for times, faster for rates), target, ok
    rows: list[tuple[str, str, str, str, str, bool | None]] = [
        (
            "(a) start-up, 50 areas",
            f"{start['ours']:.3f} s",
            f"{start['base']:.3f} s",
            f"{start['ours'] / start['base']:.1f}x time",
            "< 1 s",
            start["ours"] < 1.0,
        ),
        ("    first build (cold)", f"{start['first']:.3f} s", "", "", "", None),
    ]
    for f in forms:
        rows.append(
            (
                f"(b) {f['name']} valid",
                f"{f['ours']:,.0f}/s",
                f"{f['base']:,.0f}/s",
                f"{f['ours'] / f['base']:.2f}x rate",
                ">= 20,000/s",
                f["ours"] >= 20000,
            )
        )
    for f in forms:
        rows.append(
            (
                f"    {f['name']} invalid",
                f"{f['ours_invalid']:,.0f}/s",
                f"{f['base_invalid']:,.0f}/s",
                f"{f['ours_invalid'] / f['base_invalid']:.2f}x rate",
                "",
                None,
            )
        )
    rows.append(
        (
            "(c) 100 rules, one event",
            f"{rule['ours_ms'] * 1000:.0f} \u00b5s",
            f"{rule['base_ms'] * 1000:.0f} \u00b5s",
            f"{rule['ours_ms'] / rule['base_ms']:.1f}x time",
            "< 1 ms",
            rule["ours_ms"] < 1.0,
        )
    )

    widths = [
        max(len(r[i]) for r in rows + [("measure", "caseframe", "baseline", "ratio", "target", None)])
        for i in range(5)
    ]
    header = ("measure", "caseframe", "baseline", "ratio", "target")
    print(
        "  ".join(
            h.ljust(w) if i in (0, 4) else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=False))
        )
        + "  result"
    )
    for *cells, ok in rows:
        result = "" if ok is None else "PASS" if ok else "FAIL"
        print(
            (
                "  ".join(
                    c.ljust(w) if i in (0, 4) else c.rjust(w)
                    for i, (c, w) in enumerate(zip(cells, widths, strict=False))
                )
                + f"  {result}"
            ).rstrip()
        )
    print(
        f"\n(c) {rule['fired']} of 100 rules fire on the facts; {rule['compiled']} of 100 run as compiled predicates."
    )
    print(f"Python {sys.version.split()[0]}; whole run {time.perf_counter() - t0:.1f} s.")
    missed = [r[0].strip() for r in rows if r[5] is False]
    if missed:
        print("Missed: " + "; ".join(missed))
    return 1 if check and missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Caseframe area benchmarks (see the module docstring)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    sys.exit(main(parser.parse_args().check))
