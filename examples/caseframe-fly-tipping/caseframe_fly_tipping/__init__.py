"""Fly tipping: a Caseframe business area, installed as its own package."""

from pathlib import Path

from caseframe.api import hookimpl


def _report(date: str, reference: str, waste: list[str], size: str = "small_van", risk: str = "low") -> dict:
    return {
        "date_seen": date,
        "location": f"Lay-by on Quarry Lane ({reference})",
        "location_reference": reference,
        "land_type": "highway",
        "waste_types": waste,
        "size": size,
        "risk": risk,
    }


# Which demo cases trigger which rule:
# - ft-1, ft-2, ft-3: three reports at location QL-LAYBY-2 within 90 days -> hotspot.
# - ft-4: asbestos sheets -> hazardous-waste.
# - ft-5: bags in the Mill Brook, a suspect aged 16 -> watercourse-tell-regulator (a notice), young-suspect.
CASES = [
    {
        "key": "ft-1",
        "area": "fly_tipping",
        "agency": "ashdown-council",
        "opened_days_ago": 60,
        "forms": {
            "report": _report("2026-09-25", "QL-LAYBY-2", ["household_bags", "other_household"]),
            "clearance": {"cleared_on": "2026-09-27", "cleared_by": "council", "cost": 180},
        },
        "transitions": ["clear", "close"],
    },
    {
        "key": "ft-2",
        "area": "fly_tipping",
        "agency": "ashdown-council",
        "opened_days_ago": 30,
        "forms": {
            "report": _report("2026-10-25", "QL-LAYBY-2", ["construction"], size="transit_van"),
            "investigation": {
                "evidence_found": True,
                "evidence": [{"kind": "receipt", "details": "Builders' merchant receipt"}],
                "vehicle_seen": False,
                "suspect_identified": True,
            },
            "enforcement": {
                "outcome": "fixed_penalty",
                "date": "2026-11-10",
                "penalty_amount": 400,
                "paid": False,
            },
        },
        "transitions": ["investigate", "take_action"],
    },
    {
        "key": "ft-3",
        "area": "fly_tipping",
        "agency": "ashdown-council",
        "opened_days_ago": 3,
        "forms": {"report": _report("2026-11-21", "QL-LAYBY-2", ["tyres"], size="car_boot")},
    },
    {
        "key": "ft-4",
        "area": "fly_tipping",
        "agency": "ashdown-council",
        "opened_days_ago": 10,
        "forms": {
            "report": _report("2026-11-14", "MILL-BRIDGE", ["asbestos"], size="small_van", risk="high")
        },
    },
    {
        "key": "ft-5",
        "area": "fly_tipping",
        "agency": "ashdown-council",
        "opened_days_ago": 5,
        "forms": {
            "report": {
                **_report("2026-11-19", "MILL-BROOK", ["household_bags"], size="car_boot"),
                "location": "Mill Brook, below the footbridge on Tanners Walk",
                "land_type": "watercourse",
            },
            "investigation": {
                "evidence_found": True,
                "vehicle_seen": False,
                "suspect_identified": True,
                "evidence": [{"kind": "cctv", "details": "Footbridge camera, 21:40"}],
            },
        },
        "subjects": [{"person": "ft-kai", "role": "suspect"}],
        "transitions": ["investigate"],
    },
]

PERSONS = [
    {
        "key": "ft-kai",
        "given_name": "Kai",
        "family_name": "Brennan",
        "date_of_birth": "2010-03-14",
        "gender": "male",
        "addresses": [
            {"line1": "7 Tanners Walk", "town": "Ashdown", "postcode": "AN3 2RW", "from": "2015-06-01"}
        ],
    },
]


#: waste the environment regulator leads on, whatever the size of the load
HAZARDOUS = {"asbestos", "clinical", "chemicals"}


@hookimpl
def register_areas():
    return [Path(__file__).parent / "area"]


@hookimpl
def extra_referral_facts(case):
    """Facts the rules test under extra.caseframe_fly_tipping: whether the report names hazardous waste."""
    if case["area"] != "fly_tipping":
        return None
    report = case["data"].get("report") or {}
    return {"hazardous": bool(HAZARDOUS & set(report.get("waste_types") or []))}


@hookimpl
def extra_referral_facts_sensitivity():
    # whether waste is hazardous says nothing about a person: any partner the case is shared with may read it
    return {"hazardous": "official"}


@hookimpl
def demo_data():
    return {"persons": PERSONS, "cases": CASES}
