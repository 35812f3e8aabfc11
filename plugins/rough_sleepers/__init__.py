"""Rough sleepers: street alerts, outreach verification, assessment and offers of accommodation."""

from pathlib import Path

from caseframe.api import hookimpl

ROOT = Path(__file__).parent

PERSONS = [
    {
        "key": "p-liam-doherty",
        "given_name": "Liam",
        "family_name": "Doherty",
        "date_of_birth": "2004-04-03",
        "gender": "male",
        "aliases": ["Li"],
        "flags": ["care_leaver"],
        "addresses": [{"line1": "No fixed abode", "town": "Ashdown", "postcode": ""}],
        "identifiers": [],
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
]

# Which demo cases trigger which rule:
# - rs-1 (Liam Doherty, 22): under-25-to-youth-service; his assessment consents to a referral
#   (duty-to-refer) and records a mental health need (mental-health-need); his record's care leaver marker
#   refers him to children's services' leaving care team (care-leaver-to-social-care).
# - rs-2 (Kyle Brennan), held by the commissioned street outreach charity: consent to refer ->
#   duty-to-refer, addressed to the housing authority (the district council). On rs-1, the council's own
#   case, the rule fires too but raises no referral: the council is not its own addressee.
CASES = [
    {
        "key": "rs-1",
        "area": "rough_sleepers",
        "agency": "ashdown-council",
        "opened_days_ago": 21,
        "subjects": [{"person": "p-liam-doherty", "role": "rough_sleeper"}],
        "forms": {
            "alert": {
                "date_seen": "2026-11-03",
                "time_seen": "early_morning",
                "location": "Doorway of the old bank, Market Street",
                "description": "Young man, green sleeping bag, rucksack; said his name was Liam.",
                "source": "public",
                "swep_active": False,
            },
            "outreach": {
                "visit_date": "2026-11-04",
                "found": True,
                "seen_bedded_down": True,
                "new_to_streets": True,
                "notes": "Seen at 6am. Left care last year; lost his tenancy.",
            },
            "assessment": {
                "needs": ["mental_health", "care_leaver"],
                "local_connection": "this_area",
                "consent_to_refer": True,
                "risk_level": "high",
            },
            "offer": {"offer_date": "2026-11-05", "offer_type": "emergency_bed", "accepted": True},
        },
        "transitions": ["attempt_outreach", "verify", "assess", "make_offer", "accommodate"],
        "tasks": [{"title": "Sustainment check at the supported housing", "due_in_days": 10}],
    },
    {
        "key": "rs-2",
        "area": "rough_sleepers",
        "agency": "ashdown-street-outreach",
        "opened_days_ago": 9,
        "subjects": [{"person": "p-kyle-brennan", "role": "rough_sleeper"}],
        "forms": {
            "alert": {
                "date_seen": "2026-11-15",
                "time_seen": "night",
                "location": "Multi-storey car park, level 3",
                "description": "Man in his thirties with a dog.",
                "source": "police",
                "swep_active": True,
            },
            "outreach": {
                "visit_date": "2026-11-16",
                "found": True,
                "seen_bedded_down": True,
                "new_to_streets": False,
            },
            "assessment": {
                "needs": ["alcohol", "prison_leaver"],
                "local_connection": "this_area",
                "consent_to_refer": True,
                "risk_level": "medium",
            },
        },
        "transitions": ["attempt_outreach", "verify", "assess"],
    },
    {
        "key": "rs-3",
        "area": "rough_sleepers",
        "agency": "ashdown-council",
        "opened_days_ago": 2,
        "forms": {
            "alert": {
                "date_seen": "2026-11-22",
                "time_seen": "evening",
                "location": "Bench by the river path near the footbridge",
                "description": "Older woman with several bags.",
                "source": "business",
            }
        },
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
        "agencies": [
            {
                "slug": "northshire-youth-housing",
                "name": "Northshire Youth Housing Trust",
                "agency_type": "youth_homelessness_service",
            },
            {"slug": "ashdown-street-outreach", "name": "Ashdown Street Outreach", "agency_type": "charity"},
        ],
    }
