"""Area machinery throughput, each figure against a baseline measured in the same run.

    python bench/bench_areas.py [--check]

- start-up: build the registry of 50 copies of an area (parse, meta-schema checks, compile) against
  only reading and parsing the same files (tomllib + json);            target < 1 s
- form validation: Form.errors() on a valid answer document of the ASB report against a bare
  jsonschema Draft202012Validator.is_valid loop on the same schema;      target >= 20,000/s
- rules: one event's facts against 100 rules with RuleIndex.evaluate against 100 hand-written Python
  predicates doing the same comparisons;                                 target < 1 ms per event
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402

from core.areas.registry import build_registry  # noqa: E402
from core.plugins import get_plugin_manager  # noqa: E402
from core.referrals.engine import Rule, RuleIndex, Target  # noqa: E402

NOISE = ROOT / "tests/fixtures/areas/noise"


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def startup() -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="caseframe-bench-areas-"))
    dirs = []
    for i in range(50):
        target = folder / f"noise{i}"
        shutil.copytree(NOISE, target)
        text = (target / "area.toml").read_text()
        text = text.replace('slug = "noise"', f'slug = "noise{i}"').replace('reference_prefix = "NOI"',
                                                                            f'reference_prefix = "N{chr(65 + i // 26)}{chr(65 + i % 26)}"')
        (target / "area.toml").write_text(text)
        dirs.append(target)

    class Plugin:
        from core import hookimpl

        @hookimpl
        def register_areas(self):
            return dirs

    def build():
        pm = get_plugin_manager("", builtins=False, entrypoints=False)
        pm.register(Plugin())
        registry = build_registry(pm)
        assert len(registry) == 50

    def parse_only():
        for d in dirs:
            tomllib.loads((d / "area.toml").read_text())
            for f in (d / "forms").glob("*.json"):
                json.loads(f.read_text())

    result = best_of(build), best_of(parse_only)
    shutil.rmtree(folder)
    return result


def validation() -> tuple[float, float]:
    pm = get_plugin_manager("plugins.asb", entrypoints=False)
    registry = build_registry(pm)
    area = registry.get("asb")
    form = area.forms[area.opening_form]
    answers = next(c for d in pm.hook.demo_data() for c in d["cases"] if c["area"] == "asb")["forms"]["report"]
    assert form.errors(answers) == []
    bare = Draft202012Validator(form.schema, format_checker=FormatChecker())
    n = 20000

    def ours():
        for _ in range(n):
            form.errors(answers)

    def baseline():
        for _ in range(n):
            bare.is_valid(answers)

    return n / best_of(ours, 3), n / best_of(baseline, 3)


def rules() -> tuple[float, float]:
    generated = []
    predicates = []
    for i in range(100):
        kind = i % 4
        if kind == 0:
            when = {"properties": {"counts": {"properties": {"reports": {"minimum": 3 + i}}}}}
            predicates.append(lambda f, i=i: f["counts"]["reports"] >= 3 + i)
        elif kind == 1:
            when = {"required": ["subject"], "properties": {"subject": {"properties": {"role": {"const": f"role{i}"}}}}}
            predicates.append(lambda f, i=i: "subject" in f and f["subject"]["role"] == f"role{i}")
        elif kind == 2:
            when = {"properties": {"case": {"properties": {"forms": {"properties": {"report": {"properties": {
                "kind": {"enum": [f"k{i}", f"k{i + 1}"]}}}}}}}}}
            predicates.append(lambda f, i=i: f["case"]["forms"]["report"]["kind"] in (f"k{i}", f"k{i + 1}"))
        else:
            when = {"properties": {"subject": {"properties": {"age": {"maximum": i % 30}}}}}
            predicates.append(lambda f, i=i: f["subject"]["age"] <= i % 30)
        generated.append(Rule(f"r{i}", "bench", frozenset({"case_created"}), when, Target("panel", "p"), "why",
                              Draft202012Validator(when)))
    index = RuleIndex(generated)
    facts = {"event": "case_created", "area": "bench",
             "case": {"reference": "B-1", "state": "open", "risk_level": "high", "days_open": 3,
                      "forms": {"report": {"kind": "k2", "street": "Kestrel Way"}}},
             "subject": {"role": "role1", "age": 23, "gender": "male", "flags": []},
             "counts": {"reports": 5}}
    n = 2000

    def ours():
        for _ in range(n):
            index.evaluate("bench", "case_created", facts)

    def baseline():
        for _ in range(n):
            [p for p in predicates if p(facts)]

    return best_of(ours, 3) / n * 1000, best_of(baseline, 3) / n * 1000


def main(check: bool) -> int:
    start, start_base = startup()
    rate, rate_base = validation()
    per_event, per_event_base = rules()
    rows = [
        ("start-up, 50 areas", f"{start:.3f} s", f"{start_base:.3f} s", start / start_base, start < 1.0, "< 1 s"),
        ("form validations", f"{rate:,.0f}/s", f"{rate_base:,.0f}/s", rate / rate_base, rate >= 20000, ">= 20,000/s"),
        ("100 rules, one event", f"{per_event:.3f} ms", f"{per_event_base:.3f} ms", per_event / per_event_base,
         per_event < 1.0, "< 1 ms"),
    ]
    print(f"{'measure':<24}{'caseframe':>14}{'baseline':>14}{'ratio':>9}  {'target':<12}result")
    for name, ours, base, ratio, ok, target in rows:
        print(f"{name:<24}{ours:>14}{base:>14}{ratio:>8.2f}x  {target:<12}{'PASS' if ok else 'FAIL'}")
    return 1 if check and not all(r[4] for r in rows) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Caseframe area benchmarks")
    parser.add_argument("--check", action="store_true", help="exit non-zero if a target is missed")
    sys.exit(main(parser.parse_args().check))
