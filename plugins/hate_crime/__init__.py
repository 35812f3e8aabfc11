"""Hate crime: perception-based reports of the monitored strands, victim risk and support."""

from pathlib import Path

from caseframe.api import hookimpl

ROOT = Path(__file__).parent

PERSONS = [
    {
        "key": "p-amir-haddad",
        "given_name": "Amir",
        "family_name": "Haddad",
        "date_of_birth": "1979-05-27",
        "gender": "male",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "5 Station Parade", "town": "Ashdown", "postcode": "AS1 9SP"}],
        "identifiers": [],
    },
    {
        "key": "p-margaret-okoye",
        "given_name": "Margaret",
        "family_name": "Okoye",
        "date_of_birth": "1951-07-02",
        "gender": "female",
        "aliases": [],
        "flags": ["lives_alone"],
        "addresses": [{"line1": "16 Kestrel Way", "town": "Ashdown", "postcode": "AS1 4KW"}],
        "identifiers": [{"type": "housing_ref", "value": "AH-55120"}],
    },
    {
        "key": "p-dylan-marsh",
        "given_name": "Dylan",
        "family_name": "Marsh",
        "date_of_birth": "2006-11-30",
        "gender": "male",
        "aliases": ["Dyl"],
        "flags": [],
        "addresses": [{"line1": "3 Heron Court", "town": "Ashdown", "postcode": "AS2 7HC"}],
        "identifiers": [],
    },
]


def _report(
    date: str, strands: list[str], what: str, crime: bool = True, offence: str = "public_order"
) -> dict:
    answers = {
        "date_of_incident": date,
        "strands": strands,
        "perceived_by": "victim",
        "is_crime": crime,
        "location": "Station Parade, outside the shop",
        "online": False,
        "description": what,
        "reporting_route": "police",
    }
    if crime:
        answers["offence"] = offence
    return answers


# Which demo cases trigger which rule:
# - hc-1 then hc-2: Amir Haddad is a victim twice within 12 months, so hc-2 fires
#   repeat-victim-to-panel and repeat-victim-to-victim-service.
# - hc-2's victim risk is high: high-risk-victim-to-victim-service adds to the open referral.
CASES = [
    {
        "key": "hc-1",
        "area": "hate_crime",
        "agency": "northshire-police",
        "opened_days_ago": 120,
        "subjects": [
            {"person": "p-amir-haddad", "role": "victim"},
            {"person": "p-dylan-marsh", "role": "suspect"},
        ],
        "forms": {
            "report": _report(
                "2026-07-27",
                ["race", "religion"],
                "Shouted racist abuse at the shopkeeper and kicked the door.",
            ),
            "victim_risk": {
                "repeat_victim": False,
                "escalating": False,
                "vulnerable": False,
                "family_affected": True,
                "fears_for_safety": False,
                "risk_level": "medium",
                "support_accepted": True,
                "safety_measures": ["cctv"],
            },
            "outcome": {
                "outcome": "out_of_court",
                "victim_view": True,
                "notes": "Community resolution with an apology.",
            },
        },
        "transitions": ["contact_victim", "investigate", "close"],
    },
    {
        "key": "hc-2",
        "area": "hate_crime",
        "agency": "northshire-police",
        "opened_days_ago": 6,
        "subjects": [{"person": "p-amir-haddad", "role": "victim"}],
        "forms": {
            "report": _report(
                "2026-11-18",
                ["race"],
                "Graffiti with a racist slogan painted on the shop shutter overnight.",
                offence="criminal_damage",
            ),
            "victim_risk": {
                "repeat_victim": True,
                "escalating": True,
                "vulnerable": False,
                "family_affected": True,
                "fears_for_safety": True,
                "risk_level": "high",
                "support_accepted": True,
                "safety_measures": ["cctv", "patrols"],
            },
        },
        "transitions": ["contact_victim"],
        "tasks": [{"title": "House-to-house enquiries on Station Parade", "due_in_days": 2}],
    },
    {
        "key": "hc-3",
        "area": "hate_crime",
        "agency": "northshire-police",
        "opened_days_ago": 20,
        "subjects": [{"person": "p-margaret-okoye", "role": "victim"}],
        "forms": {
            "report": _report(
                "2026-11-04",
                ["disability"],
                "Neighbour's visitors mocked her walking frame and blocked the path.",
                crime=False,
            )
        },
    },
]


@hookimpl
def register_areas():
    return [ROOT]


@hookimpl
def demo_data():
    return {"persons": PERSONS, "cases": CASES}
