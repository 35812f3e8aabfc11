"""Anti-social behaviour: reports, victim risk assessment, interventions and ASB case reviews."""

from pathlib import Path

from caseframe.api import hookimpl

ROOT = Path(__file__).parent

# Fictional people in the fictional district of Ashdown, Northshire.
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
    # on two cases closed years ago, long past the six years ASB keeps them: the retention review's demo
    {
        "key": "p-gareth-lowe",
        "given_name": "Gareth",
        "family_name": "Lowe",
        "date_of_birth": "1979-05-08",
        "gender": "male",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "7 Sandpiper Close", "town": "Ashdown", "postcode": "AS4 1SC"}],
        "identifiers": [],
    },
    {
        "key": "p-helen-achterberg",
        "given_name": "Helen",
        "family_name": "Achterberg",
        "date_of_birth": "1964-12-21",
        "gender": "female",
        "aliases": [],
        "flags": [],
        "addresses": [{"line1": "9 Sandpiper Close", "town": "Ashdown", "postcode": "AS4 1SC"}],
        "identifiers": [],
    },
]


def _report(
    days_ago_date: str,
    kinds: list[str],
    where: str,
    what: str,
    category: str = "nuisance",
    by: str = "victim",
    hate: bool = False,
) -> dict:
    return {
        "date_of_incident": days_ago_date,
        "category": category,
        "kinds": kinds,
        "location": where,
        "description": what,
        "hate_element": hate,
        "reported_by": by,
    }


HIGH_RISK = {
    "repeat_targeting": True,
    "feels_targeted": True,
    "health_impact": True,
    "health_details": "Not sleeping; anxiety has got worse since the summer.",
    "daily_life_impact": True,
    "thinking_of_moving": True,
    "lives_alone": True,
    "vulnerable": True,
    "hate_element": False,
    "children_in_household": False,
    "risk_level": "high",
    "assessor_notes": "Seven yes answers. Contacted the same day; victim support offered.",
}

# Which demo cases trigger which rule:
# - asb-1, asb-2, asb-3: Jordan Reilly is the alleged perpetrator three times within 180 days, so
#   asb-3 fires repeat-perpetrator-to-panel (complex case panel).
# - the same three cases have Margaret Okoye as victim, so asb-3 also fires case-review-threshold.
# - asb-2's risk assessment is high with Margaret as victim: high-risk-victim-support (victim service).
CASES = [
    {
        "key": "asb-1",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 150,
        "subjects": [
            {"person": "p-jordan-reilly", "role": "perpetrator"},
            {"person": "p-margaret-okoye", "role": "victim"},
        ],
        "forms": {
            "report": _report(
                "2026-06-26",
                ["noise", "verbal_abuse"],
                "Kestrel Way, outside number 14",
                "Loud music until 3am and shouting at the neighbour when she knocked.",
                "personal",
            ),
            "risk_assessment": {
                **HIGH_RISK,
                "risk_level": "medium",
                "health_impact": False,
                "health_details": "",
                "thinking_of_moving": False,
                "assessor_notes": "Four yes answers.",
            },
        },
        "transitions": ["assess", "investigate"],
        "notes": ["Diary sheets sent to Mrs Okoye.", "Warning letter drafted; awaiting housing's view."],
        "documents": [
            {
                "filename": "Diary sheet - weeks 1 and 2.pdf",
                "sensitivity": "official",
                "text": [
                    "Noise diary sheet (fictional demo document)",
                    "Kestrel Way, outside number 14",
                    "Fri 27 Jun: music from 23:10 until 03:05, shouting at 01:30",
                    "Sat 28 Jun: music from 22:40 until 02:15",
                    "Sun 6 Jul: banging on the shared wall at 00:20",
                ],
            },
            {
                "filename": "Warning letter draft.pdf",
                "sensitivity": "sensitive",
                "text": [
                    "DRAFT - warning letter (fictional demo document)",
                    "Dear Mr Reilly,",
                    "We have received reports of loud music late at night at your address.",
                    "If this continues we may consider an acceptable behaviour contract.",
                ],
            },
        ],
    },
    {
        "key": "asb-2",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 75,
        "subjects": [
            {"person": "p-jordan-reilly", "role": "perpetrator"},
            {"person": "p-margaret-okoye", "role": "victim"},
        ],
        "forms": {
            "report": _report(
                "2026-09-10",
                ["intimidation"],
                "Kestrel Way",
                "Group gathering by the victim's door, banging on windows.",
                "personal",
            ),
            "risk_assessment": HIGH_RISK,
            "interventions": {
                "actions": [
                    {"type": "warning_letter", "date": "2026-09-20", "by_agency": "Ashdown District Council"},
                    {"type": "abc", "date": "2026-10-05", "by_agency": "Ashdown Homes"},
                ]
            },
        },
        "transitions": ["assess", "investigate", "intervene"],
        "tasks": [{"title": "Check the acceptable behaviour contract is being kept", "due_in_days": 7}],
    },
    {
        "key": "asb-3",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 12,
        "subjects": [
            {"person": "p-jordan-reilly", "role": "perpetrator"},
            {"person": "p-margaret-okoye", "role": "victim"},
        ],
        "forms": {
            "report": _report(
                "2026-11-10",
                ["noise", "intimidation", "drugs"],
                "Kestrel Way",
                "Music and people coming and going at all hours; victim frightened to go out.",
                "personal",
            )
        },
        "notes": ["Third report in six months: raised for the complex case panel."],
        "tasks": [{"title": "Visit Mrs Okoye with the housing officer", "due_in_days": -2}],
    },
    {
        "key": "asb-4",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 40,
        "subjects": [
            {"person": "p-dylan-marsh", "role": "perpetrator"},
            {"person": "p-priya-nair", "role": "witness"},
        ],
        "forms": {
            "report": _report(
                "2026-10-14",
                ["vandalism"],
                "Millbrook Road play park",
                "Graffiti on the play equipment and a broken bench.",
                "environmental",
                by="witness",
            ),
            "risk_assessment": {
                **HIGH_RISK,
                "repeat_targeting": False,
                "feels_targeted": False,
                "health_impact": False,
                "health_details": "",
                "daily_life_impact": False,
                "thinking_of_moving": False,
                "lives_alone": False,
                "vulnerable": False,
                "risk_level": "standard",
                "assessor_notes": "No identified victim at risk.",
            },
            "interventions": {
                "actions": [{"type": "advice", "date": "2026-10-20", "by_agency": "Northshire Police"}]
            },
            "review": {
                "behaviour_stopped": True,
                "victim_satisfied": "satisfied",
                "outcome": "resolved",
                "notes": "No further reports since the advice visit.",
            },
        },
        "transitions": ["assess", "investigate", "intervene", "start_review", "close"],
    },
    # closed in 2019 and 2020: ASB keeps cases six years after closure, so the retention review lists them
    {
        "key": "asb-old-1",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 2900,
        "done_days_ago": 2700,
        "subjects": [
            {"person": "p-gareth-lowe", "role": "perpetrator"},
            {"person": "p-helen-achterberg", "role": "victim"},
        ],
        "forms": {
            "report": _report(
                "2018-11-20",
                ["noise"],
                "Sandpiper Close",
                "Dog barking through the night for weeks.",
                "nuisance",
            ),
            "review": {
                "behaviour_stopped": True,
                "victim_satisfied": "satisfied",
                "outcome": "resolved",
                "notes": "Dog rehomed with family; no reports since.",
            },
        },
        "transitions": ["close"],
    },
    {
        "key": "asb-old-2",
        "area": "asb",
        "agency": "ashdown-council",
        "opened_days_ago": 2600,
        "done_days_ago": 2450,
        "subjects": [{"person": "p-gareth-lowe", "role": "perpetrator"}],
        "forms": {
            "report": _report(
                "2019-09-16",
                ["vandalism"],
                "Sandpiper Close garages",
                "Garage doors spray-painted.",
                "environmental",
                by="witness",
            ),
            "review": {
                "behaviour_stopped": True,
                "victim_satisfied": "not_contactable",
                "outcome": "resolved",
                "notes": "Paid for the repair; closed.",
            },
        },
        "transitions": ["close"],
    },
    {
        "key": "asb-5",
        "area": "asb",
        "agency": "ashdown-homes",
        "opened_days_ago": 5,
        "subjects": [{"person": "p-priya-nair", "role": "victim"}],
        "forms": {
            "report": _report(
                "2026-11-18",
                ["neighbour_dispute", "noise"],
                "22 Millbrook Road",
                "Dispute with the upstairs flat over noise late at night.",
                by="housing",
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
