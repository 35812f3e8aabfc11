"""The kinds of agency the core knows; plugins add more through the ``agency_types`` hook."""

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
