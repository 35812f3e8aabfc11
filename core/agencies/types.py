"""The kinds of agency the core knows (plugins add more through the ``agency_types`` hook), the kinds of identifier
and the warning markers a person's record carries (areas add more in area.toml)."""

from typing import NamedTuple

CORE_AGENCY_TYPES: dict[str, str] = {
    "police": "Police force",
    "district_council": "District council",
    "county_council": "County council",
    "unitary_council": "Unitary council",
    "housing_provider": "Housing provider",
    "health": "Health service",
    "mental_health": "Mental health service",
    "fire": "Fire and rescue service",
    "probation": "Probation service",
    "social_care": "Social care",
    "education": "Education",
    "job_centre": "Job centre",
    "charity": "Charity or voluntary organisation",
    "victim_service": "Victim service",
    "youth_service": "Youth service",
}

#: kinds of reference number a person can carry; areas add more in area.toml (identifier_types)
CORE_IDENTIFIER_TYPES: dict[str, str] = {
    "pnc": "Police National Computer (PNC) number",
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
    "housing_ref": "Housing reference",
    "other": "Other",
}


class PersonFlag(NamedTuple):
    """A warning marker a person's record can carry: what it is called and how sensitive it is (an x-sensitivity
    level: a partner agency reads it only when its sharing agreement with the agency holding the record allows
    that level)."""

    label: str
    sensitivity: str


#: warning markers on a person's record, by the name stored; areas add more in area.toml (person_flags)
CORE_PERSON_FLAGS: dict[str, PersonFlag] = {
    "violence_marker": PersonFlag("Violence or threats to staff", "official"),
    "lives_alone": PersonFlag("Lives alone", "official"),
    "vulnerable": PersonFlag("Vulnerable adult", "sensitive"),
    "care_leaver": PersonFlag("Care leaver", "sensitive"),
    "substance_misuse": PersonFlag("Substance misuse", "special_category"),
    "mental_health": PersonFlag("Mental health need", "special_category"),
}
