"""Unauthorised encampments: a Caseframe business area, installed as its own package."""

from pathlib import Path

from caseframe.api import hookimpl

REPORT = {
    "location": "Field next to Ashdown recreation ground",
    "land_owner": "council",
    "arrival_date": "2026-11-15",
    "caravans": 7,
    "vehicles": 9,
    "adults": 12,
    "children": 5,
}

# Which demo cases trigger which rule:
# - ue-1: welfare needs and a pregnancy -> welfare-to-social-care, health-needs-to-health.
# - ue-1: Nellie Price, 81, an occupant -> older-occupant-to-social-care (a referral about her).
# - ue-2: decision path section 61 -> police-powers.
CASES = [
    {
        "key": "ue-1",
        "area": "unauthorised_encampments",
        "agency": "ashdown-council",
        "opened_days_ago": 9,
        "forms": {
            "report": REPORT,
            "welfare": {
                "visited_on": "2026-11-16",
                "health_needs": True,
                "health_details": "One adult needs a GP for a long-term condition.",
                "pregnancy": True,
                "children_schooling": True,
                "older_or_disabled": False,
                "welfare_needs_identified": True,
                "consent_to_share": True,
            },
        },
        "subjects": [{"person": "ue-nellie", "role": "occupant"}],
        "transitions": ["assess_welfare"],
    },
    {
        "key": "ue-2",
        "area": "unauthorised_encampments",
        "agency": "ashdown-council",
        "opened_days_ago": 20,
        "forms": {
            "report": {
                **REPORT,
                "location": "Car park of the closed garden centre",
                "land_owner": "private",
                "caravans": 14,
                "vehicles": 11,
            },
            "welfare": {
                "visited_on": "2026-11-05",
                "health_needs": False,
                "pregnancy": False,
                "children_schooling": False,
                "older_or_disabled": False,
                "welfare_needs_identified": False,
            },
            "impact": {"impact_level": "high", "waste": True, "damage": True, "complaints": 23},
            "decision": {
                "path": "s61_police",
                "decided_on": "2026-11-08",
                "reasons": "Damage to the gates and more than six vehicles; welfare visit found no needs.",
            },
        },
        "transitions": ["assess_welfare", "decide", "enforce"],
    },
]


PERSONS = [
    {
        "key": "ue-nellie",
        "given_name": "Nellie",
        "family_name": "Price",
        "date_of_birth": "1945-04-02",
        "gender": "female",
    },
]


@hookimpl
def register_areas():
    return [Path(__file__).parent / "area"]


@hookimpl
def demo_data():
    return {"persons": PERSONS, "cases": CASES}
