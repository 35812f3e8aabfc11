"""Integrated offender management: cohort selection, the seven resettlement pathways, reviews."""

from pathlib import Path

from caseframe.api import hookimpl

ROOT = Path(__file__).parent

PERSONS = [
    {
        "key": "p-jordan-reilly",
        "given_name": "Jordan",
        "family_name": "Reilly",
        "date_of_birth": "1998-03-14",
        "gender": "male",
        "aliases": ["JJ Reilly"],
        "flags": ["substance_misuse"],
        "addresses": [{"line1": "14 Kestrel Way", "town": "Ashdown", "postcode": "AS1 4KW"}],
        "identifiers": [{"type": "pnc", "value": "26/000123X"}],
    },
    {
        "key": "p-kyle-brennan",
        "given_name": "Kyle",
        "family_name": "Brennan",
        "date_of_birth": "1993-08-09",
        "gender": "male",
        "aliases": ["Kyle Brenan"],
        "flags": ["violence_marker", "prison_leaver"],
        "addresses": [{"line1": "No fixed abode", "town": "Ashdown", "postcode": ""}],
        "identifiers": [{"type": "pnc", "value": "25/004471K"}],
    },
    {
        "key": "p-shannon-price",
        "given_name": "Shannon",
        "family_name": "Price",
        "date_of_birth": "1990-02-21",
        "gender": "female",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "7 Alder Close", "town": "Ashdown", "postcode": "AS4 1AC"}],
        "identifiers": [{"type": "pnc", "value": "24/009912P"}],
    },
]


def _pathways(**ratings: str) -> dict:
    base = {
        k: "green"
        for k in (
            "accommodation",
            "ete",
            "health",
            "drugs_alcohol",
            "finance",
            "children_families",
            "attitudes",
        )
    }
    base.update(ratings)
    answers = dict(base, assessed_on="2026-10-01")
    for key, value in ratings.items():
        if value in ("red", "amber"):
            answers[f"{key}_notes"] = "Discussed at the IOM meeting; lead agency agreed."
    return answers


# Which demo cases trigger which rule:
# - iom-1 (Kyle Brennan): accommodation red -> accommodation-red-to-housing; drugs and alcohol red ->
#   drugs-alcohol-red-to-treatment.
# - iom-2 (Shannon Price): children and families red -> children-families-red-to-social-care.
CASES = [
    {
        "key": "iom-1",
        "area": "iom",
        "agency": "northshire-police",
        "opened_days_ago": 90,
        "subjects": [{"person": "p-kyle-brennan", "role": "nominal"}],
        "forms": {
            "selection": {
                "cohort": "fixed",
                "offence_types": ["burglary", "theft"],
                "recency": 1,
                "frequency": 9,
                "gravity": "medium",
                "risk_of_reoffending": "high",
                "on_licence": True,
                "selection_date": "2026-08-20",
                "rationale": "Nine acquisitive offences this year, released on licence in July.",
            },
            "pathways": _pathways(accommodation="red", drugs_alcohol="red", ete="amber", finance="amber"),
            "review": {
                "review_date": "2026-11-05",
                "overall_status": "amber",
                "compliance": "partly",
                "further_offending": False,
                "actions": [
                    {
                        "action": "Supported housing application",
                        "agency": "Ashdown Homes",
                        "due": "2026-12-01",
                    }
                ],
            },
        },
        "transitions": ["assess", "adopt"],
        "tasks": [{"title": "Joint home visit with probation", "due_in_days": 3}],
    },
    {
        "key": "iom-2",
        "area": "iom",
        "agency": "northshire-police",
        "opened_days_ago": 30,
        "subjects": [{"person": "p-shannon-price", "role": "nominal"}],
        "forms": {
            "selection": {
                "cohort": "flex",
                "offence_types": ["domestic_abuse"],
                "recency": 2,
                "frequency": 3,
                "gravity": "high",
                "risk_of_reoffending": "very_high",
                "selection_date": "2026-10-25",
            },
            "pathways": _pathways(children_families="red", attitudes="amber"),
        },
        "transitions": ["assess"],
    },
    {
        "key": "iom-3",
        "area": "iom",
        "agency": "northshire-police",
        "opened_days_ago": 8,
        "subjects": [{"person": "p-jordan-reilly", "role": "nominal"}],
        "forms": {
            "selection": {
                "cohort": "free",
                "offence_types": ["drugs_supply"],
                "recency": 1,
                "frequency": 2,
                "gravity": "medium",
                "risk_of_reoffending": "medium",
                "selection_date": "2026-11-16",
            }
        },
    },
]


@hookimpl
def register_areas():
    return [ROOT]


@hookimpl
def demo_data():
    return {"persons": PERSONS, "cases": CASES}
