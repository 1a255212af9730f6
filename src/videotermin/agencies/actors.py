"""Who acts for an agency without being one of its staff users.

An agency's appointment system calling the API with its key, or the public booking page a
citizen books on, changes appointments as the agency's staff may. Services accept an
`AgencySystem` as `by=` wherever they accept a staff user; the audit trail names it by
`audit_ref` ("apikey:<key id>", "booking:<agency>"), never by anybody's name.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class AgencySystem:
    agency_id: int
    audit_ref: str
    # What the audit log shows as the actor, e.g. the key's name.
    label: str = ""

    @property
    def is_authenticated(self) -> bool:
        # Not a user: nothing may take it for a signed-in staff account.
        return False
