"""The signed-in user as services see it: who, which agency, which roles."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    id: int
    email: str
    name: str
    agency_id: int
    agency_name: str = ""
    agency_type: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def as_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "agency_id": self.agency_id, "roles": sorted(self.roles)}
