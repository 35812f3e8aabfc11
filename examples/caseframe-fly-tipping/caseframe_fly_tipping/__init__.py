"""Fly tipping: a Caseframe business area, installed as its own package."""
from pathlib import Path

from core import hookimpl


def _report(date: str, reference: str, waste: list[str], size: str = "small_van", risk: str = "low") -> dict:
    return {"date_seen": date, "location": f"Lay-by on Quarry Lane ({reference})", "location_reference": reference,
            "land_type": "highway", "waste_types": waste, "size": size, "risk": risk}


# Which demo cases trigger which rule:
# - ft-1, ft-2, ft-3: three reports at location QL-LAYBY-2 within 90 days -> hotspot.
# - ft-4: asbestos sheets -> hazardous-waste.
CASES = [
    {"key": "ft-1", "area": "fly_tipping", "agency": "ashdown-council", "opened_days_ago": 60,
     "forms": {"report": _report("2026-09-25", "QL-LAYBY-2", ["household_bags", "other_household"]),
               "clearance": {"cleared_on": "2026-09-27", "cleared_by": "council", "cost": 180}},
     "transitions": ["clear", "close"]},
    {"key": "ft-2", "area": "fly_tipping", "agency": "ashdown-council", "opened_days_ago": 30,
     "forms": {"report": _report("2026-10-25", "QL-LAYBY-2", ["construction"], size="transit_van"),
               "investigation": {"evidence_found": True, "evidence": [{"kind": "receipt", "details": "Builders' merchant receipt"}],
                                 "vehicle_seen": False, "suspect_identified": True},
               "enforcement": {"outcome": "fixed_penalty", "date": "2026-11-10", "penalty_amount": 400, "paid": False}},
     "transitions": ["investigate", "take_action"]},
    {"key": "ft-3", "area": "fly_tipping", "agency": "ashdown-council", "opened_days_ago": 3,
     "forms": {"report": _report("2026-11-21", "QL-LAYBY-2", ["tyres"], size="car_boot")}},
    {"key": "ft-4", "area": "fly_tipping", "agency": "ashdown-council", "opened_days_ago": 10,
     "forms": {"report": _report("2026-11-14", "MILL-BRIDGE", ["asbestos"], size="small_van", risk="high")}},
]


@hookimpl
def register_areas():
    return [Path(__file__).parent / "area"]


@hookimpl
def demo_data():
    return {"persons": [], "cases": CASES}
