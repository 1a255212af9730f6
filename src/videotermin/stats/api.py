"""The statistics through the integration API: the same anonymous figures as the workspace's
page (stats/reports.py), for the agency's own reporting systems (A4)."""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field

from videotermin.agencies.models import Location
from videotermin.api.auth import read_key
from videotermin.api.endpoints import _caller, _only_query
from videotermin.api.problems import invalid, not_found
from videotermin.api.schemas import Day, Id, problems
from videotermin.stats import services
from videotermin.stats.schemas import StatisticsReport

router = Router(tags=["statistics"])


class Period(Schema):
    start: Day | None = Field(None, description="First day; 29 days before `end` if left out.")
    end: Day | None = Field(None, description="Last day, included; today if left out.")
    location: Id | None = Field(None, description="One location only; all when left out.")


@router.get(
    "/statistics",
    auth=read_key,
    response={200: StatisticsReport, **problems(401, 404, 422, 429)},
    summary="Read the statistics of a period",
)
def statistics(request: HttpRequest, period: Query[Period]) -> dict:
    """Built only from anonymous facts; figures of fewer than five consultations are suppressed
    and counts rounded, as on the workspace's page. Each call is in the agency's audit log."""
    _only_query(request, "start", "end", "location")
    caller = _caller(request)
    place = None
    if period.location is not None:
        place = Location.objects.filter(
            agency_id=caller.agency_id, public_id=period.location
        ).first()
        if place is None:
            raise not_found()
    end = period.end or timezone.localdate()
    start = period.start or end - timedelta(days=29)
    if end < start:
        raise invalid("query.end", _("The last day lies before the first."))
    return services.report_for(
        caller.agency, by=caller.actor, location=place, start=start, end=end, kind="api"
    )
