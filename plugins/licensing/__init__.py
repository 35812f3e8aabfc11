"""Licensing: complaints about taxi and private hire licence holders and licensed premises."""

from pathlib import Path

from caseframe.api import hookimpl

ROOT = Path(__file__).parent

PERSONS = [
    {
        "key": "p-gary-whitlock",
        "given_name": "Gary",
        "family_name": "Whitlock",
        "date_of_birth": "1972-12-01",
        "gender": "male",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "41 Beech Avenue", "town": "Ashdown", "postcode": "AS5 3BA"}],
        "identifiers": [{"type": "licence_number", "value": "PHD-2231"}],
    },
    {
        "key": "p-priya-nair",
        "given_name": "Priya",
        "family_name": "Nair",
        "date_of_birth": "1987-01-19",
        "gender": "female",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "22 Millbrook Road", "town": "Ashdown", "postcode": "AS3 2MR"}],
        "identifiers": [],
    },
    {
        "key": "p-dean-farrow",
        "given_name": "Dean",
        "family_name": "Farrow",
        "date_of_birth": "1980-03-14",
        "gender": "male",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "9 Tanyard Close", "town": "Ashdown", "postcode": "AS2 7TC"}],
        "identifiers": [{"type": "licence_number", "value": "HCD-0418"}],
    },
]


def _complaint(date: str, kinds: list[str], what: str, safeguarding: bool = False) -> dict:
    answers = {
        "licence_type": "private_hire_driver",
        "licence_number": "PHD-2231",
        "vehicle_registration": "AS21 KXE",
        "date_of_incident": date,
        "complaint_types": kinds,
        "description": what,
        "safeguarding_concern": safeguarding,
    }
    if safeguarding:
        answers["safeguarding_details"] = "Passenger aged 16 said the driver asked for her phone number."
    return answers


# Which demo cases trigger which rule:
# - lic-1, lic-2, lic-3: three complaints about Gary Whitlock within 12 months -> on lic-3,
#   repeat-complaints-to-sub-committee (licensing sub-committee panel).
# - lic-3 raises a safeguarding concern -> safeguarding-to-police.
# - lic-4: a suspension decided on 30 October 2026; the 21 days to appeal to the magistrates' court have
#   ended, so its page shows "Record an appeal" refused with the last day it was possible.
CASES = [
    {
        "key": "lic-1",
        "area": "licensing",
        "agency": "ashdown-council",
        "opened_days_ago": 200,
        "subjects": [
            {"person": "p-gary-whitlock", "role": "licence_holder"},
            {"person": "p-priya-nair", "role": "complainant"},
        ],
        "forms": {
            "complaint": _complaint(
                "2026-05-05", ["overcharging"], "Charged £38 for a journey quoted at £15."
            ),
            "investigation": {
                "interviewed": True,
                "evidence": ["operator_records"],
                "register_checked": True,
                "fit_and_proper_concern": False,
                "public_safety_risk": "low",
                "findings": "Meter not reset; refund made.",
            },
            "decision": {
                "decision": "advice",
                "decision_date": "2026-05-20",
                "reasons": "First complaint; refund made.",
            },
        },
        "transitions": ["investigate", "decide", "close"],
    },
    {
        "key": "lic-2",
        "area": "licensing",
        "agency": "ashdown-council",
        "opened_days_ago": 95,
        "subjects": [{"person": "p-gary-whitlock", "role": "licence_holder"}],
        "forms": {
            "complaint": _complaint(
                "2026-08-18", ["assistance_dog_refused"], "Refused to carry a passenger with a guide dog."
            )
        },
        "transitions": ["investigate"],
    },
    {
        "key": "lic-3",
        "area": "licensing",
        "agency": "ashdown-council",
        "opened_days_ago": 4,
        "subjects": [{"person": "p-gary-whitlock", "role": "licence_holder"}],
        "forms": {
            "complaint": _complaint(
                "2026-11-19", ["conduct"], "Inappropriate comments to a young passenger.", True
            )
        },
        "tasks": [{"title": "Consider immediate suspension on public safety grounds", "due_in_days": 1}],
    },
    {
        "key": "lic-4",
        "area": "licensing",
        "agency": "ashdown-council",
        "opened_days_ago": 60,
        "subjects": [{"person": "p-dean-farrow", "role": "licence_holder"}],
        "forms": {
            "complaint": {
                **_complaint(
                    "2026-10-02",
                    ["unsafe_vehicle"],
                    "Rear door would not open from inside; a passenger had to climb out over the seat.",
                ),
                "licence_type": "hackney_driver",
                "licence_number": "HCD-0418",
                "vehicle_registration": "AS19 TRX",
            },
            "investigation": {
                "interviewed": True,
                "evidence": ["vehicle_inspection", "statements"],
                "register_checked": True,
                "fit_and_proper_concern": False,
                "public_safety_risk": "medium",
                "findings": "Child lock fault known to the driver for two weeks and not repaired.",
            },
            "decision": {
                "decision": "suspension",
                "decision_date": "2026-10-30",
                "suspension_days": 28,
                "reasons": "Vehicle unsafe for passengers; suspended until the fault is repaired and inspected.",
            },
        },
        "transitions": ["investigate", "decide"],
    },
]


@hookimpl
def register_areas():
    return [ROOT]


@hookimpl
def demo_data():
    return {
        "persons": PERSONS,
        "cases": CASES,
        "panels": [
            {
                "slug": "licensing-sub-committee",
                "name": "Ashdown Licensing Sub-Committee",
                "chair": "ashdown-council",
                "members": ["ashdown-council", "northshire-police"],
                "frequency": "as_needed",
            }
        ],
    }
